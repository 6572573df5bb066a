/**
 * Load stage: bundle `caja.config.ts` and its relative imports with esbuild, in memory, and
 * evaluate the result from a `data:` URL, so nothing is written next to the user's files. Bare
 * imports (`caja`, other packages) stay external, resolved from the config's folder to absolute
 * file URLs, exactly as Node would resolve them there.
 *
 * The config is user code: it runs in a worker thread with a time limit and a heap limit, so an
 * endless loop, a promise that never settles, `process.exit()` or a runaway allocation ends in an
 * error naming the file instead of a hung or killed compile. The worker starts before esbuild
 * bundles (the CLI starts it before it even loads the compiler), so its start-up overlaps other
 * work and the success path stays fast.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { BuildOptions, Message, Plugin } from "esbuild";
import { isTodo, relocateTodo, type Todo } from "@caja/dsl";
import { cacheFile, readCache, writeCache } from "./cache.js";
import { configWorker, DEFAULT_HEAP_MB, TAG, type ConfigWorker, type ThrownError } from "./config-worker.js";
import { CAJA_INSTALL_HINT, ConfigLoadError } from "./errors.js";
import { ownPublicModule } from "./self.js";
import { lineSplitter } from "./lines.js";
import { inlineSourceMap, SourceMapper } from "./sourcemap.js";
import { writeText } from "./stdio.js";

export const DEFAULT_CONFIG_FILES = ["caja.config.ts", "caja.config.mts", "caja.config.js", "caja.config.mjs"] as const;

/** How long a config may take to evaluate, unless `CAJA_LOAD_TIMEOUT_MS` or the option says otherwise. */
export const DEFAULT_LOAD_TIMEOUT_MS = 10_000;

export interface LoadedConfig {
  /** The absolute path of the config file. */
  readonly file: string;
  /** The default export, after calling it (function form) and awaiting it. */
  readonly value: unknown;
  /** Every local file the config is built from (for caching and watching). */
  readonly dependencies: readonly string[];
  /** Points frames of the config's bundle (`data:...:31:17`) at its source files (`/abs/modules/cache.ts:12:5`). */
  readonly toSource: (text: string) => string;
}

export interface LoadOptions {
  /** Milliseconds the config may take to evaluate (default: `CAJA_LOAD_TIMEOUT_MS`, else 10 s). */
  readonly timeoutMs?: number;
  /** Heap the config may use, in MB (default 512). */
  readonly heapMb?: number;
  /**
   * Receives each line the config prints (`console.log`, `process.stdout.write`...), marked with
   * the config's file name. By default the lines go to stderr, never to stdout, which carries only
   * what a command promises.
   */
  readonly configOutput?: (line: string) => void;
}

/** Splits what the config prints into lines marked `[caja.config.ts] `; a partial line waits for its end. */
/** `toSource` points stack frames in what is printed (console.trace) at the config's own lines. */
function printer(file: string, options: LoadOptions, toSource: (text: string) => string): { write: (text: string) => void; end: () => void } {
  const emit = options.configOutput ?? ((line: string) => writeText(2, `${line}\n`));
  const mark = `[${basename(file)}] `;
  return lineSplitter((line) => emit(mark + toSource(line)));
}

export function findConfigFile(cwd: string, explicit?: string): string {
  if (explicit) {
    const file = resolve(cwd, explicit);
    if (!existsSync(file)) throw new ConfigLoadError(`config file ${explicit} does not exist`);
    if (statSync(file).isDirectory()) {
      const inside = DEFAULT_CONFIG_FILES.find((name) => existsSync(resolve(file, name)));
      throw new ConfigLoadError(`--config ${explicit} is a folder, not a config file${inside ? `: did you mean --config ${join(explicit, inside)}?` : ` (it holds no ${DEFAULT_CONFIG_FILES[0]})`}`);
    }
    return file;
  }
  for (const name of DEFAULT_CONFIG_FILES) {
    const file = resolve(cwd, name);
    if (existsSync(file)) return file;
  }
  throw new ConfigLoadError(`no caja.config.ts in ${cwd}. Create one with \`npx caja init\`, or pass --config FILE.`);
}

