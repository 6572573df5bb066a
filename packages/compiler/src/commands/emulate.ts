/**
 * `caja emulate`: apply every root of out/ against an AWS emulator (moto), re-plan each (no change
 * allowed), destroy in reverse order and check nothing is left. Each environment gets its own
 * emulator (the emulator keeps one database instance per account), with the global roots applied
 * in it first. What the emulator cannot do is handled in run/emulator.ts and reported.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { join, relative, resolve } from "node:path";
import { CajaUserError } from "../errors.js";
import { stableStringify } from "../json.js";
import { parallelOf } from "../run/command.js";
import { emulatorTagged, faultDrills, killTree } from "./emulate-faults.js";
import { resolveTerraform } from "../run/binary.js";
import { emulatedRoot, faithfulRoot, judgeReplan, type ResourceChange } from "../run/emulator.js";
import type { ManifestRoot } from "../run/manifest.js";
import { duration } from "../run/render.js";
import { PLAN_FILE, runRoots, stateList, type Terraform } from "../run/runner.js";
import { LOG_DIR, prepareWorkspace } from "../run/workspace.js";
import { findProgram, releaseCacheLocks, runTerraform, terraformEnv, TIMED_OUT, withCacheLock, type RunWatch, type TerraformRun } from "../terraform.js";
import { parseArgs, UsageError, type Io } from "./support.js";

export const usage = `caja emulate [ENV...] [--faults] [--endpoint URL] [--moto PATH] [--timeout SECONDS] [--parallel N] [--terraform PATH] [--config FILE] [--out DIR]

  Applies the global roots and each environment's roots of out/ (which must be current) against an
  AWS emulator, in manifest order, with state in the emulator's S3 and locks in its DynamoDB; then
  re-plans every root (any change fails, apart from the emulator's own listed differences); then
  destroys in reverse order and checks no state is left. No AWS account is involved. Each
  environment runs in its own emulator; resources the emulator cannot create are listed.

  --faults           first, in the first environment: apply a root before the root it reads from,
                     apply a root while another terraform holds its lock, kill terraform part
                     way through an apply and apply again, and leave a security group as a kill
                     inside its create would; each must end as caja promises
  --endpoint URL     use a running emulator (one environment) instead of starting moto_server
  --moto PATH        the moto_server program (default: moto_server on PATH; pip install "moto[server]")
  --timeout SECONDS  longest any one terraform command may run (default 600)
  --parallel N       roots at once within an environment where dependencies allow (default 2)`;

const FLAGS = { "--faults": "bool", "--config": "value", "--out": "value", "--endpoint": "value", "--moto": "value", "--timeout": "value", "--parallel": "value", "--terraform": "value" } as const;

/** The emulated tree, per environment: `.caja/emulate/<env>/` (ignored by git). */
export const EMULATE_DIR = join(".caja", "emulate");
/** The emulator's default account, which its STS reports. */
const EMULATOR_CREDENTIALS = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test" } as const;

