/**
 * Phase 5, `<env>/50-service`: the ALB and the Fargate service, compiled against stand-ins for
 * everything they read (domain, networking, security, rds-postgres, secrets, ecr, ecs-cluster).
 */
import { describe, expect, it } from "vitest";
import { todo } from "@caja/dsl";
import {
  DOMAIN,
  ECR,
  ECS_CLUSTER,
  NETWORKING,
  RDS_POSTGRES,
  SECRETS,
  SECURITY,
  expr,
  type Contract,
  type ModuleDef,
} from "@caja/modules";
import { alb } from "../../packages/modules/src/alb.js";
import { ecsService } from "../../packages/modules/src/ecs-service.js";
import { validateRoot } from "../../packages/modules/src/aws/validate.js";
import type { Compiled } from "../../packages/compiler/src/compile.js";
import { baseConfig, compileWith, configWith, resources, rootJson, testJson } from "../helpers.js";
import { phasesFor, standIn, terraformCheck } from "../modules-harness.js";

const ACCOUNT = "123456789012";
const MASTER_SECRET = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:rds!db-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d-AbCdEf`;
const JWT_SECRET = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:caja-dev-jwt-signing-key-Gh1jK2`;
const SALT_SECRET = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:caja-dev-session-salt-Lm3nO4`;
const REPOSITORY_ARN = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/caja/dev/api`;

const EXAMPLES = {
  domain: {
    frontend_certificate_arn: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d`,
    api_certificate_arn: `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e`,
    app_domains: ["app.caja.dbash.dev", "app.dev.caja.dbash.dev", "app.staging.caja.dbash.dev"],
    api_domains: ["api.caja.dbash.dev", "api.dev.caja.dbash.dev", "api.staging.caja.dbash.dev"],
  },
  networking: {
    vpc_id: "vpc-0a1b2c3d4e5f67890",
    vpc_cidr_block: "10.10.0.0/16",
    public_subnet_ids: ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"],
    private_subnet_ids: ["subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012"],
    database_subnet_group_name: "caja-dev-db",
    availability_zones: ["us-east-1a", "us-east-1b"],
  },
  security: {
    alb_security_group_id: "sg-0a1b2c3d4e5f60001",
    ecs_security_group_id: "sg-0a1b2c3d4e5f60002",
    rds_security_group_id: "sg-0a1b2c3d4e5f60003",
  },
  rds: {
    db_instance_identifier: "caja-dev-db",
    db_address: "caja-dev-db.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com",
    db_port: 5432,
    db_name: "caja",
    db_master_secret_arn: MASTER_SECRET,
  },
  secrets: { jwt_secret_arn: JWT_SECRET, session_salt_secret_arn: SALT_SECRET },
  ecr: {
    repository_url: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/caja/dev/api`,
    repository_arn: REPOSITORY_ARN,
    repository_name: "caja/dev/api",
  },
  cluster: {
    cluster_name: "caja-dev-cluster",
    cluster_arn: `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/caja-dev-cluster`,
    app_log_group_name: "/ecs/caja-dev-api",
  },
} as const;

/** Every producer as a stand-in: all reads are cloud-assigned (`terraform_remote_state`). */
const STAND_INS = [
  standIn(DOMAIN, EXAMPLES.domain),
  standIn(NETWORKING, EXAMPLES.networking),
  standIn(SECURITY, EXAMPLES.security),
  standIn(RDS_POSTGRES, EXAMPLES.rds),
  standIn(SECRETS, EXAMPLES.secrets),
  standIn(ECR, EXAMPLES.ecr),
  standIn(ECS_CLUSTER, EXAMPLES.cluster),
];

/** A producer whose `literals` are known at compile time (as names, ports and db_name are in the real build). */
function literalProducer<O extends string>(contract: Contract<O>, examples: Record<O, unknown>, literals: readonly O[]): ModuleDef<O> {
  return {
    ...contract,
    build: (ctx) => {
      for (const output of contract.outputs) {
        const literal = literals.includes(output);
        ctx.root.output(output, { value: literal ? examples[output] : expr("null"), description: `test producer ${contract.id}.${output}`, example: examples[output] });
      }
    },
  };
}

