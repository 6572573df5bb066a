/**
 * Whether a root can be planned yet: every root it depends on must have state holding the outputs
 * it reads (for the state bucket dependency: every output of the bootstrap root). Otherwise the
 * root "waits for" that producer, instead of being planned against failing remote-state reads.
 */
import { readFile } from "node:fs/promises";
import { CajaUserError } from "../errors.js";
import type { ManifestRoot } from "./manifest.js";

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly waitsFor: string; readonly missing: readonly string[] };

/** The output names in a producer's state, or `undefined` when it has no state yet. */
export type OutputsOf = (producer: ManifestRoot) => Promise<ReadonlySet<string> | undefined>;

/**
 * Check `root`'s dependencies in manifest order; the first one not ready is the one reported.
 * Producers in `applied` were applied earlier in this run and are not looked up again.
 */
export async function readiness(root: ManifestRoot, roots: ReadonlyMap<string, ManifestRoot>, outputsOf: OutputsOf, applied: ReadonlySet<string> = new Set()): Promise<Readiness> {
  for (const dep of root.dependsOn) {
    if (applied.has(dep.root)) continue;
    const producer = roots.get(dep.root);
    if (!producer) throw new Error(`internal: ${root.id} depends on ${dep.root}, which is not in the manifest`);
    const have = await outputsOf(producer);
    if (!have) return { ready: false, waitsFor: producer.id, missing: [] };
    const required = dep.outputs.length > 0 ? dep.outputs : producer.outputs;
    const missing = required.filter((o) => !have.has(o));
    if (missing.length > 0) return { ready: false, waitsFor: producer.id, missing };
  }
  return { ready: true };
}

/** Output names of a local state file; `undefined` when the file is absent or the state is empty. */
export async function localStateOutputs(file: string): Promise<ReadonlySet<string> | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  let state: { outputs?: Record<string, unknown>; resources?: unknown[] };
  try {
    state = JSON.parse(text) as typeof state;
  } catch {
    throw new CajaUserError(`${file} is not a Terraform state file (it is not JSON)`);
  }
  const outputs = Object.keys(state.outputs ?? {});
  if (outputs.length === 0 && (state.resources ?? []).length === 0) return undefined;
  return new Set(outputs);
}

/** Output names from `terraform output -json`; `undefined` when the state has none. */
export function outputNames(stdout: string): ReadonlySet<string> | undefined {
  const trimmed = stdout.trim();
  if (trimmed === "") return undefined;
  const names = Object.keys(JSON.parse(trimmed) as Record<string, unknown>);
  return names.length > 0 ? new Set(names) : undefined;
}
