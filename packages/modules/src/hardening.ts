/**
 * Phase 10 — hardening (plan section 5): Application Auto Scaling of the ECS service, with two
 * target-tracking policies (CPU and memory). Cost allocation tags are account-wide and live in the
 * global `cost-allocation` module.
 *
 * Inputs:
 * - `environments.<env>.service.autoscaling`: `min`/`max` tasks (tier defaults: dev 1–2, staging
 *   2–4, prod 3–6), `cpuTarget` (60%), `memoryTarget` (70%), `scaleOutCooldownSeconds` (60) and
 *   `scaleInCooldownSeconds` (300).
 * - The cluster's `cluster_name` and the service's `service_name` (wired by the engine).
 *
 * Outputs:
 * - `scalable_target_resource_id`: `service/<cluster>/<service>`, a literal when both names are
 *   known at compile time.
 * - `scaling_policy_names`: the two target-tracking policies.
 *
 * Autoscaling owns the task count from here on: the ECS service must ignore changes to
 * `desired_count`, or every apply would reset what the policies scaled to. No `role_arn`: Application
 * Auto Scaling uses its ECS service-linked role, created on first use.
 */
import { isLiteral } from "./core/expr.js";
import { defineModule } from "./core/module.js";
import { NAME_RULES } from "./core/naming.js";
import { ECS_CLUSTER, ECS_SERVICE, HARDENING } from "./contracts.js";

export const hardening = defineModule(HARDENING, (ctx) => {
  const { root, env } = ctx;
  const scaling = env.service.autoscaling;
  const cluster = ctx.read(ECS_CLUSTER, "cluster_name") as string;
  const service = ctx.read(ECS_SERVICE, "service_name") as string;
  const resourceId = `service/${cluster}/${service}`;

  const target = root.resource("aws_appautoscaling_target", "ecs_service", {
    service_namespace: "ecs",
    scalable_dimension: "ecs:service:DesiredCount",
    resource_id: resourceId,
    min_capacity: scaling.min,
    max_capacity: scaling.max,
  });

  const policies = [
    { label: "cpu", component: "ecs-cpu-target", metric: "ECSServiceAverageCPUUtilization", target: scaling.cpuTarget },
    { label: "memory", component: "ecs-memory-target", metric: "ECSServiceAverageMemoryUtilization", target: scaling.memoryTarget },
  ] as const;
  const names: string[] = [];
  for (const p of policies) {
    const name = ctx.name(p.component, NAME_RULES.scalingPolicy);
    names.push(name);
    // The target's attributes (not the literals) so the policy waits for the target to register.
    root.resource("aws_appautoscaling_policy", p.label, {
      name,
      policy_type: "TargetTrackingScaling",
      service_namespace: target.attr("service_namespace"),
      scalable_dimension: target.attr("scalable_dimension"),
      resource_id: target.attr("resource_id"),
      target_tracking_scaling_policy_configuration: {
        predefined_metric_specification: { predefined_metric_type: p.metric },
        target_value: p.target,
        scale_out_cooldown: scaling.scaleOutCooldownSeconds,
        scale_in_cooldown: scaling.scaleInCooldownSeconds,
        disable_scale_in: false,
      },
    });
    root.assert(
      `aws_appautoscaling_policy.${p.label}.target_tracking_scaling_policy_configuration[0].target_value == ${p.target}`,
      `the ${p.label} policy tracks ${p.target}%`,
    );
  }

  root.output("scalable_target_resource_id", {
    value: isLiteral(resourceId) ? resourceId : target.attr("resource_id"),
    description: "Application Auto Scaling resource id of the ECS service (service/<cluster>/<service>).",
    example: isLiteral(resourceId) ? resourceId : `service/${ctx.config.project}-${env.name}-cluster/${ctx.config.project}-${env.name}-api`,
  });
  root.output("scaling_policy_names", { value: names, description: "Target-tracking scaling policies of the ECS service (CPU, memory).", example: names });

  root.assert(`aws_appautoscaling_target.ecs_service.min_capacity == ${scaling.min}`, `the service keeps at least ${scaling.min} task(s)`);
  root.assert(`aws_appautoscaling_target.ecs_service.max_capacity == ${scaling.max}`, `the service scales to at most ${scaling.max} task(s)`);
});