const MIXED = [
  ...STAND_INS.filter((m) => m.id !== RDS_POSTGRES.id && m.id !== ECS_CLUSTER.id),
  literalProducer(RDS_POSTGRES, EXAMPLES.rds, ["db_port", "db_name", "db_instance_identifier"]),
  literalProducer(ECS_CLUSTER, EXAMPLES.cluster, ["cluster_name", "app_log_group_name"]),
];

const PHASES = phasesFor([alb, ecsService], STAND_INS, { number: 5, dir: "50-service" });
const DEV = "dev/50-service";
const PROD = "prod/50-service";

const compiled = compileWith(baseConfig(), { phases: PHASES });

function only(c: Compiled, root: string, type: string): any {
  const all = Object.values(resources(c, root, type));
  expect(all).toHaveLength(1);
  return all[0];
}

function listener(c: Compiled, root: string, name: "http" | "https"): any {
  return resources(c, root, "aws_lb_listener")[name];
}

function containers(c: Compiled, root: string): any[] {
  return JSON.parse(only(c, root, "aws_ecs_task_definition").container_definitions);
}

function roles(c: Compiled, root: string): Record<string, any> {
  return resources(c, root, "aws_iam_role");
}

/** Every statement of every identity and trust policy in the root. */
function statements(c: Compiled, root: string): any[] {
  const docs = [
    ...Object.values(resources(c, root, "aws_iam_role_policy")).map((p: any) => p.policy),
    ...Object.values(roles(c, root)).map((r: any) => r.assume_role_policy),
  ];
  return docs.flatMap((d: string) => JSON.parse(d).Statement);
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);

