/**
 * Whether a root can be planned yet: every root it depends on must have state holding the outputs
 * it reads (for the state bucket dependency: every output of the bootstrap root). Otherwise the
 * root "waits for" that producer, instead of being planned against failing remote-state reads.
 */
import { readFile } from "node:fs/promises";
import { CajaUserError } from "../errors.js";
import type { ManifestRoot } from "./manifest.js";

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly waitsFor: string; readonly missing: readonly string[] };

/** A producer's outputs (name → value), or `undefined` when it has no state yet. */
export type OutputsOf = (producer: ManifestRoot) => Promise<ReadonlyMap<string, unknown> | undefined>;

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

/** Outputs of a local state file; `undefined` when the file is absent or the state is empty. */
export async function localStateOutputs(file: string): Promise<ReadonlyMap<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  let state: { outputs?: Record<string, { value?: unknown }>; resources?: unknown[] };
  try {
    state = JSON.parse(text) as typeof state;
  } catch {
    throw new CajaUserError(`${file} is not a Terraform state file (it is not JSON)`);
  }
  const outputs = Object.entries(state.outputs ?? {});
  if (outputs.length === 0 && (state.resources ?? []).length === 0) return undefined;
  return new Map(outputs.map(([name, o]) => [name, o?.value]));
}

/** Outputs from `terraform output -json` (name → value); `undefined` when the state has none. */
export function outputValues(stdout: string): ReadonlyMap<string, unknown> | undefined {
  const trimmed = stdout.trim();
  if (trimmed === "") return undefined;
  const entries = Object.entries(JSON.parse(trimmed) as Record<string, { value?: unknown }>);
  return entries.length > 0 ? new Map(entries.map(([name, o]) => [name, o?.value])) : undefined;
}
