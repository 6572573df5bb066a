/**
 * The compile pipeline: load → validate → plan → emit → write. Only load and write touch disk,
 * and they live here; the pure middle (`compileConfig`) is `pipeline.ts`, imported while the
 * config evaluates in its worker so module start-up and config evaluation overlap.
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { DOCS_DIR } from "./docs/paths.js";
import type { EmittedFile } from "./emit.js";
import { ConfigIssuesError, type LocatedIssue } from "./errors.js";
import { fingerprint, remember, reusable, type CompileSummary } from "./incremental.js";
import { DEFAULT_CONFIG_FILES, findConfigFile, loadConfig, type LoadedConfig } from "./load.js";
import { describeWarning } from "./policy/finding.js";
import { parsePath } from "./policy/paths.js";
import { posixRelative, shownFrom } from "./relpath.js";
import type { BackendMode } from "./plan.js";
import type { PhaseDef } from "./phases.js";
import type { Compiled } from "./pipeline.js";
import { linkAmong, linkInOutput, manifestFiles, MANIFEST, readIfExists, refuseLinksOnTheWay, replaceFile, WriteError, writeOutput, type WriteResult } from "./write.js";

export type { Compiled, CompileConfigOptions, TodoReport } from "./pipeline.js";
export type { CompileSummary } from "./incremental.js";

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

/** Load and compile in memory, issues located in the source: `compile` without the write (`caja graph`). */
export async function compileFromDisk(options: CompileOptions = {}): Promise<FromDisk> {
  return compileLoaded(options, await loadWithPipeline(options));
}

/** The whole pipeline from disk to disk. */
export async function compile(options: CompileOptions = {}): Promise<CompileResult> {
  return writeCompiled(options, await compileFromDisk(options));
}

/**
 * `caja compile`: the whole pipeline, unless the last compile into the same output directory had
 * exactly this input and its output is untouched on disk; then its summary (see incremental.ts).
 * Never for `--check`, which always compares the bytes.
 */
export async function compileOrReuse(options: CompileOptions = {}): Promise<CompileSummary & { readonly outDir: string; readonly reused?: true; readonly write?: WriteResult }> {
  const cwd = options.cwd ?? process.cwd();
  const outDir = resolve(cwd, options.outDir ?? "out");
  const loaded = await loadWithPipeline(options);
  const { envs, backend, docsOnly, phases } = options;
  const key =
    options.check || phases
      ? undefined
      : fingerprint({ value: loaded.loaded.value, configFile: loaded.configFile, dependencies: loaded.loaded.dependencies, cwd, outDir, options: { envs, backend, docsOnly } });
  const reused = key ? reusable(loaded.configFile, outDir, key, [posixRelative(outDir, join(cwd, loaded.pipeline.WORKFLOW_FILE))]) : undefined;
  if (reused) return { ...reused, outDir, reused: true };
  const result = await writeCompiled(options, await compileLoaded(options, loaded));
  const summary: CompileSummary = {
    roots: result.plan.roots.length,
    resources: result.resources,
    todos: result.todos,
    warnings: (result.policy?.warnings ?? []).map(describeWarning),
  };
  if (key) remember(loaded.configFile, outDir, key, [...result.files.map((f) => f.path), ...(result.workflow ? [posixRelative(outDir, result.workflow.path)] : [])], summary);
  return { ...summary, outDir, ...(result.write ? { write: result.write } : {}) };
}

type FromDisk = Compiled & { readonly configFile: string; readonly dependencies: readonly string[] };

interface Loaded {
  readonly configFile: string;
  readonly loaded: LoadedConfig;
  readonly pipeline: typeof import("./pipeline.js");
}

/** Evaluate the config (in its worker) while the pipeline module loads. */
async function loadWithPipeline(options: CompileOptions): Promise<Loaded> {
  const configFile = findConfigFile(options.cwd ?? process.cwd(), options.config);
  const [loaded, pipeline] = await Promise.all([loadConfig(configFile), import("./pipeline.js")]);
  return { configFile, loaded, pipeline };
}

async function compileLoaded(options: CompileOptions, { configFile, loaded, pipeline }: Loaded): Promise<FromDisk> {
  // Made inside the pipeline, so the gate scans it with everything else that is written.
  const workflow = workflowMaker(options, configFile, loaded.dependencies, pipeline);
  try {
    // The provider schema is a large module: load it only for configs that use the escape hatch.
    const validateBody = pipeline.addsOwnResources(loaded.value) ? await pipeline.schemaValidator() : undefined;
    const compiled = pipeline.compileConfig(loaded.value, { ...options, sourceRoot: dirname(configFile), ...(validateBody ? { validateBody } : {}), ...(workflow ? { workflow } : {}) });
    return { ...compiled, configFile, dependencies: loaded.dependencies };
  } catch (e) {
    if (e instanceof ConfigIssuesError) throw await locateIssues(e, configFile, loaded.toSource);
    throw e;
  }
}

