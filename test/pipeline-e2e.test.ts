/**
 * The generated workflow driven end to end: its own `run:` lines, read from the YAML caja wrote,
 * run job by job as GitHub would (each job in a fresh temporary folder, plan files passed between
 * jobs only through the artifact folder), against a stand-in terraform that keeps state the way
 * the S3 bucket would (test/fake-terraform.cjs). It proves that what an apply job applies is
 * exactly what its plan job showed, that a stale plan is refused, and that a pull request plans
 * the roots it changes and the roots that read them.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { BUNDLE_MANIFEST, parseBundle, type PlanBundle } from "../packages/compiler/src/run/bundle.js";
import { WORKFLOW_FILE } from "../packages/compiler/src/workflow.js";
import { CAJA_BIN, configWith, repoTempDir, tempDir } from "./helpers.js";

const FAKE_TERRAFORM = fileURLToPath(new URL("fake-terraform.cjs", import.meta.url));
const DRIFT_FLAG = "${{ github.event_name == 'schedule' && '--detailed-exitcode' || '' }}";

type Step = { run?: string; id?: string; env?: Record<string, string> };
type Job = { steps: Step[] };

/** A project under git with a stand-in terraform on PATH and one shared "bucket". */
class Project {
  readonly dir = repoTempDir("caja-e2e-");
  readonly bin = tempDir("caja-e2e-bin-");
  readonly state = tempDir("caja-e2e-state-");
  readonly applied = join(tempDir("caja-e2e-log-"), "applied.jsonl");

  constructor(config: unknown) {
    writeFileSync(join(this.bin, "terraform"), `#!/bin/sh\nexec "${process.execPath}" "${FAKE_TERRAFORM}" "$@"\n`);
    chmodSync(join(this.bin, "terraform"), 0o755);
    this.git("init", "-q", "-b", "main");
    this.git("config", "user.email", "ci@example.com");
    this.git("config", "user.name", "ci");
    // Plans, lock files and logs are never committed (the repository ignores them the same way).
    writeFileSync(join(this.dir, ".gitignore"), ".terraform/\n.terraform.lock.hcl\n*.tfplan\n*.tfstate\n.caja/\n");
    this.commitConfig(config, "initial");
  }

