/**
 * The runner against a fake terraform that keeps state in memory (the bootstrap root's local
 * state as a real file): order, waiting for unapplied roots, stopping at the first failure,
 * destroy's reverse order, trial mode, output that never interleaves, and applying saved plans
 * only while they are still the plans that were reviewed.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { parseManifest, selectRoots, type Manifest, type ManifestRoot } from "../packages/compiler/src/run/manifest.js";
import { OFFLINE_OVERRIDE } from "../packages/compiler/src/run/offline.js";
import { BUNDLE_FORMAT, BUNDLE_MANIFEST, bundleFile, bundleText, outputsDigest, parseBundle, sha256, type BundleRoot, type PlanBundle } from "../packages/compiler/src/run/bundle.js";
import { hasChanges } from "../packages/compiler/src/run/changes.js";
import type { Outcome, RootResult } from "../packages/compiler/src/run/render.js";
import { ADOPT_FILE, JOURNAL_FILE, whoAmI } from "../packages/compiler/src/run/journal.js";
import { PLAN_FILE, runRoots, type RunSpec, type Terraform } from "../packages/compiler/src/run/runner.js";
import type { TerraformRun } from "../packages/compiler/src/terraform.js";
import { compileWith, fileJson, tempDir } from "./helpers.js";

interface Call {
  readonly root: string;
  readonly args: readonly string[];
  readonly start: number;
  end: number;
}

/**
 * Terraform as far as the runner can tell: state per root, plans that create or destroy two
 * resources (or change nothing, or replace one). With `planFiles`, each plan is written to its
 * file with a text naming the root and the plan's number, so an apply can tell which plan it was
 * given; off by default, as file writes shift the timing the ordering tests observe.
 */
class FakeTerraform implements Terraform {
  readonly calls: Call[] = [];
  /** With `planFiles`: the plan file's text each apply found, in apply order. */
  readonly appliedPlans: { readonly root: string; readonly plan: string }[] = [];
  private readonly state = new Map<string, Set<string>>();
  private readonly destroying = new Set<string>();
  /** Output values other than the default "x", by root. */
  private readonly values = new Map<string, Map<string, unknown>>();
  private clock = 0;
  private plans = 0;

  constructor(
    private readonly runDir: string,
    private readonly manifest: Manifest,
    private readonly options: {
      failPlan?: string;
      drop?: Record<string, string[]>;
      /** Roots whose plans change nothing. */
      noChanges?: readonly string[];
      /** Roots whose plans replace one of the two resources. */
      replaces?: readonly string[];
      /** Output values a root's apply gives it. */
      applySets?: Record<string, Record<string, unknown>>;
      /** Write each plan to its file, for a bundle to keep. */
      planFiles?: boolean;
      /** Roots whose lock is held, by whom and since when (terraform's lock time), until force-unlock. */
      locked?: Record<string, { who: string; created: string }>;
    } = {},
  ) {}

  /** Change an output's value in a root's state, as something outside the run would. */
  setOutput(id: string, name: string, value: unknown): this {
    const values = this.values.get(id) ?? new Map<string, unknown>();
    this.values.set(id, values.set(name, value));
    if (this.state.has(id)) this.write(this.root(id));
    return this;
  }

  /** Give roots state, as if applied before the run. */
  applied(ids: readonly string[]): this {
    for (const id of ids) this.write(this.root(id));
    return this;
  }

  init(cwd: string): Promise<TerraformRun> {
    return this.call(cwd, ["init"], () => ok("Terraform has been successfully initialized!"));
  }

  /** The adoption file each plan found, by root, in plan order. */
  readonly adoptFiles: { readonly root: string; readonly text: string | undefined }[] = [];

