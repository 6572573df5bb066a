import { describe, expect, it } from "vitest";
import { defineModule } from "../../packages/modules/src/core/module.js";
import { COST_ALLOCATION, ECS_CLUSTER, ECS_SERVICE } from "../../packages/modules/src/contracts.js";
import { hardening } from "../../packages/modules/src/hardening.js";
import { costAllocation } from "../../packages/modules/src/cost-allocation.js";
import { validateRoot } from "../../packages/modules/src/aws/validate.js";
import { baseConfig, compileWith, configWith, resources, rootJson } from "../helpers.js";
import { phasesFor, standIn, terraformCheck } from "../modules-harness.js";

const cluster = standIn(ECS_CLUSTER, {
  cluster_name: "caja-dev-cluster",
  cluster_arn: "arn:aws:ecs:us-east-1:123456789012:cluster/caja-dev-cluster",
  app_log_group_name: "/ecs/caja-dev-api",
});
const service = standIn(ECS_SERVICE, {
  service_name: "caja-dev-api",
  task_definition_arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/caja-dev-api:1",
  task_execution_role_arn: "arn:aws:iam::123456789012:role/caja-dev-task-execution",
  task_role_arn: "arn:aws:iam::123456789012:role/caja-dev-task",
});
const phases = phasesFor([hardening], [cluster, service], { number: 10, dir: "90-hardening" });
const DEV = "dev/90-hardening";
const PROD = "prod/90-hardening";
const compile = (config: unknown = baseConfig()) => compileWith(config, { phases });
const remote = (output: string) => `\${data.terraform_remote_state.standins_env.outputs.${output}}`;

describe("hardening module", () => {
  it("registers the ECS service's desired count as a scalable target with the tier's bounds", () => {
    const c = compile();
    const dev = resources(c, DEV, "aws_appautoscaling_target").ecs_service;
    expect(dev).toEqual({
      service_namespace: "ecs",
      scalable_dimension: "ecs:service:DesiredCount",
      resource_id: `service/${remote("cluster_name")}/${remote("service_name")}`,
      min_capacity: 1,
      max_capacity: 2,
    });
    expect(resources(c, PROD, "aws_appautoscaling_target").ecs_service).toMatchObject({ min_capacity: 3, max_capacity: 6 });
    expect(resources(c, "staging/90-hardening", "aws_appautoscaling_target").ecs_service).toMatchObject({ min_capacity: 2, max_capacity: 4 });
  });

  it("tracks CPU at 60% and memory at 70%, scaling out after 60 s and in after 300 s", () => {
    for (const root of [DEV, PROD]) {
      const policies = resources(compile(), root, "aws_appautoscaling_policy");
      const env = root.split("/")[0];
      for (const [label, metric, target] of [["cpu", "ECSServiceAverageCPUUtilization", 60], ["memory", "ECSServiceAverageMemoryUtilization", 70]] as const) {
        expect(policies[label]).toEqual({
          name: `caja-${env}-ecs-${label}-target`,
          policy_type: "TargetTrackingScaling",
          service_namespace: "${aws_appautoscaling_target.ecs_service.service_namespace}",
          scalable_dimension: "${aws_appautoscaling_target.ecs_service.scalable_dimension}",
          resource_id: "${aws_appautoscaling_target.ecs_service.resource_id}",
          target_tracking_scaling_policy_configuration: {
            predefined_metric_specification: { predefined_metric_type: metric },
            target_value: target,
            scale_out_cooldown: 60,
            scale_in_cooldown: 300,
            disable_scale_in: false,
          },
        });
      }
    }
  });

  it("takes bounds, targets and cooldowns from an environment's own settings", () => {
    const autoscaling = { min: 2, max: 10, cpuTarget: 50, memoryTarget: 75, scaleOutCooldownSeconds: 30, scaleInCooldownSeconds: 600 };
    const c = compile(configWith({ environments: { dev: {}, staging: {}, prod: { service: { autoscaling } } } }));
    expect(resources(c, PROD, "aws_appautoscaling_target").ecs_service).toMatchObject({ min_capacity: 2, max_capacity: 10 });
    const policies = resources(c, PROD, "aws_appautoscaling_policy");
    expect(policies.cpu.target_tracking_scaling_policy_configuration).toMatchObject({ target_value: 50, scale_out_cooldown: 30, scale_in_cooldown: 600 });
    expect(policies.memory.target_tracking_scaling_policy_configuration.target_value).toBe(75);
    expect(resources(c, DEV, "aws_appautoscaling_target").ecs_service).toMatchObject({ min_capacity: 1, max_capacity: 2 });
  });

  it("outputs the resource id by reference while the names come from state, and the policy names", () => {
    const out = rootJson(compile(), DEV).output;
    expect(out.scalable_target_resource_id.value).toBe("${aws_appautoscaling_target.ecs_service.resource_id}");
    expect(out.scaling_policy_names.value).toEqual(["caja-dev-ecs-cpu-target", "caja-dev-ecs-memory-target"]);
  });

  it("outputs a literal resource id when the cluster and service names are known at compile time", () => {
    const literal = [
      defineModule(ECS_CLUSTER, ({ root, env }) => {
        root.output("cluster_name", { value: `caja-${env.name}-cluster`, description: "", example: `caja-${env.name}-cluster` });
        root.output("cluster_arn", { value: null, description: "", example: "arn:aws:ecs:us-east-1:123456789012:cluster/caja-dev-cluster" });
        root.output("app_log_group_name", { value: "/ecs/caja-dev-api", description: "", example: "/ecs/caja-dev-api" });
      }),
      defineModule(ECS_SERVICE, ({ root, env }) => {
        root.output("service_name", { value: `caja-${env.name}-api`, description: "", example: `caja-${env.name}-api` });
        for (const o of ["task_definition_arn", "task_execution_role_arn", "task_role_arn"]) root.output(o, { value: null, description: "", example: "arn:aws:iam::123456789012:role/x" });
      }),
    ];
    const c = compileWith(baseConfig(), { phases: phasesFor([hardening], literal, { number: 10, dir: "90-hardening" }) });
    expect(rootJson(c, PROD).output.scalable_target_resource_id.value).toBe("service/caja-prod-cluster/caja-prod-api");
    expect(resources(c, PROD, "aws_appautoscaling_target").ecs_service.resource_id).toBe("service/caja-prod-cluster/caja-prod-api");
    expect(rootJson(c, PROD).data).toBeUndefined();
  });

  it("matches the provider schema", () => {
    const c = compile();
    expect(validateRoot(rootJson(c, DEV))).toEqual([]);
    expect(validateRoot(rootJson(c, PROD))).toEqual([]);
  });

  it("passes terraform validate and the mock apply for dev and prod", { timeout: 300_000 }, async () => {
    const c = compile();
    for (const id of [DEV, PROD]) {
      const result = await terraformCheck(c, id);
      if (!result) return;
      expect(result.ok, `${id}: ${result.detail}`).toBe(true);
      expect(result.runsPassed).toBe(1);
    }
  });
});

