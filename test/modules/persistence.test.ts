/** Phase 3 (persistence): the rds-postgres and secrets modules in `<env>/30-persistence`. */
import { describe, expect, it } from "vitest";
import { todo } from "@caja/dsl";
import { NETWORKING, SECURITY } from "@caja/modules";
import { validateRoot } from "../../packages/modules/src/aws/validate.js";
import { rdsPostgres } from "../../packages/modules/src/rds-postgres.js";
import { secrets } from "../../packages/modules/src/secrets.js";
import { baseConfig, compileWith, resources, rootJson, testJson } from "../helpers.js";
import { phasesFor, standIn, terraformCheck } from "../modules-harness.js";

const networking = standIn(NETWORKING, {
  vpc_id: "vpc-0a1b2c3d4e5f67890",
  vpc_cidr_block: "10.10.0.0/16",
  public_subnet_ids: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
  private_subnet_ids: ["subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012"],
  database_subnet_group_name: "caja-dev-db",
  availability_zones: ["us-east-1a", "us-east-1b"],
});
const security = standIn(SECURITY, {
  alb_security_group_id: "sg-0a1b2c3d4e5f60001",
  ecs_security_group_id: "sg-0a1b2c3d4e5f60002",
  rds_security_group_id: "sg-0a1b2c3d4e5f60003",
});
const phases = phasesFor([rdsPostgres, secrets], [networking, security], { number: 3, dir: "30-persistence" });
const compile = (config: unknown = baseConfig()) => compileWith(config, { phases });

const DEV = "dev/30-persistence";
const PROD = "prod/30-persistence";
const compiled = compile();
const db = (root: string) => resources(compiled, root, "aws_db_instance").main;