  run(args: readonly string[], cwd: string): Promise<TerraformRun> {
    return this.call(cwd, args, (root) => {
      switch (args[0]) {
        case "force-unlock":
          delete this.options.locked?.[root.id];
          return ok("Terraform state has been successfully unlocked!");
        case "plan": {
          const lock = this.options.locked?.[root.id];
          if (lock) return { code: 1, stdout: "", stderr: lockedText(lock.who, lock.created), ms: 1 };
          const adopt = join(this.runDir, root.dir, ADOPT_FILE);
          this.adoptFiles.push({ root: root.id, text: existsSync(adopt) ? readFileSync(adopt, "utf8") : undefined });
        }
          if (this.options.failPlan === root.id) return { code: 1, stdout: "", stderr: `Error: broken override in ${root.id}`, ms: 1 };
          if (args.includes("-destroy")) this.destroying.add(root.id);
          else this.destroying.delete(root.id);
          if (this.options.planFiles) writeFileSync(join(this.runDir, root.dir, PLAN_FILE), `${root.id} plan ${++this.plans}\n`);
          return ok([1, 2, 3].map((n) => `${root.id} plan line ${n}`).join("\n"));
        case "show": {
          if (this.options.noChanges?.includes(root.id)) return ok(JSON.stringify({ resource_changes: [{ address: "aws_thing.one", change: { actions: ["no-op"] } }] }));
          const actions = this.destroying.has(root.id) ? ["delete"] : ["create"];
          const second = this.options.replaces?.includes(root.id) ? ["delete", "create"] : actions;
          return ok(JSON.stringify({ resource_changes: [{ address: "aws_thing.one", change: { actions } }, { address: "aws_thing.two", change: { actions: second } }] }));
        }
        case "apply": {
          if (this.options.planFiles) this.appliedPlans.push({ root: root.id, plan: readFileSync(join(this.runDir, root.dir, PLAN_FILE), "utf8") });
          for (const [name, value] of Object.entries(this.options.applySets?.[root.id] ?? {})) this.setOutput(root.id, name, value);
          if (this.destroying.has(root.id)) this.remove(root);
          else this.write(root);
          return ok(`${root.id} apply complete`);
        }
        case "output":
          return ok(JSON.stringify(Object.fromEntries([...(this.state.get(root.id) ?? [])].map((o) => [o, { value: this.valueOf(root.id, o) }]))));
        case "state":
          return ok(this.state.has(root.id) ? "aws_thing.one\naws_thing.two" : "");
        default:
          throw new Error(`fake terraform: unexpected ${args.join(" ")}`);
      }
    });
  }

  /** The logical clock: every call's start and end take the next tick. */
  get now(): number {
    return this.clock;
  }

  callsFor(id: string): Call[] {
    return this.calls.filter((c) => c.root === id);
  }

  private async call(cwd: string, args: readonly string[], act: (root: ManifestRoot) => TerraformRun): Promise<TerraformRun> {
    const root = this.root(relative(this.runDir, cwd));
    const call: Call = { root: root.id, args, start: ++this.clock, end: 0 };
    this.calls.push(call);
    // Unequal, overlapping durations, so concurrent roots really interleave.
    await new Promise((r) => setTimeout(r, 1 + ((root.id.length * 7 + args.length * 3) % 9)));
    const result = act(root);
    call.end = ++this.clock;
    return result;
  }

  private root(id: string): ManifestRoot {
    const root = this.manifest.roots.find((r) => r.id === id);
    if (!root) throw new Error(`fake terraform: no root ${id}`);
    return root;
  }

  private write(root: ManifestRoot): void {
    const outputs = root.outputs.filter((o) => !(this.options.drop?.[root.id] ?? []).includes(o));
    this.state.set(root.id, new Set(outputs));
    if (root.backend.type === "local") {
      const file = join(this.runDir, root.dir, root.backend.path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify({ version: 4, outputs: Object.fromEntries(outputs.map((o) => [o, { value: this.valueOf(root.id, o), type: "string" }])), resources: [{ type: "aws_thing" }] }));
    }
  }

  private valueOf(id: string, name: string): unknown {
    const values = this.values.get(id);
    return values?.has(name) ? values.get(name) : "x";
  }

  private remove(root: ManifestRoot): void {
    this.state.delete(root.id);
    if (root.backend.type === "local") rmSync(join(this.runDir, root.dir, root.backend.path), { force: true });
  }
}

function lockedText(who: string, created: string): string {
  return `Error: Error acquiring the state lock\n\nLock Info:\n  ID:        7d1bc0aa-0000-4000-8000-000000000001\n  Path:      caja-terraform-state/x\n  Operation: OperationTypeApply\n  Who:       ${who}\n  Version:   1.11.4\n  Created:   ${created}\n  Info:\n`;
}

function ok(stdout: string): TerraformRun {
  return { code: 0, stdout, stderr: "", ms: 1 };
}

function setup(backend: "s3" | "local" = "s3") {
  const compiled = compileWith(undefined, { backend });
  const runDir = tempDir("caja-run-");
  for (const f of compiled.files) {
    mkdirSync(dirname(join(runDir, f.path)), { recursive: true });
    writeFileSync(join(runDir, f.path), f.content);
  }
  const manifest = parseManifest(JSON.stringify(fileJson(compiled, "manifest.json")), "manifest.json");
  return { runDir, manifest, all: manifest.roots.map((r) => r.id) };
}