interface Row {
  root: string;
  resources: number;
  apply: number;
  replan: string;
  destroy: number;
}

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  const timeoutMs = secondsOf(args.value("--timeout") ?? "600") * 1000;
  const parallel = parallelOf(args, 2);
  const terraform = await resolveTerraform(args.value("--terraform"), io.cwd);
  const config = args.value("--config");
  const outDir = args.value("--out");
  const workspace = await prepareWorkspace({ cwd: io.cwd, trial: false, ...(config ? { config } : {}), ...(outDir ? { outDir } : {}) });
  const envs = Object.keys(workspace.compiled.config.environments);
  const chosen = args.positional.length > 0 ? args.positional : envs;
  const unknown = chosen.filter((e) => !envs.includes(e));
  if (unknown.length > 0) throw new UsageError(`${unknown.join(", ")} ${unknown.length === 1 ? "is not an environment" : "are not environments"} of this config (${envs.join(", ")})`);
  const endpoint = args.value("--endpoint");
  if (endpoint && chosen.length > 1) throw new UsageError("--endpoint names one emulator, and each environment needs its own: name one environment");
  const moto = endpoint ? undefined : findMoto(args.value("--moto"), io.cwd);

  const started = performance.now();
  // A signal to caja alone (as a CI runner sends it) also ends the terraform it started: against a
  // stopped emulator, a provider would retry for minutes, and a drill's apply waits for input forever.
  const onSignal = (signal: NodeJS.Signals) => {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    for (const pid of running) killTree(pid);
    releaseCacheLocks();
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  try {
    return await runEnvironments();
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
  }

  async function runEnvironments(): Promise<number> {
    // Environments side by side, each in its own emulator: the provider's waiters, not the CPU, set the pace.
    const failures = await Promise.all(
      chosen.map(async (env) => {
        const roots = workspace.manifest.roots.filter((r) => r.scope === "global" || r.scope === env);
        const server = endpoint ? { url: endpoint, stop: async () => {} } : await startMoto(moto!);
        try {
          io.out(`caja emulate ${env}: ${roots.length} roots against ${server.url}, terraform ${terraform.version}`);
          return await emulateEnv(env, roots, server.url, args.has("--faults") && env === chosen[0]);
        } finally {
          await server.stop();
        }
      }),
    );
    io.out(`(${duration(performance.now() - started)} in all)`);
    return failures.some((n) => n > 0) ? 1 : 0;
  }

  async function emulateEnv(env: string, roots: readonly ManifestRoot[], url: string, faults: boolean): Promise<number> {
    const dir = join(io.cwd, EMULATE_DIR, env);
    await rm(dir, { recursive: true, force: true });
    const rows = new Map<string, Row>();
    const notEmulated: string[] = [];
    const adjusted: string[] = [];
    let total = 0;
    /** Roots with Route 53 records (see the destroy below). */
    const serial = new Set<string>();
    for (const root of roots) {
      const file = workspace.compiled.files.find((f) => f.path === `${root.dir}/main.tf.json`)!;
      const emulated = emulatedRoot(JSON.parse(file.content) as Record<string, unknown>, url);
      if ((emulated.doc as { resource?: Record<string, unknown> }).resource?.aws_route53_record !== undefined) serial.add(root.id);
      await mkdir(join(dir, root.dir), { recursive: true });
      await writeFile(join(dir, root.dir, "main.tf.json"), stableStringify(emulated.doc));
      // Undecided values (todo()) take the examples the root's own mock test runs with.
      const test = workspace.compiled.files.find((f) => f.path === `${root.dir}/main.tftest.json`);
      const values = test ? (JSON.parse(test.content) as { variables?: Record<string, unknown> }).variables : undefined;
      if (values && Object.keys(values).length > 0) await writeFile(join(dir, root.dir, "caja_emulator.auto.tfvars.json"), stableStringify(values));
      for (const n of emulated.notEmulated) notEmulated.push(`${root.id} ${n.address}: ${n.reason}`);
      for (const a of emulated.adjusted) adjusted.push(`${root.id} ${a.address}: ${a.reason}`);
      total += emulated.resources + emulated.notEmulated.length;
      rows.set(root.id, { root: root.id, resources: emulated.resources, apply: 0, replan: "", destroy: 0 });
    }
    if (notEmulated.length > 0) {
      io.out(`not emulated (${notEmulated.length} of ${total} resources, ${((100 * notEmulated.length) / total).toFixed(1)} %):`);
      for (const line of notEmulated) io.out(`  ${line}`);
    }
    if (adjusted.length > 0) {
      io.out("adjusted for the emulator:");
      for (const line of adjusted) io.out(`  ${line}`);
    }

    const base = await terraformEnv();
    const runEnv = { ...base, ...EMULATOR_CREDENTIALS, AWS_ENDPOINT_URL: url, AWS_EC2_METADATA_DISABLED: "true", AWS_REGION: workspace.compiled.config.region };
    const logDir = join(io.cwd, LOG_DIR, "emulate", env);
    await rm(logDir, { recursive: true, force: true });
    await mkdir(logDir, { recursive: true });
    const exec = (a: readonly string[], cwd: string, watch?: RunWatch) => traced(terraform.bin, a, cwd, runEnv, timeoutMs, join(logDir, `${relative(dir, cwd).replaceAll("/", "__")}.tflog`), watch);
    const tf: Terraform = { run: exec, init: (cwd) => withCacheLock(runEnv, () => exec(["init", "-input=false", "-no-color"], cwd)) };
    const manifest = { roots };
    const print = (lines: readonly string[]) => lines.forEach((l) => io.out(`${env} │ ${l}`));
    const show = (p: string) => relative(io.cwd, p) || p;
    const common = { manifest, runDir: dir, logDir, parallel, offline: false, terraform: tf, print, displayPath: show, heartbeatMs: 30_000 } as const;

    const region = workspace.compiled.config.region;
    let failures = faults ? await faultDrills({ env, roots, dir, url, region, terraformBin: terraform.bin, runEnv, tf, common, print, track }) : 0;
    const applied = failures > 0 ? [] : await runRoots({ ...common, action: "apply", roots });
    for (const r of applied) rows.get(r.root)!.apply += r.ms;
    failures += applied.filter((r) => r.outcome.kind !== "done").length;

    if (failures === 0) {
      for (const root of roots) {
        const verdict = await replan(join(dir, root.dir), tf);
        if (verdict.ok) await planAsCompiled(root, join(dir, root.dir));
        rows.get(root.id)!.replan = verdict.summary;
        if (!verdict.ok) {
          failures++;
          print([`${root.id}  re-plan: ${verdict.summary}`, ...verdict.detail.map((d) => `  │ ${d}`)]);
        } else if (verdict.detail.length > 0) print([`${root.id}  re-plan clean; ignored (the emulator's own):`, ...verdict.detail.map((d) => `  │ ${d}`)]);
      }
    }

    if (failures === 0) print([`plans of every root as compiled, references resolved by the emulated apply: ${show(dir)}/<root>/${RESOLVED_PLAN}`]);
    // The emulator deletes a record by rebuilding the zone's record list without a lock, so two
    // deletions at once can lose one (the record comes back and the zone cannot be deleted). AWS
    // serialises a zone's changes itself; here terraform deletes them one at a time.
    const destroyed = await runRoots({ ...common, action: "destroy", roots, oneAtATime: (root) => serial.has(root.id) });
    for (const r of destroyed) rows.get(r.root)!.destroy = r.ms;
    failures += destroyed.filter((r) => r.outcome.kind === "failed" || r.outcome.kind === "needed-by").length;
    const left = await leftovers(roots, dir, tf);
    // Asked of the emulator itself, not of terraform's state: what is still tagged as this environment's.
    const tagged = await emulatorTagged(url, region, env).catch((e: Error) => [{ id: `(cannot ask the emulator: ${e.message})`, type: "" }]);
    if (tagged.length > 0) left.push(`EC2 objects tagged Environment=${env}: ${tagged.map((t) => `${t.type} ${t.id}`.trim()).join(", ")}`);
    if (left.length > 0) {
      failures++;
      print([`left in the emulator after destroy: ${left.join(", ")}`]);
    }

    io.out("");
    for (const line of table([...rows.values()])) io.out(line);
    io.out(failures === 0 ? `${env}: every root applied, re-planned clean and was destroyed` : `${env}: ${failures} problem${failures === 1 ? "" : "s"}; logs in ${show(logDir)}/`);
    return failures;

    /**
     * The root as compiled (not as adjusted for the emulator), planned against the emulated
     * state: its plan JSON has every reference resolved. The emulated copy is put back for the
     * destroy.
     */
    async function planAsCompiled(root: ManifestRoot, rootDir: string): Promise<void> {
      const emulatedFile = join(rootDir, "main.tf.json");
      const emulatedText = await readFile(emulatedFile, "utf8");
      const file = workspace.compiled.files.find((f) => f.path === `${root.dir}/main.tf.json`)!;
      try {
        await writeFile(emulatedFile, stableStringify(faithfulRoot(JSON.parse(file.content) as Record<string, unknown>, url)));
        const plan = await tf.run(["plan", "-input=false", "-no-color", "-lock=false", `-out=${RESOLVED_PLAN_FILE}`], rootDir);
        if (plan.code !== 0) {
          print([`${root.id}  plan as compiled failed: ${(plan.stderr || plan.stdout).trim().split("\n").slice(-3).join(" ")}`]);
          return;
        }
        const shown = await tf.run(["show", "-json", RESOLVED_PLAN_FILE], rootDir);
        if (shown.code === 0) await writeFile(join(rootDir, RESOLVED_PLAN), shown.stdout);
      } finally {
        await writeFile(emulatedFile, emulatedText);
        await rm(join(rootDir, RESOLVED_PLAN_FILE), { force: true });
      }
    }
  }
}