describe("rds-postgres", () => {
  it("runs PostgreSQL at the configured version in the database subnets behind the RDS security group", () => {
    const d = db(DEV);
    expect(d.engine).toBe("postgres");
    expect(d.engine_version).toBe("16");
    expect(d.db_subnet_group_name).toBe("${data.terraform_remote_state.standins_env.outputs.database_subnet_group_name}");
    expect(d.vpc_security_group_ids).toEqual(["${data.terraform_remote_state.standins_env.outputs.rds_security_group_id}"]);
    expect(d.port).toBe(5432);
    expect(d.identifier).toBe("caja-dev-db");
    const mocked = testJson(compiled, DEV).override_data[0].values.outputs;
    expect(mocked).toMatchObject({ database_subnet_group_name: "caja-dev-db", rds_security_group_id: "sg-0a1b2c3d4e5f60003" });
  });

  it("is private and encrypted, on gp3, with IAM auth and automatic minor upgrades", () => {
    for (const root of [DEV, PROD]) {
      const d = db(root);
      expect(d.storage_encrypted).toBe(true);
      expect(d.publicly_accessible).toBe(false);
      expect(d.storage_type).toBe("gp3");
      expect(d.iam_database_authentication_enabled).toBe(true);
      expect(d.auto_minor_version_upgrade).toBe(true);
      expect(d.copy_tags_to_snapshot).toBe(true);
    }
  });

  it("lets RDS manage the master password: no password argument anywhere", () => {
    for (const root of [DEV, PROD]) {
      const d = db(root);
      expect(d.manage_master_user_password).toBe(true);
      expect(d.username).toBe("caja_app");
      expect(d.db_name).toBe("caja");
      for (const key of ["password", "password_wo", "password_wo_version"]) expect(d).not.toHaveProperty(key);
      expect(JSON.stringify(rootJson(compiled, root))).not.toMatch(/"(master_)?password(_wo)?"\s*:/);
      expect(rootJson(compiled, root).variable ?? {}).not.toHaveProperty("db_password");
    }
  });

  it("sizes the instance and storage from the tier: micro/20 GiB in dev, medium/50 GiB in prod", () => {
    expect(db(DEV)).toMatchObject({ instance_class: "db.t4g.micro", allocated_storage: 20, max_allocated_storage: 100 });
    expect(db(PROD)).toMatchObject({ instance_class: "db.t4g.medium", allocated_storage: 50, max_allocated_storage: 500 });
  });

  it("is Multi-AZ, deletion-protected, snapshotted on delete and keeps automated backups in prod only", () => {
    expect(db(PROD)).toMatchObject({
      multi_az: true,
      deletion_protection: true,
      skip_final_snapshot: false,
      final_snapshot_identifier: "caja-prod-db-final",
      delete_automated_backups: false,
      backup_retention_period: 14,
    });
    const dev = db(DEV);
    expect(dev).toMatchObject({ multi_az: false, deletion_protection: false, skip_final_snapshot: true, delete_automated_backups: true, backup_retention_period: 7 });
    expect(dev).not.toHaveProperty("final_snapshot_identifier");
  });

  it("follows per-environment db overrides", () => {
    const c = compile({ ...baseConfig(), environments: { dev: { db: { deletionProtection: true, multiAz: true, backupRetentionDays: 3, engineVersion: "16.4" } } } });
    const d = resources(c, DEV, "aws_db_instance").main;
    expect(d).toMatchObject({ deletion_protection: true, multi_az: true, skip_final_snapshot: false, final_snapshot_identifier: "caja-dev-db-final", backup_retention_period: 3, engine_version: "16.4" });
    expect(resources(c, DEV, "aws_db_parameter_group").main.family).toBe("postgres16");
  });

  it("turns an undecided instance class and storage into validated Terraform variables", () => {
    const c = compile({ ...baseConfig(), environments: { dev: { db: { instanceClass: todo("pick after load test"), allocatedStorage: todo("ask finance") } } } });
    const root = rootJson(c, DEV);
    expect(root.resource.aws_db_instance.main.instance_class).toBe("${var.db_instance_class}");
    expect(root.resource.aws_db_instance.main.allocated_storage).toBe("${var.db_allocated_storage}");
    expect(root.variable.db_instance_class).toMatchObject({ type: "string", description: "TODO: pick after load test" });
    expect(root.variable.db_instance_class.validation[0].condition).toBe('${can(regex("^db\\\\.", var.db_instance_class))}');
    expect(root.variable.db_allocated_storage).toMatchObject({ type: "number", description: "TODO: ask finance" });
    expect(root.variable.db_allocated_storage.validation[0].condition).toContain("var.db_allocated_storage <= 100");
    expect(testJson(c, DEV).variables).toEqual({ db_instance_class: "db.t4g.micro", db_allocated_storage: 20 });
    expect(c.todos.flatMap((t) => t.uses.map((u) => u.variable)).sort()).toEqual(["db_allocated_storage", "db_instance_class"]);
  });

  it("forces TLS and logs DDL and slow statements through a parameter group of the engine's family", () => {
    const pg = resources(compiled, DEV, "aws_db_parameter_group").main;
    expect(pg.family).toBe("postgres16");
    expect(pg.name).toBe("caja-dev-postgres16");
    expect(pg.lifecycle).toEqual({ create_before_destroy: true });
    const params = Object.fromEntries(pg.parameter.map((p: { name: string; value: string }) => [p.name, p.value]));
    expect(params).toEqual({ "rds.force_ssl": "1", log_statement: "ddl", log_min_duration_statement: "1000" });
    expect(db(DEV).parameter_group_name).toBe("${aws_db_parameter_group.main.name}");
  });

  it("exports postgresql and upgrade logs to log groups created first, with the tier's retention", () => {
    expect(db(DEV).enabled_cloudwatch_logs_exports).toEqual(["postgresql", "upgrade"]);
    for (const [root, days] of [[DEV, 30], [PROD, 90]] as const) {
      const groups = resources(compiled, root, "aws_cloudwatch_log_group");
      const id = root.split("/")[0];
      expect(groups.db_postgresql).toEqual({ name: `/aws/rds/instance/caja-${id}-db/postgresql`, retention_in_days: days });
      expect(groups.db_upgrade).toEqual({ name: `/aws/rds/instance/caja-${id}-db/upgrade`, retention_in_days: days });
      expect(db(root).depends_on).toEqual(expect.arrayContaining(["aws_cloudwatch_log_group.db_postgresql", "aws_cloudwatch_log_group.db_upgrade"]));
    }
  });

  it("has Performance Insights and enhanced monitoring through a role only RDS monitoring can assume", () => {
    const d = db(DEV);
    expect(d).toMatchObject({ performance_insights_enabled: true, performance_insights_retention_period: 7, monitoring_interval: 60 });
    expect(d.monitoring_role_arn).toBe("${aws_iam_role.rds_monitoring.arn}");
    expect(d.depends_on).toContain("aws_iam_role_policy_attachment.rds_monitoring");
    const role = resources(compiled, DEV, "aws_iam_role").rds_monitoring;
    expect(role.name).toBe("caja-dev-rds-monitoring");
    const trust = JSON.parse(role.assume_role_policy);
    expect(trust.Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Service: "monitoring.rds.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": "${data.aws_caller_identity.current.account_id}" } },
      },
    ]);
    expect(resources(compiled, DEV, "aws_iam_role_policy_attachment").rds_monitoring).toEqual({
      role: "${aws_iam_role.rds_monitoring.name}",
      policy_arn: "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
    });
  });

  it("outputs the identifier, port and name as literals and the address and master secret as references", () => {
    const out = rootJson(compiled, DEV).output;
    expect(out.db_instance_identifier.value).toBe("caja-dev-db");
    expect(out.db_port.value).toBe(5432);
    expect(out.db_name.value).toBe("caja");
    expect(out.db_address.value).toBe("${aws_db_instance.main.address}");
    expect(out.db_master_secret_arn.value).toBe("${aws_db_instance.main.master_user_secret[0].secret_arn}");
    const mock = testJson(compiled, DEV).mock_provider.aws[0].mock_resource.aws_db_instance.defaults;
    expect(mock.master_user_secret[0].secret_arn).toMatch(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:rds!db-/);
    expect(mock.address).toBe("caja-dev-db.c9akciq32abc.us-east-1.rds.amazonaws.com");
  });

  it("asserts its security controls in the generated test", () => {
    const conditions = testJson(compiled, PROD).run[0].mock_apply.assert.map((a: { condition: string }) => a.condition);
    expect(conditions).toEqual(
      expect.arrayContaining([
        "${aws_db_instance.main.storage_encrypted == true}",
        "${aws_db_instance.main.publicly_accessible == false}",
        "${aws_db_instance.main.deletion_protection == true}",
        "${aws_db_instance.main.multi_az == true}",
      ]),
    );
  });
});

