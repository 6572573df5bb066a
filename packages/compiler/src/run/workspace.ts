/**
 * Where a run happens. Normally in `out/`, which must be exactly what the config compiles to (a
 * run never applies roots that differ from the reviewed, committed ones). In trial mode the
 * config is compiled with local backends into `.caja/local/` (ignored by git), never into `out/`.
 */
import { join, relative } from "node:path";
import { compile, type CompileResult, type TodoReport } from "../compile.js";
import { CajaUserError } from "../errors.js";
import { MANIFEST } from "../write.js";
import { parseManifest, type Manifest, type ManifestRoot } from "./manifest.js";

/** The trial directory, relative to the project (the working directory). */
export const TRIAL_DIR = join(".caja", "local");
/** Per-root logs of the last run of each command: `.caja/logs/<command>/<root id>.log`. */
export const LOG_DIR = join(".caja", "logs");

export interface WorkspaceOptions {
  readonly cwd: string;
  readonly config?: string;
  readonly outDir?: string;
  /** Trial mode: compile with local backends into the trial directory and run there. */
  readonly trial: boolean;
}

export interface Workspace {
  /** The directory holding the root directories. */
  readonly runDir: string;
  readonly manifest: Manifest;
  readonly compiled: CompileResult;
}

export async function prepareWorkspace(options: WorkspaceOptions): Promise<Workspace> {
  const base = { cwd: options.cwd, ...(options.config ? { config: options.config } : {}) };
  const compiled = options.trial
    ? await compile({ ...base, outDir: join(options.cwd, TRIAL_DIR), backend: "local" })
    : await compile({ ...base, ...(options.outDir ? { outDir: options.outDir } : {}), check: true });
  const shown = relative(options.cwd, compiled.outDir) || ".";
  const stale = compiled.stale ?? [];
  if (stale.length > 0) {
    const list = stale.slice(0, 5).map((f) => `  ${shown}/${f}`);
    const more = stale.length > 5 ? [`  … and ${stale.length - 5} more`] : [];
    throw new CajaUserError([`${shown}/ is stale (${stale.length} file${stale.length === 1 ? " differs" : "s differ"} from what the config compiles to), run caja compile:`, ...list, ...more].join("\n"));
  }
  const manifestFile = compiled.files.find((f) => f.path === MANIFEST);
  if (!manifestFile) throw new Error("internal: the compile produced no manifest");
  return { runDir: compiled.outDir, manifest: parseManifest(manifestFile.content, `${shown}/${MANIFEST}`), compiled };
}

/**
 * The config's TODOs that stand for a variable of one of `roots` and get no value from the
 * environment (`TF_VAR_<name>`, as the pipeline passes repository variables), as
 * `file:line  path: reason (...)`.
 */
export function blockingTodos(todos: readonly TodoReport[], roots: readonly ManifestRoot[], cwd: string, env: NodeJS.ProcessEnv = {}): string[] {
  const ids = new Set(roots.map((r) => r.id));
  return todos
    .filter((t) => t.uses.some((u) => ids.has(u.root) && !env[`TF_VAR_${u.variable}`]))
    .map((t) => {
      const where = t.site ? `${relative(cwd, t.site.replace(/^file:\/\//, ""))}  ` : "";
      const uses = t.uses.filter((u) => ids.has(u.root));
      return `${where}${t.path}: ${t.reason} (variable ${[...new Set(uses.map((u) => u.variable))].join(", ")} in ${uses.map((u) => u.root).join(", ")})`;
    });
}