describe("alb", () => {
  it("is an internet-facing, dual-stack application load balancer in the public subnets behind the ALB security group", () => {
    const lb = only(compiled, DEV, "aws_lb");
    expect(lb.load_balancer_type).toBe("application");
    expect(lb.internal).toBe(false);
    expect(lb.ip_address_type).toBe("dualstack");
    expect(lb.subnets).toBe("${data.terraform_remote_state.standins_env.outputs.public_subnet_ids}");
    expect(lb.security_groups).toEqual(["${data.terraform_remote_state.standins_env.outputs.alb_security_group_id}"]);
    expect(lb.idle_timeout).toBe(60);
  });

  it("drops invalid header fields and mitigates desync as literals", () => {
    const lb = only(compiled, DEV, "aws_lb");
    expect(lb.drop_invalid_header_fields).toBe(true);
    expect(lb.desync_mitigation_mode).toBe("defensive");
  });

  it("protects the prod load balancer from deletion but not dev's", () => {
    expect(only(compiled, DEV, "aws_lb").enable_deletion_protection).toBe(false);
    expect(only(compiled, PROD, "aws_lb").enable_deletion_protection).toBe(true);
  });

  it("names the load balancer and target group within AWS's 32 characters, hash-shortened when long", () => {
    expect(only(compiled, DEV, "aws_lb").name).toBe("caja-dev-alb");
    expect(only(compiled, DEV, "aws_lb_target_group").name).toBe("caja-dev-api");
    const long = compileWith(configWith({ project: "a-very-long-project-name" }), { phases: PHASES });
    const lb = only(long, "staging/50-service", "aws_lb").name as string;
    const tg = only(long, "staging/50-service", "aws_lb_target_group").name as string;
    for (const name of [lb, tg]) {
      expect(name.length).toBeLessThanOrEqual(32);
      expect(name).toMatch(/^a-very-long-project-name.*-[a-z0-9]{6}$/);
    }
    expect(lb).not.toBe(tg);
  });

  it("terminates TLS 1.2+ on 443 with the domain module's api certificate and forwards to the target group", () => {
    const https = listener(compiled, DEV, "https");
    expect(https.port).toBe(443);
    expect(https.protocol).toBe("HTTPS");
    expect(https.ssl_policy).toBe("ELBSecurityPolicy-TLS13-1-2-2021-06");
    expect(https.certificate_arn).toBe("${data.terraform_remote_state.standins_global.outputs.api_certificate_arn}");
    expect(https.default_action).toEqual([{ type: "forward", target_group_arn: "${aws_lb_target_group.api.arn}" }]);
  });

  it("answers plain HTTP on 80 only with a permanent redirect to HTTPS 443", () => {
    const http = listener(compiled, DEV, "http");
    expect(http.port).toBe(80);
    expect(http.protocol).toBe("HTTP");
    expect(http.default_action).toHaveLength(1);
    expect(http.default_action[0].type).toBe("redirect");
    expect(http.default_action[0].target_group_arn).toBeUndefined();
    expect(http.default_action[0].redirect).toEqual({ protocol: "HTTPS", port: "443", status_code: "HTTP_301" });
  });

  it("registers task IPs in an HTTP target group on the service port, health-checked on /health", () => {
    const tg = only(compiled, DEV, "aws_lb_target_group");
    expect(tg.target_type).toBe("ip");
    expect(tg.protocol).toBe("HTTP");
    expect(tg.port).toBe(8000);
    expect(tg.vpc_id).toBe("${data.terraform_remote_state.standins_env.outputs.vpc_id}");
    expect(tg.deregistration_delay).toBe("30");
    expect(tg.health_check).toMatchObject({ enabled: true, path: "/health", matcher: "200", healthy_threshold: 2, unhealthy_threshold: 3 });
    expect(tg.health_check.timeout).toBeLessThan(tg.health_check.interval);
  });

  it("follows the configured service port and health check path", () => {
    const c = compileWith(configWith({ environments: { dev: { service: { port: 8080, healthCheckPath: "/healthz" } } } }), { phases: PHASES });
    const tg = only(c, DEV, "aws_lb_target_group");
    expect(tg.port).toBe(8080);
    expect(tg.health_check.path).toBe("/healthz");
    expect(containers(c, DEV)[0].portMappings[0].containerPort).toBe(8080);
    expect(only(c, DEV, "aws_ecs_service").load_balancer[0].container_port).toBe(8080);
  });

  it("does not combine a fixed target group name with create_before_destroy", () => {
    const tg = only(compiled, DEV, "aws_lb_target_group");
    expect(tg.name).toBeDefined();
    expect(tg.lifecycle?.create_before_destroy).not.toBe(true);
  });

  it("exports the ALB's identifiers with realistic examples for its consumers", () => {
    const root = compiled.plan.roots.find((r) => r.id === DEV)!;
    const example = (name: string) => root.builder.outputs.get(name)?.example;
    expect(example("alb_arn")).toMatch(/^arn:aws:elasticloadbalancing:us-east-1:\d{12}:loadbalancer\/app\/caja-dev-alb\/[0-9a-f]{16}$/);
    expect(example("alb_arn_suffix")).toBe("app/caja-dev-alb/0123456789abcdef");
    expect(example("alb_dns_name")).toBe("caja-dev-alb-1234567890.us-east-1.elb.amazonaws.com");
    expect(example("alb_zone_id")).toBe("Z35SXDOTRQ7X7K");
    expect(example("target_group_arn")).toMatch(/^arn:aws:elasticloadbalancing:us-east-1:\d{12}:targetgroup\/caja-dev-api\/[0-9a-f]{16}$/);
    expect(example("target_group_arn_suffix")).toBe("targetgroup/caja-dev-api/0123456789abcdef");
    expect(example("https_listener_arn")).toMatch(/^arn:aws:elasticloadbalancing:us-east-1:\d{12}:listener\/app\/caja-dev-alb\//);
    const outputs = rootJson(compiled, DEV).output;
    expect(outputs.alb_zone_id.value).toBe("${aws_lb.main.zone_id}");
    expect(outputs.https_listener_arn.value).toBe("${aws_lb_listener.https.arn}");
  });
});

describe("ecs-service", () => {
  it("runs a Fargate task definition sized by the environment", () => {
    const dev = only(compiled, DEV, "aws_ecs_task_definition");
    expect(dev.family).toBe("caja-dev-api");
    expect(dev.requires_compatibilities).toEqual(["FARGATE"]);
    expect(dev.network_mode).toBe("awsvpc");
    expect(dev.runtime_platform).toEqual({ operating_system_family: "LINUX", cpu_architecture: "X86_64" });
    expect([dev.cpu, dev.memory]).toEqual(["256", "512"]);
    const prod = only(compiled, PROD, "aws_ecs_task_definition");
    expect([prod.cpu, prod.memory]).toEqual(["512", "1024"]);
  });

  it("separates the execution role from the task role, both trusting only ECS tasks of this account", () => {
    const td = only(compiled, DEV, "aws_ecs_task_definition");
    expect(td.execution_role_arn).toBe("${aws_iam_role.task_execution.arn}");
    expect(td.task_role_arn).toBe("${aws_iam_role.task.arn}");
    const r = roles(compiled, DEV);
    expect(r.task_execution.name).not.toBe(r.task.name);
    for (const role of [r.task_execution, r.task]) {
      const [statement, ...rest] = JSON.parse(role.assume_role_policy).Statement;
      expect(rest).toEqual([]);
      expect(statement.Principal).toEqual({ Service: "ecs-tasks.amazonaws.com" });
      expect(statement.Action).toBe("sts:AssumeRole");
      expect(statement.Condition.StringEquals["aws:SourceAccount"]).toBe("${data.aws_caller_identity.current.account_id}");
    }
  });

  it("writes the account into the trust condition when the config fixes it", () => {
    const c = compileWith(configWith({ accountId: "210987654321" }), { phases: PHASES });
    const trust = JSON.parse(roles(c, DEV).task.assume_role_policy);
    expect(trust.Statement[0].Condition.StringEquals["aws:SourceAccount"]).toBe("210987654321");
  });

  it("gives the execution role only image pulls, app log writes and the three secrets; the task role nothing", () => {
    const policies = Object.values(resources(compiled, DEV, "aws_iam_role_policy")) as any[];
    expect(policies).toHaveLength(1);
    expect(policies[0].role).toBe("${aws_iam_role.task_execution.name}");
    const s = JSON.parse(policies[0].policy).Statement as any[];
    const bySid = Object.fromEntries(s.map((st) => [st.Sid, st]));
    expect(bySid.EcrAuthToken).toMatchObject({ Action: "ecr:GetAuthorizationToken", Resource: "*" });
    expect(bySid.EcrPullApiImage.Action).toEqual(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]);
    expect(bySid.EcrPullApiImage.Resource).toBe("${data.terraform_remote_state.standins_env.outputs.repository_arn}");
    expect(bySid.WriteAppLogs.Action).toEqual(["logs:CreateLogStream", "logs:PutLogEvents"]);
    for (const arn of asList(bySid.WriteAppLogs.Resource)) {
      expect(arn).toMatch(/^arn:aws:logs:us-east-1:\$\{data\.aws_caller_identity\.current\.account_id\}:log-group:\$\{data\.terraform_remote_state\.standins_env\.outputs\.app_log_group_name\}/);
    }
    expect(bySid.ReadAppSecrets.Action).toBe("secretsmanager:GetSecretValue");
    expect(bySid.ReadAppSecrets.Resource).toEqual([
      "${data.terraform_remote_state.standins_env.outputs.db_master_secret_arn}",
      "${data.terraform_remote_state.standins_env.outputs.jwt_secret_arn}",
      "${data.terraform_remote_state.standins_env.outputs.session_salt_secret_arn}",
    ]);
    expect(s).toHaveLength(4);
    expect(Object.keys(resources(compiled, DEV, "aws_iam_role_policy_attachment"))).toEqual([]);
    expect(roles(compiled, DEV).task.managed_policy_arns).toBeUndefined();
  });

  it("never allows a wildcard action, and a wildcard resource only for ecr:GetAuthorizationToken", () => {
    for (const root of [DEV, PROD]) {
      for (const st of statements(compiled, root)) {
        for (const action of asList(st.Action)) expect(action).not.toMatch(/\*/);
        if (asList(st.Resource).includes("*")) expect(st.Action).toBe("ecr:GetAuthorizationToken");
      }
    }
  });

  it("runs one essential api container with a read-only root filesystem and a writable /tmp task volume", () => {
    const [api, ...others] = containers(compiled, DEV);
    expect(others).toEqual([]);
    expect(api.name).toBe("api");
    expect(api.essential).toBe(true);
    expect(api.readonlyRootFilesystem).toBe(true);
    expect(api.privileged).not.toBe(true);
    expect(api.mountPoints).toEqual([{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }]);
    expect(api.portMappings).toEqual([{ containerPort: 8000, hostPort: 8000, protocol: "tcp" }]);
    const td = only(compiled, DEV, "aws_ecs_task_definition");
    expect(td.volume).toEqual([{ name: "tmp" }]);
  });

  it("sends the container's logs to the cluster's app log group", () => {
    const [api] = containers(compiled, DEV);
    expect(api.logConfiguration).toEqual({
      logDriver: "awslogs",
      options: {
        "awslogs-group": "${data.terraform_remote_state.standins_env.outputs.app_log_group_name}",
        "awslogs-region": "us-east-1",
        "awslogs-stream-prefix": "api",
      },
    });
  });

  it("pulls the image from the ECR repository at the backend_image_tag variable, defaulting to the configured tag", () => {
    const [api] = containers(compiled, DEV);
    expect(api.image).toBe("${data.terraform_remote_state.standins_env.outputs.repository_url}:${var.backend_image_tag}");
    const variable = rootJson(compiled, DEV).variable.backend_image_tag;
    expect(variable.type).toBe("string");
    expect(variable.default).toBe("dev-initial");
    expect(rootJson(compiled, PROD).variable.backend_image_tag.default).toBe("prod-initial");
    expect(variable.validation).toHaveLength(1);
  });

  it("leaves backend_image_tag without a default while the tag is todo(), and gives the test an example", () => {
    const c = compileWith(configWith({ environments: { dev: { service: { imageTag: todo("first image not pushed yet") } }, prod: {} } }), { phases: PHASES });
    const variable = rootJson(c, DEV).variable.backend_image_tag;
    expect(variable).not.toHaveProperty("default");
    expect(variable.description).toBe("TODO: first image not pushed yet");
    expect(testJson(c, DEV).variables.backend_image_tag).toBe("dev-initial");
    expect(c.plan.todos.map((t) => [t.variable, t.root, t.path])).toEqual([["backend_image_tag", DEV, "environments.dev.service.imageTag"]]);
    expect(rootJson(c, PROD).variable.backend_image_tag.default).toBe("prod-initial");
  });

  it("passes database coordinates as plain environment and every credential only as a Secrets Manager ARN", () => {
    const [api] = containers(compiled, DEV);
    const out = (name: string) => `\${data.terraform_remote_state.standins_env.outputs.${name}}`;
    expect(api.environment).toEqual([
      { name: "DB_HOST", value: out("db_address") },
      { name: "DB_NAME", value: out("db_name") },
      { name: "DB_PORT", value: out("db_port") },
      { name: "ENVIRONMENT", value: "dev" },
    ]);
    expect(api.secrets).toEqual([
      { name: "DB_PASSWORD", valueFrom: `${out("db_master_secret_arn")}:password::` },
      { name: "DB_USERNAME", valueFrom: `${out("db_master_secret_arn")}:username::` },
      { name: "JWT_SIGNING_KEY", valueFrom: out("jwt_secret_arn") },
      { name: "SESSION_SALT", valueFrom: out("session_salt_secret_arn") },
    ]);
    for (const { name } of api.environment) expect(name).not.toMatch(/PASS|SECRET|KEY|TOKEN|SALT|USER|CREDENTIAL|DATABASE_URL/);
  });

  it("uses literal names and ports as they are when producers know them at compile time", () => {
    const c = compileWith(baseConfig(), { phases: phasesFor([alb, ecsService], MIXED, { number: 5, dir: "50-service" }) });
    const [api] = containers(c, DEV);
    expect(api.environment).toContainEqual({ name: "DB_PORT", value: "5432" });
    expect(api.environment).toContainEqual({ name: "DB_NAME", value: "caja" });
    expect(api.logConfiguration.options["awslogs-group"]).toBe("/ecs/caja-dev-api");
    const s = JSON.parse(only(c, DEV, "aws_iam_role_policy").policy).Statement as any[];
    const logs = s.find((st) => st.Sid === "WriteAppLogs");
    expect(logs.Resource[0]).toBe("arn:aws:logs:us-east-1:${data.aws_caller_identity.current.account_id}:log-group:/ecs/caja-dev-api");
    expect(validateRoot(rootJson(c, DEV))).toEqual([]);
  });

  it("runs the service on Fargate in private subnets without public IPs, behind the target group", () => {
    const svc = only(compiled, DEV, "aws_ecs_service");
    expect(svc.name).toBe("caja-dev-api");
    expect(svc.cluster).toBe("${data.terraform_remote_state.standins_env.outputs.cluster_arn}");
    expect(svc.task_definition).toBe("${aws_ecs_task_definition.api.arn}");
    expect(svc.launch_type).toBe("FARGATE");
    expect(svc.network_configuration).toEqual({
      subnets: "${data.terraform_remote_state.standins_env.outputs.private_subnet_ids}",
      security_groups: ["${data.terraform_remote_state.standins_env.outputs.ecs_security_group_id}"],
      assign_public_ip: false,
    });
    expect(svc.load_balancer).toEqual([{ target_group_arn: "${aws_lb_target_group.api.arn}", container_name: "api", container_port: 8000 }]);
    expect(svc.health_check_grace_period_seconds).toBe(60);
    expect(svc.propagate_tags).toBe("SERVICE");
  });

  it("deploys without losing capacity and rolls failed deployments back", () => {
    const svc = only(compiled, DEV, "aws_ecs_service");
    expect(svc.deployment_minimum_healthy_percent).toBe(100);
    expect(svc.deployment_maximum_percent).toBe(200);
    expect(svc.deployment_circuit_breaker).toEqual({ enable: true, rollback: true });
  });

  it("starts with the tier's desired count and then leaves it to autoscaling", () => {
    expect(only(compiled, DEV, "aws_ecs_service").desired_count).toBe(1);
    const prod = only(compiled, PROD, "aws_ecs_service");
    expect(prod.desired_count).toBe(3);
    expect(prod.lifecycle.ignore_changes).toEqual(["desired_count"]);
  });

  it("keeps ECS Exec off in prod (and everywhere)", () => {
    expect(only(compiled, PROD, "aws_ecs_service").enable_execute_command).toBe(false);
    expect(only(compiled, DEV, "aws_ecs_service").enable_execute_command).toBe(false);
  });

  it("waits for the HTTPS listener before registering tasks", () => {
    expect(only(compiled, DEV, "aws_ecs_service").depends_on).toEqual(["aws_lb_listener.https"]);
  });

  it("exports the service name as a literal and ARNs with realistic examples", () => {
    const root = compiled.plan.roots.find((r) => r.id === DEV)!;
    const out = root.builder.outputs;
    expect(out.get("service_name")?.value).toBe("caja-dev-api");
    expect(out.get("task_definition_arn")?.example).toMatch(/^arn:aws:ecs:us-east-1:\d{12}:task-definition\/caja-dev-api:\d+$/);
    expect(out.get("task_execution_role_arn")?.example).toBe("arn:aws:iam::123456789012:role/caja-dev-api-task-exec");
    expect(out.get("task_role_arn")?.example).toBe("arn:aws:iam::123456789012:role/caja-dev-api-task");
  });
});

describe("50-service root", () => {
  it("matches the provider schema in every environment", () => {
    for (const env of ["dev", "staging", "prod"]) expect(validateRoot(rootJson(compiled, `${env}/50-service`)), env).toEqual([]);
  });

  it("mock-applies in dev and prod", { timeout: 300_000 }, async () => {
    for (const root of [DEV, PROD]) {
      const check = await terraformCheck(compiled, root);
      if (!check) return;
      expect(check.ok, `${root} failed at ${check.failedStep}:\n${check.detail}`).toBe(true);
      expect(check.runsPassed).toBeGreaterThan(0);
    }
  });

  it("mock-applies with compile-time literals and a todo() image tag", { timeout: 300_000 }, async () => {
    const config = configWith({ environments: { dev: { service: { imageTag: todo("first image not pushed yet") } } } });
    const c = compileWith(config, { phases: phasesFor([alb, ecsService], MIXED, { number: 5, dir: "50-service" }) });
    const check = await terraformCheck(c, DEV);
    if (!check) return;
    expect(check.ok, `failed at ${check.failedStep}:\n${check.detail}`).toBe(true);
  });
});
