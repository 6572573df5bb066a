/**
 * Running terraform over generated roots: `init -backend=false`, `validate` and the generated
 * mock `terraform test`. Used by `npm test` and by `caja test`. Many roots are checked as one
 * batch where they can be (see `checkRoots`). One provider plugin cache is shared by every root,
 * so the provider is downloaded once; whoever initialises first fills it alone (the cache is not
 * safe for concurrent first writes).
 */
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { StringDecoder } from "node:string_decoder";
import { delimiter, join } from "node:path";
import { lineSplitter } from "./lines.js";
import { installedAwsProvider, startProviderServer, type ProviderServer } from "./provider-server.js";
import { batchableTest, harnessDocuments, harnessRootDir, harnessCulprits, judgeBatch, judgeTest, loadsAsModule, preventDestroyIn, type HarnessRun, type RootTest } from "./terraform-batch.js";

export { judgeTest };

const MAIN_FILE = "main.tf.json";
const TEST_FILE = "main.tftest.json";

export interface TerraformRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** The signal that ended terraform, when it did not exit by itself (killed, or stopped at its time limit). */
  readonly signal?: NodeJS.Signals;
}

/** What a caller may watch while terraform runs. */
export interface RunWatch {
  /** Told terraform's process id once it has started. */
  readonly onSpawn?: (pid: number) => void;
  /** Told each piece of standard output as it arrives (an apply's progress, journaled as it happens). */
  readonly onStdout?: (text: string) => void;
}

export interface RootCheck {
  readonly dir: string;
  readonly ok: boolean;
  /** The step that failed, if any. */
  readonly failedStep?: "init" | "validate" | "test";
  /** What terraform said, for the report. */
  readonly detail: string;
  readonly runsPassed: number;
  readonly ms: number;
  /** Resources the teardown could not destroy because they are `prevent_destroy` (Terraform < 1.14). */
  readonly protectedLeftovers: readonly string[];
  /** Whether the root was proven in the batch of many roots or checked on its own (see `checkRoots`). */
  readonly via: "batch" | "alone";
}

/** The terraform binary on PATH (or `explicit`), if any. */
export function findTerraform(explicit?: string): string | undefined {
  return findProgram("terraform", explicit);
}

/** A program on PATH (or `explicit`, when given), if any: terraform, moto_server. */
export function findProgram(name: string, explicit?: string): string | undefined {
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, process.platform === "win32" ? `${name}.exe` : name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** The environment terraform runs with: a shared plugin cache, no update checks, no prompts. */
export async function terraformEnv(base: NodeJS.ProcessEnv = process.env): Promise<NodeJS.ProcessEnv> {
  const cache = base.TF_PLUGIN_CACHE_DIR || join(base.XDG_CACHE_HOME || join(homedir(), ".cache"), "caja", "terraform-plugins");
  await mkdir(cache, { recursive: true });
  return {
    ...base,
    TF_PLUGIN_CACHE_DIR: cache,
    // Roots checked here have no lock file yet; without this, Terraform >= 1.4 re-installs into the
    // cache for each of them, and concurrent inits collide. With it, a filled cache is only linked.
    TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE: base.TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE ?? "true",
    CHECKPOINT_DISABLE: "1",
    TF_IN_AUTOMATION: "1",
    TF_INPUT: "0",
  };
}

/**
 * Run `fn` holding a lock shared by every process using the plugin cache (test workers, parallel
 * `caja test` runs), so two inits never write the cache at once.
 */
export async function withCacheLock<T>(env: NodeJS.ProcessEnv, fn: () => Promise<T>): Promise<T> {
  const lock = join(env.TF_PLUGIN_CACHE_DIR!, ".caja-init.lock");
  const started = Date.now();
  for (;;) {
    try {
      await mkdir(lock);
      heldCacheLocks.add(lock);
      break;
    } catch {
      // A holder that died leaves the lock behind: after two minutes it is stale.
      const age = Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? Date.now());
      if (age > 120_000 || Date.now() - started > 600_000) await rm(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    heldCacheLocks.delete(lock);
    await rm(lock, { recursive: true, force: true });
  }
}

/** The plugin-cache locks this process holds now. */
const heldCacheLocks = new Set<string>();

/**
 * Release the plugin-cache locks this process holds, for a command ending on a signal after it
 * ended its terraform: otherwise every other run waits out the two minutes that make a lock stale.
 */
export function releaseCacheLocks(): void {
  for (const lock of heldCacheLocks) rmSync(lock, { recursive: true, force: true });
  heldCacheLocks.clear();
}

/** The exit code a run ends with when it ran past its time limit (as timeout(1) reports it). */
export const TIMED_OUT = 124;

/**
 * Run terraform and collect what it says. With `timeoutMs`, a run still going after that long is
 * stopped (SIGTERM, then SIGKILL) and ends with {@link TIMED_OUT}: against an API that is not
 * implemented, the provider retries for many minutes instead of failing.
 */
export function runTerraform(bin: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, options: { readonly timeoutMs?: number } & RunWatch = {}): Promise<TerraformRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    const decoder = new StringDecoder("utf8");
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = options.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill("SIGTERM");
          setTimeout(() => child.kill("SIGKILL"), 5000).unref();
        }, options.timeoutMs)
      : undefined;
    child.stdout.on("data", (b: Buffer) => {
      out.push(b);
      if (options.onStdout) options.onStdout(decoder.write(b));
    });
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      resolve({
        ...(signal ? { signal } : {}),
        code: timedOut ? TIMED_OUT : (code ?? 1),
        stdout: Buffer.concat(out).toString(),
        stderr: timedOut ? `${stderr}\nterraform ${args[0]} was stopped after ${Math.round(options.timeoutMs! / 1000)} s` : stderr,
        ms: performance.now() - started,
      });
    });
  });
}

