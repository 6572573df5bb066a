/**
 * What `caja` runs first (built on its own into `dist/launcher.cjs`, so it loads nothing of the
 * compiler). Two things make start-up cheap:
 *
 * - The config worker is booted before anything else, so Node's worker start-up overlaps
 *   compiling and initialising the CLI.
 * - The CLI bundle (`dist/cli.cjs`) is compiled through `vm.Script` with V8's code cache. Node 20
 *   keeps no compiled code for ES modules between runs; with the cache, parsing and compiling the
 *   bundle becomes reading a file. The cache is keyed on the bundle's content hash (its first
 *   line), the Node version and the command, and written after a successful run, so the functions
 *   the run compiled lazily are in it too. V8 rejects a cache it cannot use (another V8, other
 *   flags, a damaged file), and it is then written afresh.
 *
 * `CAJA_CODE_CACHE=0` turns the cache off; `CAJA_CODE_CACHE_DIR` moves it (by default next to the
 * bundle, else, where that is read-only, in the user's cache folder).
 */
import { lstatSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, type Stats } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import vm from "node:vm";
import { bootWorker, readsConfig, type BootedWorker } from "./worker-boot.js";

interface CliBundle {
  run(argv: readonly string[], worker?: BootedWorker): Promise<number>;
}

/** Run the CLI in `distDir` with this process's arguments; sets the exit code. */
export async function launch(distDir: string): Promise<void> {
  const argv = process.argv.slice(2);
  const worker = readsConfig(argv) ? bootWorker() : undefined;
  const bundle = join(distDir, "cli.cjs");
  // The build makes the bundle ASCII, where latin1 reads the same text as UTF-8 without decoding it.
  const source = readFileSync(bundle, "latin1");
  const cache = codeCache(source, argv[0], distDir, statSync(bundle).uid);
  const cachedData = cache?.read();

  // The bundle is built as one function expression of CommonJS's arguments, compiled as it is.
  const script = new vm.Script(source, {
    filename: bundle,
    ...(cachedData ? { cachedData } : {}),
  });
  // The bundle runs as a script, where Node has no dynamic import (nodejs/node#43663); this file
  // is a plain module, so it lends the bundle its own (the config's modules are ES modules).
  (globalThis as Record<symbol, unknown>)[Symbol.for("caja.import")] = (url: string) => import(url);
  const module = { exports: {} as CliBundle };
  (script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(bundle), module, bundle, distDir);

  const streams = watchStreams();
  const code = await module.exports.run(argv, worker);
  process.exitCode = code;
  if (cache && code === 0 && (!cachedData || script.cachedDataRejected)) cache.write(script.createCachedData());
  // The run has finished everything it started. Left to end by itself, Node would now free the
  // environment and the heap piece by piece (about 10 ms for a compile's heap); the OS does that
  // at once. Not while output is still queued (pipes are asynchronous on Windows): exit would cut it.
  if (streams.drained()) process.exit(code);
}

/**
 * Whether nothing is queued on process.stdout or process.stderr, asked without making them:
 * the CLI writes its own lines to the descriptors (stdio.ts), and Node builds a stream (and
 * loads the modules behind it) on first use, milliseconds a compile would spend only to ask.
 */
function watchStreams(): { drained: () => boolean } {
  const made = new Set<"stdout" | "stderr">();
  for (const name of ["stdout", "stderr"] as const) {
    const original = Object.getOwnPropertyDescriptor(process, name);
    if (!original?.get || !original.configurable) {
      made.add(name);
      continue;
    }
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: original.enumerable ?? true,
      get() {
        made.add(name);
        return original.get!.call(process);
      },
    });
  }
  return { drained: () => [...made].every((name) => process[name].writableLength === 0) };
}

interface CodeCache {
  read(): Buffer | undefined;
  /** Best effort: a cache that cannot be written only costs the next run the compile. */
  write(data: Buffer): void;
}

/**
 * A code cache is compiled code V8 runs as the bundle's: it is read only when it, and its folder,
 * belong to the user running caja (or to whoever owns the bundle, who could change the bundle
 * itself) and nobody else can write to them. Anything else is ignored, and written afresh.
 */
function trusted(file: string, bundleUid: number): boolean {
  const uid = process.getuid?.();
  if (uid === undefined) return true;
  const safe = (s: Stats | undefined) => s !== undefined && (s.uid === uid || s.uid === bundleUid) && (s.mode & 0o022) === 0;
  const stats = lstatSync(file, { throwIfNoEntry: false });
  return stats?.isFile() === true && safe(stats) && safe(lstatSync(dirname(file), { throwIfNoEntry: false }));
}

function codeCache(source: string, command: string | undefined, distDir: string, bundleUid: number): CodeCache | undefined {
  const hash = /^\(function [^{\n]*\{\/\/ caja-build ([0-9a-f]+)\n/.exec(source)?.[1];
  if (hash === undefined || process.env.CAJA_CODE_CACHE === "0") return undefined;
  const name = `cli-${hash}-${process.version}-${command && /^[a-z]{1,16}$/.test(command) ? command : "none"}.v8`;
  const userCache = () => join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "caja");
  const dirs = process.env.CAJA_CODE_CACHE_DIR ? [() => process.env.CAJA_CODE_CACHE_DIR!] : [() => join(distDir, ".cache"), userCache];
  return {
    read() {
      for (const dir of dirs) {
        try {
          const file = join(dir(), name);
          if (trusted(file, bundleUid)) return readFileSync(file);
        } catch {
          // not cached there
        }
      }
      return undefined;
    },
    write(data) {
      for (const folder of dirs) {
        const dir = folder();
        const temp = join(dir, `${name}.${process.pid}.tmp`);
        try {
          // Explicit modes, so a permissive umask cannot make the next run distrust its own cache.
          mkdirSync(dir, { recursive: true, mode: 0o755 });
          writeFileSync(temp, data, { mode: 0o644, flag: "wx" });
          renameSync(temp, join(dir, name));
          return;
        } catch {
          try {
            unlinkSync(temp);
          } catch {
            // never written
          }
        }
      }
    },
  };
}
