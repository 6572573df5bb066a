/** What `caja plan`, `caja apply` and `caja destroy` share: flags, checks before running, the report. */
import { spawnSync } from "node:child_process";
import { appendFile, readFile, rm } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { parseArgs, UsageError, type Args, type FlagSpec, type Io } from "../commands/support.js";
import { CajaUserError } from "../errors.js";
import { runTerraform, terraformEnv, withCacheLock, type RunWatch, type TerraformRun } from "../terraform.js";
import { resolveTerraform } from "./binary.js";
import { readUntrusted, replaceFile } from "../write.js";
import { BUNDLE_FORMAT, BUNDLE_MANIFEST, COMMIT_ID, bundleFile, bundleText, parseBundle, sha256, summaryMarkdown, type BundleRoot, type PlanBundle } from "./bundle.js";
import { hasChanges } from "./changes.js";
import { SelectionError, selectRoots, type Manifest, type ManifestRoot } from "./manifest.js";
import { offlineEnv } from "./offline.js";
import { duration, status, summaryTable, type RootResult } from "./render.js";
import { LOCK_FILE, PLAN_FILE, runRoots, type Terraform } from "./runner.js";
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

/** The flags of `caja plan` and `caja apply` the pipeline uses: saved plans, summaries, outputs. */
export const PLAN_FLAGS: FlagSpec = { "--roots": "value", "--save-plans": "value", "--summary": "value", "--github-output": "value", "--detailed-exitcode": "bool", "--commit": "value" };
export const APPLY_FLAGS: FlagSpec = { "--roots": "value", "--plans": "value", "--summary": "value", "--commit": "value" };

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
  const savedDir = args.value("--plans");
  const saveDir = args.value("--save-plans");
  if (trial && saveDir !== undefined) throw new UsageError("trial mode plans with fake credentials and local state: its plans cannot be saved for apply");
  if (savedDir !== undefined && args.value("--phase") !== undefined) throw new UsageError("--plans applies the roots planned into it; --phase cannot narrow them");
  const saved = savedDir === undefined ? undefined : await readSaved(resolve(io.cwd, savedDir), workspace.manifest, io.cwd, args.value("--commit"));
  const roots = onlyListed(selectOrUsage(workspace, args.positional, args.value("--phase")), args.value("--roots"), saved?.bundle);
  // Known before terraform runs: a bundle must name the commit its plans were made from.
  const commit = saved?.bundle.commit ?? (saveDir !== undefined ? (args.value("--commit") ?? headCommit(io.cwd)) : args.value("--commit"));
  if (commit !== undefined && !COMMIT_ID.test(commit)) throw new UsageError(`--commit expects a full commit id (40 or 64 hexadecimal digits), got "${commit}"`);

  const todos = blockingTodos(workspace.compiled.todos, roots, io.cwd, process.env);
  if (todos.length > 0) {
    throw new CajaUserError(
      [`refusing to ${action}: ${todos.length} todo() value${todos.length === 1 ? "" : "s"} in the config would become ${todos.length === 1 ? "a variable" : "variables"} without a value. Decide ${todos.length === 1 ? "it" : "them"} in the config:`, ...todos.map((t) => `  ${t}`)].join("\n"),
    );
  }

  if (action === "destroy" && !(await confirmDestroy(args, roots, workspace, io))) return 1;

  const env = await terraformEnv();
  const runEnv = trial ? offlineEnv(env) : env;
  // A terraform that cannot be started is reported like one that failed.
  const exec = (a: readonly string[], cwd: string, watch?: RunWatch) =>
    runTerraform(terraformBin.bin, a, cwd, runEnv, watch).catch((e: Error): TerraformRun => ({ code: 127, stdout: "", stderr: `cannot run ${terraformBin.bin}: ${e.message}`, ms: 0 }));
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
    ...(saved ? { saved } : {}),
  });
  io.out("");
  for (const line of summaryTable(action, results)) io.out(line);
  io.out(`(${duration(performance.now() - started)}; logs in ${relative(io.cwd, logDir)}/)`);

  const title = `caja ${action}${args.has("--detailed-exitcode") ? " (drift check: any change fails)" : ""}: ${scopes || "no root"}`;
  const bundle = bundleOf(commit ?? "", results);
  if (saveDir !== undefined) {
    const dir = resolve(io.cwd, saveDir);
    await savePlans(dir, bundle, workspace.runDir, roots);
    io.out(`saved ${bundle.roots.filter((r) => r.status === "changes").length} plan(s) and ${BUNDLE_MANIFEST} in ${relative(io.cwd, dir) || "."}/`);
  }
  const summaries = args.values("--summary");
  if (summaries.length > 0) {
    const text = `${action === "plan" ? summaryMarkdown(title, bundle, planTexts(results)) : applySummary(title, results, commit)}\n`;
    for (const file of summaries) await appendFile(resolve(io.cwd, file), text);
  }
  const githubOutput = args.value("--github-output");
  if (githubOutput !== undefined) {
    const changed = bundle.roots.filter((r) => r.status === "changes").map((r) => r.id);
    await appendFile(resolve(io.cwd, githubOutput), `changes=${changed.length > 0}\nchanged_roots=${changed.join(" ")}\n`);
  }
  const code = verdict(action, results, workspace, trial, io, saved !== undefined);
  if (code === 0 && args.has("--detailed-exitcode") && bundle.roots.some((r) => r.status === "changes")) return 2;
  return code;
}

