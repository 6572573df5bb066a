/**
 * Running terraform over generated roots: `init -backend=false`, `validate` and the generated
 * mock `terraform test`. Used by `npm test` and by `caja test`. One provider plugin cache is
 * shared by every root, so the provider is downloaded once; the first root initialises alone to
 * fill it (the cache is not safe for concurrent first writes), then the rest run in parallel.
 */
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { StringDecoder } from "node:string_decoder";
import { delimiter, join } from "node:path";

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
  const done = (partial: Omit<RootCheck, "dir" | "ms">): RootCheck => ({ dir, ms: performance.now() - started, ...partial });

  const init = await withCacheLock(env, () => runTerraform(bin, ["init", "-backend=false", "-input=false", "-no-color"], dir, env));
  if (init.code !== 0) return done({ ok: false, failedStep: "init", detail: init.stderr || init.stdout, runsPassed: 0, protectedLeftovers: [] });
  const validate = await runTerraform(bin, ["validate", "-no-color"], dir, env);
  if (validate.code !== 0) return done({ ok: false, failedStep: "validate", detail: validate.stderr || validate.stdout, runsPassed: 0, protectedLeftovers: [] });
  if (!existsSync(join(dir, "main.tftest.json"))) return done({ ok: true, detail: "no test file", runsPassed: 0, protectedLeftovers: [] });

  const test = await runTerraform(bin, ["test", "-json", "-no-color"], dir, env);
  const verdict = judgeTest(test.stdout, await preventDestroyAddresses(dir));
  if (verdict.ok) return done({ ok: true, detail: verdict.detail, runsPassed: verdict.runsPassed, protectedLeftovers: verdict.protectedLeftovers });
  return done({ ok: false, failedStep: "test", detail: [verdict.detail, test.stderr].filter(Boolean).join("\n"), runsPassed: verdict.runsPassed, protectedLeftovers: [] });
}

/**
 * Read `terraform test -json`. A file passes when every run passed and nothing errored, with one
 * exception: Terraform before 1.14 cannot tear down `prevent_destroy` resources after a test
 * (hashicorp/terraform#34960). If the only errors are exactly those, the mock apply succeeded.
 */
export function judgeTest(jsonLines: string, preventDestroy: ReadonlySet<string>): { ok: boolean; runsPassed: number; detail: string; protectedLeftovers: string[] } {
  let runsPassed = 0;
  let runsFailed = 0;
  const errors: string[] = [];
  const leftovers: string[] = [];
  const notCleaned: string[] = [];
  for (const line of jsonLines.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    let msg: Record<string, any>;
    try {
      msg = JSON.parse(line) as Record<string, any>;
    } catch {
      continue;
    }
    if (msg.type === "test_run" && msg.test_run?.progress === "complete") {
      if (msg.test_run.status === "pass") runsPassed++;
      else runsFailed++;
    }
    if (msg.type === "diagnostic" && msg.diagnostic?.severity === "error") {
      const detail: string = msg.diagnostic.detail ?? "";
      const address = /^Resource (\S+) has lifecycle\.prevent_destroy set/.exec(detail)?.[1];
      if (msg.diagnostic.summary === "Instance cannot be destroyed" && address && preventDestroy.has(address)) leftovers.push(address);
      else errors.push(`${msg.diagnostic.summary}: ${detail}`.trim());
    }
    if (msg.type === "test_cleanup") {
      for (const r of msg.test_cleanup?.failed_resources ?? []) notCleaned.push(String(r.instance ?? ""));
    }
  }
  // The destroy plan fails as a whole, so resources depending on protected ones stay too. That is
  // only acceptable when the refusals to destroy protected resources are the sole errors.
  if (leftovers.length === 0) errors.push(...notCleaned.map((a) => `teardown left ${a} behind`));
  const ok = runsFailed === 0 && errors.length === 0 && runsPassed > 0;
  const detail = [
    `${runsPassed} run(s) passed, ${runsFailed} failed`,
    ...errors,
    ...(leftovers.length ? [`teardown kept prevent_destroy resources (fixed in Terraform 1.14): ${leftovers.join(", ")}`] : []),
  ].join("\n");
  return { ok, runsPassed, detail, protectedLeftovers: leftovers };
}

/** Addresses of resources whose `lifecycle.prevent_destroy` is true in the root's JSON. */
async function preventDestroyAddresses(dir: string): Promise<Set<string>> {
  const doc = JSON.parse(await readFile(join(dir, "main.tf.json"), "utf8")) as { resource?: Record<string, Record<string, { lifecycle?: { prevent_destroy?: boolean } }>> };
  const out = new Set<string>();
  for (const [type, byName] of Object.entries(doc.resource ?? {})) {
    for (const [name, body] of Object.entries(byName)) if (body.lifecycle?.prevent_destroy === true) out.add(`${type}.${name}`);
  }
  return out;
}

/** Check many roots: the first alone (fills the plugin cache), the rest `concurrency` at a time. */
export async function checkRoots(
  bin: string,
  dirs: readonly string[],
  options: { concurrency?: number; env?: NodeJS.ProcessEnv; onStart?: (dir: string) => void; onDone?: (r: RootCheck) => void } = {},
): Promise<RootCheck[]> {
  const env = await terraformEnv(options.env);
  const results: RootCheck[] = new Array(dirs.length);
  if (dirs.length === 0) return results;
  options.onStart?.(dirs[0]!);
  results[0] = await checkRoot(bin, dirs[0]!, env);
  options.onDone?.(results[0]);
  let next = 1;
  const worker = async () => {
    while (next < dirs.length) {
      const i = next++;
      options.onStart?.(dirs[i]!);
      results[i] = await checkRoot(bin, dirs[i]!, env);
      options.onDone?.(results[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 2) }, worker));
  return results;
}
