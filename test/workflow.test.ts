/**
 * Phase 9: the generated GitHub Actions pipeline, parsed and checked structurally: triggers, jobs,
 * ordering, permissions, and that every job assuming a deployer role presents an OIDC subject that
 * role trusts (checked against phase 0.5's rule and the trust policy actually compiled).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { todo } from "@caja/dsl";
import { compile } from "../packages/compiler/src/compile.js";
import { deployerRoleName, deployerSubjects, STS_AUDIENCE } from "../packages/modules/src/iam-oidc.js";
import { pipeline, toYaml, WORKFLOW_FILE, workflowYaml, type YamlValue } from "../packages/compiler/src/workflow.js";
import { baseConfig, compileWith, configWith, rootJson, tempDir } from "./helpers.js";

type Job = {
  name: string;
  needs?: string | string[];
  if?: string;
  environment?: string;
  permissions?: Record<string, string>;
  concurrency?: { group: string };
  env?: Record<string, string>;
  outputs?: Record<string, string>;
  steps: { name?: string; uses?: string; run?: string; id?: string; if?: string; with?: Record<string, unknown>; env?: Record<string, string> }[];
};
type Workflow = { on: any; permissions: Record<string, string>; jobs: Record<string, Job> };

const OPTIONS = { outDir: "out", configFile: "caja.config.ts" };
const REPO = "dbash/caja";

function workflowOf(config: unknown = baseConfig()): { wf: Workflow; text: string; compiled: ReturnType<typeof compileWith> } {
  const compiled = compileWith(config);
  const text = workflowYaml(compiled.config, compiled.plan, OPTIONS);
  return { wf: parse(text) as Workflow, text, compiled };
}

const needsOf = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);
const credentialStep = (job: Job) => job.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials"));
const events = (job: Job) => [...(job.if ?? "").matchAll(/github\.event_name == '([a-z_]+)'/g)].map((m) => m[1]!);

/**
 * The `sub` GitHub puts in the job's OIDC token for each event that can run it: the environment
 * when the job declares one, else the pull request, else the branch (pushes are limited to the
 * main branch by the trigger, dispatches by the job's ref condition, schedules run on it).
 */
function subjectsOf(job: Job, main: string): string[] {
  return events(job).map((event) => {
    if (job.environment) return `repo:${REPO}:environment:${job.environment}`;
    if (event === "pull_request") return `repo:${REPO}:pull_request`;
    return `repo:${REPO}:ref:refs/heads/${main}`;
  });
}

function roleOf(job: Job): string {
  const arn = String(credentialStep(job)!.with!["role-to-assume"]);
  return arn.slice(arn.indexOf(":role/") + ":role/".length);
}

describe("the workflow's triggers", () => {
  it("plans pull requests and applies pushes that touch the config or out/, applies by dispatch and checks drift daily", () => {
    const { wf } = workflowOf();
    expect(wf.on.pull_request.paths).toEqual(["caja.config.ts", "out/**", WORKFLOW_FILE]);
    expect(wf.on.push.branches).toEqual(["main"]);
    expect(wf.on.push.paths).toEqual(["caja.config.ts", "out/**", "!out/docs/**", WORKFLOW_FILE]);
    expect(wf.on.workflow_dispatch.inputs.environment).toMatchObject({ type: "choice", required: true, options: ["dev", "staging", "prod"] });
    expect(wf.on.schedule).toEqual([{ cron: expect.stringMatching(/^\d+ \d+ \* \* \*$/) }]);
  });

  it("watches the config's local imports and the output folder it was compiled to", () => {
    const compiled = compileWith();
    const wf = parse(workflowYaml(compiled.config, compiled.plan, { outDir: "infra/tf", configFile: "infra/caja.ts", configArg: true, imports: ["infra/envs/prod.ts"] })) as Workflow;
    expect(wf.on.pull_request.paths).toEqual(["infra/caja.ts", "infra/envs/prod.ts", "infra/tf/**", WORKFLOW_FILE]);
    expect(wf.jobs.prepare!.steps.map((s) => s.run)).toContain("npx caja compile --check --config infra/caja.ts --out infra/tf");
    expect(wf.jobs["apply-dev"]!.steps.at(-1)!.run).toContain('terraform -chdir="infra/tf/$dir" apply');
  });
});