export async function loadConfig(file: string, command = "compile", options: LoadOptions = {}): Promise<LoadedConfig> {
  const cached = readBundleCache(file);
  // The worker starts first, so its start-up overlaps the bundling.
  const worker = configWorker(options.heapMb ?? DEFAULT_HEAP_MB);
  try {
    return await evaluateConfig(file, command, options, worker, cached ?? (await bundleConfig(file)));
  } catch (e) {
    // A cached bundle may point at packages that moved since (a reinstall): bundle afresh once.
    if (!cached || !(e instanceof ConfigLoadError) || !/threw while loading/.test(e.message)) throw e;
    const retry = configWorker(options.heapMb ?? DEFAULT_HEAP_MB);
    try {
      return await evaluateConfig(file, command, options, retry, await bundleConfig(file));
    } finally {
      retry.dispose();
    }
  } finally {
    worker.dispose();
  }
}

interface Bundle {
  /** The config and its local imports as one ES module. */
  readonly code: string;
  /** The same as one script, when the config needs nothing only a module has (see {@link scriptBundle}). */
  readonly script?: string;
  readonly dependencies: readonly string[];
}

/** What the script form of a bundle leaves its value in (a name local to the function it runs as). */
const SCRIPT_RESULT = "__cajaConfig";

async function bundleConfig(file: string): Promise<Bundle> {
  const { build } = await import("esbuild");
  const dsl = new Set<string>();
  const options = {
    entryPoints: [file] as string[],
    absWorkingDir: resolve(file, ".."),
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    target: "node20",
    sourcemap: "inline",
    sourcesContent: false,
    // The DSL module is bundled in with the config (see externalsAsFileUrls), and esbuild renames a
    // top-level name two files share: each function keeps its own name all the same, which is what
    // stack traces show (a todo() finds its caller by name) and what a function in the value reports.
    keepNames: true,
    logLevel: "silent",
    plugins: [externalsAsFileUrls(dsl)],
  } satisfies BuildOptions;
  const result = await build({ ...options, format: "esm" }).catch((e: { errors?: Message[] }) => {
    throw new ConfigLoadError(formatMessages(e.errors ?? [], e));
  });

  const code = result.outputFiles[0]!.text;
  const imports = Object.values(result.metafile.outputs).flatMap((o) => o.imports);
  const script = imports.length === 0 ? await scriptBundle(build, options, code) : undefined;
  const inputs = Object.keys(result.metafile.inputs).map((p) => resolve(file, "..", p));
  // caja's own module is part of the bundle for the cache (an upgrade must rebundle), not one of
  // the project's imports, which the generated workflow watches.
  const dependencies = inputs.filter((p) => !dsl.has(p));
  const bundle = { code, ...(script !== undefined ? { script } : {}), dependencies };
  writeBundleCache(file, bundle, inputs.filter((p) => dsl.has(p)));
  return bundle;
}

/**
 * The bundle as a script (esbuild's IIFE, strict like a module), for a config that imports nothing
 * at run time (caja's DSL is bundled in) and uses nothing only an ES module has: no `import()`,
 * `import.meta` or top-level `await` (esbuild refuses or warns), and no `require`, which a module
 * does not have either. The config's thread runs it as a function, without Node's module loader,
 * which it would otherwise start for this one module: about 3 ms of a compile's critical path.
 * Anything else, or any doubt, keeps the module.
 */