async function run(
  action: RunSpec["action"],
  env: ReturnType<typeof setup>,
  terraform: FakeTerraform,
  targets: readonly string[],
  options: { parallel?: number; offline?: boolean; heartbeatMs?: number; saved?: RunSpec["saved"]; oneAtATime?: RunSpec["oneAtATime"]; onPrint?: (lines: readonly string[]) => void } = {},
): Promise<{ results: RootResult[]; lines: string[]; blocks: (readonly string[])[]; outcome: (id: string) => Outcome }> {
  const blocks: (readonly string[])[] = [];
  const results = await runRoots({
    action,
    roots: targets.every((t) => t.includes("/")) ? env.manifest.roots.filter((r) => targets.includes(r.id)) : selectRoots(env.manifest, targets),
    manifest: env.manifest,
    runDir: env.runDir,
    logDir: join(env.runDir, ".logs"),
    parallel: options.parallel ?? 1,
    offline: options.offline ?? false,
    terraform,
    print: (lines) => {
      blocks.push([...lines]);
      options.onPrint?.(lines);
    },
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.saved ? { saved: options.saved } : {}),
    ...(options.oneAtATime ? { oneAtATime: options.oneAtATime } : {}),
  });
  return { results, blocks, lines: blocks.flat(), outcome: (id) => results.find((r) => r.root === id)!.outcome };
}

describe("planning", () => {
  it("on a fresh account plans the bootstrap root, and the global roots after it wait for it", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest);
    const r = await run("plan", env, tf, ["global"]);
    expect(r.outcome("global/00-bootstrap")).toMatchObject({ kind: "done", applied: false, changes: { add: 2, change: 0, destroy: 0 } });
    for (const id of ["global/05-iam-oidc", "global/10-domain", "global/90-hardening"]) {
      expect(r.outcome(id), id).toEqual({ kind: "waits", for: "global/00-bootstrap", missing: [] });
      expect(tf.callsFor(id), id).toEqual([]);
    }
    expect(existsSync(join(env.runDir, "global/00-bootstrap/terraform.tfstate"))).toBe(false);
    expect(tf.callsFor("global/00-bootstrap").map((c) => c.args.join(" "))).toEqual(["init", `plan -input=false -no-color -out=${PLAN_FILE}`, `show -json ${PLAN_FILE}`]);
  });

  it("reports an environment as waiting, without running terraform, while the global roots are not applied", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest);
    const r = await run("plan", env, tf, ["dev"], { parallel: 2 });
    expect(r.results.map((x) => x.outcome)).toEqual(r.results.map(() => ({ kind: "waits", for: "global/00-bootstrap", missing: [] })));
    expect(tf.calls).toEqual([]);
    // Roots are numbered in the order their lines are printed, and with two slots which waiting
    // root finishes first is up to the file system; the time column is each root's own. So the
    // numbers are checked as a sequence, and the line by its shape.
    const status = r.lines.filter((l) => /^\[\d+\/8\] /.test(l));
    expect(status.map((l) => Number(/^\[(\d+)\//.exec(l)![1]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(status.find((l) => l.includes(" dev/20-network "))).toMatch(/^\[[1-8]\/8\] dev\/20-network {2}waits for global\/00-bootstrap \(not applied yet\) {2}\d+ms$/);
  });

  it("reads applied producers' outputs from their state and makes roots wait for producers planned in the same run", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest).applied(["global/00-bootstrap", "global/05-iam-oidc", "global/10-domain", "global/90-hardening"]);
    const r = await run("plan", env, tf, ["dev"]);
    expect(r.outcome("dev/20-network")).toMatchObject({ kind: "done", applied: false });
    expect(r.outcome("dev/40-platform")).toMatchObject({ kind: "done", applied: false });
    expect(r.outcome("dev/60-static-site")).toMatchObject({ kind: "done", applied: false });
    expect(r.outcome("dev/30-persistence")).toEqual({ kind: "waits", for: "dev/20-network", missing: [] });
    expect(r.outcome("dev/50-service")).toEqual({ kind: "waits", for: "dev/20-network", missing: [] });
    expect(r.outcome("dev/70-dns")).toEqual({ kind: "waits", for: "dev/60-static-site", missing: [] });
    // global/10-domain's outputs came from `terraform output -json` in its directory, after an init.
    expect(tf.callsFor("global/10-domain").map((c) => c.args[0])).toEqual(["init", "output"]);
  });

  it("names the outputs a producer's state lacks", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest, { drop: { "global/00-bootstrap": ["hosted_zone_id"] } }).applied(["global/00-bootstrap"]);
    const r = await run("plan", env, tf, ["global"], { parallel: 2 });
    expect(r.outcome("global/10-domain")).toEqual({ kind: "waits", for: "global/00-bootstrap", missing: ["hosted_zone_id"] });
    expect(r.outcome("global/05-iam-oidc")).toEqual({ kind: "waits", for: "global/00-bootstrap", missing: ["hosted_zone_id"] });
  });
});

