/** Phase 4 (container platform): the ecr and ecs-cluster modules in `<env>/40-platform`. */
import { describe, expect, it } from "vitest";
import { validateRoot } from "../../packages/modules/src/aws/validate.js";
import { ecr } from "../../packages/modules/src/ecr.js";
import { ecsCluster } from "../../packages/modules/src/ecs-cluster.js";
import { baseConfig, compileWith, resources, rootJson, testJson } from "../helpers.js";
import { phasesFor, terraformCheck } from "../modules-harness.js";

const phases = phasesFor([ecr, ecsCluster], [], { number: 4, dir: "40-platform" });
const compile = (config: unknown = baseConfig()) => compileWith(config, { phases });

const DEV = "dev/40-platform";
const PROD = "prod/40-platform";
const compiled = compile();

describe("ecr", () => {
  const repo = (root: string) => resources(compiled, root, "aws_ecr_repository").api;

  it("names the repository <project>/<env>/api in lowercase", () => {
    expect(repo(DEV).name).toBe("caja/dev/api");
    expect(repo(PROD).name).toBe("caja/prod/api");
    expect(repo(DEV).name).toMatch(/^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/);
  });

  it("has immutable tags, scan on push, explicit AES256 encryption and no force delete", () => {
    for (const root of [DEV, PROD]) {
      expect(repo(root)).toEqual({
        name: expect.any(String),
        image_tag_mutability: "IMMUTABLE",
        image_scanning_configuration: { scan_on_push: true },
        encryption_configuration: [{ encryption_type: "AES256" }],
        force_delete: false,
      });
    }
  });

  it("expires untagged images after 7 days and keeps the newest 30 tagged ones, with distinct priorities", () => {
    const lifecycle = resources(compiled, DEV, "aws_ecr_lifecycle_policy").api;
    expect(lifecycle.repository).toBe("${aws_ecr_repository.api.name}");
    const { rules } = JSON.parse(lifecycle.policy);
    expect(rules).toHaveLength(2);
    expect(new Set(rules.map((r: { rulePriority: number }) => r.rulePriority)).size).toBe(2);
    const untagged = rules.find((r: any) => r.selection.tagStatus === "untagged");
    expect(untagged.selection).toEqual({ tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 7 });
    const tagged = rules.find((r: any) => r.selection.tagStatus === "tagged");
    expect(tagged.selection).toEqual({ tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: 30 });
    for (const r of rules) expect(r.action).toEqual({ type: "expire" });
    // ECR requires a rule selecting tagStatus "any" to have the highest priority number; there is none.
    expect(rules.some((r: any) => r.selection.tagStatus === "any")).toBe(false);
  });

  it("outputs the repository URL and ARN as references with realistic examples, and the name as a literal", () => {
    const out = rootJson(compiled, DEV).output;
    expect(out.repository_url.value).toBe("${aws_ecr_repository.api.repository_url}");
    expect(out.repository_arn.value).toBe("${aws_ecr_repository.api.arn}");
    expect(out.repository_name.value).toBe("caja/dev/api");
    const examples = Object.fromEntries([...compiled.plan.roots.find((r) => r.id === DEV)!.builder.outputs].map(([k, v]) => [k, v.example]));
    expect(examples.repository_url).toBe("123456789012.dkr.ecr.us-east-1.amazonaws.com/caja/dev/api");
    expect(examples.repository_arn).toBe("arn:aws:ecr:us-east-1:123456789012:repository/caja/dev/api");
  });
});