async function scriptBundle(build: typeof import("esbuild").build, options: BuildOptions, code: string): Promise<string | undefined> {
  const source = code.slice(0, code.lastIndexOf("//# sourceMappingURL="));
  if (/\bimport\s*\(|\bimport\.meta\b|\brequire\b/.test(source)) return undefined;
  try {
    const result = await build({ ...options, format: "iife", globalName: SCRIPT_RESULT });
    const imports = Object.values(result.metafile!.outputs).flatMap((o) => o.imports);
    return result.warnings.length === 0 && imports.length === 0 ? result.outputFiles![0]!.text : undefined;
  } catch {
    return undefined;
  }
}

async function evaluateConfig(
  file: string,
  command: string,
  options: LoadOptions,
  worker: ConfigWorker,
  { code, script, dependencies }: Bundle,
): Promise<LoadedConfig> {
  const timeoutMs = options.timeoutMs ?? timeoutFromEnv();
  const dir = resolve(file, "..");
  const dataUrl = (text: string) => `data:text/javascript;base64,${Buffer.from(text).toString("base64")}`;
  // The module's URL, and the script's, which its frames name when the config runs as one.
  const url = dataUrl(code);
  const scriptUrl = script === undefined ? undefined : dataUrl(script);
  const mappers = new Map<string, SourceMapper | undefined>();
  const mapperOf = (of: string) => {
    if (!mappers.has(of)) {
      const map = of === url ? inlineSourceMap(code) : of === scriptUrl ? inlineSourceMap(script!) : undefined;
      mappers.set(of, map ? new SourceMapper(map) : undefined);
    }
    return mappers.get(of);
  };
  /** `data:...:31:17` (a frame in the bundle) → `/abs/caja.config.ts:39:15`. */
  const toSource = (text: string) =>
    text.replace(/(data:text\/javascript;base64,[A-Za-z0-9+/=]+):(\d+):(\d+)/g, (_whole, of: string, line: string, col: string) => {
      const pos = mapperOf(of)?.original(Number(line), Number(col));
      return pos ? `${resolve(dir, pos.source)}:${pos.line}:${pos.column}` : file;
    });

  const printed = printer(file, options, toSource);
  const outcome = await worker.evaluate(script === undefined ? { url, command } : { url: scriptUrl!, script: `${script}\nreturn ${SCRIPT_RESULT};`, command }, timeoutMs, printed.write);
  printed.end();
  switch (outcome.kind) {
    case "value":
      break;
    case "threw": {
      const message = toSource(describeThrown(outcome.error)).replace(/data:text\/javascript;base64,[A-Za-z0-9+/=]+/g, file);
      // The bundle runs from a data: URL, which has no folder: a relative import computed at run time cannot resolve.
      const hint = /Failed to resolve module specifier "\.\.?\//.test(message)
        ? ` (import relative files statically, \`import x from "./file"\`, so caja bundles them)`
        : /Cannot find (package|module) 'zod'/.test(message)
          ? ` (caja/module declares config sections with zod, which caja leaves to the project: npm install --save-dev zod@^4)`
          : "";
      throw new ConfigLoadError(`${file}: the config ${outcome.stage === "import" ? "threw while loading" : "function threw"}: ${message}${hint}`);
    }
    case "no-default":
      throw new ConfigLoadError(`${file} must \`export default defineConfig({...})\``);
    case "timeout":
      throw new ConfigLoadError(
        `${file}: the config did not finish evaluating within ${seconds(timeoutMs)} (an endless loop, or a promise that never settles?). ` +
          `Set CAJA_LOAD_TIMEOUT_MS to allow longer.`,
      );
    case "exited":
      throw new ConfigLoadError(
        outcome.code === 0
          ? `${file}: the config stopped without producing its value: it awaits a promise that can never settle (or calls process.exit(0))`
          : `${file}: the config ended the process (process.exit(${outcome.code})) while loading`,
      );
    case "crashed":
      throw new ConfigLoadError(`${file}: the config could not be evaluated: ${outcome.message}`);
    default:
      assertNever(outcome);
  }
  const value = decode(outcome.value);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigLoadError(
      `${file}: the default export must be an object (or a function returning one), got ${value === null ? "null" : Array.isArray(value) ? "an array" : typeof value}`,
    );
  }
  relocateTodos(value, toSource);
  const modules = (value as { modules?: unknown }).modules;
  if (Array.isArray(modules) && modules.some(isModuleStandIn)) (value as { modules: unknown[] }).modules = await moduleObjects(file, url, command, modules);
  return { file, value, dependencies, toSource };
}

const STAND_IN = Symbol("caja.module.stand-in");

function isModuleStandIn(value: unknown): value is { [STAND_IN]: string } {
  return typeof value === "object" && value !== null && STAND_IN in value;
}

/**
 * The config's modules, which are code: the worker evaluated the config within its limits and
 * answered with stand-ins, and their builds run in the compile itself, so the config is imported
 * once more here. What it prints was already shown from the worker; it is not repeated.
 */
