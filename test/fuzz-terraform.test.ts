/**
 * Terraform judges a sample of what the fuzzer accepts: roots of generated configs (seeded, so the
 * same sample every run) pass `terraform init -backend=false`, `validate` and their mock `test`.
 * Without terraform this prints one loud line and skips, unless CAJA_REQUIRE_TERRAFORM is set.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findTerraform } from "../packages/compiler/src/terraform.js";
import { validConfig } from "./fuzz-configs.js";
import { compileWith } from "./helpers.js";
import { terraformCheck } from "./modules-harness.js";

const bin = findTerraform();
if (!bin) {
  if (process.env.CAJA_REQUIRE_TERRAFORM) throw new Error("CAJA_REQUIRE_TERRAFORM is set but terraform is not on PATH");
  console.warn("\n!!!!! FUZZ TERRAFORM SAMPLE SKIPPED: terraform is not on PATH, so no generated root was validated. !!!!!\n");
}

describe.skipIf(!bin)("a sample of accepted fuzzed configs", () => {
  it("passes terraform validate and the mock apply, root by root", { timeout: 600_000 }, async () => {
    const samples = fc.sample(validConfig({ maxEnvs: 2 }), { seed: 20261125, numRuns: 2 });
    const picks = fc.sample(fc.nat(), { seed: 7, numRuns: 4 });
    const checks: { config: number; root: string }[] = [];
    const compiled = samples.map((config) => compileWith(config));
    compiled.forEach((c, i) => {
      // The long-lived roots hold the most resources; take two of them per config, different each time.
      const roots = c.plan.roots.map((r) => r.id).filter((id) => /(00-bootstrap|05-iam-oidc|20-network|30-persistence|50-service|60-static-site|80-observability)$/.test(id));
      const first = roots[picks[i * 2]! % roots.length]!;
      const rest = roots.filter((r) => r !== first);
      checks.push({ config: i, root: first }, { config: i, root: rest[picks[i * 2 + 1]! % rest.length]! });
    });
    const results = await Promise.all(checks.map(async ({ config, root }) => ({ root, result: await terraformCheck(compiled[config]!, root) })));
    for (const { root, result } of results) {
      expect(result, root).toBeDefined();
      expect(result!.ok, `${root} failed at ${result!.failedStep}:\n${result!.detail}`).toBe(true);
    }
  });
});
