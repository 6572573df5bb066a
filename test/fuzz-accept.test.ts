/**
 * What caja accepts, it accepts whole (fast-check, fixed seed): every generated valid config
 * compiles, the same bytes twice; every resource satisfies the provider schema (checked without
 * terraform); every name fits its AWS limit and charset, long project and environment names
 * included; the gate passes with the by-design suppressions; and no emitted file of any sample
 * holds a secret-looking value. Colliding names are reported as config errors, not left to AWS.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validateRoot } from "@caja/modules/validate";
import { ConfigIssuesError } from "../packages/compiler/src/errors.js";
import { checkPolicies } from "../packages/compiler/src/policy/check.js";
import { findSecrets } from "../packages/compiler/src/policy/secrets.js";
import { validConfig } from "./fuzz-configs.js";
import { baseConfig, compileWith, configWith } from "./helpers.js";

// Fixed so every run checks the same cases; CAJA_FUZZ_SEED explores others (a failure prints the seed to reproduce).
const SEED = Number(process.env.CAJA_FUZZ_SEED ?? 20261125);

/**
 * Every named resource caja emits: the attribute, the AWS limit and what AWS (or the provider's
 * validator) accepts. Sources: the provider's validators and the AWS API limits.
 */
const NAME_LIMITS: Readonly<Record<string, { readonly attribute: string; readonly max: number; readonly pattern: RegExp }>> = {
  aws_lb: { attribute: "name", max: 32, pattern: /^(?!internal-)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/ },
  aws_lb_target_group: { attribute: "name", max: 32, pattern: /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/ },
  aws_db_instance: { attribute: "identifier", max: 63, pattern: /^[a-z](?!.*--)[a-z0-9-]*[a-z0-9]$/ },
  aws_db_subnet_group: { attribute: "name", max: 255, pattern: /^(?!default$)[a-z0-9_ .-]+$/ },
  aws_db_parameter_group: { attribute: "name", max: 255, pattern: /^[a-z](?!.*--)[a-z0-9-]*[a-z0-9]$/ },
  aws_iam_role: { attribute: "name", max: 64, pattern: /^[\w+=,.@-]+$/ },
  aws_iam_policy: { attribute: "name", max: 128, pattern: /^[\w+=,.@-]+$/ },
  aws_s3_bucket: { attribute: "bucket", max: 63, pattern: /^[a-z0-9][a-z0-9-]*[a-z0-9]$/ },
  aws_ecr_repository: { attribute: "name", max: 256, pattern: /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/ },
  aws_ecs_cluster: { attribute: "name", max: 255, pattern: /^[A-Za-z0-9_-]+$/ },
  aws_ecs_service: { attribute: "name", max: 255, pattern: /^[A-Za-z0-9_-]+$/ },
  aws_ecs_task_definition: { attribute: "family", max: 255, pattern: /^[A-Za-z0-9_-]+$/ },
  aws_security_group: { attribute: "name", max: 255, pattern: /^(?!sg-)[\x20-\x7e]+$/ },
  aws_sns_topic: { attribute: "name", max: 256, pattern: /^[A-Za-z0-9_-]+$/ },
  aws_cloudwatch_log_group: { attribute: "name", max: 512, pattern: /^[.\-_/#A-Za-z0-9]+$/ },
  aws_cloudwatch_metric_alarm: { attribute: "alarm_name", max: 255, pattern: /^[\x20-\x7e]+$/ },
  aws_secretsmanager_secret: { attribute: "name", max: 512, pattern: /^[\w/+=.@-]+$/ },
  aws_kms_alias: { attribute: "name", max: 256, pattern: /^alias\/[\w/-]+$/ },
  aws_dynamodb_table: { attribute: "name", max: 255, pattern: /^[A-Za-z0-9_.-]{3,}$/ },
  aws_cloudfront_origin_access_control: { attribute: "name", max: 64, pattern: /^[\x20-\x7e]+$/ },
  aws_cloudfront_response_headers_policy: { attribute: "name", max: 128, pattern: /^[A-Za-z0-9_-]+$/ },
  aws_appautoscaling_policy: { attribute: "name", max: 255, pattern: /^[\x20-\x7e]+$/ },
};

/** Every name-limit problem in a compile's roots, as readable lines. */
function nameProblems(files: readonly { path: string; content: string }[]): { problems: string[]; checked: Set<string> } {
  const problems: string[] = [];
  const checked = new Set<string>();
  for (const f of files.filter((x) => x.path.endsWith("/main.tf.json"))) {
    const resources = (JSON.parse(f.content).resource ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
    for (const [type, byName] of Object.entries(resources)) {
      const limit = NAME_LIMITS[type];
      if (!limit) continue;
      for (const body of Object.values(byName)) {
        const name = body[limit.attribute];
        if (typeof name !== "string" || name.includes("${")) continue;
        checked.add(type);
        if (name.length > limit.max || !limit.pattern.test(name)) problems.push(`${f.path} ${type}.${limit.attribute} = "${name}" (${name.length} > ${limit.max} or not ${limit.pattern})`);
      }
    }
  }
  return { problems, checked };
}

describe("fuzzed valid configs", () => {
  it("compile deterministically to roots that satisfy the provider schema, fit every name limit, pass the gate and hold no secret", () => {
    const seenTypes = new Set<string>();
    let longNames = 0;
    fc.assert(
      fc.property(validConfig({ maxEnvs: 3 }), (config) => {
        const compiled = compileWith(config);
        const again = compileWith(config);
        expect(again.files).toEqual(compiled.files);

        const schema = compiled.files.filter((f) => f.path.endsWith("/main.tf.json")).flatMap((f) => validateRoot(JSON.parse(f.content)).map((i) => `${f.path}: ${i.path}: ${i.message}`));
        expect(schema).toEqual([]);

        const { problems, checked } = nameProblems(compiled.files);
        expect(problems).toEqual([]);
        for (const t of checked) seenTypes.add(t);
        if (config.project.length >= 20 && Object.keys(config.environments).some((e) => e.length >= 20)) longNames++;

        const gate = checkPolicies(compiled.plan, compiled.config, { today: "2026-06-15", input: config });
        expect(gate.blocking.map((f) => `${f.ruleId} ${f.root} ${f.address}: ${f.message}`)).toEqual([]);
        expect(gate.problems).toEqual([]);

        const secrets = compiled.files.flatMap((f) => findSecrets(f.path.endsWith(".json") ? JSON.parse(f.content) : f.content).map((h) => `${f.path} ${h.path}: ${h.kind}`));
        expect(secrets).toEqual([]);
      }),
      { seed: SEED, numRuns: 80 },
    );
    // The limits table was exercised by every kind of named resource, and by names at the limits.
    expect([...seenTypes].sort()).toEqual(Object.keys(NAME_LIMITS).sort());
    expect(longNames).toBeGreaterThan(3);
  }, 120_000);
});

describe("names", () => {
  it("are shortened deterministically, keeping the readable head, for the longest project and environment names", () => {
    const config = configWith({ project: "p".repeat(12) + "-payments-eu", environments: { ["production-eu-west-1-blue".slice(0, 24)]: { tier: "prod" }, ["development-eu-west-1-aa".slice(0, 24)]: {} } });
    const a = compileWith(config);
    const { problems } = nameProblems(a.files);
    expect(problems).toEqual([]);
    const lb = JSON.parse(a.files.find((f) => f.path.endsWith("50-service/main.tf.json") && f.path.startsWith("production"))!.content).resource.aws_lb.main.name;
    expect(lb).toMatch(/^pppppppppppp-payments-eu-[a-z0-9]{6}$|^pppppppppppp-payments-[a-z0-9]{6}$/);
    expect(compileWith(config).files).toEqual(a.files);
  });

  it("that would collide are a config error at the naming pattern, not an AWS failure at apply", () => {
    let error: unknown;
    try {
      compileWith({ ...baseConfig(), naming: { pattern: "{project}-{component}" } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigIssuesError);
    const issue = (error as ConfigIssuesError).issues.find((i) => /would both be named "caja-alb"/.test(i.message));
    expect(issue?.path).toBe("environments.staging");
    expect(issue?.message).toContain("rename one or change naming.pattern");
  });
});
