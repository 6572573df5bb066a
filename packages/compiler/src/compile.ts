/**
 * The compile pipeline: load → validate → plan → emit → write. Only load and write touch disk;
 * `compileConfig` is the pure middle, used by tests and by `compile`.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { ResolvedConfig } from "@caja/dsl/schema";
import { emitRoots, manifestDocument, type EmittedFile } from "./emit.js";
import { ConfigIssuesError, toDotPath, type LocatedIssue } from "./errors.js";
import { stableStringify } from "./json.js";
import { findConfigFile, loadConfig } from "./load.js";
import { planRoots, type BackendMode, type BodyValidator, type Plan, type TodoUse } from "./plan.js";
import type { PhaseDef } from "./phases.js";
import { collectTodos, validateConfig, type ConfigIssue, type ConfigTodo } from "./validate.js";
import { MANIFEST, writeOutput, type WriteResult } from "./write.js";

export interface CompileOptions {
  readonly cwd?: string;
  /** Config file; defaults to `caja.config.ts` in `cwd`. */
  readonly config?: string;
  /** Output directory; defaults to `out` in `cwd`. */
  readonly outDir?: string;
  /** Write only these environments' roots (and the global ones); the manifest still lists all. */
  readonly envs?: readonly string[];
  readonly backend?: BackendMode;
  /** Compare with `outDir` instead of writing. */
  readonly check?: boolean;
  readonly phases?: readonly PhaseDef[];
}

export interface Compiled {
  readonly config: ResolvedConfig;
  /** Every `todo()` in the config, with the variables and roots that stand for it. */
  readonly todos: readonly TodoReport[];
  readonly plan: Plan;
  /** Every generated file, manifest included, relative to the output directory. */
  readonly files: readonly EmittedFile[];
}

export interface TodoReport extends ConfigTodo {
  /** Where it became a Terraform variable; empty while no module uses the field. */
  readonly uses: readonly Pick<TodoUse, "variable" | "root">[];
}

export interface CompileResult extends Compiled {
  readonly configFile: string;
  readonly outDir: string;
  /** After a write. */
  readonly write?: WriteResult;
  /** With `check`: files that differ from what would be written, or would be removed. */
  readonly stale?: readonly string[];
  readonly resources: number;
}

/** Pure: a loaded config value to the files to write. Throws `ConfigIssuesError` (unlocated). */
export interface CompileConfigOptions extends Pick<CompileOptions, "envs" | "backend" | "phases"> {
  /** Provider-schema check of escape-hatch bodies; required when the config uses `extend`. */
  readonly validateBody?: BodyValidator;
}

export function compileConfig(value: unknown, options: CompileConfigOptions = {}): Compiled {
  const validation = validateConfig(value);
  if (!validation.ok) throw new ConfigIssuesError(validation.issues.map(unlocated));
  const { config } = validation;
  const unknownEnvs = (options.envs ?? []).filter((e) => !(e in config.environments));
  if (unknownEnvs.length > 0) {
    throw new ConfigIssuesError(unknownEnvs.map((e) => ({ path: "environments", message: `--env ${e}: no such environment (known: ${Object.keys(config.environments).join(", ")})` })));
  }
  if (usesEscapeHatch(config) && !options.validateBody) throw new Error("internal: the config uses extend but no schema validator was given");
  const plan = planRoots(config, {
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.phases ? { phases: options.phases } : {}),
    ...(options.validateBody ? { validateBody: options.validateBody } : {}),
  });
  if (plan.issues.length > 0) throw new ConfigIssuesError(plan.issues.map((i) => ({ path: i.path, message: i.message })));
  const files = emitRoots(plan, config);
  const manifest = { path: MANIFEST, content: stableStringify(manifestDocument(plan, [...files.map((f) => f.path), MANIFEST])) };
  return { config, plan, files: [...files, manifest], todos: reportTodos(collectTodos(value), plan.todos) };
}

export async function schemaValidator(): Promise<BodyValidator> {
  const { validateResourceBody } = await import("@caja/modules/validate");
  return (type, body) => validateResourceBody("resource", type, body);
}

function mentionsExtend(value: unknown): boolean {
  const v = value as { extend?: unknown; defaults?: { extend?: unknown }; environments?: Record<string, { extend?: unknown }> };
  return v.extend !== undefined || v.defaults?.extend !== undefined || Object.values(v.environments ?? {}).some((e) => e?.extend !== undefined);
}

