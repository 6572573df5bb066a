/**
 * The compile pipeline: load → validate → plan → emit → write. Only load and write touch disk;
 * `compileConfig` is the pure middle, used by tests and by `compile`.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import type { ResolvedConfig } from "@caja/dsl/schema";
import { DOCS_DIR, emitDocs } from "./docs/index.js";
import { enforcePolicies, type PolicyResult } from "./policy/check.js";
import { POLICY_REPORT_FILE, policyReport } from "./policy/report.js";
import { emitRoots, manifestDocument, type EmittedFile } from "./emit.js";
import { ConfigIssuesError, toDotPath, type LocatedIssue } from "./errors.js";
import { stableStringify } from "./json.js";
import { DEFAULT_CONFIG_FILES, findConfigFile, loadConfig } from "./load.js";
import { planRoots, type BackendMode, type BodyValidator, type Plan, type TodoUse } from "./plan.js";
import type { PhaseDef } from "./phases.js";
import { collectTodos, validateConfig, type ConfigIssue, type ConfigTodo } from "./validate.js";
import { WORKFLOW_FILE, workflowYaml } from "./workflow.js";
import { MANIFEST, WriteError, writeOutput, type WriteResult } from "./write.js";

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
  /** Write (or check) only the reviewer docs under `out/docs/` (`caja docs`). */
  readonly docsOnly?: boolean;
  readonly phases?: readonly PhaseDef[];
}

export interface Compiled {
  readonly config: ResolvedConfig;
  /** Every `todo()` in the config, with the variables and roots that stand for it. */
  readonly todos: readonly TodoReport[];
  /** The security gate's result (warnings and suppressed findings); absent with a custom phase table. */
  readonly policy?: PolicyResult;
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
  /** With `check`: files that differ from what would be written, or would be removed (relative to `outDir`). */
  readonly stale?: readonly string[];
  readonly resources: number;
  /** The pipeline file, when one is generated (see `workflowFile`), and whether this compile wrote it. */
  readonly workflow?: { readonly path: string; readonly written: boolean };
}