/** Each root's plan as compiled, as JSON, beside its emulated copy (what checkov scans). */
export const RESOLVED_PLAN = "caja-resolved-plan.json";
const RESOLVED_PLAN_FILE = "caja-resolved.tfplan";

/** `plan -detailed-exitcode`, then what would change, judged against the emulator's known differences. */
async function replan(dir: string, tf: Terraform): Promise<{ ok: boolean; summary: string; detail: readonly string[] }> {
  const plan = await tf.run(["plan", "-input=false", "-no-color", "-detailed-exitcode", `-out=${PLAN_FILE}`], dir);
  if (plan.code === 0) return { ok: true, summary: "no changes", detail: [] };
  if (plan.code !== 2) return { ok: false, summary: `plan failed (exit ${plan.code})`, detail: (plan.stderr || plan.stdout).trim().split("\n").slice(-30) };
  const shown = await tf.run(["show", "-json", PLAN_FILE], dir);
  const changes = ((JSON.parse(shown.stdout) as { resource_changes?: ResourceChange[] }).resource_changes ?? []);
  const verdict = judgeReplan(changes);
  if (verdict.changes.length > 0) return { ok: false, summary: `${verdict.changes.length} change${verdict.changes.length === 1 ? "" : "s"}`, detail: verdict.changes };
  return { ok: true, summary: `no changes (${verdict.ignored.length} emulator difference${verdict.ignored.length === 1 ? "" : "s"} ignored)`, detail: verdict.ignored };
}