describe("applying", () => {
  it("applies every root, each planned only after the roots it depends on were applied, environments side by side", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest);
    const r = await run("apply", env, tf, ["all"], { parallel: 5 });
    expect(r.results.filter((x) => !(x.outcome.kind === "done" && x.outcome.applied)).map((x) => x.root)).toEqual([]);
    for (const root of env.manifest.roots) {
      const plan = tf.callsFor(root.id).find((c) => c.args[0] === "plan")!;
      for (const dep of root.dependsOn) {
        const applied = tf.callsFor(dep.root).find((c) => c.args[0] === "apply")!;
        expect(plan.start, `${root.id} planned after ${dep.root} applied`).toBeGreaterThan(applied.end);
      }
    }
    // Producers applied in this run are not read back.
    expect(tf.calls.filter((c) => c.args[0] === "output")).toEqual([]);
    // The three networks overlap.
    const networks = ["dev", "staging", "prod"].map((e) => tf.callsFor(`${e}/20-network`));
    expect(Math.max(...networks.map((c) => c[0]!.start))).toBeLessThan(Math.min(...networks.map((c) => c.at(-1)!.end)));
  });

  it("stops at the first failure, naming the root, the command and its log, and starts nothing after it", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest, { failPlan: "dev/30-persistence" });
    // When the runner knows: it prints the failed root's block as it stops scheduling. The other
    // worker may start a root between terraform's exit and then (the log is written in between).
    let knownAt = Infinity;
    const r = await run("apply", env, tf, ["all"], { parallel: 2, onPrint: (lines) => lines.some((l) => l.includes("dev/30-persistence  FAILED")) && (knownAt = Math.min(knownAt, tf.now)) });
    const failed = r.outcome("dev/30-persistence");
    expect(failed).toEqual({ kind: "failed", command: `terraform plan -input=false -no-color -out=${PLAN_FILE}`, detail: "Error: broken override in dev/30-persistence", log: join(env.runDir, ".logs/dev/30-persistence.log") });
    const log = readFileSync(join(env.runDir, ".logs/dev/30-persistence.log"), "utf8");
    expect(log).toContain(`$ terraform plan -input=false -no-color -out=${PLAN_FILE}`);
    expect(log).toContain("Error: broken override in dev/30-persistence");
    expect(knownAt).toBeLessThan(Infinity);
    expect(knownAt).toBeGreaterThanOrEqual(tf.callsFor("dev/30-persistence").at(-1)!.end);
    expect(tf.calls.filter((c) => c.args[0] === "init" && c.start > knownAt)).toEqual([]);
    const notRun = r.results.filter((x) => x.outcome.kind === "not-run").map((x) => x.root);
    expect(notRun).toContain("dev/50-service");
    for (const id of notRun) expect(tf.callsFor(id), id).toEqual([]);
    expect(r.lines).toContain("  │ Error: broken override in dev/30-persistence");
  });

  it("prints each root's output as one block after its status line, never interleaved with another root's", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest);
    const r = await run("apply", env, tf, ["all"], { parallel: 4 });
    let current: string | undefined;
    let interleavedStarts = 0;
    const running = new Set<string>();
    for (const line of r.lines) {
      const head = /^\[\d+\/28\] (\S+)  (.*)$/.exec(line);
      if (head) {
        current = head[2]!.endsWith("applying…") ? undefined : head[1];
        if (head[2]!.endsWith("applying…")) {
          if (running.size > 0) interleavedStarts++;
          running.add(head[1]!);
        } else running.delete(head[1]!);
        continue;
      }
      expect(line.startsWith("  │"), line).toBe(true);
      if (line.includes(" plan line ") || line.includes(" apply complete")) expect(line, "a block line belongs to the root whose status line precedes it").toContain(`│ ${current} `);
    }
    expect(interleavedStarts, "roots ran concurrently").toBeGreaterThan(0);
    // A block is printed in one call: the status line and every line of that root's output.
    const block = r.blocks.find((b) => b[0]!.includes("dev/20-network  applied"))!;
    expect(block.slice(1)).toEqual(["  │ dev/20-network plan line 1", "  │ dev/20-network plan line 2", "  │ dev/20-network plan line 3", "  │", "  │ dev/20-network apply complete"]);
  });

  it("says now and then that a long root is still running", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest);
    const r = await run("apply", env, tf, ["global"], { heartbeatMs: 2, parallel: 1 });
    expect(r.lines.some((l) => /^\[1\/4\] global\/00-bootstrap {2}applying… \d+ms$/.test(l))).toBe(true);
    expect(r.blocks.every((b) => b.length === 1 || b[0]!.includes("applied"))).toBe(true);
  });
});