/** `--roots` (ids separated by spaces or commas) narrows the selection; `--plans` narrows it to the bundle's roots. */
function onlyListed(roots: ManifestRoot[], listed: string | undefined, bundle: PlanBundle | undefined): ManifestRoot[] {
  let picked = roots;
  if (listed !== undefined) {
    const ids = listed.split(/[\s,]+/).filter(Boolean);
    const unknown = ids.filter((id) => !roots.some((r) => r.id === id));
    if (unknown.length > 0) throw new UsageError(`--roots names ${unknown.join(", ")}, which ${unknown.length === 1 ? "is not a root" : "are not roots"} of ${[...new Set(roots.map((r) => r.scope))].join(", ")}`);
    picked = picked.filter((r) => ids.includes(r.id));
  }
  if (bundle) picked = picked.filter((r) => bundle.roots.some((b) => b.id === r.id));
  return picked;
}

/** The commit checked out in `cwd`. */
export function headCommit(cwd: string): string {
  const git = spawnSync("git", ["rev-parse", "HEAD"], { cwd, encoding: "utf8" });
  const sha = git.status === 0 ? git.stdout.trim() : "";
  if (!COMMIT_ID.test(sha)) throw new CajaUserError("cannot tell which commit this is (git rev-parse HEAD failed); pass --commit SHA");
  return sha;
}

/** `plans.json` comes back from a CI artifact: far larger than any bundle caja writes is refused unread. */
const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

/** Read and check a plan bundle before anything runs: the same commit, and roots this config still has. */
async function readSaved(dir: string, manifest: Manifest, cwd: string, commit: string | undefined): Promise<{ bundle: PlanBundle; dir: string }> {
  const file = join(dir, BUNDLE_MANIFEST);
  const shown = relative(cwd, file) || file;
  const text = readUntrusted(file, MAX_BUNDLE_BYTES);
  if (text === undefined) throw new CajaUserError(`${shown}: no plan bundle there (caja plan --save-plans writes one), or not a regular file within ${MAX_BUNDLE_BYTES / 1024 / 1024} MB`);
  const bundle = parseBundle(text, shown);
  const head = commit ?? headCommit(cwd);
  if (bundle.commit !== head) throw new CajaUserError(`stale plans: ${shown} was planned from commit ${bundle.commit.slice(0, 12)}, and this is ${head.slice(0, 12)}. Plan this commit and apply that plan.`);
  const missing = bundle.roots.filter((r) => !manifest.roots.some((m) => m.id === r.id));
  if (missing.length > 0) throw new CajaUserError(`stale plans: ${shown} names ${missing.map((r) => r.id).join(", ")}, which this config does not have. Plan again.`);
  return { bundle, dir };
}

