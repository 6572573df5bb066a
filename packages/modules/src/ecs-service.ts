/**
 * Phase 5 — ecs-service (plan sections 7 "ecs-service", 4 and 9): the FastAPI backend as a Fargate
 * task definition and ECS service behind the ALB's target group, with a separate task execution
 * role (pulls the image, writes logs, injects secrets) and task role (what the app itself may call).
 *
 * Inputs:
 * - `environments.<env>.service`: `imageTag` (Terraform variable `backend_image_tag`, defaulting to
 *   it; without a default when it is `todo()`), `cpu`, `memory`, `port`, `desiredCount`.
 * - networking `private_subnet_ids`; security `ecs_security_group_id`; ecr `repository_url`,
 *   `repository_arn`; ecs-cluster `cluster_arn`, `app_log_group_name`; rds-postgres `db_address`,
 *   `db_port`, `db_name`, `db_master_secret_arn`; secrets `jwt_secret_arn`, `session_salt_secret_arn`;
 *   alb `target_group_arn`, `https_listener_arn`. Any of them may be a literal or a reference.
 *
 * Outputs: `service_name`, `task_definition_arn`, `task_execution_role_arn`, `task_role_arn`.
 *
 * The container gets plain `DB_HOST`, `DB_PORT`, `DB_NAME`, `ENVIRONMENT`, and, by Secrets Manager
 * ARN only (never a value in the JSON or the state), `DB_USERNAME` / `DB_PASSWORD` (JSON keys of the
 * RDS-managed master secret), `JWT_SIGNING_KEY` and `SESSION_SALT`. The app builds its database URL
 * at start-up, URL-encoding the credentials (the generated password may hold `/`, `@`, `:`...):
 *
 * ```python
 * from urllib.parse import quote
 * DATABASE_URL = (f"postgresql://{quote(os.environ['DB_USERNAME'], safe='')}:{quote(os.environ['DB_PASSWORD'], safe='')}"
 *                 f"@{os.environ['DB_HOST']}:{os.environ['DB_PORT']}/{os.environ['DB_NAME']}?sslmode=require")
 * ```
 *
 * Security choices:
 * - Execution role: an inline, least-privilege equivalent of AmazonECSTaskExecutionRolePolicy:
 *   `ecr:GetAuthorizationToken` on `*` (it has no resource-level permissions), image pulls on this
 *   repository only, log writes to the app log group only, `secretsmanager:GetSecretValue` on exactly
 *   the three secrets. The secrets use the AWS-managed key, so no `kms:Decrypt` is needed; if the
 *   secrets module moves to a customer-managed key, add `kms:Decrypt` on that key here.
 * - Task role: deliberately empty — the API calls no AWS service yet. Grant what it needs here,
 *   never on the execution role. Both roles trust `ecs-tasks.amazonaws.com` only for this account
 *   (`aws:SourceAccount`, against the confused deputy).
 * - ECS Exec is off in every environment (no config field asks for it; it would need ssmmessages
 *   on the task role and exec logging on the cluster). It must stay off in prod.
 * - Read-only root filesystem (CKV_AWS_336) with a non-persistent task volume on `/tmp`; not
 *   privileged (the field is omitted: false); private subnets without public IPs (CKV_AWS_333).
 * - Deployments keep 100 % healthy capacity (up to 200 % during a rollout) and the circuit breaker
 *   rolls a failing deployment back (plan section 10, "Deploy downtime").
 * - `desired_count` is ignored after creation: phase 10's autoscaling owns it.
 * - CPU architecture X86_64: the backend image is built by the standard (amd64) GitHub runners.
 *   ARM64 (Graviton) is about 20 % cheaper but needs an arm64 or multi-arch image build first.
 */
import { isTodo } from "@caja/dsl";
import { jsonDocument } from "./core/expr.js";
import { defineModule } from "./core/module.js";
import { NAME_RULES } from "./core/naming.js";
import { policy, type PolicyDocument, type Statement } from "./core/policies.js";
import { modulesOn, type OutputRef } from "./core/user-module.js";
import { ALB, ECR, ECS_CLUSTER, ECS_SERVICE, NETWORKING, RDS_POSTGRES, SECRETS, SECURITY } from "./contracts.js";