describe("after an interrupted apply", () => {
  const when = new Date(Date.now() - 3000);
  const lockTime = `${when.toISOString().replace("T", " ").replace("Z", "")} +0000 UTC`;
  /** The journal a killed apply leaves: it started, its terraform (long gone), one object created. */
  const leaveJournal = (dir: string) =>
    writeFileSync(
      join(dir, JOURNAL_FILE),
      [{ root: "dev/20-network", who: whoAmI(), at: when.getTime() }, { pid: 2 ** 30 }, { creating: "aws_thing.three" }, { created: "aws_thing.three", id: "t-${3}" }].map((e) => JSON.stringify(e)).join("\n") + "\n",
    );

  it("releases the lock the killed apply left, imports what it created, and clears the journal once applied", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest, { locked: { "dev/20-network": { who: whoAmI(), created: lockTime } } }).applied(["global/00-bootstrap", "global/10-domain"]);
    const dir = join(env.runDir, "dev/20-network");
    leaveJournal(dir);
    const r = await run("apply", env, tf, ["dev/20-network"]);
    const o = r.outcome("dev/20-network");
    expect(o.kind).toBe("done");
    expect(tf.callsFor("dev/20-network").map((c) => c.args[0])).toContain("force-unlock");
    expect(tf.adoptFiles.filter((f) => f.root === "dev/20-network").at(-1)!.text).toBe(`${JSON.stringify({ import: [{ id: "t-$${3}", to: "aws_thing.three" }] }, null, 2)}\n`);
    expect(r.lines.join("\n")).toMatch(/released lock 7d1bc0aa-0000-4000-8000-000000000001, left by the apply that was interrupted/);
    expect(r.lines.join("\n")).toMatch(/importing 1 object it created that its state lacks/);
    expect(existsSync(join(dir, JOURNAL_FILE))).toBe(false);
    expect(existsSync(join(dir, ADOPT_FILE))).toBe(false);
  });

  it("never releases a lock someone else holds: it names the holder and the command, and changes nothing", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest, { locked: { "dev/20-network": { who: "ci@runner-7", created: lockTime } } }).applied(["global/00-bootstrap", "global/10-domain"]);
    leaveJournal(join(env.runDir, "dev/20-network"));
    const r = await run("apply", env, tf, ["dev/20-network"]);
    const o = r.outcome("dev/20-network");
    expect(o.kind === "failed" && o.detail).toMatch(/dev\/20-network is locked: apply by ci@runner-7 .*lock ID 7d1bc0aa-0000-4000-8000-000000000001[\s\S]*nothing was changed[\s\S]*force-unlock 7d1bc0aa/);
    expect(tf.callsFor("dev/20-network").map((c) => c.args[0])).not.toContain("force-unlock");
    expect(tf.callsFor("dev/20-network").map((c) => c.args[0])).not.toContain("apply");
    expect(existsSync(join(env.runDir, "dev/20-network", JOURNAL_FILE))).toBe(true);
  });
});

describe("destroying", () => {
  it("destroys an environment in reverse order, each root after the roots that depend on it", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest).applied(env.all);
    const r = await run("destroy", env, tf, ["dev"], { parallel: 2 });
    expect(r.results.map((x) => x.root)).toEqual(env.all.filter((id) => id.startsWith("dev/")).reverse());
    expect(r.results.every((x) => x.outcome.kind === "done" && x.outcome.applied && x.outcome.changes.destroy === 2)).toBe(true);
    for (const root of env.manifest.roots.filter((x) => x.scope === "dev")) {
      const destroyed = tf.callsFor(root.id).find((c) => c.args[0] === "apply")!;
      for (const dep of root.dependsOn.filter((d) => d.root.startsWith("dev/"))) {
        const depPlan = tf.callsFor(dep.root).find((c) => c.args[0] === "plan")!;
        expect(depPlan.start, `${dep.root} destroyed after ${root.id}`).toBeGreaterThan(destroyed.end);
      }
      expect(tf.callsFor(root.id).find((c) => c.args[0] === "plan")!.args).toContain("-destroy");
    }
  });

  it("applies the roots it is told to one change at a time with -parallelism=1, and the others as usual", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest).applied(env.all);
    await run("destroy", env, tf, ["dev"], { oneAtATime: (root) => root.id === "dev/20-network" });
    const applyOf = (id: string) => tf.callsFor(id).find((c) => c.args[0] === "apply")!.args;
    expect(applyOf("dev/20-network")).toEqual(["apply", "-input=false", "-no-color", "-parallelism=1", PLAN_FILE]);
    expect(applyOf("dev/50-service")).toEqual(["apply", "-input=false", "-no-color", PLAN_FILE]);
  });

  it("keeps a root that a root outside the run still uses, and skips roots without state", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest).applied(env.all.filter((id) => id !== "global/90-hardening"));
    const r = await run("destroy", env, tf, ["global"]);
    expect(r.outcome("global/90-hardening")).toEqual({ kind: "no-state" });
    expect(r.outcome("global/10-domain")).toEqual({ kind: "needed-by", by: "dev/50-service" });
    expect(r.outcome("global/05-iam-oidc")).toMatchObject({ kind: "done", applied: true });
    expect(r.outcome("global/00-bootstrap")).toEqual({ kind: "needed-by", by: "global/10-domain" });
    expect(existsSync(join(env.runDir, "global/00-bootstrap/terraform.tfstate"))).toBe(true);
  });
});

