/**
 * Once per test run, before any test file:
 *
 * - Give the run its own temporary folders, and remove them when the run ends: a run leaves
 *   nothing behind. One is the OS temp folder of the run (TMPDIR, inherited by test files and the
 *   processes they start, caja's own temp-folder cache included); the other is inside the
 *   repository, where a config's `import ... from "caja"` resolves to this package. That one has
 *   its own `node_modules`, so the caches caja keeps beside a config (`node_modules/.cache/caja`)
 *   go with it instead of piling up in the repository's.
 * - Fill the shared provider plugin cache, before test files run terraform in parallel: the
 *   cache is not safe for concurrent first writes, but concurrent inits that only link from a
 *   filled cache are.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { findTerraform, runTerraform, terraformEnv } from "../packages/compiler/src/terraform.js";

export default async function setup(): Promise<() => void> {
  const scratch = mkdtempSync(join(tmpdir(), "caja-tests-"));
  const inRepo = fileURLToPath(new URL(".tmp/", import.meta.url));
  mkdirSync(inRepo, { recursive: true });
  const repoScratch = mkdtempSync(join(inRepo, "tests-"));
  mkdirSync(join(repoScratch, "node_modules"));
  // Test files inherit these (their workers start after this), and so do the processes they spawn.
  for (const name of ["TMPDIR", "TMP", "TEMP"]) process.env[name] = scratch;
  process.env.CAJA_TEST_REPO_TMP = repoScratch;
  const teardown = () => {
    for (const dir of [scratch, repoScratch]) rmSync(dir, { recursive: true, force: true });
  };
  await warmPluginCache(scratch);
  return teardown;
}

async function warmPluginCache(scratch: string): Promise<void> {
  const bin = findTerraform();
  if (!bin) return;
  const dir = mkdtempSync(join(scratch, "caja-warm-"));
  try {
    writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ terraform: { required_providers: { aws: { source: "hashicorp/aws", version: "~> 5.0" } } } }));
    const r = await runTerraform(bin, ["init", "-backend=false", "-input=false", "-no-color"], dir, await terraformEnv());
    if (r.code !== 0) console.warn(`terraform init could not fill the plugin cache:\n${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
