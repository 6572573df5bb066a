/**
 * Every resource caja emits matches the AWS provider schema: no unknown argument, no missing
 * required one, no block written as an attribute. Checked without terraform, over the repository's
 * config and variants that switch on the optional paths.
 */
import { describe, expect, it } from "vitest";
import { validateRoot } from "@caja/modules/validate";
import { ENV_PHASE_IDS, GLOBAL_PHASE_IDS } from "../packages/dsl/src/defaults.js";
import { PHASES } from "../packages/compiler/src/phases.js";
import { baseConfig, compileWith, configWith } from "./helpers.js";
import type { Compiled } from "../packages/compiler/src/compile.js";

function schemaIssues(compiled: Compiled): string[] {
  return compiled.files
    .filter((f) => f.path.endsWith("/main.tf.json"))
    .flatMap((f) => validateRoot(JSON.parse(f.content)).map((i) => `${f.path}: ${i.path}: ${i.message}`));
}

describe("emitted resources satisfy the provider schema", () => {
  it.each([
    ["the base config", baseConfig()],
    ["another region with an adopted zone and S3 locking", configWith({ region: "eu-west-1", accountId: "123456789012", state: { locking: "s3", bootstrapped: true }, domain: { root: "example.org", hostedZoneId: "Z0123456789ABCDEFGHIJ" } })],
    ["no env subdomains, three AZs, alarms off", configWith({
      domain: { root: "dbash.dev", namespace: "caja", envSubdomains: false },
      defaults: { network: { azCount: 3 }, alarms: { emails: ["a@b.co"], alb5xx: { enabled: false }, rdsCpu: { enabled: false } } },
    })],
  ])("for %s", (_name, config) => {
    const compiled = compileWith(config);
    expect(compiled.plan.roots.length).toBeGreaterThan(20);
    expect(schemaIssues(compiled)).toEqual([]);
  });

  it("catches a resource that breaks the schema (the check can fail)", () => {
    const root = { resource: { aws_s3_bucket_versioning: { x: { bucket: "b", versioning_configuration: "Enabled", colour: "blue" } } } };
    expect(validateRoot(root).map((i) => i.message).join("\n")).toMatch(/colour/);
  });
});

describe("the phase table", () => {
  it("matches the phase ids the config may extend", () => {
    expect(PHASES.filter((p) => p.scope === "env").map((p) => p.id)).toEqual([...ENV_PHASE_IDS]);
    expect(PHASES.filter((p) => p.scope === "global").map((p) => p.id)).toEqual([...GLOBAL_PHASE_IDS]);
  });

  it("follows the plan's phase order, with 9 (the pipeline) not a root", () => {
    expect(PHASES.map((p) => p.number)).toEqual([0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 10, 10]);
    expect(new Set(PHASES.map((p) => `${p.scope}/${p.dir}`)).size).toBe(PHASES.length);
  });
});