describe("trial mode", () => {
  it("plans with the offline override beside the root and reports roots that read AWS data sources", async () => {
    const env = setup("local");
    const tf = new FakeTerraform(env.runDir, env.manifest);
    const r = await run("plan", env, tf, ["global"], { offline: true });
    expect(r.outcome("global/00-bootstrap")).toMatchObject({ kind: "done", applied: false });
    expect(r.outcome("global/05-iam-oidc")).toEqual({ kind: "needs-aws", reads: ["data.aws_caller_identity.current"] });
    expect(r.outcome("global/10-domain")).toEqual({ kind: "waits", for: "global/00-bootstrap", missing: [] });
    const override = JSON.parse(readFileSync(join(env.runDir, "global/00-bootstrap", OFFLINE_OVERRIDE), "utf8"));
    expect(override.provider.aws).toEqual([
      { access_key: "caja-trial-access-key", secret_key: "caja-trial-secret-key", skip_credentials_validation: true, skip_metadata_api_check: true, skip_requesting_account_id: true },
    ]);
    expect(existsSync(join(env.runDir, "global/05-iam-oidc", OFFLINE_OVERRIDE))).toBe(false);
  });

  it("replaces links planted where it writes the override and the logs, never writing through them", async () => {
    const env = setup("local");
    const victim = join(tempDir("caja-victim-"), "file.txt");
    writeFileSync(victim, "do not overwrite\n");
    mkdirSync(join(env.runDir, ".logs", "global"), { recursive: true });
    symlinkSync(victim, join(env.runDir, "global/00-bootstrap", OFFLINE_OVERRIDE));
    symlinkSync(victim, join(env.runDir, ".logs", "global", "00-bootstrap.log"));
    const r = await run("plan", env, new FakeTerraform(env.runDir, env.manifest), ["global"], { offline: true });
    expect(r.outcome("global/00-bootstrap")).toMatchObject({ kind: "done" });
    expect(readFileSync(victim, "utf8")).toBe("do not overwrite\n");
    expect(lstatSync(join(env.runDir, "global/00-bootstrap", OFFLINE_OVERRIDE)).isFile()).toBe(true);
    expect(lstatSync(join(env.runDir, ".logs", "global", "00-bootstrap.log")).isFile()).toBe(true);
  });
});

/**
 * Plan `targets`, then save the plans as `caja plan --save-plans` does: each plan with changes
 * copied into a bundle folder with its digests, then `plans.json`, read back as apply reads it.
 */
async function planAndSave(env: ReturnType<typeof setup>, tf: FakeTerraform, targets: readonly string[]): Promise<NonNullable<RunSpec["saved"]>> {
  const planned = await run("plan", env, tf, targets);
  const dir = tempDir("caja-plans-");
  const roots = planned.results.flatMap((r): BundleRoot[] => {
    const o = r.outcome;
    if (o.kind === "waits") return [{ id: r.root, status: "waits", waitsFor: o.for }];
    if (o.kind !== "done") throw new Error(`${r.root} was not planned: ${o.kind}`);
    if (!hasChanges(o.changes)) return [{ id: r.root, status: "no-changes", changes: o.changes }];
    const rootDir = join(env.runDir, env.manifest.roots.find((m) => m.id === r.root)!.dir);
    const plan = readFileSync(join(rootDir, PLAN_FILE));
    writeFileSync(join(dir, bundleFile(r.root, ".tfplan")), plan);
    return [
      {
        id: r.root,
        status: "changes",
        changes: o.changes,
        removals: o.removals ?? [],
        upstream: o.upstream ?? [],
        plan: bundleFile(r.root, ".tfplan"),
        planSha256: sha256(plan),
        configSha256: sha256(readFileSync(join(rootDir, "main.tf.json"))),
      },
    ];
  });
  const bundle: PlanBundle = { format: BUNDLE_FORMAT, commit: "c0ffee1".padEnd(40, "0"), roots };
  writeFileSync(join(dir, BUNDLE_MANIFEST), bundleText(bundle));
  return { bundle: parseBundle(readFileSync(join(dir, BUNDLE_MANIFEST), "utf8"), BUNDLE_MANIFEST), dir };
}

