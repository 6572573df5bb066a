/** What `caja plan`, `caja apply` and `caja destroy` share: flags, checks before running, the report. */
import { rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { parseArgs, UsageError, type Args, type FlagSpec, type Io } from "../commands/support.js";
import { CajaUserError } from "../errors.js";
import { runTerraform, terraformEnv, withCacheLock, type TerraformRun } from "../terraform.js";
import { resolveTerraform } from "./binary.js";
import { SelectionError, selectRoots, type ManifestRoot } from "./manifest.js";
import { offlineEnv } from "./offline.js";
import { duration, summaryTable, type RootResult } from "./render.js";
import { runRoots, type Terraform } from "./runner.js";
import { blockingTodos, LOG_DIR, prepareWorkspace, TRIAL_DIR, type Workspace } from "./workspace.js";

export const COMMON_FLAGS: FlagSpec = { "--config": "value", "--out": "value", "--phase": "value", "--parallel": "value", "--terraform": "value", "--backend": "value" };

type Action = "plan" | "apply" | "destroy";

/** Parse `--parallel N` (default `fallback`). */
export function parallelOf(args: Args, fallback: number): number {
  const raw = args.value("--parallel");
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--parallel expects a whole number from 1 to 64, got "${raw}"`);
  return n;
}

export function selectOrUsage(workspace: Workspace, targets: readonly string[], phase?: string): ManifestRoot[] {
  try {
    return selectRoots(workspace.manifest, targets, phase);
  } catch (e) {
    if (e instanceof SelectionError) throw new UsageError(e.message);
    throw e;
  }
}

export async function runAction(action: Action, argv: readonly string[], io: Io, extra: FlagSpec = {}): Promise<number> {
  const args = parseArgs(argv, { ...COMMON_FLAGS, ...extra });
  if (args.positional.length === 0) throw new UsageError(`caja ${action} needs what to ${action}: global, an environment name or all`);
  const backend = args.value("--backend") ?? "s3";
  if (backend !== "s3" && backend !== "local") throw new UsageError(`--backend expects s3 or local, got "${backend}"`);
  const trial = backend === "local";
  if (trial && action !== "plan") {
    throw new UsageError(`--backend local is trial mode, which only plans: it runs with fake AWS credentials, which AWS would refuse. caja ${action} runs on out/ with the S3 backend`);
  }
  if (trial && args.value("--out")) throw new UsageError(`--out names the compiled roots to run; trial mode compiles into ${TRIAL_DIR}/ instead`);
  const parallel = parallelOf(args, 1);

  const terraformBin = await resolveTerraform(args.value("--terraform"), io.cwd);
  const config = args.value("--config");
  const outDir = args.value("--out");
  const workspace = await prepareWorkspace({ cwd: io.cwd, trial, ...(config ? { config } : {}), ...(outDir ? { outDir } : {}) });
  const roots = selectOrUsage(workspace, args.positional, args.value("--phase"));

  const todos = blockingTodos(workspace.compiled.todos, roots, io.cwd);
  if (todos.length > 0) {
    throw new CajaUserError(
      [`refusing to ${action}: ${todos.length} todo() value${todos.length === 1 ? "" : "s"} in the config would become ${todos.length === 1 ? "a variable" : "variables"} without a value. Decide ${todos.length === 1 ? "it" : "them"} in the config:`, ...todos.map((t) => `  ${t}`)].join("\n"),
    );
  }

  if (action === "destroy" && !(await confirmDestroy(args, roots, workspace, io))) return 1;

  const env = await terraformEnv();
  const runEnv = trial ? offlineEnv(env) : env;
  // A terraform that cannot be started is reported like one that failed.
  const exec = (a: readonly string[], cwd: string) =>
    runTerraform(terraformBin.bin, a, cwd, runEnv).catch((e: Error): TerraformRun => ({ code: 127, stdout: "", stderr: `cannot run ${terraformBin.bin}: ${e.message}`, ms: 0 }));
  const terraform: Terraform = { run: exec, init: (cwd) => withCacheLock(runEnv, () => exec(["init", "-input=false", "-no-color"], cwd)) };
  const shownDir = relative(io.cwd, workspace.runDir) || ".";
  const scopes = [...new Set(roots.map((r) => r.scope))].join(", ");
  io.out(`caja ${action}: ${roots.length} root${roots.length === 1 ? "" : "s"} of ${scopes} in ${shownDir}/, terraform ${terraformBin.version}, ${parallel} at a time`);
  if (trial) io.out(`trial mode: local state in ${shownDir}/, fake AWS credentials; nothing is sent to AWS`);

  const started = performance.now();
  const logDir = join(io.cwd, LOG_DIR, action);
  await rm(logDir, { recursive: true, force: true });
  const results = await runRoots({
    action,
    roots,
    manifest: workspace.manifest,
    runDir: workspace.runDir,
    logDir,
    parallel,
    offline: trial,
    terraform,
    print: (lines) => lines.forEach((l) => io.out(l)),
    displayPath: (p) => relative(io.cwd, p) || p,
    heartbeatMs: 30_000,
  });
  io.out("");
  for (const line of summaryTable(action, results)) io.out(line);
  io.out(`(${duration(performance.now() - started)}; logs in ${relative(io.cwd, logDir)}/)`);
  return verdict(action, results, workspace, trial, io);
}

function verdict(action: Action, results: readonly RootResult[], workspace: Workspace, trial: boolean, io: Io): number {
  for (const r of results) {
    if (r.outcome.kind !== "done" || !r.outcome.applied) continue;
    const steps = workspace.compiled.plan.roots.find((p) => p.id === r.root)?.phase.manualSteps ?? [];
    for (const step of steps) io.out(`next, by hand (${r.root}): ${step}`);
  }
  const failed = results.find((r) => r.outcome.kind === "failed");
  if (failed && failed.outcome.kind === "failed") {
    io.err(`caja: ${failed.root} failed at ${failed.outcome.command}. Full log: ${relative(io.cwd, failed.outcome.log)}`);
    return 1;
  }
  const waiting = results.filter((r) => r.outcome.kind === "waits");
  const kept = results.filter((r) => r.outcome.kind === "needed-by");
  if (action === "plan") {
    if (waiting.length === 0) return 0;
    const they = waiting.length === 1 ? "root waits" : "roots wait";
    io.out(
      trial
        ? `${waiting.length} ${they} for roots that trial mode never applies; caja test mock-applies every root offline.`
        : `${waiting.length} ${they} for roots not applied yet; plan ${waiting.length === 1 ? "it" : "them"} once those are applied (caja apply).`,
    );
    return 0;
  }
  if (waiting.length > 0) {
    io.err(`caja: ${waiting.length} root${waiting.length === 1 ? " was" : "s were"} not applied: ${waiting.flatMap((r) => (r.outcome.kind === "waits" ? [`${r.root} waits for ${r.outcome.for}`] : [])).join("; ")}. Apply ${waiting.length === 1 ? "that root" : "those roots"} first.`);
    return 1;
  }
  if (kept.length > 0) {
    io.err(`caja: ${kept.length} root${kept.length === 1 ? " was" : "s were"} kept: ${kept.flatMap((r) => (r.outcome.kind === "needed-by" ? [`${r.root} (still used by ${r.outcome.by})`] : [])).join("; ")}. Destroy ${kept.length === 1 ? "that user" : "those users"} first.`);
    return 1;
  }
  return 0;
}

/** destroy: never a tier-prod environment without `--allow-prod`; ask unless `--yes`. */
async function confirmDestroy(args: Args, roots: readonly ManifestRoot[], workspace: Workspace, io: Io): Promise<boolean> {
  const scopes = [...new Set(roots.map((r) => r.scope))];
  const prod = scopes.filter((s) => workspace.compiled.config.environments[s]?.tier === "prod");
  if (prod.length > 0 && !args.has("--allow-prod")) {
    throw new CajaUserError(`refusing to destroy ${prod.join(", ")}: a production environment (tier prod). Pass --allow-prod as well if that is what you mean.`);
  }
  if (args.has("--yes")) return true;
  const question = `Destroy every resource of ${roots.length} root${roots.length === 1 ? "" : "s"} (${[...roots].reverse().map((r) => r.id).join(", ")})?`;
  if (!io.confirm) throw new CajaUserError(`caja destroy asks before deleting anything, and there is no terminal to ask on. Pass --yes to destroy without asking.`);
  if (await io.confirm(question)) return true;
  io.err("caja: nothing was destroyed.");
  return false;
}
