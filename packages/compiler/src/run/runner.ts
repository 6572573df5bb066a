/**
 * Run terraform over roots in dependency order: for each root, check that what it reads has been
 * applied, `terraform init` (the root's own backend), `terraform plan -out` (with `-destroy` for
 * destroy), count the saved plan with `terraform show -json`, and for apply and destroy apply
 * exactly that saved plan. Every command's output goes to the root's log file; the terminal gets
 * a progress line when a root starts and one block when it ends. The first failure stops the run.
 *
 * A root whose producers have no state yet "waits" instead of being planned; for destroy, a root
 * that a root outside the run still depends on (and that still has state) is kept.
 *
 * Terraform is injected (`Terraform`), so ordering, waiting and output grouping are tested
 * without it.
 */
import { appendFile, lstat, mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { CajaUserError } from "../errors.js";
import { stableStringify } from "../json.js";
import { TIMED_OUT, type RunWatch, type TerraformRun } from "../terraform.js";
import { outputsDigest, sha256, type PlanBundle, type Upstream } from "./bundle.js";
import { hasChanges, NO_CHANGES, planChanges, planRemovals } from "./changes.js";
import type { Manifest, ManifestRoot } from "./manifest.js";
import { awsReads, OFFLINE_OVERRIDE, offlineOverride } from "./offline.js";
import { ADOPT_FILE, ADOPT_LOOKUP_DIR, adoption, clearRecovery, defaultEgressRoot, foundIds, interruptedGroups, lookupRoot, revokedRules, plannedArguments, writeAdoptFile, type Adoption, JournalWriter, lockError, lockLeftBy, lockMessage, failedImports, readJournal, type Journal } from "./journal.js";
import { localStateOutputs, outputValues, readiness } from "./readiness.js";
import { finishBlock, startLine, stillLine, type Outcome, type Position, type RootResult } from "./render.js";
import { jobsFor, Scheduler } from "./schedule.js";
import { replaceFile } from "../write.js";

/** The saved plan, in each root's directory (`*.tfplan` is ignored by git). */
export const PLAN_FILE = "caja.tfplan";
/** Terraform's dependency lock file, written by init in each root's directory. */
export const LOCK_FILE = ".terraform.lock.hcl";

export interface Terraform {
  run(args: readonly string[], cwd: string, watch?: RunWatch): Promise<TerraformRun>;
  /** `terraform init -input=false` in `cwd`, serialized with other inits sharing the plugin cache. */
  init(cwd: string): Promise<TerraformRun>;
}

export interface RunSpec {
  readonly action: "plan" | "apply" | "destroy";
  /** The roots to run, in manifest order. */
  readonly roots: readonly ManifestRoot[];
  /** Every root, so dependencies outside the run can be checked. */
  readonly manifest: Manifest;
  /** The directory holding the root directories (`out/`, or the trial directory). */
  readonly runDir: string;
  /** Where each root's full log is written (`<logDir>/<root id>.log`). */
  readonly logDir: string;
  /** How many roots may run at once. */
  readonly parallel: number;
  /** Trial mode: fake AWS credentials through an override file; roots reading AWS data are reported. */
  readonly offline: boolean;
  readonly terraform: Terraform;
  /** Prints lines as one uninterrupted block. */
  readonly print: (lines: readonly string[]) => void;
  /** How a path is shown to the user (relative to their working directory). */
  readonly displayPath?: (path: string) => string;
  /** How often a long-running root reports that it is still running; 0 never. */
  readonly heartbeatMs?: number;
  /**
   * apply: apply exactly these saved plans (from `caja plan --save-plans`, in `dir`) instead of
   * planning again. Roots planned without changes are left alone.
   */
  readonly saved?: { readonly bundle: PlanBundle; readonly dir: string };
  /** Roots whose changes terraform makes one at a time (`-parallelism=1`). */
  readonly oneAtATime?: (root: ManifestRoot) => boolean;
}

/** A step that failed: the command as the user would type it, and what it said. */
class StepFailure extends Error {
  constructor(
    readonly command: string,
    readonly detail: string,
  ) {
    super(`${command} failed`);
  }
}

export async function runRoots(spec: RunSpec): Promise<RootResult[]> {
  const byId = new Map(spec.manifest.roots.map((r) => [r.id, r]));
  const jobs = jobsFor(spec.roots, spec.action === "destroy" ? "reverse" : "forward");
  const scheduler = new Scheduler(jobs, spec.parallel);
  const results = new Map<string, RootResult>();
  const applied = new Set<string>();
  const initialized = new Set<string>();
  const outputs = new Map<string, Promise<ReadonlyMap<string, unknown> | undefined>>();
  const states = new Map<string, Promise<boolean>>();
  /** destroy: roots destroyed in this run, or found without state. */
  const gone = new Set<string>();
  const show = spec.displayPath ?? ((p: string) => p);
  let started = 0;

  await mkdir(spec.logDir, { recursive: true });
  const inflight = new Set<Promise<void>>();
  for (;;) {
    for (const id of scheduler.take()) {
      const p: Promise<void> = runOne(byId.get(id)!).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    if (scheduler.done) break;
    await Promise.race(inflight);
  }
  await Promise.all(inflight);
  for (const id of scheduler.notStarted) results.set(id, { root: id, outcome: { kind: "not-run" }, ms: 0 });
  return jobs.map((j) => results.get(j.id)!);

  async function runOne(root: ManifestRoot): Promise<void> {
    // Numbered in the order roots first appear in the output, so the numbers read in sequence.
    let numbered: Position | undefined;
    const position = (): Position => (numbered ??= { index: ++started, total: jobs.length, root: root.id });
    const t0 = performance.now();
    let announced = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    // The progress line is printed once terraform is about to run: a root that only waits gets
    // its one status line.
    const announce = () => {
      if (announced) return;
      announced = true;
      spec.print([startLine(position(), spec.action)]);
      if (spec.heartbeatMs) timer = setInterval(() => spec.print([stillLine(position(), spec.action, performance.now() - t0)]), spec.heartbeatMs);
      timer?.unref();
    };
    const logFile = join(spec.logDir, `${root.id}.log`);
    let outcome: Outcome;
    try {
      outcome = await work(root, new RootLog(logFile), announce);
    } catch (e) {
      const failure = e instanceof StepFailure ? e : undefined;
      if (!failure) await appendFile(logFile, `\ncaja: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`).catch(() => {});
      outcome = { kind: "failed", command: failure?.command ?? "caja", detail: failure?.detail ?? (e instanceof Error ? e.message : String(e)), log: logFile };
    } finally {
      if (timer) clearInterval(timer);
    }
    const result: RootResult = { root: root.id, outcome, ms: performance.now() - t0 };
    results.set(root.id, result);
    if (outcome.kind === "done" && outcome.applied) {
      applied.add(root.id);
      // Its outputs may have changed: roots after it read them afresh.
      outputs.delete(root.id);
    }
    if (spec.action === "destroy" && (outcome.kind === "no-state" || outcome.kind === "done")) gone.add(root.id);
    scheduler.finish(root.id, outcome.kind !== "failed");
    spec.print(finishBlock(position(), spec.action, result, show));
  }

  async function work(root: ManifestRoot, log: RootLog, announce: () => void): Promise<Outcome> {
    const dir = join(spec.runDir, root.dir);
    await log.open(root.id, dir);
    const step = async (command: string, run: () => Promise<TerraformRun>): Promise<TerraformRun> => {
      const r = await run();
      await log.record(command, dir, r);
      if (r.code !== 0) throw failureOf(command, r);
      return r;
    };
    const failureOf = (command: string, r: TerraformRun): StepFailure => {
      const lock = lockError(`${r.stdout}\n${r.stderr}`);
      if (!lock) return new StepFailure(command, tail(r.stderr.trim() || r.stdout.trim()));
      const left = readJournal(dir);
      const recover = left && lockLeftBy(left, lock) ? `\nIt was left by an apply of ${root.id} that was interrupted on this machine: caja apply ${root.scope} --roots ${root.id} releases it and adopts what that apply created.` : "";
      return new StepFailure(command, `${lockMessage(root.id, lock, show(dir))}${recover}`);
    };

    if (spec.saved && spec.action === "apply") return applySaved(root, dir, log, announce, step);
    let upstream: Upstream[] = [];
    if (spec.action !== "destroy") {
      if (spec.offline) {
        const doc = await readRootDoc(dir);
        const reads = awsReads(doc);
        if (reads.length > 0) return { kind: "needs-aws", reads };
        // Replaced whole, so a link planted in its place is replaced rather than written through.
        replaceFile(join(dir, OFFLINE_OVERRIDE), stableStringify(offlineOverride(doc)));
      }
      const ready = await readiness(root, byId, (producer) => outputsOf(producer, log, announce), applied);
      if (!ready.ready) return { kind: "waits", for: ready.waitsFor, missing: ready.missing };
      // Only a plan records them (for a later apply of it); an apply plans after its producers anyway.
      if (spec.action === "plan") upstream = await upstreamDigests(root, log, announce);
    }

    announce();
    if (spec.action === "destroy") {
      for (const consumer of spec.manifest.roots.filter((c) => c.dependsOn.some((d) => d.root === root.id))) {
        if (!gone.has(consumer.id) && (await hasState(consumer, log, announce))) return { kind: "needed-by", by: consumer.id };
      }
    }

    await step("terraform init -input=false", () => spec.terraform.init(dir));
    initialized.add(root.id);
    const journal = spec.action === "plan" ? undefined : readJournal(dir);
    let inState: Set<string> | undefined;
    if (spec.action === "destroy" || journal) {
      const state = await step("terraform state list", () => stateList(spec.terraform, dir));
      inState = new Set(state.stdout.split("\n").filter((l) => l.trim() !== ""));
      if (spec.action === "destroy" && inState.size === 0) {
        clearRecovery(dir);
        return { kind: "no-state" };
      }
    }
    const notes: string[] = [];
    const planArgs = ["plan", "-input=false", "-no-color", `-out=${PLAN_FILE}`, ...(spec.action === "destroy" ? ["-destroy"] : [])];
    const planCommand = `terraform ${planArgs.join(" ")}`;
    const planOnce = async (): Promise<TerraformRun> => {
      const r = await spec.terraform.run(planArgs, dir);
      await log.record(planCommand, dir, r);
      return r;
    };
    const showPlan = async () => parsePlanJson((await step(`terraform show -json ${PLAN_FILE}`, () => spec.terraform.run(["show", "-json", PLAN_FILE], dir))).stdout, root.id);
    // The first plan takes the lock: one left by the interrupted apply is released here.
    const planFirst = async (): Promise<TerraformRun> => {
      const r = await planOnce();
      const lock = r.code === 0 || !journal ? undefined : lockError(`${r.stdout}\n${r.stderr}`);
      if (!lock || !lockLeftBy(journal!, lock)) return r;
      await step(`terraform force-unlock -force ${lock.id}`, () => spec.terraform.run(["force-unlock", "-force", lock.id], dir));
      notes.push(`released lock ${lock.id}, left by the apply that was interrupted at ${new Date(journal!.start.at).toISOString()} (its terraform, pid ${journal!.start.pid}, is gone)`);
      return planOnce();
    };
    let plan: TerraformRun;
    const said = (text: string) => [...notes, text.trimEnd()].filter(Boolean).join("\n");
    try {
      if (journal && spec.action === "apply") plan = await adopt(root, dir, journal, inState!, planFirst, planOnce, showPlan, notes, log);
      else plan = await planFirst();
      if (plan.code !== 0) throw failureOf(planCommand, plan);
      const planJson = await showPlan();
      const changes = planChanges(planJson);
      const removals = planRemovals(planJson);
      if (spec.action === "plan" || !hasChanges(changes)) {
        if (journal) clearRecovery(dir);
        return { kind: "done", changes, applied: false, output: said(plan.stdout), removals, upstream };
      }
      const apply = await journaledApply(root, dir, journal, step);
      return { kind: "done", changes, applied: true, output: said(`${plan.stdout.trimEnd()}\n\n${apply.stdout}`) };
    } catch (e) {
      // What recovery did (a lock released, objects adopted) is part of the story of the failure.
      if (e instanceof StepFailure && notes.length > 0) throw new StepFailure(e.command, said(e.detail));
      throw e;
    }
  }

  /**
   * `terraform apply` of the saved plan, journaled as it runs (run/journal.ts). The journal goes
   * once terraform ends by itself, which writes its state; a killed terraform leaves it.
   */
  async function journaledApply(
    root: ManifestRoot,
    dir: string,
    previous: Journal | undefined,
    step: (command: string, run: () => Promise<TerraformRun>) => Promise<TerraformRun>,
  ): Promise<TerraformRun> {
    const journal = new JournalWriter(dir);
    journal.begin(root.id, previous);
    const args = ["apply", "-input=false", "-no-color", ...(spec.oneAtATime?.(root) ? ["-parallelism=1"] : []), PLAN_FILE];
    const command = `terraform ${args.join(" ")}`;
    let ended = false;
    try {
      const r = await step(command, async () => {
        const run = await spec.terraform.run(args, dir, { onSpawn: (pid) => journal.spawned(pid), onStdout: (text) => journal.feed(text) });
        ended = run.signal === undefined && run.code !== TIMED_OUT;
        return run;
      });
      return r;
    } finally {
      // Ended by itself, terraform wrote its state (imports included), failed or not.
      if (ended) clearRecovery(dir);
    }
  }

  /**
   * Plan an apply that follows an interrupted one: import what that apply created and the state
   * lacks (run/journal.ts), in as few plans as the import ids allow. Imports of objects that do not
   * exist are dropped, and terraform creates those.
   */
  async function adopt(
    root: ManifestRoot,
    dir: string,
    journal: Journal,
    inState: ReadonlySet<string>,
    planFirst: () => Promise<TerraformRun>,
    planOnce: () => Promise<TerraformRun>,
    showPlan: () => Promise<unknown>,
    notes: string[],
    log: RootLog,
  ): Promise<TerraformRun> {
    const absent = new Set<string>();
    const found = new Map<string, string>();
    const ambiguous = new Set<string>();
    let planned: Map<string, Record<string, unknown>> | undefined;
    const facts = () => ({ ...(planned ? { planned } : {}), absent, found, ambiguous });
    let wave = adoption(journal, inState, facts());
    let written = JSON.stringify(wave.imports);
    // Import sets already planned: coming back to one ends the search (the last plan stands).
    const tried = new Set<string>();
    const record = async () => {
      writeAdoptFile(dir, wave.imports, replaceFile);
      await log.note(`${ADOPT_FILE}: ${wave.imports.length === 0 ? "nothing to import" : wave.imports.map((i) => `${i.to} = ${i.id}`).join(", ")}${absent.size > 0 ? `; not created: ${[...absent].join(", ")}` : ""}`);
    };
    await record();
    let plan = await planFirst();
    // Each round learns something (arguments planned, objects found or found absent); the depth
    // of what was being created bounds how many are needed.
    for (let round = 0; round < 8; round++) {
      if (plan.code !== 0) {
        const gone = failedImports(`${plan.stdout}\n${plan.stderr}`, wave.imports);
        if (gone.length === 0) break;
        for (const a of gone) absent.add(a);
      } else {
        planned = plannedArguments(await showPlan());
        wave = adoption(journal, inState, facts());
        if (wave.lookups.length > 0) {
          const result = await lookUp(root, dir, wave.lookups, log);
          for (const [a, id] of result.found) found.set(a, id);
          for (const a of result.absent) absent.add(a);
          for (const a of result.ambiguous) ambiguous.add(a);
        }
      }
      wave = adoption(journal, inState, facts());
      if (plan.code === 0 && JSON.stringify(wave.imports) === written && wave.lookups.length === 0) break;
      if (plan.code === 0 && tried.has(JSON.stringify(wave.imports))) break;
      tried.add(written);
      written = JSON.stringify(wave.imports);
      await record();
      plan = await planOnce();
    }
    const n = wave.imports.length;
    notes.push(`an apply of ${root.id} was interrupted at ${new Date(journal.start.at).toISOString()}; ${n === 0 ? "its state lacks nothing it created" : `importing ${n} object${n === 1 ? "" : "s"} it created that its state lacks`}`);
    for (const a of [...absent].sort()) notes.push(`  ${a}: not created by the interrupted apply; it is created now`);
    for (const c of wave.cannot) notes.push(`  NOT ADOPTED ${c.address}: ${c.why}. If it exists in AWS, import it (terraform import) or delete it.`);
    const groups = interruptedGroups(journal, wave.imports, await readRootDoc(dir));
    if (groups.length > 0) {
      const revoked = await revokeDefaultEgress(root, dir, groups, log);
      for (const g of groups) {
        const ids = revoked.get(g.address) ?? [];
        notes.push(`  ${g.address} (${g.id}): its creation was interrupted; ${ids.length === 0 ? "AWS's default egress rule is not on it" : `revoked AWS's default egress rule (all traffic to the internet) that it kept: ${ids.join(", ")}`}`);
      }
    }
    return plan;
  }

  /** Find objects still being created when an apply stopped, in a root of data sources beside the root. */
  async function lookUp(root: ManifestRoot, dir: string, lookups: Adoption["lookups"], log: RootLog): Promise<ReturnType<typeof foundIds>> {
    const doc = lookupRoot(await readRootDoc(dir), lookups);
    const [, , found] = await besideRoot(dir, doc, `finding what the interrupted apply of ${root.id} was creating`, log, [["apply", "-auto-approve"], ["output", "-json", "found"]]);
    return foundIds(found!.stdout, lookups);
  }

  /**
   * Revoke the default egress rule each group's interrupted creation may have left (see
   * interruptedGroups), in a root of caja's own beside the root: terraform destroys the rules it imports.
   */
  async function revokeDefaultEgress(root: ManifestRoot, dir: string, groups: ReturnType<typeof interruptedGroups>, log: RootLog): Promise<Map<string, string[]>> {
    const doc = defaultEgressRoot(await readRootDoc(dir), groups);
    const [, , listed] = await besideRoot(dir, doc, `revoking default egress rules the interrupted apply of ${root.id} left`, log, [["apply", "-auto-approve"], ["output", "-json", "revoked"], ["destroy", "-auto-approve"]]);
    return revokedRules(listed!.stdout, groups);
  }

  /**
   * Init and run `commands` in a root of caja's own, beside `dir` with that root's provider and a
   * local state, then remove it. Any step that fails fails the root's run.
   */
  async function besideRoot(dir: string, doc: Record<string, unknown>, why: string, log: RootLog, commands: readonly string[][]): Promise<TerraformRun[]> {
    const sideDir = join(dir, ADOPT_LOOKUP_DIR);
    await rm(sideDir, { recursive: true, force: true });
    await mkdir(sideDir, { recursive: true });
    try {
      replaceFile(join(sideDir, "main.tf.json"), stableStringify(doc));
      const steps: [string, () => Promise<TerraformRun>][] = [
        [`terraform init (${why})`, () => spec.terraform.init(sideDir)],
        ...commands.map((args): [string, () => Promise<TerraformRun>] => {
          const full = ["apply", "destroy"].includes(args[0]!) ? [...args, "-input=false", "-no-color"] : args;
          return [`terraform ${args.join(" ")} (${why})`, () => spec.terraform.run(full, sideDir)];
        }),
      ];
      const runs: TerraformRun[] = [];
      for (const [command, run] of steps) {
        const r = await run();
        await log.record(command, sideDir, r);
        if (r.code !== 0) throw new StepFailure(command, tail(r.stderr.trim() || r.stdout.trim()));
        runs.push(r);
      }
      return runs;
    } finally {
      await rm(sideDir, { recursive: true, force: true });
    }
  }

  /** What `root` read from each root it depends on, as digests (recorded with a saved plan). */
  async function upstreamDigests(root: ManifestRoot, log: RootLog, announce: () => void): Promise<Upstream[]> {
    const digests: Upstream[] = [];
    for (const dep of root.dependsOn) {
      const producer = byId.get(dep.root)!;
      const names = [...(dep.outputs.length > 0 ? dep.outputs : producer.outputs)].sort();
      digests.push({ root: producer.id, outputs: names, sha256: outputsDigest((await outputsOf(producer, log, announce)) ?? new Map(), names) });
    }
    return digests;
  }

  /**
   * Apply the saved plan of `root`, once it is certain to be the plan that was reviewed and still
   * current: the same `main.tf.json`, the same plan file, and the same upstream outputs.
   */
  async function applySaved(
    root: ManifestRoot,
    dir: string,
    log: RootLog,
    announce: () => void,
    step: (command: string, run: () => Promise<TerraformRun>) => Promise<TerraformRun>,
  ): Promise<Outcome> {
    const { bundle, dir: bundleDir } = spec.saved!;
    const entry = bundle.roots.find((r) => r.id === root.id);
    if (!entry) throw new Error(`internal: ${root.id} is not in the plan bundle`);
    if (entry.status === "waits") return { kind: "waits", for: entry.waitsFor ?? "a root", missing: [] };
    if (entry.status === "no-changes") return { kind: "done", changes: entry.changes ?? NO_CHANGES, applied: false, output: "" };
    const stale = (why: string) => new StepFailure("caja apply --plans (checking the saved plan)", `stale plan: ${why}. Plan again (re-run the workflow, or caja plan --save-plans) and apply that plan.`);

    if (sha256(await readFile(join(dir, "main.tf.json"))) !== entry.configSha256) throw stale(`${root.id}/main.tf.json is not the file that was planned`);
    for (const up of entry.upstream ?? []) {
      const producer = byId.get(up.root);
      if (!producer) throw stale(`${root.id} was planned against ${up.root}, which is no longer a root`);
      const now = outputsDigest((await outputsOf(producer, log, announce)) ?? new Map(), up.outputs);
      if (now !== up.sha256) throw stale(`${root.id} was planned against outputs of ${up.root} (${up.outputs.join(", ")}) that have changed since`);
    }
    const planBytes = await readBundleFile(bundleDir, entry.plan!);
    if (sha256(planBytes) !== entry.planSha256) throw stale(`${entry.plan} is not the plan that was recorded`);
    announce();
    const lock = entry.lockFile ? await readBundleFile(bundleDir, entry.lockFile) : undefined;
    if (lock && sha256(lock) !== entry.lockSha256) throw stale(`${entry.lockFile} is not the lock file that was recorded`);
    if (lock) replaceFile(join(dir, LOCK_FILE), lock);
    replaceFile(join(dir, PLAN_FILE), planBytes);
    await step("terraform init -input=false", () => spec.terraform.init(dir));
    initialized.add(root.id);
    // A saved plan cannot import what an interrupted apply left: that needs a fresh plan.
    if (readJournal(dir)) throw stale(`an earlier apply of ${root.id} was interrupted here, and the saved plan cannot adopt what it created. Run caja apply (without --plans) to recover`);
    const apply = await journaledApply(root, dir, undefined, step);
    return { kind: "done", changes: entry.changes ?? NO_CHANGES, applied: true, output: apply.stdout, ...(entry.removals ? { removals: entry.removals } : {}) };
  }

  /** Whether a root has state (destroy: a root still in use is kept). */
  function hasState(root: ManifestRoot, log: RootLog, announce: () => void): Promise<boolean> {
    let found = states.get(root.id);
    if (!found) {
      found = (async () => {
        const dir = join(spec.runDir, root.dir);
        if (root.backend.type === "local") return (await localStateOutputs(join(dir, root.backend.path))) !== undefined;
        const why = `in ${root.id}, to see whether it still has state`;
        announce();
        await ensureInitialized(root, log, why);
        const list = await stateList(spec.terraform, dir);
        await log.record(`terraform state list (${why})`, dir, list);
        if (list.code !== 0) throw new StepFailure(`terraform state list (${why})`, tail(list.stderr.trim() || list.stdout.trim()));
        return list.stdout.trim() !== "";
      })();
      states.set(root.id, found);
    }
    return found;
  }

  async function ensureInitialized(root: ManifestRoot, log: RootLog, why: string): Promise<void> {
    if (initialized.has(root.id)) return;
    const dir = join(spec.runDir, root.dir);
    const init = await spec.terraform.init(dir);
    await log.record(`terraform init -input=false (${why})`, dir, init);
    if (init.code !== 0) throw new StepFailure(`terraform init -input=false (${why})`, tail(init.stderr.trim() || init.stdout.trim()));
    initialized.add(root.id);
  }

  /** A producer's output names: its local state file, or `terraform output -json` in its directory. */
  function outputsOf(producer: ManifestRoot, log: RootLog, announce: () => void): Promise<ReadonlyMap<string, unknown> | undefined> {
    let found = outputs.get(producer.id);
    if (!found) {
      found = (async () => {
        const dir = join(spec.runDir, producer.dir);
        if (producer.backend.type === "local") return localStateOutputs(join(dir, producer.backend.path));
        const why = `in ${producer.id}, to read its outputs`;
        announce();
        await ensureInitialized(producer, log, why);
        const out = await spec.terraform.run(["output", "-json"], dir);
        await log.record(`terraform output -json (${why})`, dir, out);
        if (out.code !== 0) throw new StepFailure(`terraform output -json (${why})`, tail(out.stderr.trim() || out.stdout.trim()));
        return outputValues(out.stdout);
      })();
      outputs.set(producer.id, found);
    }
    return found;
  }
}

/**
 * `terraform state list`, where a backend that has never stored this root's state (it errs
 * "No state file was found!") counts as an empty list.
 */
export async function stateList(terraform: Terraform, dir: string): Promise<TerraformRun> {
  const r = await terraform.run(["state", "list"], dir);
  return r.code !== 0 && /No state file was found/.test(r.stderr + r.stdout) ? { ...r, code: 0, stdout: "" } : r;
}

/** Every command a root ran, with its output, in `<logDir>/<root id>.log`. */
class RootLog {
  constructor(readonly file: string) {}

  async open(root: string, dir: string): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true });
    // A fresh file, never one a planted link points at; appends then go to that file.
    replaceFile(this.file, `caja: ${root} in ${dir}\n`);
  }

  async note(text: string): Promise<void> {
    await appendFile(this.file, `\ncaja: ${text}\n`);
  }

  async record(command: string, cwd: string, r: TerraformRun): Promise<void> {
    const body = [r.stdout.trimEnd(), r.stderr.trimEnd()].filter(Boolean).join("\n");
    await appendFile(this.file, `\n$ ${command}    (in ${cwd})\n${body}${body ? "\n" : ""}[exit ${r.code} after ${(r.ms / 1000).toFixed(1)}s]\n`);
  }
}

/** A file of a plan bundle: a regular file in its folder, never one reached through a link. */
async function readBundleFile(dir: string, name: string): Promise<Buffer> {
  const path = join(dir, name);
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isFile()) throw new CajaUserError(`${path}: missing from the plan bundle, or not a regular file`);
  return readFile(path);
}

async function readRootDoc(dir: string): Promise<Record<string, any>> {
  const file = join(dir, "main.tf.json");
  try {
    return JSON.parse(await readFile(file, "utf8")) as Record<string, any>;
  } catch (e) {
    throw new CajaUserError(`cannot read ${file}: ${(e as Error).message}; run caja compile`);
  }
}

function parsePlanJson(stdout: string, root: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    throw new StepFailure(`terraform show -json ${PLAN_FILE}`, `${root}: terraform show -json did not print JSON`);
  }
}

/** The last lines of what a failing command said: enough to act on; the log has the rest. */
function tail(text: string, lines = 40): string {
  const all = text.split("\n");
  return all.length <= lines ? text : [`… (${all.length - lines} earlier lines in the log)`, ...all.slice(-lines)].join("\n");
}