/** Roots that still hold resources in their state after the destroy. */
async function leftovers(roots: readonly ManifestRoot[], dir: string, tf: Terraform): Promise<string[]> {
  const left: string[] = [];
  for (const root of roots) {
    const list = await stateList(tf, join(dir, root.dir));
    // Once the bootstrap root is destroyed there is no state bucket, so no state anywhere; the
    // emulator's inventory (below) is what shows anything left.
    if (list.code !== 0 && /S3 bucket "[^"]+" does not exist/.test(list.stderr + list.stdout)) continue;
    if (list.code !== 0) {
      left.push(`${root.id} (its state could not be listed: ${(list.stderr || list.stdout).trim().split("\n")[0]})`);
      continue;
    }
    const items = list.stdout.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("data."));
    if (items.length > 0) left.push(`${root.id} (${items.length}: ${items.slice(0, 3).join(", ")}${items.length > 3 ? ", …" : ""})`);
  }
  return left;
}

/** The terraform processes running now, ended with their children when caja gets a signal. */
const running = new Set<number>();

/** Record a running terraform; returns what forgets it once it ended. */
function track(pid: number): () => void {
  running.add(pid);
  return () => running.delete(pid);
}

/**
 * A terraform call with its debug log in `logFile`, so a call stopped at its time limit can name
 * the API operation the provider was retrying.
 */
async function traced(bin: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number, logFile: string, watch?: RunWatch): Promise<TerraformRun> {
  let untrack = () => {};
  const onSpawn = (pid: number) => {
    untrack = track(pid);
    watch?.onSpawn?.(pid);
  };
  const r = await runTerraform(bin, args, cwd, { ...env, TF_LOG: "DEBUG", TF_LOG_PATH: logFile }, { timeoutMs, ...watch, onSpawn })
    .catch((e: Error): TerraformRun => ({ code: 127, stdout: "", stderr: `cannot run ${bin}: ${e.message}`, ms: 0 }))
    .finally(() => untrack());
  if (r.code !== TIMED_OUT) return r;
  const waiting = await lastOperation(logFile);
  return { ...r, stderr: `${r.stderr}${waiting ? `; it was waiting on ${waiting}` : ""}` };
}

/** The last AWS API operation a terraform debug log shows (`ecs.DescribeServices`). */
async function lastOperation(logFile: string): Promise<string | undefined> {
  const text = await readFile(logFile, "utf8").catch(() => "");
  const ops = [...text.matchAll(/"?rpc\.service"?[=:]\s*"?([A-Za-z0-9 ._-]+?)"?[,\s].*?"?rpc\.method"?[=:]\s*"?([A-Za-z0-9]+)"?/g)];
  const last = ops.at(-1);
  return last ? `${last[1]!.trim()} ${last[2]}` : undefined;
}

function findMoto(explicit: string | undefined, cwd: string): string {
  const found = findProgram("moto_server", explicit === undefined ? undefined : resolve(cwd, explicit));
  if (found) return found;
  throw new CajaUserError(
    explicit ? `--moto ${explicit}: no such file` : 'moto_server is not on PATH. Install the emulator with pip install "moto[server]" (or pass --moto PATH, or --endpoint URL for one already running).',
  );
}

/** Start moto_server on a free loopback port and wait until it answers. */
async function startMoto(bin: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  // TLS (a certificate of its own): the state bucket's policy denies requests that are not.
  const child: ChildProcess = spawn(bin, ["-H", "127.0.0.1", "-p", String(port), "--ssl"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, MOTO_IAM_LOAD_MANAGED_POLICIES: "true", MOTO_ACM_VALIDATION_WAIT: "1" },
  });
  let errors = "";
  child.stderr?.on("data", (b: Buffer) => (errors = (errors + b.toString()).slice(-2000)));
  const url = `https://127.0.0.1:${port}`;
  // Stopped with caja (a signal to caja alone, as a CI runner sends it), not left listening.
  const onSignal = (signal: NodeJS.Signals) => {
    child.kill("SIGTERM");
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  const stop = async () => {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    if (child.exitCode !== null) return;
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  };
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new CajaUserError(`moto_server exited at start (${child.exitCode}): ${errors.trim().split("\n").at(-1) ?? ""}`);
    const ok = await listening(port);
    if (ok) return { url, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new CajaUserError(`moto_server did not answer on ${url} within 20 s`);
}

/** Whether something accepts connections on the loopback port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

function secondsOf(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 10 || n > 7200) throw new UsageError(`--timeout expects whole seconds from 10 to 7200, got "${raw}"`);
  return n;
}

function table(rows: readonly Row[]): string[] {
  const header = ["root", "resources", "apply", "re-plan", "destroy"];
  const cells = rows.map((r) => [r.root, String(r.resources), duration(r.apply), r.replan || "-", duration(r.destroy)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) => c.map((x, i) => (i === 1 ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...cells.map(line)];
}
