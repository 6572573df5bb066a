/**
 * Load stage: bundle `caja.config.ts` and its relative imports with esbuild, in memory, and
 * import the result from a `data:` URL, so nothing is written next to the user's files. Bare
 * imports (`caja`, other packages) stay external, resolved from the config's folder to absolute
 * file URLs, exactly as Node would resolve them there.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Message, Plugin } from "esbuild";
import { isTodo, relocateTodo } from "@caja/dsl";
import { ConfigLoadError } from "./errors.js";
import { inlineSourceMap, SourceMapper } from "./sourcemap.js";

export const DEFAULT_CONFIG_FILES = ["caja.config.ts", "caja.config.mts", "caja.config.js", "caja.config.mjs"] as const;

export interface LoadedConfig {
  /** The absolute path of the config file. */
  readonly file: string;
  /** The default export, after calling it (function form) and awaiting it. */
  readonly value: unknown;
  /** Every local file the config is built from (for caching and watching). */
  readonly dependencies: readonly string[];
}

export function findConfigFile(cwd: string, explicit?: string): string {
  if (explicit) {
    const file = resolve(cwd, explicit);
    if (!existsSync(file)) throw new ConfigLoadError(`config file ${explicit} does not exist`);
    return file;
  }
  for (const name of DEFAULT_CONFIG_FILES) {
    const file = resolve(cwd, name);
    if (existsSync(file)) return file;
  }
  throw new ConfigLoadError(`no caja.config.ts in ${cwd}. Create one with \`npx caja init\`, or pass --config FILE.`);
}

export async function loadConfig(file: string, command = "compile"): Promise<LoadedConfig> {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [file],
    absWorkingDir: resolve(file, ".."),
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: "inline",
    sourcesContent: false,
    logLevel: "silent",
    plugins: [externalsAsFileUrls],
  }).catch((e: { errors?: Message[] }) => {
    throw new ConfigLoadError(formatMessages(e.errors ?? [], e));
  });

  const code = result.outputFiles[0]!.text;
  const dir = resolve(file, "..");
  const dependencies = Object.keys(result.metafile.inputs).map((p) => resolve(dir, p));
  const map = inlineSourceMap(code);
  const mapper = map ? new SourceMapper(map) : undefined;
  /** `data:...:31:17` (a frame in the bundle) → `/abs/caja.config.ts:39:15`. */
  const toSource = (text: string) =>
    text.replace(/data:text\/javascript;base64,[A-Za-z0-9+/=]+:(\d+):(\d+)/g, (whole, line: string, col: string) => {
      const pos = mapper?.original(Number(line), Number(col));
      return pos ? `${resolve(dir, pos.source)}:${pos.line}:${pos.column}` : file;
    });
  let mod: { default?: unknown };
  try {
    mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`)) as { default?: unknown };
  } catch (e) {
    throw new ConfigLoadError(`${file}: the config threw while loading: ${toSource(describeThrown(e))}`);
  }
  if (!("default" in mod)) throw new ConfigLoadError(`${file} must \`export default defineConfig({...})\``);
  let value = mod.default;
  try {
    if (typeof value === "function") value = await (value as (ctx: { command: string }) => unknown)({ command });
    value = await value;
  } catch (e) {
    throw new ConfigLoadError(`${file}: the config function threw: ${toSource(describeThrown(e))}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigLoadError(`${file}: the default export must be an object (or a function returning one), got ${Array.isArray(value) ? "an array" : typeof value}`);
  }
  relocateTodos(value, toSource);
  return { file, value, dependencies };
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

const externalsAsFileUrls: Plugin = {
  name: "caja-externals",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === "caja-externals") return undefined; // our own build.resolve below: esbuild's resolver
      if (args.path.startsWith("node:")) return { path: args.path, external: true };
      const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: "caja-externals" });
      if (found.errors.length > 0) return { errors: found.errors };
      // Node builtins come back unresolved (no absolute path): keep them as written.
      if (!found.path.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(found.path)) return { path: args.path, external: true };
      return { path: pathToFileURL(found.path).href, external: true };
    });
  },
};

/** `file:line:col: message` for each esbuild error, as editors and terminals link them. */
function formatMessages(messages: readonly Message[], fallback: unknown): string {
  if (messages.length === 0) return describeThrown(fallback);
  return messages
    .map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ${m.text}` : m.text))
    .join("\n");
}

/** The error's message and the first stack frame in the user's code (already source-mapped). */
function describeThrown(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const frame = e.stack
    ?.split("\n")
    .slice(1)
    .map((l) => l.trim())
    .find((l) => !l.includes("node:internal") && !l.includes("/node_modules/") && !l.includes("/packages/compiler/dist/"));
  const at = frame ? /((?:file:\/\/)?\/[^():]+:\d+:\d+|data:text\/javascript;base64,[A-Za-z0-9+/=]+:\d+:\d+)/.exec(frame)?.[1] : undefined;
  return at ? `${e.message} (at ${at.replace(/^file:\/\//, "")})` : e.message;
}
