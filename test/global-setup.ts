/**
 * Fill the shared provider plugin cache once, before test files run terraform in parallel: the
 * cache is not safe for concurrent first writes, but concurrent inits that only link from a
 * filled cache are.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findTerraform, runTerraform, terraformEnv } from "../packages/compiler/src/terraform.js";

export default async function setup(): Promise<void> {
  const bin = findTerraform();
  if (!bin) return;
  const dir = mkdtempSync(join(tmpdir(), "caja-warm-"));
  try {
    writeFileSync(join(dir, "main.tf.json"), JSON.stringify({ terraform: { required_providers: { aws: { source: "hashicorp/aws", version: "~> 5.0" } } } }));
    const r = await runTerraform(bin, ["init", "-backend=false", "-input=false", "-no-color"], dir, await terraformEnv());
    if (r.code !== 0) console.warn(`terraform init could not fill the plugin cache:\n${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
