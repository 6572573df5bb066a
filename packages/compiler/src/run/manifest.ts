/**
 * The roots a run works on, as `out/manifest.json` lists them (the documented contract, not the
 * compiler's internal plan), and the choice of roots by scope and phase.
 */
import { CajaUserError } from "../errors.js";

export interface ManifestDependency {
  readonly root: string;
  readonly reason: "reads" | "state-backend";
  /** Outputs read from the producer; empty when the dependency is the state bucket itself. */
  readonly outputs: readonly string[];
}

export interface ManifestRoot {
  readonly id: string;
  /** Directory of the root, relative to the output directory. */
  readonly dir: string;
  /** `global` or an environment name. */
  readonly scope: string;
  readonly phase: string;
  readonly backend: { readonly type: "s3"; readonly key: string } | { readonly type: "local"; readonly path: string };
  readonly dependsOn: readonly ManifestDependency[];
  readonly outputs: readonly string[];
  readonly todos: readonly { readonly path: string; readonly variable: string; readonly reason: string }[];
}

export interface Manifest {
  /** Every root, in apply order. */
  readonly roots: readonly ManifestRoot[];
}

/** Parse a manifest's text; `source` names it in errors. */
export function parseManifest(text: string, source: string): Manifest {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CajaUserError(`${source} is not valid JSON; run caja compile to regenerate it`);
  }
  const roots = (doc as { roots?: unknown })?.roots;
  const valid = Array.isArray(roots) && roots.every((r) => typeof r?.id === "string" && typeof r.dir === "string" && typeof r.scope === "string" && Array.isArray(r.dependsOn) && r.backend);
  if (!valid) throw new CajaUserError(`${source} is not a caja manifest; run caja compile to regenerate it`);
  return { roots: roots as ManifestRoot[] };
}

/** The scopes of a manifest, in apply order: `global` and each environment. */
export function scopesOf(manifest: Manifest): string[] {
  return [...new Set(manifest.roots.map((r) => r.scope))];
}

/**
 * The roots of the given targets (`global`, environment names, `all`), optionally one phase (its
 * id, `network`, or its directory, `20-network`), in manifest order.
 */
export function selectRoots(manifest: Manifest, targets: readonly string[], phase?: string): ManifestRoot[] {
  const scopes = scopesOf(manifest);
  const wanted = new Set<string>();
  for (const target of targets) {
    if (target === "all") scopes.forEach((s) => wanted.add(s));
    else if (scopes.includes(target)) wanted.add(target);
    else throw new SelectionError(`"${target}" is neither "global", "all" nor an environment of this config (environments: ${scopes.filter((s) => s !== "global").join(", ")})`);
  }
  const inScope = manifest.roots.filter((r) => wanted.has(r.scope));
  if (phase === undefined) return inScope;
  const picked = inScope.filter((r) => r.phase === phase || r.dir.split("/").at(-1) === phase);
  if (picked.length === 0) {
    const known = [...new Set(inScope.map((r) => r.phase))];
    throw new SelectionError(`no phase "${phase}" in ${[...wanted].join(", ")} (phases there: ${known.join(", ")})`);
  }
  return picked;
}

/** The command line named roots that do not exist: a usage problem, reported as such. */
export class SelectionError extends Error {
  override name = "SelectionError";
}