async function moduleObjects(file: string, url: string, command: string, standIns: readonly unknown[]): Promise<unknown[]> {
  const methods = ["log", "info", "debug", "warn", "error", "dir", "trace"] as const;
  const saved = methods.map((m) => console[m]);
  for (const m of methods) console[m] = () => {};
  let value: unknown;
  try {
    const lent = (globalThis as Record<symbol, unknown>)[Symbol.for("caja.import")] as ((url: string) => Promise<unknown>) | undefined;
    const mod = (await (lent ? lent(url) : import(url))) as { default?: unknown };
    value = typeof mod.default === "function" ? await (mod.default as (ctx: { command: string }) => unknown)({ command }) : await mod.default;
  } catch (e) {
    throw new ConfigLoadError(`${file}: the config threw when loaded a second time, for its modules (does it depend on something that changes between loads?): ${(e as Error).message}`);
  } finally {
    methods.forEach((m, i) => (console[m] = saved[i] as never));
  }
  const real = (value as { modules?: unknown } | undefined)?.modules;
  const ids = (list: readonly unknown[]) => list.map((m) => (isModuleStandIn(m) ? m[STAND_IN] : (m as { id?: unknown } | undefined)?.id));
  if (!Array.isArray(real) || real.length !== standIns.length || ids(real).some((id, i) => id !== ids(standIns)[i])) {
    throw new ConfigLoadError(`${file}: the config's modules differ between two loads of it; build the modules list without randomness or I/O`);
  }
  return standIns.map((m, i) => (isModuleStandIn(m) ? real[i] : m));
}

// -----------------------------------------------------------------------------------------------
// The bundle cache: an unchanged config (and its imports) skips esbuild altogether.

/** Bump when the bundle's shape changes (plugins, format), so old entries are not reused. */
export const BUNDLE_FORMAT = 5;

interface CacheEntry {
  readonly format: number;
  readonly file: string;
  /**
   * Each bundled file with its content, its bytes as latin1 (timestamps can be too coarse to
   * trust, and a config's files are small: comparing them needs no hash, and no `node:crypto`,
   * whose module alone costs a compile 2 ms to load); `dsl`: caja's own module, bundled in, which
   * is not one of the config's dependencies.
   */
  readonly inputs: readonly { readonly path: string; readonly bytes: string; readonly dsl?: true }[];
  readonly code: string;
  readonly script?: string;
}

function readBundleCache(file: string): Bundle | undefined {
  const entry = readCache<CacheEntry>(cacheFile(file, "bundle", file));
  if (entry?.format !== BUNDLE_FORMAT || entry.file !== file || typeof entry.code !== "string" || (entry.script !== undefined && typeof entry.script !== "string")) return undefined;
  try {
    for (const input of entry.inputs) if (typeof input.bytes !== "string" || readBytes(input.path) !== input.bytes) return undefined;
  } catch {
    return undefined;
  }
  return { code: entry.code, ...(entry.script !== undefined ? { script: entry.script } : {}), dependencies: entry.inputs.filter((i) => i.dsl !== true).map((i) => i.path) };
}

function readBytes(path: string): string {
  return readFileSync(path, "latin1");
}

/** Best effort: a cache that cannot be written only costs the next compile a bundle. */
function writeBundleCache(file: string, bundle: Bundle, dsl: readonly string[]): void {
  let inputs: CacheEntry["inputs"];
  try {
    inputs = [...bundle.dependencies.map((path) => ({ path, bytes: readBytes(path) })), ...dsl.map((path) => ({ path, bytes: readBytes(path), dsl: true as const }))];
  } catch {
    return;
  }
  writeCache(cacheFile(file, "bundle", file), { format: BUNDLE_FORMAT, file, inputs, code: bundle.code, ...(bundle.script !== undefined ? { script: bundle.script } : {}) } satisfies CacheEntry);
}

function timeoutFromEnv(): number {
  const raw = process.env.CAJA_LOAD_TIMEOUT_MS;
  const ms = raw === undefined || raw === "" ? NaN : Number(raw);
  return Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_LOAD_TIMEOUT_MS;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** Rebuilds what the worker encoded: todo markers, and functions or symbols as stand-ins the schema reports. */
function decode(value: unknown, seen = new Map<object, unknown>()): unknown {
  if (typeof value !== "object" || value === null) return value;
  const tagged = (value as Record<string, unknown>)[TAG];
  if (tagged === "todo") {
    const { reason, site } = value as { reason: string; site?: string };
    return site ? relocateTodo({ reason } as Todo, site) : Object.freeze({ [Symbol.for("caja.todo")]: true, reason });
  }
  if (tagged === "function") {
    const name = String((value as { name?: unknown }).name ?? "");
    return { [name || "anonymous"]: function () {} }[name || "anonymous"];
  }
  if (tagged === "symbol") return Symbol(String((value as { name?: unknown }).name));
  if (tagged === "module") return { [STAND_IN]: String((value as { id?: unknown }).id) };
  if (Object.getPrototypeOf(value) !== Object.prototype && !Array.isArray(value)) return value;
  if (seen.has(value)) return seen.get(value);
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (const v of value) out.push(decode(v, seen));
    return out;
  }
  const out: Record<string, unknown> = {};
  seen.set(value, out);
  for (const [k, v] of Object.entries(value)) out[k] = decode(v, seen);
  return out;
}