/** Pure: a loaded config value to the files to write. Throws `ConfigIssuesError` (unlocated). */
export interface CompileConfigOptions extends Pick<CompileOptions, "envs" | "backend" | "phases"> {
  /** Provider-schema check of escape-hatch bodies; required when the config uses `extend`. */
  readonly validateBody?: BodyValidator;
  /** The project folder: the docs show `todo()` sites relative to it. */
  readonly sourceRoot?: string;
  /** Today as `YYYY-MM-DD`, for suppression expiry (tests pin it). */
  readonly today?: string;
  /** `false` compiles without enforcing the security gate (tests that inspect the gate itself). */
  readonly enforcePolicies?: boolean;
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
  // The gate runs before anything is emitted: a blocking finding stops the compile like a config
  // error. Partial phase tables (module tests) would make every suppression look unused: skipped.
  const policy = options.phases || options.enforcePolicies === false ? undefined : enforcePolicies(plan, config, { input: value, ...(options.today ? { today: options.today } : {}) });
  const files = emitRoots(plan, config);
  const todos = reportTodos(collectTodos(value), plan.todos);
  const docs = emitDocs({ config, plan, todos }, options.sourceRoot ? { sourceRoot: options.sourceRoot } : {});
  if (policy) docs.push({ path: POLICY_REPORT_FILE, content: policyReport(policy) });
  const manifest = { path: MANIFEST, content: stableStringify(manifestDocument(plan, [...files, ...docs].map((f) => f.path).concat(MANIFEST))) };
  return { config, plan, files: [...files, ...docs, manifest], todos, ...(policy ? { policy } : {}) };
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

/** Load and compile in memory, issues located in the source: `compile` without the write (`caja graph`). */
export async function compileFromDisk(options: CompileOptions = {}): Promise<Compiled & { readonly configFile: string; readonly dependencies: readonly string[] }> {
  const cwd = options.cwd ?? process.cwd();
  const configFile = findConfigFile(cwd, options.config);
  const loaded = await loadConfig(configFile);
  try {
    // The provider schema is a large module: load it only for configs that use the escape hatch.
    const validateBody = mentionsExtend(loaded.value) ? await schemaValidator() : undefined;
    const compiled = compileConfig(loaded.value, { ...options, sourceRoot: cwd, ...(validateBody ? { validateBody } : {}) });
    return { ...compiled, configFile, dependencies: loaded.dependencies };
  } catch (e) {
    if (e instanceof ConfigIssuesError) throw await locateIssues(e, configFile);
    throw e;
  }
}

/** The whole pipeline from disk to disk. */
export async function compile(options: CompileOptions = {}): Promise<CompileResult> {
  const cwd = options.cwd ?? process.cwd();
  const outDir = resolve(cwd, options.outDir ?? "out");
  const { configFile, dependencies, ...compiled } = await compileFromDisk(options);

  const previous = await previousFiles(outDir);
  const envs = options.envs ?? [];
  const isDoc = (p: string) => p.startsWith(`${DOCS_DIR}/`);
  const owns = options.docsOnly
    ? isDoc
    : envs.length > 0
      ? (p: string) => p === MANIFEST || isDoc(p) || p.startsWith("global/") || envs.some((e) => p.startsWith(`${e}/`))
      : undefined;
  // Everything is planned (so the manifest stays whole); --env limits what is written and pruned.
  const files = owns ? compiled.files.filter((f) => owns(f.path)) : compiled.files;
  const resources = compiled.plan.roots.reduce((n, r) => n + r.builder.entries.filter((e) => e.handle.kind === "resource").length, 0);
  const base = { ...compiled, files, configFile, outDir, resources };
  const workflow = options.docsOnly || options.backend === "local" ? undefined : workflowFile(cwd, configFile, outDir, dependencies, compiled);

  if (options.check) {
    const stale = await staleFiles(outDir, files, previous, owns);
    if (workflow && (await readFile(workflow.path, "utf8").catch(() => undefined)) !== workflow.content) stale.push(relative(outDir, workflow.path).split(sep).join("/"));
    return { ...base, stale };
  }
  const write = await writeOutput(outDir, files, { previous, ...(owns ? { owns } : {}) });
  if (!workflow) return { ...base, write };
  return { ...base, write, workflow: { path: workflow.path, written: await writeWorkflow(workflow) } };
}

/**
 * The pipeline (`.github/workflows/infra-plan-apply.yml` in the project folder), generated when it
 * can point at the output: the config and `out/` inside the project folder, with plain names. Not
 * with `--backend local`, whose state a CI runner cannot keep.
 */
function workflowFile(cwd: string, configFile: string, outDir: string, dependencies: readonly string[], compiled: Compiled): EmittedFile | undefined {
  const rel = (p: string) => relative(cwd, p).split(sep).join("/");
  const inside = (p: string) => p !== "" && !isAbsolute(p) && !p.startsWith("../") && /^[A-Za-z0-9_.][A-Za-z0-9_./-]*$/.test(p);
  const out = rel(outDir);
  const config = rel(configFile);
  if (!inside(out) || !inside(config)) return undefined;
  const imports = dependencies.map(rel).filter((p) => p !== config && inside(p)).sort();
  const found = DEFAULT_CONFIG_FILES.map((name) => resolve(cwd, name)).find((f) => existsSync(f));
  const content = workflowYaml(compiled.config, compiled.plan, { outDir: out, configFile: config, ...(found !== configFile ? { configArg: true } : {}), imports });
  return { path: join(cwd, WORKFLOW_FILE), content };
}

/** Replace the workflow file atomically (temp file, then rename); untouched when unchanged. */
async function writeWorkflow(file: EmittedFile): Promise<boolean> {
  if ((await readFile(file.path, "utf8").catch(() => undefined)) === file.content) return false;
  const temp = `${file.path}.caja-${process.pid}.tmp`;
  try {
    await mkdir(dirname(file.path), { recursive: true });
    await writeFile(temp, file.content);
    await rename(temp, file.path);
  } catch (e) {
    await unlink(temp).catch(() => {});
    throw new WriteError(`cannot write ${file.path}: ${(e as Error).message}. out/ was written; run caja compile again.`);
  }
  return true;
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