/** What a run planned, as a bundle: counts, destroys and upstream digests per root (file digests are added when saved). */
function bundleOf(commit: string, results: readonly RootResult[]): PlanBundle {
  const entries = results.flatMap((r): BundleRoot[] => {
    const o = r.outcome;
    if (o.kind === "waits") return [{ id: r.root, status: "waits", waitsFor: o.for }];
    if (o.kind !== "done") return [];
    if (!hasChanges(o.changes)) return [{ id: r.root, status: "no-changes", changes: o.changes }];
    return [{ id: r.root, status: "changes", changes: o.changes, removals: o.removals ?? [], upstream: o.upstream ?? [] }];
  });
  return { format: BUNDLE_FORMAT, commit, roots: entries };
}

/** Copy each saved plan (and its lock file) into `dir`, then write the bundle's manifest last. */
async function savePlans(dir: string, bundle: PlanBundle, runDir: string, roots: readonly ManifestRoot[]): Promise<void> {
  const filled: BundleRoot[] = [];
  for (const entry of bundle.roots) {
    if (entry.status !== "changes") {
      filled.push(entry);
      continue;
    }
    const rootDir = join(runDir, roots.find((r) => r.id === entry.id)!.dir);
    const plan = await readFile(join(rootDir, PLAN_FILE));
    const lock = await readFile(join(rootDir, LOCK_FILE)).catch(() => undefined);
    const planFile = bundleFile(entry.id, ".tfplan");
    const lockFile = bundleFile(entry.id, ".terraform.lock.hcl");
    replaceFile(join(dir, planFile), plan);
    if (lock) replaceFile(join(dir, lockFile), lock);
    filled.push({
      ...entry,
      plan: planFile,
      planSha256: sha256(plan),
      configSha256: sha256(await readFile(join(rootDir, "main.tf.json"))),
      ...(lock ? { lockFile, lockSha256: sha256(lock) } : {}),
    });
  }
  replaceFile(join(dir, BUNDLE_MANIFEST), bundleText({ ...bundle, roots: filled }));
}

function planTexts(results: readonly RootResult[]): Map<string, string> {
  return new Map(results.flatMap((r) => (r.outcome.kind === "done" ? [[r.root, r.outcome.output] as const] : [])));
}

/** What an apply did, for the job summary: one row per root, and the failure's detail. */
function applySummary(title: string, results: readonly RootResult[], commit: string | undefined): string {
  const lines = [`### ${title}`, "", ...(commit ? [`Commit \`${commit.slice(0, 12)}\`.`, ""] : []), "| root | result |", "|---|---|"];
  for (const r of results) lines.push(`| <code>${r.root}</code> | ${status("apply", r.outcome).split("\n")[0]!.replaceAll("|", "/")} |`);
  const failed = results.find((r) => r.outcome.kind === "failed");
  if (failed?.outcome.kind === "failed") lines.push("", `**${failed.root} failed** at <code>${failed.outcome.command}</code>:`, "", "~~~~", failed.outcome.detail.replaceAll("~~~~", "~ ~ ~ ~"), "~~~~");
  return lines.join("\n");
}

function verdict(action: Action, results: readonly RootResult[], workspace: Workspace, trial: boolean, io: Io, saved = false): number {
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
    const list = waiting.flatMap((r) => (r.outcome.kind === "waits" ? [`${r.root} waits for ${r.outcome.for}`] : [])).join("; ");
    io.err(
      saved
        ? `caja: ${waiting.length} root${waiting.length === 1 ? " was" : "s were"} not planned, so not applied: ${list}. Now that what they read is applied, re-run to plan and apply them.`
        : `caja: ${waiting.length} root${waiting.length === 1 ? " was" : "s were"} not applied: ${list}. Apply ${waiting.length === 1 ? "that root" : "those roots"} first.`,
    );
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
