/**
 * Phase 3 — rds-postgres (plan sections 3, 4, 5, 9): one PostgreSQL instance in the database
 * subnets, reachable only from the ECS security group, with its master password generated and kept
 * by RDS in Secrets Manager.
 *
 * Inputs:
 * - `environments.<env>.db.*`: `engineVersion`, `instanceClass` (may be `todo()` → variable
 *   `db_instance_class`), `allocatedStorage` (may be `todo()` → variable `db_allocated_storage`),
 *   `maxAllocatedStorage`, `backupRetentionDays`, `multiAz`, `deletionProtection`; `db.name` and
 *   `db.username` are derived from the project.
 * - `environments.<env>.logs.retentionDays`: retention of the exported PostgreSQL logs.
 * - networking's `database_subnet_group_name`, security's `rds_security_group_id` (wired by the engine).
 *
 * Outputs:
 * - `db_instance_identifier`: e.g. `caja-dev-db` (known at compile time).
 * - `db_address`: the instance's DNS name, e.g. `caja-dev-db.c9akciq32abc.us-east-1.rds.amazonaws.com`.
 * - `db_port`: 5432. `db_name`: e.g. `caja`.
 * - `db_master_secret_arn`: the RDS-owned secret (`rds!db-…`) holding `{"username","password"}`; the
 *   task definition reads `<arn>:password::` from it.
 *
 * Secure by default: encrypted gp3 storage, never publicly accessible, `manage_master_user_password`
 * (no password is written to the configuration or the state), IAM database authentication, TLS forced
 * by the parameter group (`rds.force_ssl = 1`), DDL and slow statements logged and exported to
 * CloudWatch log groups with retention, enhanced monitoring and Performance Insights (free 7-day
 * tier), copied tags on snapshots, automatic minor upgrades. Tier differences come from the config:
 * prod defaults to Multi-AZ, deletion protection, a final snapshot and retained automated backups.
 */
import { jsonDocument } from "./core/expr.js";
import { defineModule } from "./core/module.js";
import { NAME_RULES } from "./core/naming.js";
import { policy } from "./core/policies.js";
import { NETWORKING, RDS_POSTGRES, SECURITY } from "./contracts.js";

/** The only port the instance listens on; the security module's RDS group admits it from ECS. */
export const POSTGRES_PORT = 5432;

/** The database logs RDS publishes to CloudWatch (each needs its own log group). */
export const POSTGRES_LOG_EXPORTS = ["postgresql", "upgrade"] as const;

const ENHANCED_MONITORING_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole";
/** What an RDS-managed master secret's ARN looks like (RDS names it `rds!db-<uuid>`). */
const exampleSecretArn = (region: string) => `arn:aws:secretsmanager:${region}:123456789012:secret:rds!db-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d-AbCdEf`;

