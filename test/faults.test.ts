/**
 * Fault-safe output, tried on the built CLI: `kill -9` of `caja compile` at every kind of step of
 * its write and at random moments, two compiles at once on the same out/, and a full or read-only
 * disk. After any of them, once the next compile's recovery has run, out/ is exactly the previous
 * output or exactly the new one, never a mix, and files caja did not generate are untouched.
 *
 * Step-exact faults come from test/fault-inject.cjs, preloaded into the CLI: it counts the
 * changes the process makes under out/ and kills it (or fails the call) at the N-th.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JOURNAL_DIR, LOCK_FILE, recoverOutput } from "../packages/compiler/src/write.js";
import { baseConfig, BY_DESIGN_SUPPRESSIONS, CAJA_BIN, repoTempDir } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const bin = CAJA_BIN;
const injector = join(repo, "test/fault-inject.cjs");
/** A file caja did not generate, which no fault may touch. */
const USER_FILE = "dev/20-network/terraform.tfstate";

const suppressions = BY_DESIGN_SUPPRESSIONS.map((x) => ({ ...x }));
/** A: dev, staging, prod. B: every root changes (tags), staging's roots go, qa's come. */
const CONFIG_A = { ...baseConfig(), policy: { suppressions } };
const CONFIG_B = { ...CONFIG_A, tags: { Owner: "sre", Confidentiality: "internal", CostCenter: "events-eng" }, environments: { dev: {}, qa: { tier: "staging" }, prod: {} } };

type Snapshot = Record<string, string>;

let dir: string;
let snapA: Snapshot;
let snapB: Snapshot;

function snapshot(out: string): Snapshot {
  const files: Snapshot = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p, `${rel}${name}/`);
      else if (`${rel}${name}` !== USER_FILE) files[`${rel}${name}`] = readFileSync(p, "utf8");
    }
  };
  if (existsSync(out)) walk(out, "");
  return Object.fromEntries(Object.entries(files).sort(([x], [y]) => (x < y ? -1 : 1)));
}

function restore(out: string, files: Snapshot): void {
  rmSync(out, { recursive: true, force: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(out, path)), { recursive: true });
    writeFileSync(join(out, path), content);
  }
  mkdirSync(dirname(join(out, USER_FILE)), { recursive: true });
  writeFileSync(join(out, USER_FILE), "{\"version\":4,\"serial\":7}");
}

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

function caja(config: "a" | "b", out: string, options: { env?: Record<string, string>; killAfterMs?: number; inject?: boolean } = {}): Promise<Run> {
  const started = performance.now();
  const args = [...(options.inject ? ["--require", injector] : []), bin, "compile", "--config", `${config}.config.mjs`, "--out", out];
  const child = spawn(process.execPath, args, { cwd: dir, env: { ...process.env, ...options.env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const timer = options.killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), options.killAfterMs);
  return new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    }),
  );
}

/** mulberry32: the random points are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exactly one compile's output (after the next compile's recovery), and the user's file intact. */
async function expectWhole(out: string): Promise<"a" | "b"> {
  await recoverOutput(out);
  const now = snapshot(out);
  expect(readFileSync(join(out, USER_FILE), "utf8")).toBe("{\"version\":4,\"serial\":7}");
  if (JSON.stringify(now) === JSON.stringify(snapA)) return "a";
  expect(now, "out/ is neither the previous output nor the new one").toEqual(snapB);
  return "b";
}