describe("cost-allocation module", () => {
  const GLOBAL = "global/90-hardening";
  const compileGlobal = () => compileWith(baseConfig(), { phases: phasesFor([costAllocation], [], { number: 10, dir: "90-hardening", scope: "global" }) });

  it("activates the plan's four cost tags once for the account", () => {
    const c = compileGlobal();
    expect(COST_ALLOCATION.scope).toBe("global");
    expect(c.plan.roots.map((r) => r.id)).toEqual([GLOBAL]);
    const tags = resources(c, GLOBAL, "aws_ce_cost_allocation_tag").cost;
    expect(tags).toEqual({
      tag_key: "${each.key}",
      status: "Active",
      for_each: { Project: "Project", Environment: "Environment", CostCenter: "CostCenter", Owner: "Owner" },
    });
    expect(rootJson(c, GLOBAL).output.cost_allocation_tag_keys.value).toEqual(["Project", "Environment", "CostCenter", "Owner"]);
  });

  it("activates only tag keys the provider's default tags put on every resource", () => {
    const c = compileGlobal();
    const defaultTags = Object.keys(rootJson(c, GLOBAL).provider.aws[0].default_tags.tags);
    for (const key of rootJson(c, GLOBAL).output.cost_allocation_tag_keys.value) expect(defaultTags).toContain(key);
    expect(validateRoot(rootJson(c, GLOBAL))).toEqual([]);
  });

  it("passes terraform validate and the mock apply", { timeout: 300_000 }, async () => {
    const result = await terraformCheck(compileGlobal(), GLOBAL);
    if (!result) return;
    expect(result.ok, result.detail).toBe(true);
  });
});
