/**
 * Phase 4 — ecs-cluster (plan sections 3, 5 and 7): the Fargate cluster the API service runs in
 * (phase 5), and the log group that service writes to.
 *
 * Inputs: `project`, the environment's name and `logs.retentionDays`.
 *
 * Outputs:
 * - `cluster_name`: e.g. `caja-dev-cluster` (known at compile time).
 * - `cluster_arn`: e.g. `arn:aws:ecs:us-east-1:123456789012:cluster/caja-dev-cluster`.
 * - `app_log_group_name`: e.g. `/ecs/caja-dev-api`, the awslogs group of the API containers.
 *
 * Secure by default: Container Insights on (CKV_AWS_65); ECS Exec sessions are logged (`OVERRIDE`
 * to a dedicated log group, CKV_AWS_223), whether or not a service enables Exec. Every log group has
 * the environment's retention (CKV_AWS_66); KMS on log groups (CKV_AWS_158) and 365-day retention
 * (CKV_AWS_338) are warnings by design (plan section 7 sets 30/60/90 days).
 *
 * Capacity: FARGATE and FARGATE_SPOT are both attached; the default strategy places every task on
 * on-demand FARGATE (base 1, weight 1), so Spot is used only by a service that asks for it.
 */
import { defineModule } from "./core/module.js";
import { NAME_RULES, resourceName } from "./core/naming.js";
import { ECS_CLUSTER } from "./contracts.js";

export const ecsCluster = defineModule(ECS_CLUSTER, (ctx) => {
  const { root, config, env, region } = ctx;
  const retention = env.logs.retentionDays;

  const clusterName = ctx.name("cluster", NAME_RULES.ecsCluster);

  const execLogs = root.resource("aws_cloudwatch_log_group", "exec", {
    name: ctx.claimName(`/aws/ecs/${clusterName}/execute-command`, NAME_RULES.logGroup),
    retention_in_days: retention,
  });

  // `/ecs/<project>-<env>-api`, following naming.pattern like every other name.
  const appComponent = resourceName({ pattern: config.naming.pattern, project: config.project, env: env.name }, "api", NAME_RULES.logGroup);
  const appLogGroupName = ctx.claimName(`/ecs/${appComponent}`, NAME_RULES.logGroup);
  root.resource("aws_cloudwatch_log_group", "app", { name: appLogGroupName, retention_in_days: retention });

  const cluster = root.resource("aws_ecs_cluster", "main", {
    name: clusterName,
    setting: [{ name: "containerInsights", value: "enabled" }],
    configuration: {
      execute_command_configuration: {
        logging: "OVERRIDE",
        log_configuration: { cloud_watch_log_group_name: execLogs.attr("name") },
      },
    },
  });

  root.resource("aws_ecs_cluster_capacity_providers", "main", {
    cluster_name: cluster.attr("name"),
    capacity_providers: ["FARGATE", "FARGATE_SPOT"],
    default_capacity_provider_strategy: [{ capacity_provider: "FARGATE", base: 1, weight: 1 }],
  });

  const arn = `arn:aws:ecs:${region}:123456789012:cluster/${clusterName}`;
  root.mockResource("aws_ecs_cluster", { arn });

  root.output("cluster_name", { value: clusterName, description: "Name of the ECS cluster.", example: clusterName });
  root.output("cluster_arn", { value: cluster.attr("arn"), description: "ARN of the ECS cluster.", example: arn });
  root.output("app_log_group_name", {
    value: appLogGroupName,
    description: "CloudWatch log group the API containers write to (awslogs-group).",
    example: appLogGroupName,
  });

  const c = cluster.address;
  root.assert(
    `anytrue([for s in ${c}.setting : s.name == "containerInsights" && s.value == "enabled"])`,
    "Container Insights is enabled on the cluster",
  );
  root.assert(
    `${c}.configuration[0].execute_command_configuration[0].logging == "OVERRIDE" && ${c}.configuration[0].execute_command_configuration[0].log_configuration[0].cloud_watch_log_group_name == ${execLogs.address}.name`,
    "ECS Exec sessions are logged to the cluster's log group",
  );
  root.assert(`${execLogs.address}.retention_in_days == ${retention} && aws_cloudwatch_log_group.app.retention_in_days == ${retention}`, `log groups keep ${retention} days`);
  root.assert(
    `toset(aws_ecs_cluster_capacity_providers.main.capacity_providers) == toset(["FARGATE", "FARGATE_SPOT"])`,
    "FARGATE and FARGATE_SPOT are attached to the cluster",
  );
});