describe("applying saved plans", () => {
  const DEV = ["dev/20-network", "dev/30-persistence", "dev/40-platform", "dev/50-service", "dev/60-static-site", "dev/70-dns", "dev/80-observability", "dev/90-hardening"];
  const ADDED_TWO = { add: 2, change: 0, destroy: 0, import: 0, outputs: 0 };
  const stale = (why: string) => `stale plan: ${why}. Plan again (re-run the workflow, or caja plan --save-plans) and apply that plan.`;
  const kinds = (results: readonly RootResult[]) => results.map((x) => `${x.root} ${x.outcome.kind}`);

  it("records with each plan what it deletes and a digest of every upstream output it read", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest, { replaces: ["dev/30-persistence"] }).applied(env.all);
    const r = await run("plan", env, tf, ["dev"]);
    const bootstrap = ["dynamodb_lock_table", "hosted_zone_id", "name_servers", "state_bucket_name"];
    const network = ["database_subnet_group_name", "rds_security_group_id"];
    const asApplied = (names: readonly string[]) => new Map(names.map((n) => [n, "x"]));
    expect(r.outcome("dev/30-persistence")).toEqual({
      kind: "done",
      changes: { add: 2, change: 0, destroy: 1, import: 0, outputs: 0 },
      applied: false,
      output: "dev/30-persistence plan line 1\ndev/30-persistence plan line 2\ndev/30-persistence plan line 3",
      removals: [{ address: "aws_thing.two", action: "replace" }],
      upstream: [
        { root: "global/00-bootstrap", outputs: bootstrap, sha256: outputsDigest(asApplied(bootstrap), bootstrap) },
        { root: "dev/20-network", outputs: network, sha256: outputsDigest(asApplied(network), network) },
      ],
    });
    expect(r.outcome("dev/20-network")).toMatchObject({ removals: [], upstream: [{ root: "global/00-bootstrap", outputs: bootstrap }] });
  });

  it("applies exactly the saved plan files, leaves roots without changes alone and reports waiting roots as waiting", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest, { noChanges: ["dev/40-platform"], planFiles: true }).applied(env.all.filter((id) => id !== "dev/60-static-site"));
    const saved = await planAndSave(env, tf, ["dev"]);
    expect(saved.bundle.roots.map((x) => `${x.id} ${x.status}`)).toEqual([
      "dev/20-network changes",
      "dev/30-persistence changes",
      "dev/40-platform no-changes",
      "dev/50-service changes",
      "dev/60-static-site changes",
      "dev/70-dns waits",
      "dev/80-observability changes",
      "dev/90-hardening changes",
    ]);
    // Plans made since, beside the roots, are not the plans that were reviewed.
    for (const id of DEV) writeFileSync(join(env.runDir, id, PLAN_FILE), "a later plan\n");
    const before = tf.calls.length;

    const r = await run("apply", env, tf, ["dev"], { saved });
    const during = tf.calls.slice(before);
    expect(tf.appliedPlans).toEqual([
      { root: "dev/20-network", plan: "dev/20-network plan 1\n" },
      { root: "dev/30-persistence", plan: "dev/30-persistence plan 2\n" },
      { root: "dev/50-service", plan: "dev/50-service plan 4\n" },
      { root: "dev/60-static-site", plan: "dev/60-static-site plan 5\n" },
      { root: "dev/80-observability", plan: "dev/80-observability plan 6\n" },
      { root: "dev/90-hardening", plan: "dev/90-hardening plan 7\n" },
    ]);
    expect(during.filter((c) => c.args[0] === "plan" || c.args[0] === "show")).toEqual([]);
    for (const id of ["dev/20-network", "dev/30-persistence", "dev/50-service", "dev/60-static-site", "dev/80-observability", "dev/90-hardening"]) {
      expect(
        during.filter((c) => c.root === id && c.args[0] !== "output").map((c) => c.args.join(" ")),
        id,
      ).toEqual(["init", `apply -input=false -no-color ${PLAN_FILE}`]);
    }
    expect(r.outcome("dev/20-network")).toEqual({ kind: "done", changes: ADDED_TWO, applied: true, output: "dev/20-network apply complete", removals: [] });
    // Read by the roots after it, never applied.
    expect(r.outcome("dev/40-platform")).toEqual({ kind: "done", changes: { add: 0, change: 0, destroy: 0, import: 0, outputs: 0 }, applied: false, output: "" });
    expect(during.filter((c) => c.root === "dev/40-platform").map((c) => c.args[0])).toEqual(["init", "output"]);
    expect(r.outcome("dev/70-dns")).toEqual({ kind: "waits", for: "dev/60-static-site", missing: [] });
    expect(during.filter((c) => c.root === "dev/70-dns")).toEqual([]);
  });

  it("refuses a root planned against upstream outputs that changed since, applies none of it and starts nothing after it", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest, { planFiles: true }).applied(env.all);
    const saved = await planAndSave(env, tf, ["dev"]);
    tf.setOutput("global/10-domain", "api_certificate_arn", "arn:aws:acm:us-east-1:123456789012:certificate/renewed");
    const before = tf.calls.length;

    const r = await run("apply", env, tf, ["dev"], { saved });
    expect(kinds(r.results)).toEqual([
      "dev/20-network done",
      "dev/30-persistence done",
      "dev/40-platform done",
      "dev/50-service failed",
      "dev/60-static-site not-run",
      "dev/70-dns not-run",
      "dev/80-observability not-run",
      "dev/90-hardening not-run",
    ]);
    expect(r.outcome("dev/50-service")).toEqual({
      kind: "failed",
      command: "caja apply --plans (checking the saved plan)",
      detail: stale("dev/50-service was planned against outputs of global/10-domain (api_certificate_arn) that have changed since"),
      log: join(env.runDir, ".logs/dev/50-service.log"),
    });
    expect(tf.appliedPlans.map((p) => p.root)).toEqual(["dev/20-network", "dev/30-persistence", "dev/40-platform"]);
    for (const id of DEV.slice(4)) expect(tf.calls.slice(before).filter((c) => c.root === id), id).toEqual([]);
  });

  it("refuses a root whose producer's apply earlier in the same run changed what it reads", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest, { applySets: { "dev/20-network": { rds_security_group_id: "sg-new" } }, planFiles: true }).applied(env.all);
    const saved = await planAndSave(env, tf, ["dev"]);

    const r = await run("apply", env, tf, ["dev"], { saved });
    expect(kinds(r.results)).toEqual(["dev/20-network done", "dev/30-persistence failed", ...DEV.slice(2).map((id) => `${id} not-run`)]);
    expect(r.outcome("dev/30-persistence")).toMatchObject({
      kind: "failed",
      detail: stale("dev/30-persistence was planned against outputs of dev/20-network (database_subnet_group_name, rds_security_group_id) that have changed since"),
    });
    expect(tf.appliedPlans.map((p) => p.root)).toEqual(["dev/20-network"]);
  });

  it("refuses a plan file whose bytes are not the ones recorded, running nothing", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest, { planFiles: true }).applied(env.all);
    const saved = await planAndSave(env, tf, ["dev"]);
    writeFileSync(join(saved.dir, bundleFile("dev/20-network", ".tfplan")), "dev/20-network plan 1\n# edited\n");
    const before = tf.calls.length;

    const r = await run("apply", env, tf, ["dev"], { saved });
    expect(kinds(r.results)).toEqual(["dev/20-network failed", ...DEV.slice(1).map((id) => `${id} not-run`)]);
    expect(r.outcome("dev/20-network")).toMatchObject({ kind: "failed", command: "caja apply --plans (checking the saved plan)", detail: stale("dev__20-network.tfplan is not the plan that was recorded") });
    expect(tf.calls.slice(before)).toEqual([]);
    expect(tf.appliedPlans).toEqual([]);
  });

  it("refuses a root whose main.tf.json was edited after planning", async () => {
    const env = setup();
    const tf = new FakeTerraform(env.runDir, env.manifest, { planFiles: true }).applied(env.all);
    const saved = await planAndSave(env, tf, ["dev"]);
    const config = join(env.runDir, "dev/40-platform/main.tf.json");
    writeFileSync(config, readFileSync(config, "utf8").replace("{", '{"locals": {"edited": true},'));

    const r = await run("apply", env, tf, ["dev"], { saved });
    expect(kinds(r.results)).toEqual(["dev/20-network done", "dev/30-persistence done", "dev/40-platform failed", ...DEV.slice(3).map((id) => `${id} not-run`)]);
    expect(r.outcome("dev/40-platform")).toMatchObject({ kind: "failed", detail: stale("dev/40-platform/main.tf.json is not the file that was planned") });
    expect(tf.appliedPlans.map((p) => p.root)).toEqual(["dev/20-network", "dev/30-persistence"]);
  });
});
