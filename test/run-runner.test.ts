/**
 * The runner against a fake terraform that keeps state in memory (the bootstrap root's local
 * state as a real file): order, waiting for unapplied roots, stopping at the first failure,
 * destroy's reverse order, trial mode, and output that never interleaves.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { parseManifest, selectRoots, type Manifest, type ManifestRoot } from "../packages/compiler/src/run/manifest.js";
import { OFFLINE_OVERRIDE } from "../packages/compiler/src/run/offline.js";
import type { Outcome, RootResult } from "../packages/compiler/src/run/render.js";
import { PLAN_FILE, runRoots, type RunSpec, type Terraform } from "../packages/compiler/src/run/runner.js";
import type { TerraformRun } from "../packages/compiler/src/terraform.js";
import { compileWith, fileJson, tempDir } from "./helpers.js";

interface Call {
  readonly root: string;
  readonly args: readonly string[];
  readonly start: number;
  end: number;
}

/** Terraform as far as the runner can tell: state per root, plans that create or destroy two resources. */
class FakeTerraform implements Terraform {
  readonly calls: Call[] = [];
  private readonly state = new Map<string, Set<string>>();
  private readonly destroying = new Set<string>();
  private clock = 0;

  constructor(
    private readonly runDir: string,
    private readonly manifest: Manifest,
    private readonly options: { failPlan?: string; drop?: Record<string, string[]> } = {},
  ) {}

  /** Give roots state, as if applied before the run. */
  applied(ids: readonly string[]): this {
    for (const id of ids) this.write(this.root(id));
    return this;
  }

  init(cwd: string): Promise<TerraformRun> {
    return this.call(cwd, ["init"], () => ok("Terraform has been successfully initialized!"));
  }

  run(args: readonly string[], cwd: string): Promise<TerraformRun> {
    return this.call(cwd, args, (root) => {
      switch (args[0]) {
        case "plan":
          if (this.options.failPlan === root.id) return { code: 1, stdout: "", stderr: `Error: broken override in ${root.id}`, ms: 1 };
          if (args.includes("-destroy")) this.destroying.add(root.id);
          else this.destroying.delete(root.id);
          return ok([1, 2, 3].map((n) => `${root.id} plan line ${n}`).join("\n"));
        case "show": {
          const actions = this.destroying.has(root.id) ? ["delete"] : ["create"];
          return ok(JSON.stringify({ resource_changes: [{ change: { actions } }, { change: { actions } }] }));
        }
        case "apply":
          if (this.destroying.has(root.id)) this.remove(root);
          else this.write(root);
          return ok(`${root.id} apply complete`);
        case "output":
          return ok(JSON.stringify(Object.fromEntries([...(this.state.get(root.id) ?? [])].map((o) => [o, { value: "x" }]))));
        case "state":
          return ok(this.state.has(root.id) ? "aws_thing.one\naws_thing.two" : "");
        default:
          throw new Error(`fake terraform: unexpected ${args.join(" ")}`);
      }
    });
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
      writeFileSync(file, JSON.stringify({ version: 4, outputs: Object.fromEntries(outputs.map((o) => [o, { value: "x", type: "string" }])), resources: [{ type: "aws_thing" }] }));
    }
  }

  private remove(root: ManifestRoot): void {
    this.state.delete(root.id);
    if (root.backend.type === "local") rmSync(join(this.runDir, root.dir, root.backend.path), { force: true });
  }
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
  options: { parallel?: number; offline?: boolean; heartbeatMs?: number } = {},
): Promise<{ results: RootResult[]; lines: string[]; blocks: (readonly string[])[]; outcome: (id: string) => Outcome }> {
  const blocks: (readonly string[])[] = [];
  const results = await runRoots({
    action,
    roots: selectRoots(env.manifest, targets),
    manifest: env.manifest,
    runDir: env.runDir,
    logDir: join(env.runDir, ".logs"),
    parallel: options.parallel ?? 1,
    offline: options.offline ?? false,
    terraform,
    print: (lines) => blocks.push([...lines]),
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
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
    const r = await run("apply", env, tf, ["all"], { parallel: 2 });
    const failed = r.outcome("dev/30-persistence");
    expect(failed).toEqual({ kind: "failed", command: `terraform plan -input=false -no-color -out=${PLAN_FILE}`, detail: "Error: broken override in dev/30-persistence", log: join(env.runDir, ".logs/dev/30-persistence.log") });
    const log = readFileSync(join(env.runDir, ".logs/dev/30-persistence.log"), "utf8");
    expect(log).toContain(`$ terraform plan -input=false -no-color -out=${PLAN_FILE}`);
    expect(log).toContain("Error: broken override in dev/30-persistence");
    const failedAt = tf.callsFor("dev/30-persistence").at(-1)!.end;
    expect(tf.calls.filter((c) => c.args[0] === "init" && c.start > failedAt)).toEqual([]);
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