  git(...args: string[]): string {
    const r = spawnSync("git", args, { cwd: this.dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  }

  /** Write the config, compile it with caja (out/ and the workflow), commit both. */
  commitConfig(config: unknown, message: string): void {
    writeFileSync(join(this.dir, "caja.config.mjs"), `export default ${JSON.stringify(config)};\n`);
    const r = spawnSync(process.execPath, [CAJA_BIN, "compile"], { cwd: this.dir, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`caja compile: ${r.stderr}`);
    this.git("add", "-A");
    this.git("commit", "-q", "-m", message);
  }

  get workflow(): { jobs: Record<string, Job> } {
    return parse(readFileSync(join(this.dir, WORKFLOW_FILE), "utf8"));
  }

  /** An administrator applied the roots the pipeline never runs (bootstrap, OIDC roles). */
  seedAdministered(): void {
    for (const root of ["global/00-bootstrap", "global/05-iam-oidc"]) {
      const r = this.terraform(root, ["init"]);
      expect(r.status).toBe(0);
      expect(this.terraform(root, ["plan", "-out=admin.tfplan"]).status).toBe(0);
      expect(this.terraform(root, ["apply", "admin.tfplan"]).status).toBe(0);
    }
    rmSync(this.applied, { force: true });
  }

  terraform(root: string, args: string[]) {
    return spawnSync(join(this.bin, "terraform"), args, { cwd: join(this.dir, "out", root), encoding: "utf8", env: this.env({}) });
  }

  env(extra: Record<string, string>): NodeJS.ProcessEnv {
    return { ...process.env, PATH: `${this.bin}:${process.env.PATH}`, FAKE_TF_STATE: this.state, FAKE_TF_APPLIED: this.applied, TF_PLUGIN_CACHE_DIR: tempDir("caja-e2e-cache-"), ...extra };
  }

  /** One step's `run:` line of a job, as a GitHub runner would run it (bash -e, pipefail). */
  step(job: string, find: (s: Step) => boolean, event: string, env: Record<string, string>) {
    const step = this.workflow.jobs[job]!.steps.find((s) => s.run !== undefined && find(s));
    if (!step) throw new Error(`no such step in ${job}`);
    const command = step.run!.replace(DRIFT_FLAG, event === "schedule" ? "--detailed-exitcode" : "");
    expect(command).not.toContain("${{");
    return spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", command], { cwd: this.dir, encoding: "utf8", env: this.env(env) });
  }

  appliedPlans(): Map<string, string> {
    if (!existsSync(this.applied)) return new Map();
    const lines = readFileSync(this.applied, "utf8").trim().split("\n").filter(Boolean);
    return new Map(lines.map((l) => JSON.parse(l) as { dir: string; plan: string }).map((e) => [e.dir.slice(join(this.dir, "out").length + 1), e.plan]));
  }
}

/** Step outputs a job wrote to its `$GITHUB_OUTPUT` file. */
function outputsOf(file: string): Record<string, string> {
  return Object.fromEntries(readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

interface ScopeRun {
  readonly changes: boolean;
  readonly bundle: PlanBundle;
  readonly summary: string;
  /** Root → digest of the plan file each apply actually applied (empty when there was no apply). */
  readonly applied: Map<string, string>;
  readonly applyCode?: number;
  readonly applyOutput?: string;
}

/** The prepare job, then plan → (artifact) → apply for each scope, in the workflow's order. */
function pushRun(p: Project, scopes: readonly string[]): Map<string, ScopeRun> {
  const prepareOut = join(tempDir("caja-e2e-prepare-"), "output");
  const prepare = p.step("prepare", (s) => s.id === "roots", "push", { BASE: "", GITHUB_OUTPUT: prepareOut });
  expect(prepare.status, prepare.stderr).toBe(0);
  const roots = outputsOf(prepareOut);
  const runs = new Map<string, ScopeRun>();
  for (const scope of scopes) {
    const run = planThenApply(p, scope, roots[scope]!, "push");
    runs.set(scope, run);
    if (run.applyCode !== undefined && run.applyCode !== 0) break;
  }
  return runs;
}

function planThenApply(p: Project, scope: string, roots: string, event: string, beforeApply?: () => void): ScopeRun {
  const planTemp = tempDir("caja-e2e-plan-");
  const output = join(planTemp, "github-output");
  const summaryFile = join(planTemp, "step-summary.md");
  const plan = p.step(`plan-${scope}`, (s) => s.id === "plan", event, { ROOTS: roots, RUNNER_TEMP: planTemp, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summaryFile });
  expect(plan.status, `${plan.stdout}\n${plan.stderr}`).toBe(0);
  const bundle = parseBundle(readFileSync(join(planTemp, "plans", BUNDLE_MANIFEST), "utf8"), "plans.json");
  const summary = readFileSync(summaryFile, "utf8");
  expect(readFileSync(join(planTemp, "plans", "summary.md"), "utf8")).toBe(summary);
  const changes = outputsOf(output).changes === "true";
  if (!changes) return { changes, bundle, summary, applied: new Map() };

  // The artifact: the apply job runs elsewhere and sees only what was uploaded.
  const applyTemp = tempDir("caja-e2e-apply-");
  cpSync(join(planTemp, "plans"), join(applyTemp, "plans"), { recursive: true });
  beforeApply?.();
  rmSync(p.applied, { force: true });
  const apply = p.step(`apply-${scope}`, (s) => s.run!.startsWith("npx caja apply"), event, { RUNNER_TEMP: applyTemp, GITHUB_STEP_SUMMARY: join(applyTemp, "summary.md") });
  return { changes, bundle, summary, applied: p.appliedPlans(), applyCode: apply.status ?? 1, applyOutput: `${apply.stdout}\n${apply.stderr}` };
}

/** What the plan job showed: the roots with changes and their plan digests, and the summary naming each. */
function shown(run: ScopeRun): Map<string, string> {
  const withChanges = run.bundle.roots.filter((r) => r.status === "changes");
  for (const r of withChanges) expect(run.summary).toContain(`| <code>${r.id}</code> | **changes** |`);
  return new Map(withChanges.map((r) => [r.id, r.planSha256!]));
}

describe("the generated workflow, driven end to end against a stand-in terraform", () => {
  const config = configWith({ accountId: "123456789012", state: { bootstrapped: true } });
  let p: Project;

  beforeAll(() => {
    p = new Project(config);
    p.seedAdministered();
  }, 120_000);

  it("converges a new account in a few pushes, each apply applying exactly the plans its plan job showed", { timeout: 600_000 }, () => {
    let pushes = 0;
    for (;;) {
      pushes++;
      // staging would repeat dev: global and dev keep the test short.
      const runs = pushRun(p, ["global", "dev"]);
      let anyChange = false;
      for (const [scope, run] of runs) {
        if (!run.changes) continue;
        anyChange = true;
        // What was applied is what was shown: the same roots, and each the very plan file shown.
        expect(run.applied, `${scope}, push ${pushes}`).toEqual(shown(run));
        const waiting = run.bundle.roots.filter((r) => r.status === "waits");
        if (waiting.length > 0) {
          // Roots planned before what they read was applied are not applied: the run fails and asks for another.
          expect(run.applyCode, run.applyOutput).toBe(1);
          expect(run.applyOutput).toMatch(/re-run/);
        } else expect(run.applyCode, run.applyOutput).toBe(0);
      }
      if (!anyChange) break;
      expect(pushes).toBeLessThan(8);
    }
    // dev needs several passes (network before persistence before the service …); the last push changes nothing.
    expect(pushes).toBeGreaterThanOrEqual(3);
  });

  it("plans on a pull request only the roots it changes and the roots that read them", { timeout: 120_000 }, () => {
    p.git("checkout", "-q", "-b", "tune-alarms");
    p.commitConfig(configWith({ ...config, environments: { dev: { alarms: { ecsCpu: { threshold: 90 } } }, staging: {}, prod: {} } }), "tune dev alarms");
    const outFile = join(tempDir("caja-e2e-pr-"), "output");
    const r = p.step("prepare", (s) => s.id === "roots", "pull_request", { BASE: "main", GITHUB_OUTPUT: outFile });
    expect(r.status, r.stderr).toBe(0);
    expect(outputsOf(outFile)).toEqual({ global: "", dev: "dev/80-observability", staging: "", prod: "", administered: "" });
    p.git("checkout", "-q", "main");
    p.git("merge", "-q", "--ff-only", "tune-alarms");
  });

  it("after the merge, applies only the changed root, with the plan shown", { timeout: 300_000 }, () => {
    const runs = pushRun(p, ["global", "dev"]);
    expect(runs.get("global")!.changes).toBe(false);
    const dev = runs.get("dev")!;
    expect(dev.bundle.roots.filter((r) => r.status === "changes").map((r) => r.id)).toEqual(["dev/80-observability"]);
    expect(dev.summary).toMatch(/<code>dev\/80-observability<\/code>: <code>[^<]+<\/code> \(replaced: destroyed, then created\)/);
    expect(dev.applyCode, dev.applyOutput).toBe(0);
    expect(dev.applied).toEqual(shown(dev));
  });

  it("refuses a plan whose upstream outputs changed after it was shown, and applies nothing of that root", { timeout: 300_000 }, () => {
    // The service's state is lost, so its plan creates it again; then platform, which it reads, changes under it.
    const serviceState = join(p.state, "env__dev__service__terraform.tfstate.json");
    rmSync(serviceState);
    const platformState = join(p.state, "env__dev__platform__terraform.tfstate.json");
    const run = planThenApply(p, "dev", "dev/40-platform dev/50-service", "workflow_dispatch", () => {
      const s = JSON.parse(readFileSync(platformState, "utf8"));
      s.outputs.cluster_arn = { value: "arn:aws:ecs:us-east-1:123456789012:cluster/other" };
      writeFileSync(platformState, JSON.stringify(s));
    });
    expect(run.bundle.roots.filter((r) => r.status === "changes").map((r) => r.id)).toEqual(["dev/50-service"]);
    expect(run.applyCode).toBe(1);
    expect(run.applyOutput).toMatch(/stale plan: dev\/50-service was planned against outputs of dev\/40-platform \(.*cluster_arn.*\) that have changed since/);
    expect(run.applied.size).toBe(0);
    expect(existsSync(serviceState)).toBe(false);
  });

  it("refuses plans made from another commit", { timeout: 300_000 }, () => {
    const planTemp = tempDir("caja-e2e-plan-");
    const plan = p.step("plan-dev", (s) => s.id === "plan", "workflow_dispatch", { ROOTS: "dev/50-service", RUNNER_TEMP: planTemp, GITHUB_OUTPUT: join(planTemp, "o"), GITHUB_STEP_SUMMARY: join(planTemp, "s") });
    expect(plan.status, plan.stderr).toBe(0);
    writeFileSync(join(p.dir, "README.md"), "a later commit\n");
    p.git("add", "README.md");
    p.git("commit", "-q", "-m", "later");
    const apply = p.step("apply-dev", (s) => s.run!.startsWith("npx caja apply"), "workflow_dispatch", { RUNNER_TEMP: planTemp, GITHUB_STEP_SUMMARY: join(planTemp, "as") });
    expect(apply.status).toBe(1);
    expect(apply.stderr).toMatch(/stale plans: .*plans\.json was planned from commit [0-9a-f]{12}, and this is [0-9a-f]{12}/);
  });
});