describe("the workflow's jobs", () => {
  it("checks the output first: npm ci, caja compile --check, the JSON check and terraform validate of every root", () => {
    const { wf } = workflowOf();
    const prepare = wf.jobs.prepare!;
    const runs = prepare.steps.map((s) => s.run ?? s.uses ?? "");
    const at = (text: string) => runs.findIndex((r) => r.includes(text));
    expect(at("actions/setup-node")).toBeGreaterThan(-1);
    expect(at("npm ci")).toBeLessThan(at("npx caja compile --check"));
    expect(at("npx caja compile --check")).toBeLessThan(at("JSON.parse(text)"));
    expect(at("hashicorp/setup-terraform")).toBeLessThan(at("validate -no-color"));
    expect(runs[at("validate -no-color")]).toContain("init -backend=false");
    expect(prepare.permissions).toEqual({ contents: "read", "security-events": "write" });
    for (const job of Object.keys(wf.jobs).filter((j) => j !== "prepare")) expect(needsOf(wf.jobs[job]!)).toContain("prepare");
  });

  it("plans the environments whose roles trust pull requests, uploads the plans and comments a summary", () => {
    const { wf } = workflowOf();
    expect(Object.keys(wf.jobs).filter((j) => j.startsWith("plan-"))).toEqual(["plan-dev", "plan-staging"]);
    for (const env of ["dev", "staging"]) {
      const job = wf.jobs[`plan-${env}`]!;
      expect(job.if).toBe("github.event_name == 'pull_request'");
      expect(job.environment).toBeUndefined();
      const plan = job.steps.find((s) => s.run?.includes("terraform -chdir"))!;
      expect(plan.env!.ROOTS).toBe(`\${{ needs.prepare.outputs.changed_${env} }}`);
      expect(plan.run).toContain("plan -input=false -no-color -lock-timeout=10m -out=plan.tfplan");
      expect(job.steps.filter((s) => s.uses?.startsWith("actions/upload-artifact")).map((s) => s.with!.name)).toEqual([`plan-${env}`, `plan-summary-${env}`]);
    }
    const comment = wf.jobs.comment!;
    expect(needsOf(comment)).toEqual(["prepare", "plan-dev", "plan-staging"]);
    expect(comment.if).toContain("always()");
    expect(comment.permissions).toEqual({ "pull-requests": "write" });
    expect(comment.steps.at(-1)!.with!.script).toContain("<!-- caja-plan -->");
  });

  it("applies dev on push, staging after dev and its environment's approval, prod only by dispatch in its environment", () => {
    const { wf } = workflowOf();
    const dev = wf.jobs["apply-dev"]!;
    const staging = wf.jobs["apply-staging"]!;
    const prod = wf.jobs["apply-prod"]!;
    expect(events(dev)).toEqual(["push", "workflow_dispatch"]);
    expect(dev.environment).toBeUndefined();
    expect(events(staging)).toEqual(["push", "workflow_dispatch"]);
    expect(staging.environment).toBe("staging");
    expect(needsOf(staging)).toEqual(["prepare", "apply-dev"]);
    expect(staging.if).toContain("needs.apply-dev.result == 'success'");
    expect(events(prod)).toEqual(["workflow_dispatch"]);
    expect(prod.if).toContain("inputs.environment == 'prod'");
    expect(prod.environment).toBe("prod");
    expect(needsOf(prod)).toEqual(["prepare"]);
    for (const [env, job] of [["dev", dev], ["staging", staging], ["prod", prod]] as const) {
      // Only from the main branch, one apply per environment at a time, every root in manifest order.
      expect(job.if).toContain("github.ref == 'refs/heads/main'");
      expect(job.concurrency).toEqual({ group: `caja-apply-${env}`, "cancel-in-progress": false });
      const apply = job.steps.at(-1)!;
      expect(apply.env!.ROOTS).toBe(`\${{ needs.prepare.outputs.all_${env} }}`);
      expect(apply.run).toContain("apply -input=false -no-color -auto-approve");
      expect(apply.run).toContain("set -euo pipefail");
    }
  });

  it("checks every environment for drift on schedule with plan -detailed-exitcode, failing and reporting on drift", () => {
    const { wf } = workflowOf();
    for (const env of ["dev", "staging", "prod"]) {
      const job = wf.jobs[`drift-${env}`]!;
      expect(events(job)).toEqual(["schedule"]);
      const run = job.steps.at(-1)!.run!;
      expect(run).toContain("plan -detailed-exitcode -lock=false");
      expect(run).toContain("::error title=Drift in $dir::");
      expect(run).toContain("$GITHUB_STEP_SUMMARY");
      expect(run.trim().split("\n").at(-1)).toBe('[ -z "$drifted$failed" ]');
    }
  });

  it("passes each undecided value a root needs as TF_VAR_ from a repository variable", () => {
    const { wf, text } = workflowOf(configWith({ defaults: { alarms: { emails: todo("on-call list") } } }));
    expect(wf.jobs["apply-prod"]!.env).toEqual({ TF_VAR_alarm_emails: "${{ vars.TF_VAR_ALARM_EMAILS }}" });
    expect(text).toMatch(/^# - Variable TF_VAR_ALARM_EMAILS: /m);
    expect(workflowOf().wf.jobs["apply-prod"]!.env).toBeUndefined();
  });
});

describe("authentication", () => {
  it("grants id-token: write exactly to the jobs that assume a role, and nothing else beyond reading", () => {
    const { wf } = workflowOf();
    expect(wf.permissions).toEqual({ contents: "read" });
    for (const [id, job] of Object.entries(wf.jobs)) {
      expect(job.permissions, id).toBeDefined();
      if (credentialStep(job)) expect(job.permissions, id).toEqual({ contents: "read", "id-token": "write" });
      else expect(job.permissions?.["id-token"], id).toBeUndefined();
    }
  });

  it("assumes <project>-terraform-deployer-<env> through OIDC with the STS audience and no stored keys", () => {
    const { wf, text } = workflowOf(configWith({ project: "acme" }));
    for (const [id, job] of Object.entries(wf.jobs)) {
      const step = credentialStep(job);
      if (!step) continue;
      const env = id.slice(id.indexOf("-") + 1);
      expect(step.with!["role-to-assume"]).toBe(`arn:aws:iam::\${{ vars.AWS_ACCOUNT_ID }}:role/${deployerRoleName("acme", env)}`);
      expect(step.with!.audience).toBe(STS_AUDIENCE);
      expect(step.with!["aws-region"]).toBe("us-east-1");
    }
    expect(text).not.toMatch(/aws-access-key-id|aws-secret-access-key|secrets\./);
    expect(text).toMatch(/^# - Variable AWS_ACCOUNT_ID: /m);
  });

  it("writes the account id into the role ARN when the config sets accountId", () => {
    const { wf, text } = workflowOf(configWith({ accountId: "123456789012" }));
    expect(credentialStep(wf.jobs["apply-dev"]!)!.with!["role-to-assume"]).toBe("arn:aws:iam::123456789012:role/caja-terraform-deployer-dev");
    expect(text).not.toContain("vars.AWS_ACCOUNT_ID");
  });

  it.each([
    ["the base config", baseConfig()],
    ["four environments on a trunk branch", configWith({ github: { repository: REPO, mainBranch: "trunk" }, environments: { dev: {}, qa: {}, staging: {}, prod: {} } })],
    ["prod listed first", configWith({ environments: { prod: {}, dev: {} } })],
    ["a single prod environment", configWith({ domain: { root: "dbash.dev" }, environments: { live: { tier: "prod" } } })],
  ])("every job assuming a role presents a subject that role trusts: %s", (_name, config) => {
    const { wf, compiled } = workflowOf(config);
    const main = compiled.config.github.mainBranch;
    const trust = rootJson(compiled, "global/05-iam-oidc").resource.aws_iam_role as Record<string, { name: string; assume_role_policy: string }>;
    let checked = 0;
    for (const [id, job] of Object.entries(wf.jobs)) {
      if (!credentialStep(job)) continue;
      const role = roleOf(job);
      const env = Object.keys(compiled.config.environments).find((e) => deployerRoleName(compiled.config.project, e) === role);
      expect(env, `${id} assumes ${role}`).toBeDefined();
      const subjects = subjectsOf(job, main);
      expect(subjects.length, `${id} runs on some event`).toBeGreaterThan(0);
      // A dispatch presents the ref it runs on: the job must insist on the main branch.
      if (events(job).includes("workflow_dispatch") && !job.environment) expect(job.if).toContain(`github.ref == 'refs/heads/${main}'`);
      const compiledRole = Object.values(trust).find((r) => r.name === role)!;
      const trusted = JSON.parse(compiledRole.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] as string[];
      for (const sub of subjects) {
        expect(deployerSubjects(compiled.config, env!), `${id}: ${sub}`).toContain(sub);
        expect(trusted, `${id}: ${sub} in the compiled trust policy`).toContain(sub);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it("still works while github.repository is todo(): the roles trust the repository variable, the jobs are the same", () => {
    const decided = workflowOf().text;
    const undecided = workflowOf(configWith({ github: { repository: todo("not named yet") } })).text;
    expect(undecided).toBe(decided);
  });
});

describe("the pipeline model", () => {
  it("chains approval environments in config order and keeps prod on dispatch", () => {
    const compiled = compileWith(configWith({ environments: { dev: {}, qa: {}, staging: {}, prod: {} } }));
    const p = pipeline(compiled.config, compiled.plan);
    expect(p.envs.map((e) => [e.name, e.apply, e.after ?? null, Boolean(e.planTrigger)])).toEqual([
      ["dev", "push", null, true],
      ["qa", "approval", "dev", true],
      ["staging", "approval", "qa", true],
      ["prod", "dispatch", null, false],
    ]);
    expect(p.manualRoots.every((r) => r.startsWith("global/"))).toBe(true);
    expect(p.envs[0]!.roots).toEqual(compiled.plan.roots.filter((r) => r.scope === "dev").map((r) => r.id));
  });
});

describe("the inline scripts", () => {
  const scriptOf = (job: Job, marker: string) => {
    const run = job.steps.find((s) => s.run?.includes(marker))!.run!;
    return run.slice(run.indexOf("<<'CAJA_JS'\n") + "<<'CAJA_JS'\n".length, run.lastIndexOf("\nCAJA_JS"));
  };
  const runNode = (script: string, cwd: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ["--input-type=module"], { input: script, cwd, encoding: "utf8", env: { ...process.env, ...env } });
  const project = (compiled: ReturnType<typeof compileWith>) => {
    const dir = tempDir("caja-wf-");
    for (const f of compiled.files) {
      mkdirSync(join(dir, "out", f.path, ".."), { recursive: true });
      writeFileSync(join(dir, "out", f.path), f.content);
    }
    return dir;
  };

  it("lists each environment's roots in manifest order, and on a pull request the changed ones plus every dependent", () => {
    const { wf, compiled } = workflowOf();
    const dir = project(compiled);
    const script = scriptOf(wf.jobs.prepare!, "GITHUB_OUTPUT");
    writeFileSync(join(dir, "changed"), ["out/global/10-domain/main.tf.json", "out/dev/20-network/main.tf.json", "README.md", ""].join("\n"));
    const r = runNode(script, dir, { GITHUB_OUTPUT: join(dir, "github-output"), CHANGED_FILES: join(dir, "changed") });
    expect(r.stderr).toBe("");
    const outputs = Object.fromEntries(readFileSync(join(dir, "github-output"), "utf8").trim().split("\n").map((l) => l.split("=") as [string, string]));
    const ids = (scope: string) => compiled.plan.roots.filter((x) => x.scope === scope).map((x) => x.id);
    expect(outputs.all_dev).toBe(ids("dev").join(" "));
    expect(outputs.all_prod).toBe(ids("prod").join(" "));
    // The network's dependents (persistence, service and what reads the service) and the domain's
    // (service, static site, then DNS), in apply order; platform reads neither.
    expect(outputs.changed_dev!.split(" ")).toEqual(["dev/20-network", "dev/30-persistence", "dev/50-service", "dev/60-static-site", "dev/70-dns", "dev/80-observability", "dev/90-hardening"]);
    expect(outputs.changed_staging!.split(" ")).toEqual(["staging/50-service", "staging/60-static-site", "staging/70-dns", "staging/80-observability", "staging/90-hardening"]);
    expect(outputs.changed_global).toBe("global/10-domain");
    expect(outputs.changed_prod).toBeUndefined();
  });

  it("passes canonical JSON and reports a file that is not", () => {
    const { wf, compiled } = workflowOf();
    const dir = project(compiled);
    const script = scriptOf(wf.jobs.prepare!, "JSON.parse(text)");
    expect(runNode(script, dir).status).toBe(0);
    writeFileSync(join(dir, "out/dev/20-network/main.tf.json"), JSON.stringify(JSON.parse(compiled.files.find((f) => f.path === "dev/20-network/main.tf.json")!.content)));
    writeFileSync(join(dir, "out/dev/70-dns/main.tf.json"), "{ nope");
    const bad = runNode(script, dir);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain("::error file=out/dev/20-network/main.tf.json::not canonical");
    expect(bad.stdout).toContain("::error file=out/dev/70-dns/main.tf.json::");
  });
});

describe("writing the workflow", () => {
  function projectDir(config: unknown = baseConfig()): string {
    const dir = tempDir("caja-wf-write-");
    writeFileSync(join(dir, "caja.config.mjs"), `export default ${JSON.stringify(config)};\n`);
    return dir;
  }

  it("writes .github/workflows/infra-plan-apply.yml with the roots, leaves it alone when unchanged, and --check catches an edit", async () => {
    const dir = projectDir();
    const first = await compile({ cwd: dir });
    const file = join(dir, WORKFLOW_FILE);
    expect(first.workflow).toEqual({ path: file, written: true });
    const text = readFileSync(file, "utf8");
    expect(parse(text).name).toBe("infra-plan-apply");
    expect(text).toContain("run: npx caja compile --check\n");
    expect((await compile({ cwd: dir })).workflow).toEqual({ path: file, written: false });
    expect((await compile({ cwd: dir, check: true })).stale).toEqual([]);
    writeFileSync(file, text.replace("apply-dev", "apply-dev2"));
    expect((await compile({ cwd: dir, check: true })).stale).toEqual(["../.github/workflows/infra-plan-apply.yml"]);
    expect(readFileSync(file, "utf8")).toContain("apply-dev2");
  });

  it("writes no workflow when the output is outside the project or state is local", async () => {
    const dir = projectDir();
    const outside = await compile({ cwd: dir, outDir: join(tempDir(), "out") });
    expect(outside.workflow).toBeUndefined();
    const local = await compile({ cwd: dir, backend: "local" });
    expect(local.workflow).toBeUndefined();
    expect(existsSync(join(dir, WORKFLOW_FILE))).toBe(false);
  });
});

describe("the YAML writer", () => {
  const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,12}$/);
  const text = fc.oneof(fc.string(), fc.constantFrom("on", "true", "1.10", "-x", "a: b", "a #b", "${{ x }}", "*", "x\n  y\n", " lead", "", "trail "));
  const value: fc.Arbitrary<YamlValue> = fc.letrec<{ v: YamlValue }>((tie) => ({
    v: fc.oneof(
      { depthSize: "small" },
      text,
      fc.integer(),
      fc.boolean(),
      fc.array(tie("v"), { maxLength: 4 }),
      fc.dictionary(key, tie("v"), { maxKeys: 4 }),
    ),
  })).v;

  it("writes what a YAML parser reads back as the same value", () => {
    fc.assert(
      fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 5 }), (doc) => {
        expect(parse(toYaml(doc))).toEqual(doc);
      }),
      { numRuns: 300 },
    );
  });

  it("is deterministic and starts with the header comment", () => {
    const a = workflowOf().text;
    expect(workflowOf().text).toBe(a);
    expect(a.split("\n")[0]).toMatch(/^# Generated by caja from caja\.config\.ts \(plan phase 9\)/);
  });
});

describe("security findings in code scanning", () => {
  it("runs the gate as SARIF and uploads it, with the permission code scanning needs", async () => {
    const { parse } = await import("yaml");
    const { workflowYaml } = await import("../packages/compiler/src/workflow.js");
    const { compileWith } = await import("./helpers.js");
    const c = compileWith();
    const wf = parse(workflowYaml(c.config, c.plan, { outDir: "out", configFile: "caja.config.ts", imports: [] })) as any;
    const prepare = wf.jobs.prepare;
    expect(prepare.permissions["security-events"]).toBe("write");
    const steps = prepare.steps as { run?: string; uses?: string; with?: Record<string, string>; if?: string }[];
    const check = steps.findIndex((s) => s.run === "npx caja check --format sarif --output caja.sarif");
    const upload = steps.findIndex((s) => s.uses === "github/codeql-action/upload-sarif@v3");
    expect(check).toBeGreaterThan(0);
    expect(upload).toBe(check + 1);
    expect(steps[upload]).toMatchObject({ if: "always()", with: { sarif_file: "caja.sarif" } });
  });
});