export const rdsPostgres = defineModule(RDS_POSTGRES, (ctx) => {
  const { root, env, region } = ctx;
  const { db } = env;
  const envPath = `environments.${env.name}.db`;

  const identifier = ctx.name("db", NAME_RULES.rds);
  const major = db.engineVersion.split(".")[0]!;
  const family = `postgres${major}`;
  const subnetGroup = ctx.read(NETWORKING, "database_subnet_group_name") as string;
  const securityGroup = ctx.read(SECURITY, "rds_security_group_id") as string;

  const instanceClass = ctx.decide(db.instanceClass, {
    name: "db_instance_class",
    path: `${envPath}.instanceClass`,
    type: "string",
    example: "db.t4g.micro",
    validation: [
      {
        condition: 'can(regex("^db\\\\.", var.db_instance_class))',
        error_message: "db_instance_class must be an RDS instance class such as db.t4g.micro.",
      },
    ],
  });
  const allocatedStorage = ctx.decide(db.allocatedStorage, {
    name: "db_allocated_storage",
    path: `${envPath}.allocatedStorage`,
    type: "number",
    example: 20,
    validation: [
      {
        // gp3 starts at 20 GiB; storage autoscaling needs the ceiling above the initial size.
        condition: `var.db_allocated_storage >= 20 && var.db_allocated_storage <= ${db.maxAllocatedStorage}`,
        error_message: `db_allocated_storage must be between 20 and ${db.maxAllocatedStorage} GiB (${envPath}.maxAllocatedStorage).`,
      },
    ],
  });

  // The family is part of the name so a major upgrade creates the new group before the old one
  // is released (create_before_destroy with a fixed name would collide).
  const parameters = root.resource(
    "aws_db_parameter_group",
    "main",
    {
      name: ctx.name(family, NAME_RULES.dbParameterGroup),
      family,
      description: `PostgreSQL ${major} settings of ${identifier}: TLS only, DDL and slow statements logged`,
      parameter: [
        // Dynamic in recent engines, but pending-reboot is accepted for both kinds; a new
        // instance starts with it either way.
        { name: "rds.force_ssl", value: "1", apply_method: "pending-reboot" },
        { name: "log_statement", value: "ddl", apply_method: "immediate" },
        { name: "log_min_duration_statement", value: "1000", apply_method: "immediate" },
      ],
    },
    { lifecycle: { create_before_destroy: true } },
  );

  // RDS creates a log group on first export without retention; creating them first keeps
  // retention under Terraform (and CKV_AWS_66 satisfied).
  const logGroups = POSTGRES_LOG_EXPORTS.map((log) =>
    root.resource("aws_cloudwatch_log_group", `db_${log}`, {
      name: ctx.claimName(`/aws/rds/instance/${identifier}/${log}`, NAME_RULES.logGroup),
      retention_in_days: env.logs.retentionDays,
    }),
  );

  const monitoringRoleName = ctx.name("rds-monitoring", NAME_RULES.iamRole);
  const monitoringRole = root.resource("aws_iam_role", "rds_monitoring", {
    name: monitoringRoleName,
    description: `Lets RDS publish enhanced monitoring metrics of ${identifier} to CloudWatch Logs`,
    assume_role_policy: jsonDocument(
      policy({
        Effect: "Allow",
        Principal: { Service: "monitoring.rds.amazonaws.com" },
        Action: "sts:AssumeRole",
        // Confused-deputy guard: only RDS acting for this account may assume the role.
        Condition: { StringEquals: { "aws:SourceAccount": ctx.accountId } },
      }),
    ),
  });
  const monitoringPolicy = root.resource("aws_iam_role_policy_attachment", "rds_monitoring", {
    role: monitoringRole.attr("name"),
    policy_arn: ENHANCED_MONITORING_POLICY,
  });

  const skipFinalSnapshot = !db.deletionProtection;
  const instance = root.resource(
    "aws_db_instance",
    "main",
    {
      identifier,
      engine: "postgres",
      engine_version: db.engineVersion,
      auto_minor_version_upgrade: true,
      instance_class: instanceClass,
      parameter_group_name: parameters.attr("name"),
      ca_cert_identifier: "rds-ca-rsa2048-g1",

      storage_type: "gp3",
      allocated_storage: allocatedStorage,
      max_allocated_storage: db.maxAllocatedStorage,
      storage_encrypted: true,

      db_subnet_group_name: subnetGroup,
      vpc_security_group_ids: [securityGroup],
      publicly_accessible: false,
      port: POSTGRES_PORT,
      multi_az: db.multiAz,

      db_name: db.name,
      username: db.username,
      // RDS generates the password and keeps it in Secrets Manager: it never enters the
      // configuration, the plan or the state.
      manage_master_user_password: true,
      iam_database_authentication_enabled: true,

      backup_retention_period: db.backupRetentionDays,
      copy_tags_to_snapshot: true,
      delete_automated_backups: env.tier !== "prod",
      deletion_protection: db.deletionProtection,
      skip_final_snapshot: skipFinalSnapshot,
      ...(skipFinalSnapshot ? {} : { final_snapshot_identifier: `${identifier}-final` }),

      enabled_cloudwatch_logs_exports: [...POSTGRES_LOG_EXPORTS],
      monitoring_interval: 60,
      monitoring_role_arn: monitoringRole.attr("arn"),
      performance_insights_enabled: true,
      performance_insights_retention_period: 7,
    },
    // The role must hold its policy before RDS accepts it, and the log groups must exist before
    // RDS would create them without retention.
    { dependsOn: [monitoringPolicy, ...logGroups] },
  );

  const address = `${identifier}.c9akciq32abc.${region}.rds.amazonaws.com`;
  root.mockResource("aws_db_instance", {
    address,
    endpoint: `${address}:${POSTGRES_PORT}`,
    arn: `arn:aws:rds:${region}:123456789012:db:${identifier}`,
    resource_id: "db-ABCDEFGHIJKLMNOPQRSTUVWXY0",
    master_user_secret: [
      { secret_arn: exampleSecretArn(region), kms_key_id: `arn:aws:kms:${region}:123456789012:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d`, secret_status: "active" },
    ],
  });
  root.mockResource("aws_iam_role", { arn: `arn:aws:iam::123456789012:role/${monitoringRoleName}` });

  root.output("db_instance_identifier", { value: identifier, description: "RDS instance identifier.", example: identifier });
  root.output("db_address", {
    value: instance.attr("address"),
    description: "DNS name of the instance (resolves to private addresses only).",
    example: address,
  });
  root.output("db_port", { value: POSTGRES_PORT, description: "PostgreSQL port.", example: POSTGRES_PORT });
  root.output("db_name", { value: db.name, description: "Name of the application database.", example: db.name });
  root.output("db_master_secret_arn", {
    value: instance.attr("master_user_secret[0].secret_arn"),
    description: 'ARN of the RDS-managed Secrets Manager secret with the master credentials ({"username","password"}).',
    example: exampleSecretArn(region),
  });

  const i = instance.address;
  root.assert(`${i}.storage_encrypted == true`, "the database storage is encrypted");
  root.assert(`${i}.publicly_accessible == false`, "the database is not publicly accessible");
  root.assert(`${i}.manage_master_user_password == true`, "RDS manages the master password in Secrets Manager");
  root.assert(`${i}.iam_database_authentication_enabled == true`, "IAM database authentication is enabled");
  root.assert(`${i}.deletion_protection == ${db.deletionProtection}`, `deletion protection is ${db.deletionProtection ? "on" : "off"} in ${env.name}`);
  root.assert(`${i}.multi_az == ${db.multiAz}`, `Multi-AZ is ${db.multiAz ? "on" : "off"} in ${env.name}`);
  root.assert(`${i}.backup_retention_period == ${db.backupRetentionDays}`, `automated backups are kept ${db.backupRetentionDays} days`);
  root.assert(`${i}.monitoring_interval == 60 && ${i}.performance_insights_enabled == true`, "enhanced monitoring and Performance Insights are on");
  root.assert(`toset(${i}.enabled_cloudwatch_logs_exports) == toset(${JSON.stringify(POSTGRES_LOG_EXPORTS)})`, "PostgreSQL and upgrade logs are exported");
  root.assert(
    `anytrue([for p in ${parameters.address}.parameter : p.name == "rds.force_ssl" && p.value == "1"])`,
    "the parameter group forces TLS connections",
  );
  root.assert(`startswith(${i}.master_user_secret[0].secret_arn, "arn:aws:secretsmanager:")`, "the master secret ARN is exported");
});