/** Point every `todo()` site at the source instead of the in-memory bundle. */
function relocateTodos(value: unknown, toSource: (text: string) => string, seen = new Set<unknown>()): void {
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  seen.add(value);
  for (const [key, child] of Object.entries(value)) {
    if (isTodo(child)) {
      if (child.site?.startsWith("data:") && !Object.isFrozen(value)) (value as Record<string, unknown>)[key] = relocateTodo(child, toSource(child.site));
    } else {
      relocateTodos(child, toSource, seen);
    }
  }
}

/**
 * Whether a file `import ... from "caja"` resolved to is caja's DSL module (`dist/public.mjs`),
 * which imports nothing. It is bundled with the config instead of left for the config's thread to
 * resolve, read and link as a second module, milliseconds on the compile's critical path. Its
 * `todo()` markers carry a registered symbol, so this copy and any other are one to caja.
 */
function isDslEntry(path: string): boolean {
  return basename(path) === "public.mjs" && basename(resolve(path, "..")) === "dist";
}

/** Bare imports stay external, as absolute file URLs; `dsl` collects caja's DSL module, bundled in. */
const externalsAsFileUrls = (dsl: Set<string>): Plugin => ({
  name: "caja-externals",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === "caja-externals") return undefined; // our own build.resolve below: esbuild's resolver
      if (args.path.startsWith("node:")) return { path: args.path, external: true };
      const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: "caja-externals" });
      if (args.path === "caja") {
        // No copy of caja installed beside the config (npx in an empty folder): this CLI's own.
        const entry = found.errors.length > 0 ? ownPublicModule(args.path) : found.path;
        if (entry && isDslEntry(entry)) {
          dsl.add(entry);
          return { path: entry };
        }
      }
      if (found.errors.length > 0) {
        // Likewise for "caja/module" (its zod stays the project's).
        const own = ownPublicModule(args.path);
        if (own) return { path: pathToFileURL(own).href, external: true };
        const hint = args.path === "caja" || args.path.startsWith("caja/") ? CAJA_INSTALL_HINT : `install it: npm install --save-dev ${args.path.split("/").slice(0, args.path.startsWith("@") ? 2 : 1).join("/")}`;
        return { errors: found.errors.map((e) => ({ ...e, text: `${e.text} (${hint})` })) };
      }
      // Node builtins come back unresolved (no absolute path): keep them as written.
      if (!found.path.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(found.path)) return { path: args.path, external: true };
      return { path: pathToFileURL(found.path).href, external: true };
    });
  },
});

/** `file:line:col: message` for each esbuild error, as editors and terminals link them. */
function formatMessages(messages: readonly Message[], fallback: unknown): string {
  if (messages.length === 0) return fallback instanceof Error ? fallback.message : String(fallback);
  return messages.map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ${m.text}` : m.text)).join("\n");
}

/** The error's message and the first stack frame in the user's code (source-mapped by the caller). */
function describeThrown(e: ThrownError): string {
  if (!e.isError) return e.message;
  const frame = e.stack
    ?.split("\n")
    .slice(1)
    .map((l) => l.trim())
    .find((l) => !l.includes("node:internal") && !l.includes("/node_modules/") && !l.includes("/packages/compiler/dist/"));
  const at = frame ? /((?:file:\/\/)?\/[^():]+:\d+:\d+|data:text\/javascript;base64,[A-Za-z0-9+/=]+:\d+:\d+)/.exec(frame)?.[1] : undefined;
  return at ? `${e.message} (at ${at.replace(/^file:\/\//, "")})` : e.message;
}

function assertNever(value: never): never {
  throw new Error(`internal: unexpected ${JSON.stringify(value)}`);
}