describe("secrets", () => {
  it("creates the JWT key and session salt secrets under <project>/<env>/, without a customer key", () => {
    for (const env of ["dev", "prod"]) {
      const s = resources(compiled, `${env}/30-persistence`, "aws_secretsmanager_secret");
      expect(Object.keys(s).sort()).toEqual(["jwt", "session_salt"]);
      expect(s.jwt.name).toBe(`caja/${env}/jwt-signing-key`);
      expect(s.session_salt.name).toBe(`caja/${env}/session-salt`);
      for (const secret of Object.values(s)) expect(secret).not.toHaveProperty("kms_key_id");
    }
  });

  it("keeps a deleted secret recoverable for 7 days, 30 in prod", () => {
    for (const secret of Object.values(resources(compiled, DEV, "aws_secretsmanager_secret"))) expect(secret.recovery_window_in_days).toBe(7);
    for (const secret of Object.values(resources(compiled, PROD, "aws_secretsmanager_secret"))) expect(secret.recovery_window_in_days).toBe(30);
  });

  it("never writes a secret value: no secret version, no password-looking string in the root or its test", () => {
    for (const root of [DEV, PROD]) {
      const json = rootJson(compiled, root);
      const types = Object.keys(json.resource);
      expect(types).not.toContain("aws_secretsmanager_secret_version");
      expect(types).not.toContain("aws_ssm_parameter");
      for (const doc of [json, testJson(compiled, root)]) {
        const text = JSON.stringify(doc);
        expect(text).not.toMatch(/"(secret_string|secret_binary|password|master_password|password_wo)"\s*:/);
        // A generated secret: 16+ characters of mixed case and digits with no separator.
        const strings: string[] = [];
        JSON.parse(text, (_k, v) => (typeof v === "string" && strings.push(v), v));
        expect(strings.filter((s) => /^(?=.*\d)(?=.*[a-z])(?=.*[A-Z])[A-Za-z0-9+/=]{16,}$/.test(s))).toEqual([]);
      }
    }
  });

  it("outputs both secret ARNs with realistic examples", () => {
    const out = rootJson(compiled, DEV).output;
    expect(out.jwt_secret_arn.value).toBe("${aws_secretsmanager_secret.jwt.arn}");
    expect(out.session_salt_secret_arn.value).toBe("${aws_secretsmanager_secret.session_salt.arn}");
    const overrides = testJson(compiled, DEV).override_resource;
    expect(overrides).toEqual(
      expect.arrayContaining([
        { target: "aws_secretsmanager_secret.jwt", values: expect.objectContaining({ arn: expect.stringMatching(/^arn:aws:secretsmanager:us-east-1:\d{12}:secret:caja\/dev\/jwt-signing-key-\w{6}$/) }) },
      ]),
    );
  });
});

describe("persistence root", () => {
  it("passes the schema check in dev and prod", () => {
    expect(validateRoot(rootJson(compiled, DEV))).toEqual([]);
    expect(validateRoot(rootJson(compiled, PROD))).toEqual([]);
  });

  it("passes terraform validate and the mock apply in dev and prod, and with TODO variables", { timeout: 600_000 }, async () => {
    const todoCompiled = compile({ ...baseConfig(), environments: { dev: { db: { instanceClass: todo("later"), allocatedStorage: todo("later") } } } });
    for (const [c, root] of [[compiled, DEV], [compiled, PROD], [todoCompiled, DEV]] as const) {
      const result = await terraformCheck(c, root);
      if (!result) return; // terraform absent
      expect(result.ok, `${root}: ${result.failedStep}\n${result.detail}`).toBe(true);
      expect(result.runsPassed).toBeGreaterThan(0);
    }
  });
});