describe("ecs-cluster", () => {
  const cluster = (root: string) => resources(compiled, root, "aws_ecs_cluster").main;
  const logGroups = (root: string) => resources(compiled, root, "aws_cloudwatch_log_group");

  it("names the cluster <project>-<env>-cluster and enables Container Insights", () => {
    expect(cluster(DEV).name).toBe("caja-dev-cluster");
    expect(cluster(PROD).name).toBe("caja-prod-cluster");
    expect(cluster(DEV).setting).toEqual([{ name: "containerInsights", value: "enabled" }]);
  });

  it("logs ECS Exec sessions (OVERRIDE) to a dedicated log group with retention", () => {
    const exec = cluster(DEV).configuration.execute_command_configuration;
    expect(exec.logging).toBe("OVERRIDE");
    expect(exec.log_configuration).toEqual({ cloud_watch_log_group_name: "${aws_cloudwatch_log_group.exec.name}" });
    expect(logGroups(DEV).exec).toEqual({ name: "/aws/ecs/caja-dev-cluster/execute-command", retention_in_days: 30 });
  });

  it("attaches FARGATE and FARGATE_SPOT with on-demand FARGATE as the default (base 1, weight 1)", () => {
    const cp = resources(compiled, DEV, "aws_ecs_cluster_capacity_providers").main;
    expect(cp.cluster_name).toBe("${aws_ecs_cluster.main.name}");
    expect(cp.capacity_providers).toEqual(["FARGATE", "FARGATE_SPOT"]);
    expect(cp.default_capacity_provider_strategy).toEqual([{ capacity_provider: "FARGATE", base: 1, weight: 1 }]);
  });

  it("owns the application log group /ecs/<project>-<env>-api with the tier's retention", () => {
    expect(logGroups(DEV).app).toEqual({ name: "/ecs/caja-dev-api", retention_in_days: 30 });
    expect(logGroups(PROD).app).toEqual({ name: "/ecs/caja-prod-api", retention_in_days: 90 });
    expect(logGroups(PROD).exec.retention_in_days).toBe(90);
    expect(rootJson(compiled, PROD).output.app_log_group_name.value).toBe("/ecs/caja-prod-api");
  });

  it("follows the configured log retention and naming pattern", () => {
    const c = compile({ ...baseConfig(), naming: { pattern: "{env}-{project}-{component}" }, environments: { dev: { logs: { retentionDays: 14 } } } });
    const groups = resources(c, DEV, "aws_cloudwatch_log_group");
    expect(groups.app).toEqual({ name: "/ecs/dev-caja-api", retention_in_days: 14 });
    expect(groups.exec.retention_in_days).toBe(14);
    expect(resources(c, DEV, "aws_ecs_cluster").main.name).toBe("dev-caja-cluster");
  });

  it("outputs the cluster name as a literal and its ARN as a reference with a realistic example", () => {
    const out = rootJson(compiled, DEV).output;
    expect(out.cluster_name.value).toBe("caja-dev-cluster");
    expect(out.cluster_arn.value).toBe("${aws_ecs_cluster.main.arn}");
    const mock = testJson(compiled, DEV).mock_provider.aws[0].mock_resource;
    expect(mock.aws_ecs_cluster.defaults.arn).toBe("arn:aws:ecs:us-east-1:123456789012:cluster/caja-dev-cluster");
    expect(mock.aws_ecr_repository.defaults.repository_url).toBe("123456789012.dkr.ecr.us-east-1.amazonaws.com/caja/dev/api");
  });

  it("asserts its security controls in the generated test", () => {
    const conditions = testJson(compiled, DEV).run[0].mock_apply.assert.map((a: { condition: string }) => a.condition).join("\n");
    for (const needle of ["containerInsights", '"OVERRIDE"', '"IMMUTABLE"', "scan_on_push == true", "retention_in_days == 30"]) expect(conditions).toContain(needle);
  });
});

describe("platform root", () => {
  it("passes the schema check in dev and prod", () => {
    expect(validateRoot(rootJson(compiled, DEV))).toEqual([]);
    expect(validateRoot(rootJson(compiled, PROD))).toEqual([]);
  });

  it("reads nothing from other roots", () => {
    expect(rootJson(compiled, DEV).data?.terraform_remote_state).toBeUndefined();
  });

  it("passes terraform validate and the mock apply in dev and prod", { timeout: 600_000 }, async () => {
    for (const root of [DEV, PROD]) {
      const result = await terraformCheck(compiled, root);
      if (!result) return; // terraform absent
      expect(result.ok, `${root}: ${result.failedStep}\n${result.detail}`).toBe(true);
      expect(result.runsPassed).toBeGreaterThan(0);
    }
  });
});
