/**
 * Terraform judges the output: every generated root passes `terraform init -backend=false`,
 * `terraform validate` and its generated mock `terraform test` (command = apply). Runs when
 * terraform is on PATH; otherwise prints one loud line and skips, unless CAJA_REQUIRE_TERRAFORM
 * is set (CI), where a missing terraform fails.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compile } from "../packages/compiler/src/compile.js";
import { checkRoots, findTerraform, type RootCheck } from "../packages/compiler/src/terraform.js";
import { baseConfig, compileWith, tempDir } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const bin = findTerraform();
if (!bin) {
  if (process.env.CAJA_REQUIRE_TERRAFORM) throw new Error("CAJA_REQUIRE_TERRAFORM is set but terraform is not on PATH");
  console.warn("\n!!!!! TERRAFORM CHECKS SKIPPED: terraform is not on PATH, so no generated root was validated or mock-applied. !!!!!\n");
}

function failures(results: RootCheck[]): string {
  return results
    .filter((r) => !r.ok)
    .map((r) => `${r.dir} failed at ${r.failedStep}:\n${r.detail}`)
    .join("\n\n");
}

describe.skipIf(!bin)("terraform accepts every generated root", () => {
  it("validates and mock-applies every root the repository's caja.config.ts compiles to", { timeout: 900_000 }, async () => {
    const out = tempDir("caja-tf-root-");
    const result = await compile({ cwd: repo, outDir: out });
    const dirs = result.plan.roots.map((r) => join(out, r.id));
    expect(dirs.length).toBeGreaterThan(1);
    const results = await checkRoots(bin!, dirs, { concurrency: 2 });
    expect(failures(results)).toBe("");
    for (const r of results) expect(r.runsPassed, r.dir).toBeGreaterThan(0);
  });

  it("validates and mock-applies the variants: another region, S3 lockfile, adopted zone, migrated state, fixed account", { timeout: 900_000 }, async () => {
    const config = {
      ...baseConfig(),
      region: "eu-west-1",
      accountId: "123456789012",
      state: { locking: "s3", bootstrapped: true },
      domain: { root: "example.org", hostedZoneId: "Z0123456789ABCDEFGHIJ", envSubdomains: false },
      environments: { prod: {} },
    };
    const compiled = compileWith(config);
    const out = tempDir("caja-tf-variant-");
    for (const f of compiled.files) {
      await mkdir(dirname(join(out, f.path)), { recursive: true });
      await writeFile(join(out, f.path), f.content);
    }
    const results = await checkRoots(bin!, compiled.plan.roots.map((r) => join(out, r.id)), { concurrency: 2 });
    expect(failures(results)).toBe("");
  });
});