beforeAll(async () => {
  dir = repoTempDir("faults-");
  writeFileSync(join(dir, "a.config.mjs"), `export default ${JSON.stringify(CONFIG_A)};\n`);
  writeFileSync(join(dir, "b.config.mjs"), `export default ${JSON.stringify(CONFIG_B)};\n`);
  const [a, b] = await Promise.all([caja("a", "expect-a"), caja("b", "expect-b")]);
  expect(a.code, a.stderr).toBe(0);
  expect(b.code, b.stderr).toBe(0);
  snapA = snapshot(join(dir, "expect-a"));
  snapB = snapshot(join(dir, "expect-b"));
  expect(Object.keys(snapB).some((p) => p.startsWith("qa/")) && Object.keys(snapA).some((p) => p.startsWith("staging/"))).toBe(true);
}, 60_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("kill -9 of caja compile", () => {
  it("at every kind of step of the write leaves the previous output or, past the commit point, the new one", async () => {
    // The changes a compile of B over A's output makes, in order.
    const probe = join(dir, "probe");
    restore(probe, snapA);
    const log = join(dir, "ops.log");
    const counted = await caja("b", probe, { inject: true, env: { CAJA_FAULT_DIR: probe, CAJA_FAULT_LOG: log } });
    expect(counted.code, counted.stderr).toBe(0);
    const ops = readFileSync(log, "utf8").split("\n");
    const commit = ops.indexOf(`rename /${JOURNAL_DIR}/journal.json.tmp /${JOURNAL_DIR}/journal.json`) + 1;
    expect(commit).toBeGreaterThan(10);
    expect(ops.length - commit).toBeGreaterThan(50);

    const random = seeded(6);
    const landmarks = [1, 2, 3, 4, 5, commit - 2, commit - 1, commit, commit + 1, commit + 2, ops.length - 1, ops.length];
    const points = [...new Set([...landmarks, ...Array.from({ length: 8 }, () => 1 + Math.floor(random() * ops.length))])].sort((x, y) => x - y);
    const killAt = async (at: number) => {
      const out = join(dir, `kill-at-${at}`);
      restore(out, snapA);
      const run = await caja("b", out, { inject: true, env: { CAJA_FAULT_DIR: out, CAJA_FAULT_AT: String(at) } });
      expect(run.signal, `op ${at} (${ops[at - 1]}) should have killed the compile; it exited ${run.code}: ${run.stderr}`).toBe("SIGKILL");
      // Before the commit point the write never reached out/; from it on, recovery rolls it forward.
      expect(await expectWhole(out), `killed before op ${at}: ${ops[at - 1]}`).toBe(at <= commit ? "a" : "b");
      expect(existsSync(join(out, JOURNAL_DIR))).toBe(false);
      rmSync(out, { recursive: true, force: true });
    };
    // Two at a time: each kill has its own out/.
    for (let i = 0; i < points.length; i += 2) await Promise.all(points.slice(i, i + 2).map(killAt));
  }, 240_000);

  it("at random moments, again and again on the same out/, never leaves a mix, and the next compile is exact", async () => {
    const out = join(dir, "random-kills");
    restore(out, snapA);
    const full = await caja("b", join(dir, "timing"));
    const random = seeded(42);
    const seen = { a: 0, b: 0 };
    let config: "a" | "b" = "b";
    for (let i = 0; i < 36; i++) {
      // Up to twice a whole compile's time: some kills land while loading, some while writing, some never.
      const run = await caja(config, out, { killAfterMs: Math.floor(random() * full.ms * 2) });
      seen[await expectWhole(out)]++;
      if (run.code === 0) expect(snapshot(out)).toEqual(config === "a" ? snapA : snapB);
      config = config === "a" ? "b" : "a";
    }
    // Both outputs were seen: the kills did not all land in one place.
    expect(seen.a).toBeGreaterThan(0);
    expect(seen.b).toBeGreaterThan(0);
    // Whatever the last kill left, a normal compile afterwards writes exactly its own output.
    const last = await caja("a", out);
    expect(last.code, last.stderr).toBe(0);
    expect(snapshot(out)).toEqual(snapA);
  }, 240_000);
});

describe("two compiles at once on the same out/", () => {
  it("the second waits for the first; out/ is then exactly one compile's output, never a mix", async () => {
    const random = seeded(7);
    for (let round = 0; round < 4; round++) {
      const out = join(dir, `together-${round}`);
      restore(out, snapA);
      const first = caja("b", out);
      await new Promise((r) => setTimeout(r, Math.floor(random() * 150)));
      const second = caja("a", out);
      const [b, a] = await Promise.all([first, second]);
      expect(b.code, b.stderr).toBe(0);
      expect(a.code, a.stderr).toBe(0);
      expect(existsSync(join(out, LOCK_FILE))).toBe(false);
      await expectWhole(out);
    }
  }, 120_000);
});

describe("a full or read-only disk", () => {
  it("while staging: a clear message, exit 1, and the previous output exactly as it was", async () => {
    const out = join(dir, "enospc-staging");
    restore(out, snapA);
    const probe = join(dir, "probe-staging");
    restore(probe, snapA);
    const log = join(dir, "ops-staging.log");
    await caja("b", probe, { inject: true, env: { CAJA_FAULT_DIR: probe, CAJA_FAULT_LOG: log } });
    const firstStaged = readFileSync(log, "utf8").split("\n").findIndex((op) => op.startsWith(`writeFile /${JOURNAL_DIR}/files/`)) + 1;
    const run = await caja("b", out, { inject: true, env: { CAJA_FAULT_DIR: out, CAJA_FAULT_AT: String(firstStaged + 3), CAJA_FAULT_MODE: "ENOSPC" } });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(`caja: cannot write ${relative(dir, out)}: no space left on the device. The previous output is unchanged.`);
    expect(snapshot(out)).toEqual(snapA);
    expect(existsSync(join(out, JOURNAL_DIR)) || existsSync(join(out, LOCK_FILE))).toBe(false);
  }, 60_000);

  it("on a read-only out/: a clear message and nothing touched", async () => {
    const out = join(dir, "erofs");
    restore(out, snapA);
    const run = await caja("b", out, { inject: true, env: { CAJA_FAULT_DIR: out, CAJA_FAULT_AT: "1", CAJA_FAULT_MODE: "EROFS" } });
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(`caja: cannot create ${relative(dir, out)}: the file system is read-only`);
    expect(snapshot(out)).toEqual(snapA);
  }, 60_000);

  it("after the commit point: says the next compile finishes the write, which then yields the new output", async () => {
    const out = join(dir, "enospc-apply");
    restore(out, snapA);
    const probe = join(dir, "probe-apply");
    restore(probe, snapA);
    const log = join(dir, "ops-apply.log");
    await caja("b", probe, { inject: true, env: { CAJA_FAULT_DIR: probe, CAJA_FAULT_LOG: log } });
    const ops = readFileSync(log, "utf8").split("\n");
    // A new environment's folder cannot be moved in: the disk filled up while files were moved into place.
    const moveNewEnv = ops.findIndex((op, i) => i > ops.indexOf(`rename /${JOURNAL_DIR}/journal.json.tmp /${JOURNAL_DIR}/journal.json`) && op === `rename /${JOURNAL_DIR}/files/qa /qa`) + 1;
    expect(moveNewEnv).toBeGreaterThan(0);
    const run = await caja("b", out, { inject: true, env: { CAJA_FAULT_DIR: out, CAJA_FAULT_AT: String(moveNewEnv), CAJA_FAULT_MODE: "ENOSPC" } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`caja: cannot write ${relative(dir, out)}: no space left on the device. The write was interrupted after its commit point; the next caja compile finishes it`);
    expect(existsSync(join(out, LOCK_FILE))).toBe(false);
    expect(await expectWhole(out)).toBe("b");
    const next = await caja("b", out);
    expect(next.stdout).toContain("nothing changed");
  }, 60_000);
});