/** init, validate and the mock test of one root directory. */
export async function checkRoot(bin: string, dir: string, env: NodeJS.ProcessEnv): Promise<RootCheck> {
  const started = performance.now();
  const done = (partial: Omit<RootCheck, "dir" | "ms" | "via">): RootCheck => ({ dir, ms: performance.now() - started, via: "alone", ...partial });

  const init = await withCacheLock(env, () => runTerraform(bin, ["init", "-backend=false", "-input=false", "-no-color"], dir, env));
  if (init.code !== 0) return done({ ok: false, failedStep: "init", detail: init.stderr || init.stdout, runsPassed: 0, protectedLeftovers: [] });
  const validate = await runTerraform(bin, ["validate", "-no-color"], dir, env);
  if (validate.code !== 0) return done({ ok: false, failedStep: "validate", detail: validate.stderr || validate.stdout, runsPassed: 0, protectedLeftovers: [] });
  if (!existsSync(join(dir, TEST_FILE))) return done({ ok: true, detail: "no test file", runsPassed: 0, protectedLeftovers: [] });

  const test = await runTerraform(bin, ["test", "-json", "-no-color"], dir, env);
  const verdict = judgeTest(test.stdout, preventDestroyIn(await readFile(join(dir, MAIN_FILE), "utf8")));
  if (verdict.ok) return done({ ok: true, detail: verdict.detail, runsPassed: verdict.runsPassed, protectedLeftovers: verdict.protectedLeftovers });
  return done({ ok: false, failedStep: "test", detail: [verdict.detail, test.stderr].filter(Boolean).join("\n"), runsPassed: verdict.runsPassed, protectedLeftovers: [] });
}

/** Check many roots: see {@link checkRoots}. */
export interface CheckRootsOptions {
  /** Roots checked at once when they are checked one by one (default 2). */
  readonly concurrency?: number;
  readonly env?: NodeJS.ProcessEnv;
  /** Told once per root, when terraform starts on it. */
  readonly onStart?: (dir: string) => void;
  readonly onDone?: (r: RootCheck) => void;
}

/**
 * Check many roots. Every root whose test file a batch can carry is mock-applied in one
 * `terraform test` of a harness loading each as a module (terraform-batch.ts), with one shared
 * provider process (provider-server.ts): a few seconds for a whole config instead of seconds per
 * root. A root the batch does not prove (its run failed, or the batch could not tell) is checked
 * again on its own, init, validate and test as below, so a failure is reported exactly as a
 * single root's check reports it; so is every root the batch cannot carry.
 */