function usesEscapeHatch(config: ResolvedConfig): boolean {
  return Object.keys(config.extend).length > 0 || Object.values(config.environments).some((e) => Object.keys(e.extend).length > 0);
}

/** The whole pipeline from disk to disk. */
export async function compile(options: CompileOptions = {}): Promise<CompileResult> {
  const cwd = options.cwd ?? process.cwd();
  const configFile = findConfigFile(cwd, options.config);
  const outDir = resolve(cwd, options.outDir ?? "out");
  const loaded = await loadConfig(configFile);

  let compiled: Compiled;
  try {
    // The provider schema is a large module: load it only for configs that use the escape hatch.
    const validateBody = mentionsExtend(loaded.value) ? await schemaValidator() : undefined;
    compiled = compileConfig(loaded.value, { ...options, ...(validateBody ? { validateBody } : {}) });
  } catch (e) {
    if (e instanceof ConfigIssuesError) throw await locateIssues(e, configFile);
    throw e;
  }

  const previous = await previousFiles(outDir);
  const envs = options.envs ?? [];
  const owns = envs.length > 0 ? (p: string) => p === MANIFEST || p.startsWith("global/") || envs.some((e) => p.startsWith(`${e}/`)) : undefined;
  // Everything is planned (so the manifest stays whole); --env limits what is written and pruned.
  const files = owns ? compiled.files.filter((f) => owns(f.path)) : compiled.files;
  const resources = compiled.plan.roots.reduce((n, r) => n + r.builder.entries.filter((e) => e.handle.kind === "resource").length, 0);
  const base = { ...compiled, files, configFile, outDir, resources };

  if (options.check) return { ...base, stale: await staleFiles(outDir, files, previous, owns) };
  const write = await writeOutput(outDir, files, { previous, ...(owns ? { owns } : {}) });
  return { ...base, write };
}

/**
 * Match each config TODO to the variables standing for it. A setting under `defaults` is used
 * through each environment's path (`environments.<env>.x`), so match by the path's tail too.
 */
function reportTodos(todos: readonly ConfigTodo[], uses: readonly TodoUse[]): TodoReport[] {
  return todos.map((todo) => {
    const tail = todo.path.startsWith("defaults.") ? todo.path.slice("defaults.".length) : undefined;
    const mine = uses.filter((u) => u.path === todo.path || (tail !== undefined && /^environments\.[^.]+\./.test(u.path) && u.path.replace(/^environments\.[^.]+\./, "") === tail && u.site === todo.site));
    return { ...todo, uses: mine.map((u) => ({ variable: u.variable, root: u.root })) };
  });
}

async function previousFiles(outDir: string): Promise<string[]> {
  try {
    const manifest = JSON.parse(await readFile(join(outDir, MANIFEST), "utf8")) as { files?: unknown };
    return Array.isArray(manifest.files) ? manifest.files.filter((f): f is string => typeof f === "string") : [];
  } catch {
    return [];
  }
}

async function staleFiles(outDir: string, files: readonly EmittedFile[], previous: readonly string[], owns?: (p: string) => boolean): Promise<string[]> {
  const stale: string[] = [];
  for (const f of files) {
    const current = await readFile(join(outDir, f.path), "utf8").catch(() => undefined);
    if (current !== f.content) stale.push(f.path);
  }
  const next = new Set(files.map((f) => f.path));
  for (const p of previous) if (!next.has(p) && (!owns || owns(p))) stale.push(`${p} (no longer generated)`);
  return stale;
}

function unlocated(issue: ConfigIssue): LocatedIssue {
  return { path: toDotPath(issue.path), message: issue.message, ...(issue.key ? { key: issue.key } : {}) } as LocatedIssue;
}

/** Attach file:line:col to each issue (loads ts-morph: only ever on this error path). */
async function locateIssues(error: ConfigIssuesError, configFile: string): Promise<ConfigIssuesError> {
  const { locatePaths } = await import("./locate.js");
  const paths = error.issues.map((i) => parseDotPath(i.path));
  const keys = error.issues.map((i) => (i as LocatedIssue & { key?: string }).key);
  const locations = await locatePaths(configFile, paths, keys);
  return new ConfigIssuesError(
    error.issues.map((issue, i) => {
      const loc = locations[i];
      const { key: _key, ...rest } = issue as LocatedIssue & { key?: string };
      return loc ? { ...rest, file: loc.file, line: loc.line, column: loc.column } : { ...rest, file: configFile };
    }),
  );
}

function parseDotPath(path: string): PropertyKey[] {
  const out: PropertyKey[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}