/** The container's name in the task definition and the service's load balancer block. */
export const API_CONTAINER = "api";

/** The container's own environment variables and secrets: a module's wiring may not reuse them. */
export const SERVICE_VARIABLES: readonly string[] = ["DB_HOST", "DB_NAME", "DB_PORT", "DB_PASSWORD", "DB_USERNAME", "ENVIRONMENT", "JWT_SIGNING_KEY", "SESSION_SALT"];

/** Docker's tag grammar (the config schema checks the same). */
const IMAGE_TAG_CONDITION = 'can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.backend_image_tag))';

/** Sorted by name, as ECS returns them, so plans show no spurious diff. */
function byName<T extends { name: string }>(list: T[]): T[] {
  return list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export const ecsService = defineModule(ECS_SERVICE, (ctx) => {
  const { root, env } = ctx;
  const { service } = env;
  const region = ctx.region;
  const account = ctx.accountId;

  const privateSubnets = ctx.read(NETWORKING, "private_subnet_ids") as string | string[];
  const ecsSecurityGroup = ctx.read(SECURITY, "ecs_security_group_id") as string;
  const repositoryUrl = ctx.read(ECR, "repository_url") as string;
  const repositoryArn = ctx.read(ECR, "repository_arn") as string;
  const clusterArn = ctx.read(ECS_CLUSTER, "cluster_arn") as string;
  const logGroupName = ctx.read(ECS_CLUSTER, "app_log_group_name") as string;
  const dbAddress = ctx.read(RDS_POSTGRES, "db_address") as string;
  const dbPort = ctx.read(RDS_POSTGRES, "db_port") as string | number;
  const dbName = ctx.read(RDS_POSTGRES, "db_name") as string;
  const masterSecretArn = ctx.read(RDS_POSTGRES, "db_master_secret_arn") as string;
  const jwtSecretArn = ctx.read(SECRETS, "jwt_secret_arn") as string;
  const sessionSaltArn = ctx.read(SECRETS, "session_salt_secret_arn") as string;
  const targetGroupArn = ctx.read(ALB, "target_group_arn") as string;
  const httpsListenerArn = ctx.read(ALB, "https_listener_arn") as string;

  const serviceName = ctx.name("api", NAME_RULES.ecsService);
  const imageTag = imageTagVariable();
  const logGroupArn = `arn:aws:logs:${region}:${account}:log-group:${logGroupName}`;
  const wired = wiredModules();
  const secretArns = [masterSecretArn, jwtSecretArn, sessionSaltArn, ...new Set(wired.secrets.map((s) => s.arn))];

  // Roles ----------------------------------------------------------------------------------------
  const trust = policy({
    Effect: "Allow",
    Principal: { Service: "ecs-tasks.amazonaws.com" },
    Action: "sts:AssumeRole",
    Condition: { StringEquals: { "aws:SourceAccount": account } },
  });

  const executionRoleName = ctx.name("api-task-exec", NAME_RULES.iamRole);
  const executionRole = root.resource("aws_iam_role", "task_execution", {
    name: executionRoleName,
    description: `ECS agent for ${serviceName}: pulls the image, writes logs, injects secrets.`,
    assume_role_policy: jsonDocument(trust),
    force_detach_policies: true,
  });
  const executionPolicy: PolicyDocument = policy(
    // GetAuthorizationToken has no resource-level permissions: "*" is the only valid resource.
    { Sid: "EcrAuthToken", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
    { Sid: "EcrPullApiImage", Effect: "Allow", Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], Resource: repositoryArn },
    { Sid: "WriteAppLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [logGroupArn, `${logGroupArn}:*`] },
    { Sid: "ReadAppSecrets", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: secretArns },
  );
  root.resource("aws_iam_role_policy", "task_execution", {
    name: "task-execution",
    role: executionRole.attr("name"),
    policy: jsonDocument(executionPolicy),
  });

  const taskRoleName = ctx.name("api-task", NAME_RULES.iamRole);
  // No policy of its own: the API calls no AWS service but what enabled modules wire to it.
  const taskRole = root.resource("aws_iam_role", "task", {
    name: taskRoleName,
    description: `Runtime identity of the ${serviceName} containers (no permissions yet).`,
    assume_role_policy: jsonDocument(trust),
    force_detach_policies: true,
  });
  if (wired.permissions.length > 0) {
    root.resource("aws_iam_role_policy", "task", { name: "task", role: taskRole.attr("name"), policy: jsonDocument(policy(...wired.permissions)) });
  }

  // Task definition ------------------------------------------------------------------------------
  const family = ctx.name("api", NAME_RULES.ecsFamily);
  const container = {
    name: API_CONTAINER,
    image: `${repositoryUrl}:${imageTag}`,
    essential: true,
    readonlyRootFilesystem: true,
    portMappings: [{ containerPort: service.port, hostPort: service.port, protocol: "tcp" }],
    // The root filesystem is read-only; the app (and Python's tempfile) write to /tmp only.
    mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }],
    // Sorted by name, as ECS returns them, so plans show no spurious diff.
    environment: byName([
      { name: "DB_HOST", value: dbAddress },
      { name: "DB_NAME", value: String(dbName) },
      { name: "DB_PORT", value: String(dbPort) },
      { name: "ENVIRONMENT", value: env.name },
      ...wired.environment,
    ]),
    // Secrets Manager references only: ECS resolves them at start-up with the execution role.
    secrets: byName([
      { name: "DB_PASSWORD", valueFrom: `${masterSecretArn}:password::` },
      { name: "DB_USERNAME", valueFrom: `${masterSecretArn}:username::` },
      { name: "JWT_SIGNING_KEY", valueFrom: jwtSecretArn },
      { name: "SESSION_SALT", valueFrom: sessionSaltArn },
      ...wired.secrets.map((s) => ({ name: s.name, valueFrom: s.jsonKey ? `${s.arn}:${s.jsonKey}::` : s.arn })),
    ]),
    logConfiguration: {
      logDriver: "awslogs",
      options: { "awslogs-group": logGroupName, "awslogs-region": region, "awslogs-stream-prefix": API_CONTAINER },
    },
  };
  const taskDefinition = root.resource("aws_ecs_task_definition", "api", {
    family,
    requires_compatibilities: ["FARGATE"],
    network_mode: "awsvpc",
    cpu: String(service.cpu),
    memory: String(service.memory),
    runtime_platform: { operating_system_family: "LINUX", cpu_architecture: "X86_64" },
    execution_role_arn: executionRole.attr("arn"),
    task_role_arn: taskRole.attr("arn"),
    // A Fargate task volume without a host path: scratch space that lives as long as the task.
    volume: [{ name: "tmp" }],
    container_definitions: jsonDocument([container]),
  });

  // Service --------------------------------------------------------------------------------------
  root.resource(
    "aws_ecs_service",
    "api",
    {
      name: serviceName,
      cluster: clusterArn,
      task_definition: taskDefinition.attr("arn"),
      launch_type: "FARGATE",
      platform_version: "LATEST",
      desired_count: service.desiredCount,
      deployment_minimum_healthy_percent: 100,
      deployment_maximum_percent: 200,
      deployment_circuit_breaker: { enable: true, rollback: true },
      health_check_grace_period_seconds: 60,
      network_configuration: { subnets: privateSubnets, security_groups: [ecsSecurityGroup], assign_public_ip: false },
      load_balancer: [{ target_group_arn: targetGroupArn, container_name: API_CONTAINER, container_port: service.port }],
      enable_execute_command: false,
      enable_ecs_managed_tags: true,
      propagate_tags: "SERVICE",
    },
    {
      // Registering targets fails until a listener forwards to the target group.
      dependsOn: [httpsListenerArn],
      // Phase 10's autoscaling owns the running count once the service exists.
      lifecycle: { ignore_changes: ["desired_count"] },
    },
  );

  // Mocked computed values must be ARNs where the provider validates them (task definition roles).
  const roleArn = (name: string) => `arn:aws:iam::123456789012:role/${name}`;
  const taskDefinitionArn = `arn:aws:ecs:${region}:123456789012:task-definition/${family}:1`;
  root.overrideInTest(executionRole, { arn: roleArn(executionRoleName) });
  root.overrideInTest(taskRole, { arn: roleArn(taskRoleName) });
  root.mockResource("aws_ecs_task_definition", { arn: taskDefinitionArn, arn_without_revision: taskDefinitionArn.replace(/:1$/, "") });

  root.output("service_name", { value: serviceName, description: "Name of the ECS service running the API.", example: serviceName });
  root.output("task_definition_arn", { value: taskDefinition.attr("arn"), description: "ARN (with revision) of the API task definition.", example: taskDefinitionArn });
  root.output("task_execution_role_arn", {
    value: executionRole.attr("arn"),
    description: "ARN of the task execution role (image pull, logs, secret injection).",
    example: roleArn(executionRoleName),
  });
  root.output("task_role_arn", { value: taskRole.attr("arn"), description: "ARN of the task role the API runs as.", example: roleArn(taskRoleName) });

  root.assert(`aws_ecs_task_definition.api.execution_role_arn != aws_ecs_task_definition.api.task_role_arn`, "the execution role is not the task role");
  root.assert(`one(aws_ecs_service.api.network_configuration).assign_public_ip == false`, "tasks get no public IP");
  root.assert(
    `one(aws_ecs_service.api.deployment_circuit_breaker).enable == true && one(aws_ecs_service.api.deployment_circuit_breaker).rollback == true`,
    "the deployment circuit breaker rolls back failed deployments",
  );
  root.assert(`aws_ecs_service.api.deployment_minimum_healthy_percent == 100`, "deployments keep full healthy capacity");
  root.assert(`aws_ecs_service.api.enable_execute_command == false`, "ECS Exec is off");
  root.assert(`jsondecode(aws_ecs_task_definition.api.container_definitions)[0].readonlyRootFilesystem == true`, "the container's root filesystem is read-only");

  /** What the modules on in this environment give the service: variables, secrets, task permissions. */
  function wiredModules() {
    const environment: { name: string; value: string }[] = [];
    const secrets: { name: string; arn: string; jsonKey?: string }[] = [];
    const permissions: Statement[] = [];
    for (const { module, wiring } of modulesOn(ctx.config, env.name)) {
      const value = (v: string | number | OutputRef) => (typeof v === "object" ? String(ctx.read(module, v.output)) : String(v));
      const service = wiring.service ?? {};
      for (const [name, v] of Object.entries(service.environment ?? {})) environment.push({ name, value: value(v) });
      for (const [name, ref] of Object.entries(service.secrets ?? {})) secrets.push({ name, arn: value(ref), ...(ref.jsonKey ? { jsonKey: ref.jsonKey } : {}) });
      for (const p of service.permissions ?? []) permissions.push({ Sid: p.sid, Effect: "Allow", Action: [...p.actions], Resource: p.resources.map(value) });
    }
    return { environment, secrets, permissions };
  }

  /** `backend_image_tag`: defaults to the configured tag; no default while the tag is `todo()`. */
  function imageTagVariable(): string {
    const tag = service.imageTag;
    const validation = [{ condition: IMAGE_TAG_CONDITION, error_message: "backend_image_tag must be a container image tag (letters, digits, _ . -; at most 128)." }];
    if (isTodo(tag)) {
      return ctx.decide<string>(tag, {
        name: "backend_image_tag",
        path: `environments.${env.name}.service.imageTag`,
        type: "string",
        example: `${env.name}-initial`,
        validation,
      });
    }
    return root.variable("backend_image_tag", {
      type: "string",
      description: "Tag of the backend image in ECR to deploy (the pipeline passes the immutable tag it pushed).",
      default: tag,
      example: tag,
      validation,
    });
  }
});