export async function checkRoots(bin: string, dirs: readonly string[], options: CheckRootsOptions = {}): Promise<RootCheck[]> {
  const env = await terraformEnv(options.env);
  const results: RootCheck[] = new Array(dirs.length);
  if (dirs.length === 0) return results;
  const started = new Set<string>();
  const start = (dir: string) => {
    if (started.has(dir)) return;
    started.add(dir);
    options.onStart?.(dir);
  };
  const finish = (i: number, check: RootCheck) => {
    start(check.dir);
    results[i] = check;
    options.onDone?.(check);
  };
  const work = await mkdtemp(join(tmpdir(), "caja-batch-"));
  const held: { server?: ProviderServer } = {};
  try {
    const batch = await batchOf(dirs);
    const { proven, initialised } = batch.length > 0 ? await proveInBatch(bin, work, batch, env, held, (k) => start(dirs[k]!)) : { proven: new Map<number, RootCheck>(), initialised: false };
    for (const [i, check] of proven) finish(i, check);
    const shared = held.server ? { ...env, TF_REATTACH_PROVIDERS: held.server.reattach } : env;
    const alone = dirs.map((_, i) => i).filter((i) => !proven.has(i));
    // The first fills the plugin cache alone if no harness did (concurrent first writes are unsafe).
    if (alone.length > 0 && !initialised) {
      const first = alone.shift()!;
      start(dirs[first]!);
      finish(first, await checkRoot(bin, dirs[first]!, shared));
    }
    let next = 0;
    const worker = async () => {
      while (next < alone.length) {
        const i = alone[next++]!;
        start(dirs[i]!);
        finish(i, await checkRoot(bin, dirs[i]!, shared));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker));
    return results;
  } finally {
    await held.server?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Mock-apply `candidates` in one harness; the roots it proves, by their index in the caller's
 * list. Terraform skips the runs after one that errors, so the roots a pass neither proved nor
 * failed go into another pass, without the failed ones. A harness terraform cannot initialise
 * because of some roots (their diagnostics name their folder or run) is tried again without
 * them. Failed and unproven roots are left to the caller, which checks them on their own. The
 * shared provider, once started, is left in `held` for the caller to use and stop.
 */
async function proveInBatch(
  bin: string,
  work: string,
  candidates: readonly BatchRoot[],
  env: NodeJS.ProcessEnv,
  held: { server?: ProviderServer },
  onStart: (index: number) => void,
): Promise<{ proven: Map<number, RootCheck>; initialised: boolean }> {
  const proven = new Map<number, RootCheck>();
  let initialised = false;
  let batch = candidates;
  for (let pass = 0; pass < MAX_BATCH_PASSES && batch.length > 0; pass++) {
    const harness = join(work, `harness-${pass}`);
    const { runs } = await writeHarness(harness, batch);
    const init = await withCacheLock(env, () => runTerraform(bin, ["init", "-backend=false", "-input=false", "-no-color"], harness, env));
    if (init.code !== 0) {
      const culprits = harnessCulprits(`${init.stdout}\n${init.stderr}`, batch.length);
      if (culprits.size === 0) break;
      batch = batch.filter((_, k) => !culprits.has(k));
      continue;
    }
    initialised = true;
    const provider = installedAwsProvider(harness);
    if (!held.server && provider) {
      const server = await startProviderServer(provider, work, env);
      if (server) held.server = server;
    }
    const shared = held.server ? { ...env, TF_REATTACH_PROVIDERS: held.server.reattach } : env;
    const current = batch;
    const lines = lineSplitter((line) => {
      const k = /"@testrun":"r(\d+)_/.exec(line)?.[1];
      if (k !== undefined && line.includes('"progress":"starting"') && current[Number(k)]) onStart(current[Number(k)]!.index);
    });
    const test = await runTerraform(bin, ["test", "-json", "-no-color"], harness, shared, { onStdout: lines.write });
    const verdicts = judgeBatch(test.stdout, runs, batch.map((b) => b.preventDestroy));
    batch.forEach((b, k) => {
      const v = verdicts[k];
      if (v?.ok) proven.set(b.index, { dir: b.dir, ok: true, detail: v.detail, runsPassed: v.runsPassed, ms: v.ms, protectedLeftovers: v.protectedLeftovers, via: "batch" });
    });
    // Another pass only for roots that did not run because an earlier one failed.
    const failed = verdicts.some((v) => v !== undefined && !v.ok);
    const unrun = batch.filter((_, k) => verdicts[k] === undefined);
    if (!failed || unrun.length === batch.length) break;
    batch = unrun;
  }
  return { proven, initialised };
}

/** Passes of a batch at most: each removes at least one failing root or ends the batch. */
const MAX_BATCH_PASSES = 4;

interface BatchRoot {
  /** Its position in the caller's list. */
  readonly index: number;
  readonly dir: string;
  readonly test: RootTest;
  readonly preventDestroy: ReadonlySet<string>;
}

/** The roots a batch can carry: a test file of the shape caja writes, read back and checked. */
async function batchOf(dirs: readonly string[]): Promise<BatchRoot[]> {
  const batch: BatchRoot[] = [];
  for (const [index, dir] of dirs.entries()) {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
    const test = entries?.find((e) => e.name === TEST_FILE);
    const main = entries?.find((e) => e.name === MAIN_FILE);
    if (!entries || !test?.isFile() || !main?.isFile()) continue;
    const parsed = batchableTest(await readFile(join(dir, TEST_FILE), "utf8"));
    // Its one configuration file is caja's: any other (`*.tf`, `*.tf.json`) is left to a check of the root alone.
    const others = entries.some((e) => e.name !== TEST_FILE && e.name !== MAIN_FILE && /\.tf(\.json)?$/.test(e.name));
    // Only a root module may hold import blocks.
    const config = await readFile(join(dir, MAIN_FILE), "utf8");
    if (!parsed || others || !loadsAsModule(config)) continue;
    batch.push({ index, dir, test: parsed, preventDestroy: preventDestroyIn(config) });
  }
  return batch;
}

async function writeHarness(harness: string, batch: readonly BatchRoot[]): Promise<{ runs: HarnessRun[] }> {
  const { main, test, runs } = harnessDocuments(batch.map((b) => b.test));
  await mkdir(harness, { recursive: true });
  await writeFile(join(harness, "main.tf.json"), `${JSON.stringify(main)}\n`);
  await writeFile(join(harness, "batch.tftest.json"), `${JSON.stringify(test)}\n`);
  for (const [k, b] of batch.entries()) {
    const dir = join(harness, harnessRootDir(k));
    await mkdir(dir, { recursive: true });
    await copyFile(join(b.dir, MAIN_FILE), join(dir, MAIN_FILE));
  }
  return { runs };
}