/** The write stage (or, with `check`, the comparison), for a compiled config. */
async function writeCompiled(options: CompileOptions, { configFile, dependencies, ...compiled }: FromDisk): Promise<CompileResult> {
  const cwd = options.cwd ?? process.cwd();
  const outDir = resolve(cwd, options.outDir ?? "out");
  const previous = manifestFiles(outDir);
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
  const workflow = compiled.workflowFile;

  if (options.check) {
    const stale = staleFiles(outDir, cwd, files, previous, owns);
    if (workflow && (linkAmong(cwd, [posixRelative(cwd, workflow.path)]) !== undefined || readIfExists(workflow.path) !== workflow.content)) stale.push(posixRelative(outDir, workflow.path));
    return { ...base, stale };
  }
  const show = shownFrom(cwd);
  // The pipeline's folder may be a committed link too: refused before out/ is touched.
  if (workflow) refuseLinksOnTheWay(cwd, workflow.path, show);
  const write = await writeOutput(outDir, files, { previous, ...(owns ? { owns } : {}), show, within: cwd });
  if (!workflow) return { ...base, write };
  return { ...base, write, workflow: { path: workflow.path, written: writeWorkflow(workflow, show) } };
}

/** How the workflow a compile with these options writes is made from the compiled config; undefined when it writes none. */
export function workflowMaker(
  options: CompileOptions,
  configFile: string,
  dependencies: readonly string[],
  pipeline: Pick<typeof import("./pipeline.js"), "workflowYaml" | "WORKFLOW_FILE">,
): ((compiled: Pick<Compiled, "config" | "plan">) => EmittedFile | undefined) | undefined {
  if (options.docsOnly || options.backend === "local") return undefined;
  const cwd = options.cwd ?? process.cwd();
  const outDir = resolve(cwd, options.outDir ?? "out");
  return (compiled) => workflowFile(cwd, configFile, outDir, dependencies, compiled, pipeline.workflowYaml, pipeline.WORKFLOW_FILE);
}

/**
 * The pipeline (`.github/workflows/infra-plan-apply.yml` in the project folder), generated when it
 * can point at the output: the config and `out/` inside the project folder, with plain names. Not
 * with `--backend local`, whose state a CI runner cannot keep.
 */
function workflowFile(
  cwd: string,
  configFile: string,
  outDir: string,
  dependencies: readonly string[],
  compiled: Pick<Compiled, "config" | "plan">,
  workflowYaml: typeof import("./workflow.js").workflowYaml,
  WORKFLOW_FILE: string,
): EmittedFile | undefined {
  const rel = (p: string) => posixRelative(cwd, p);
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
function writeWorkflow(file: EmittedFile, show: (path: string) => string): boolean {
  if (readIfExists(file.path) === file.content) return false;
  try {
    replaceFile(file.path, file.content);
  } catch (e) {
    throw new WriteError(`cannot write ${show(file.path)}: ${(e as Error).message}. out/ was written; run caja compile again.`);
  }
  return true;
}

function staleFiles(outDir: string, cwd: string, files: readonly EmittedFile[], previous: readonly string[], owns?: (p: string) => boolean): string[] {
  const stale: string[] = [];
  // What a link leads to is not what a compile would write there (it refuses to): never current.
  const link = linkInOutput(outDir, cwd, files.map((f) => f.path));
  if (link !== undefined) stale.push(`${posixRelative(outDir, link) || "."} (a symbolic link, which caja does not write through)`);
  for (const f of files) if (readIfExists(join(outDir, f.path)) !== f.content) stale.push(f.path);
  const next = new Set(files.map((f) => f.path));
  for (const p of previous) if (!next.has(p) && (!owns || owns(p))) stale.push(`${p} (no longer generated)`);
  return stale;
}

/**
 * Attach file:line:col to each issue: a module's mistake at its code's frame (mapped from the
 * bundle), a config value at its field (read off the config's text; ts-morph is loaded, only ever
 * on this error path, for a field the text alone cannot place).
 */
async function locateIssues(error: ConfigIssuesError, configFile: string, toSource: (text: string) => string): Promise<ConfigIssuesError> {
  const sited = error.issues.map((i) => (i.site ? atSite(toSource(i.site)) : undefined));
  const rest = error.issues.filter((_, i) => !sited[i]);
  const { locatePaths } = rest.length > 0 ? await import("./locate.js") : { locatePaths: async () => [] };
  const locations = await locatePaths(configFile, rest.map((i) => parsePath(i.path)), rest.map((i) => (i as LocatedIssue & { key?: string }).key));
  let next = 0;
  return new ConfigIssuesError(
    error.issues.map((issue, i) => {
      const { key: _key, site: _site, ...plain } = issue as LocatedIssue & { key?: string };
      const at = sited[i];
      // A module's mistake that is no config field's: the column says so instead of "(config)".
      if (at) return { ...plain, path: plain.path || "(module)", ...at };
      const loc = locations[next++];
      return loc ? { ...plain, file: loc.file, line: loc.line, column: loc.column } : { ...plain, file: configFile };
    }),
  );
}

/** `/abs/file.ts:12:5` (or `file:///...`) → its parts; undefined for a frame that is not a file. */
function atSite(site: string): { file: string; line: number; column: number } | undefined {
  const m = /^(file:\/\/.*|\/.*|[A-Za-z]:[\\/].*):(\d+):(\d+)$/.exec(site);
  if (!m) return undefined;
  return { file: m[1]!.startsWith("file://") ? fileURLToPath(m[1]!) : m[1]!, line: Number(m[2]), column: Number(m[3]) };
}
