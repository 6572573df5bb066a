/**
 * Phase 9: the generated GitHub Actions pipeline, parsed and checked as a security reviewer reads
 * it. The core is a reachability proof over what was really compiled: for every job, each event
 * that can start it, the OIDC subject GitHub presents for that event, the role the job assumes,
 * whether that role's compiled trust policy accepts the subject, and the write actions of the
 * compiled permission policies attached to it. Pull requests and the daily drift check must reach
 * no write action; and since a pull request can rewrite the workflow, no role that trusts a pull
 * request may hold one, whatever the workflow says.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { todo } from "@caja/dsl";
import { compile } from "../packages/compiler/src/compile.js";
import { ACTIONS, pipeline, toYaml, WORKFLOW_FILE, workflowYaml, type YamlValue } from "../packages/compiler/src/workflow.js";
import { baseConfig, compileWith, configWith, rootJson, tempDir } from "./helpers.js";

type Step = { name?: string; uses?: string; run?: string; id?: string; if?: string; with?: Record<string, unknown>; env?: Record<string, string>; "continue-on-error"?: boolean };
type Job = {
  name?: string;
  needs?: string | string[];
  if?: string;
  environment?: string;
  permissions?: Record<string, string>;
  concurrency?: string | { group: string };
  env?: Record<string, string>;
  outputs?: Record<string, string>;
  strategy?: { matrix?: { include?: Record<string, string>[] } };
  steps: Step[];
};
type Workflow = { on: any; permissions: Record<string, string>; concurrency: any; jobs: Record<string, Job> };

const OPTIONS = { outDir: "out", configFile: "caja.config.ts" };
const REPO = "dbash/caja";
const OIDC_ROOT = "global/05-iam-oidc";
const SUB = "token.actions.githubusercontent.com:sub";

function workflowOf(config: unknown = baseConfig()): { wf: Workflow; text: string; compiled: ReturnType<typeof compileWith> } {
  const compiled = compileWith(config);
  const text = workflowYaml(compiled.config, compiled.plan, OPTIONS);
  return { wf: parse(text) as Workflow, text, compiled };
}

const needsOf = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);
const credentialStep = (job: Job) => job.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
const EVENTS = ["pull_request", "push", "schedule", "workflow_dispatch"] as const;
type Event = (typeof EVENTS)[number];
/** The events a job's condition lets run it (every event of the workflow when it has none). */
const eventsOf = (job: Job): Event[] => (job.if ? EVENTS.filter((e) => job.if!.includes(`github.event_name == '${e}'`)) : [...EVENTS]);

// ---------------------------------------------------------------------------------------------
// What the compiled phase 0.5 root says: each role's trusted subjects and its permissions.

type Grant = { action: string; resource: string[]; condition?: unknown };
type Role = { label: string; name: string; subjects: string[]; allows: Grant[]; hasNotAction: boolean };

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function rolesOf(oidcRoot: any): Map<string, Role> {
  const roles = new Map<string, Role>();
  const byLabel = new Map<string, Role>();
  for (const [label, r] of Object.entries<any>(oidcRoot.resource.aws_iam_role)) {
    const trust = JSON.parse(r.assume_role_policy);
    const subjects = trust.Statement.flatMap((s: any) => (s.Effect === "Allow" ? asList(s.Condition?.StringEquals?.[SUB]).concat(asList(s.Condition?.StringLike?.[SUB])) : []));
    const role: Role = { label, name: r.name, subjects, allows: [], hasNotAction: false };
    roles.set(r.name, role);
    byLabel.set(label, role);
  }
  for (const a of Object.values<any>(oidcRoot.resource.aws_iam_role_policy_attachment)) {
    const role = byLabel.get(/^\$\{aws_iam_role\.([a-z0-9_]+)\.name\}$/.exec(a.role)![1]!)!;
    const policyLabel = /^\$\{aws_iam_policy\.([a-z0-9_]+)\.arn\}$/.exec(a.policy_arn)![1]!;
    const doc = JSON.parse(oidcRoot.resource.aws_iam_policy[policyLabel].policy);
    for (const st of doc.Statement) {
      if (st.Effect !== "Allow") continue;
      if (st.NotAction || st.NotResource) role.hasNotAction = true;
      for (const action of asList<string>(st.Action)) role.allows.push({ action, resource: asList(st.Resource), condition: st.Condition });
    }
  }
  return roles;
}

const READ_VERB = /^[a-z0-9-]+:(Describe|List|Get|Head)[A-Za-z*]*$/;

/**
 * The actions a role may take that are not reads. Taking the state lock is the one write a
 * read-only role needs: only on lock entries (the lock table's items of its own keys, or S3
 * `.tflock` objects).
 */
function writeActions(role: Role, lockTable = "caja-terraform-locks"): string[] {
  const lockEntry = (g: Grant) =>
    (/^dynamodb:(PutItem|DeleteItem)$/.test(g.action) && g.resource.every((r) => r.endsWith(`:table/${lockTable}`)) && JSON.stringify(g.condition ?? {}).includes("dynamodb:LeadingKeys")) ||
    (/^s3:(PutObject|DeleteObject)$/.test(g.action) && g.resource.every((r) => r.endsWith(".tflock")));
  return [...new Set(role.allows.filter((g) => g.action === "*" || !READ_VERB.test(g.action)).filter((g) => !lockEntry(g)).map((g) => g.action))].sort();
}

// ---------------------------------------------------------------------------------------------
// What the workflow makes GitHub present, and which role each job asks for.

/**
 * The `sub` GitHub puts in a job's OIDC token for an event: its environment when the job declares
 * one; otherwise the pull request, or the branch it runs on (pushes are limited to the main branch
 * by the trigger, schedules run on the default branch, dispatches on the branch chosen; a dispatch
 * from another branch presents a subject no role trusts, which the test below proves).
 */
function subjectOf(job: Job, event: Event, main: string, matrixEnv?: string): string {
  const environment = job.environment?.includes("${{") ? matrixEnv : job.environment;
  if (environment) return `repo:${REPO}:environment:${environment}`;
  if (event === "pull_request") return `repo:${REPO}:pull_request`;
  return `repo:${REPO}:ref:refs/heads/${main}`;
}

/** Each (role assumed, matrix row) of a job: `${{ matrix.role }}` is resolved per row. */
function rolesAssumed(job: Job): { role: string; row?: Record<string, string> }[] {
  const arn = String(credentialStep(job)!.with!["role-to-assume"]);
  const name = arn.slice(arn.indexOf(":role/") + ":role/".length);
  const rows = job.strategy?.matrix?.include;
  if (!name.includes("${{")) return [{ role: name }];
  return (rows ?? []).map((row) => ({ role: name.replace(/\$\{\{ matrix\.([a-z]+) \}\}/g, (_, k: string) => row[k]!), row }));
}

interface Reach {
  job: string;
  event: Event;
  subject: string;
  role: string;
  trusted: boolean;
  writes: string[];
}

/** Every way the workflow reaches a role: job × event × matrix row. */
function reachability(wf: Workflow, roles: Map<string, Role>, main: string): Reach[] {
  const out: Reach[] = [];
  for (const [id, job] of Object.entries(wf.jobs)) {
    if (!credentialStep(job)) continue;
    for (const { role, row } of rolesAssumed(job)) {
      const compiled = roles.get(role);
      if (!compiled) throw new Error(`${id} assumes ${role}, which phase 0.5 does not create`);
      for (const event of eventsOf(job)) {
        const subject = subjectOf(job, event, main, row?.scope);
        out.push({ job: id, event, subject, role, trusted: compiled.subjects.includes(subject), writes: writeActions(compiled) });
      }
    }
  }
  return out;
}

/** Roles a pull request can obtain on its own, whatever the workflow in it says, that can write. */
function writableFromPullRequests(roles: Map<string, Role>): string[] {
  return [...roles.values()].filter((r) => r.subjects.some((s) => s.endsWith(":pull_request")) && (writeActions(r).length > 0 || r.hasNotAction)).map((r) => r.name);
}

describe("who can reach which role", () => {
  it.each([
    ["the base config", baseConfig()],
    ["four environments on a trunk branch", configWith({ github: { repository: REPO, mainBranch: "trunk" }, environments: { dev: {}, qa: {}, staging: {}, prod: {} } })],
    ["prod listed first", configWith({ environments: { prod: {}, dev: {} } })],
    ["S3 lockfiles and an account id", configWith({ accountId: "123456789012", state: { locking: "s3", bootstrapped: true } })],
  ])("pull requests and drift checks reach no write action; every apply reaches only its scope's deployer, in its environment: %s", (_name, config) => {
    const { wf, compiled } = workflowOf(config);
    const main = compiled.config.github.mainBranch;
    const roles = rolesOf(rootJson(compiled, OIDC_ROOT));
    const reach = reachability(wf, roles, main);
    const lockTable = compiled.config.state.lockTable;
    expect(reach.length).toBeGreaterThan(0);
    for (const r of reach) {
      // A job asking for a role that does not trust its subject would fail at run time: the workflow and phase 0.5 must agree.
      expect(r.trusted, `${r.job} on ${r.event} presents ${r.subject} to ${r.role}`).toBe(true);
      const role = roles.get(r.role)!;
      if (r.event === "pull_request" || r.event === "schedule") expect(writeActions(role, lockTable), `${r.job} on ${r.event} → ${r.role}`).toEqual([]);
      if (r.writes.length > 0) {
        const job = wf.jobs[r.job]!;
        expect(job.environment, `${r.job} holds ${r.role}, which can write`).toBeDefined();
        expect(r.subject).toBe(`repo:${REPO}:environment:${job.environment}`);
        expect(r.role).toMatch(new RegExp(`-deployer-${job.environment}$`));
        expect(r.event === "push" || r.event === "workflow_dispatch").toBe(true);
      }
    }
    // Whatever a pull request's own workflow says, no role trusting it can write, and no branch but the main one is trusted.
    expect(writableFromPullRequests(roles)).toEqual([]);
    for (const role of roles.values()) {
      for (const s of role.subjects) expect(s.includes(":ref:") ? s : `repo:${REPO}:ref:refs/heads/${main}`).toBe(`repo:${REPO}:ref:refs/heads/${main}`);
      expect(role.hasNotAction, role.name).toBe(false);
    }
    // Every deployer trusts exactly its GitHub environment; the writes are theirs alone.
    for (const role of roles.values()) {
      const scope = /-deployer-(.+)$/.exec(role.name)?.[1];
      if (scope) expect(role.subjects, role.name).toEqual([`repo:${REPO}:environment:${scope}`]);
      else expect(writeActions(role, lockTable), role.name).toEqual([]);
    }
  });

  it("catches a deployer role that trusts pull requests (the proof can fail)", () => {
    const { compiled } = workflowOf();
    const oidc = structuredClone(rootJson(compiled, OIDC_ROOT));
    const dev = oidc.resource.aws_iam_role.deployer_dev;
    const trust = JSON.parse(dev.assume_role_policy);
    trust.Statement[0].Condition.StringEquals[SUB] = [...asList(trust.Statement[0].Condition.StringEquals[SUB]), `repo:${REPO}:pull_request`];
    dev.assume_role_policy = JSON.stringify(trust);
    expect(writableFromPullRequests(rolesOf(oidc))).toEqual(["caja-terraform-deployer-dev"]);
  });

  it("catches a planner role given a write action, and a plan job pointed at a deployer", () => {
    const { wf, compiled } = workflowOf();
    const oidc = structuredClone(rootJson(compiled, OIDC_ROOT));
    const [label] = Object.entries<any>(oidc.resource.aws_iam_policy).find(([l]) => l.startsWith("planner_dev"))!;
    const doc = JSON.parse(oidc.resource.aws_iam_policy[label].policy);
    doc.Statement.push({ Effect: "Allow", Action: "ec2:TerminateInstances", Resource: "*" });
    oidc.resource.aws_iam_policy[label].policy = JSON.stringify(doc);
    expect(writableFromPullRequests(rolesOf(oidc))).toEqual(["caja-terraform-planner-dev"]);

    const roles = rolesOf(rootJson(compiled, OIDC_ROOT));
    const edited = structuredClone(wf);
    credentialStep(edited.jobs["plan-dev"]!)!.with!["role-to-assume"] = "arn:aws:iam::1:role/caja-terraform-deployer-dev";
    const bad = reachability(edited, roles, "main").filter((r) => r.job === "plan-dev");
    expect(bad.every((r) => !r.trusted)).toBe(true);
  });

  it("denies each deployer EC2 network writes to objects tagged for another environment", () => {
    const { compiled } = workflowOf();
    const oidc = rootJson(compiled, OIDC_ROOT);
    for (const env of ["dev", "staging", "prod"]) {
      const doc = JSON.parse(oidc.resource.aws_iam_policy[`deployer_${env}_network`].policy);
      const allow = doc.Statement.find((st: any) => st.Sid === "Ec2Network");
      const deny = doc.Statement.find((st: any) => st.Sid === "DenyEc2OtherEnvironments");
      expect(deny, env).toMatchObject({ Effect: "Deny", Resource: "*", Condition: { StringNotEquals: { "aws:ResourceTag/Environment": env }, Null: { "aws:ResourceTag/Environment": "false" } } });
      // Every write the Allow grants on "*" is covered, so no other environment's network can be changed.
      expect(deny.Action).toEqual(allow.Action);
      expect(allow.Action).toEqual(expect.arrayContaining(["ec2:DeleteVpc", "ec2:CreateRoute", "ec2:AuthorizeSecurityGroupIngress", "ec2:CreateTags"]));
    }
    // The environments' network roots tag every object with its environment.
    for (const env of ["dev", "staging", "prod"]) expect([rootJson(compiled, `${env}/20-network`).provider.aws].flat()[0].default_tags.tags.Environment).toBe(env);
  });

  it("gives planners reads, their own state and lock entries, and never a secret's value", () => {
    const { compiled } = workflowOf();
    const roles = rolesOf(rootJson(compiled, OIDC_ROOT));
    for (const role of [...roles.values()].filter((r) => r.name.includes("-planner-"))) {
      const actions = role.allows.map((g) => g.action);
      expect(actions.length, role.name).toBeGreaterThan(5);
      for (const secret of ["secretsmanager:GetSecretValue", "kms:Decrypt", "ssm:GetParameter", "ecr:GetAuthorizationToken"]) expect(actions, role.name).not.toContain(secret);
      const objectReads = role.allows.filter((g) => g.action === "s3:GetObject").flatMap((g) => g.resource);
      for (const r of objectReads) expect(r, role.name).toMatch(/^arn:aws:s3:::caja-terraform-state\/(env\/[a-z0-9-]+|global)\/\*$/);
    }
  });
});

describe("the workflow's shape", () => {
  it("plans pull requests and pushes that touch the config or out/, applies on push or dispatch, checks drift daily", () => {
    const { wf } = workflowOf();
    expect(wf.on.pull_request.paths).toEqual(["caja.config.ts", "out/**", WORKFLOW_FILE]);
    expect(wf.on.push.branches).toEqual(["main"]);
    expect(wf.on.push.paths).toEqual(["caja.config.ts", "out/**", "!out/docs/**", WORKFLOW_FILE]);
    expect(wf.on.workflow_dispatch.inputs.scope).toMatchObject({ type: "choice", required: true, options: ["global", "dev", "staging", "prod"] });
    expect(wf.on.schedule).toEqual([{ cron: expect.stringMatching(/^\d+ \d+ \* \* \*$/) }]);
  });

  it("orders scopes global → dev → staging on push, each planned before its apply; prod only by dispatch", () => {
    const { wf } = workflowOf();
    expect(needsOf(wf.jobs["plan-global"]!)).toEqual(["prepare"]);
    expect(needsOf(wf.jobs["plan-dev"]!)).toEqual(["prepare", "plan-global", "apply-global"]);
    expect(needsOf(wf.jobs["plan-staging"]!)).toEqual(["prepare", "plan-global", "apply-global", "plan-dev", "apply-dev"]);
    expect(needsOf(wf.jobs["plan-prod"]!)).toEqual(["prepare"]);
    for (const scope of ["global", "dev", "staging", "prod"]) {
      const apply = wf.jobs[`apply-${scope}`]!;
      expect(needsOf(apply)).toEqual([`plan-${scope}`]);
      expect(apply.environment).toBe(scope);
      // Only when its plan found changes, so no approval is asked for nothing; only from the main branch.
      expect(apply.if).toContain(`needs.plan-${scope}.outputs.changes == 'true'`);
      expect(apply.if).toContain("github.ref == 'refs/heads/main'");
    }
    expect(eventsOf(wf.jobs["apply-prod"]!)).toEqual(["workflow_dispatch"]);
    expect(eventsOf(wf.jobs["plan-prod"]!)).toEqual(["schedule", "workflow_dispatch"]);
    expect(eventsOf(wf.jobs["plan-dev"]!)).toEqual(["pull_request", "push", "schedule", "workflow_dispatch"]);
    // A push stops at the first failed scope: later scopes are neither planned nor applied.
    expect(wf.jobs["plan-staging"]!.if).toContain("github.event_name == 'push' && !contains(needs.*.result, 'failure') && !contains(needs.*.result, 'cancelled')");
  });

  it("applies exactly the plans its plan job saved and showed: same artifact, caja apply --plans", () => {
    const { wf } = workflowOf();
    for (const scope of ["global", "dev", "staging", "prod"]) {
      const plan = wf.jobs[`plan-${scope}`]!;
      const apply = wf.jobs[`apply-${scope}`]!;
      const planRun = plan.steps.find((s) => s.run?.startsWith("npx caja plan"))!;
      expect(planRun.run).toBe(
        `npx caja plan ${scope} --roots "$ROOTS" --save-plans "$RUNNER_TEMP/plans" --summary "$RUNNER_TEMP/plans/summary.md" --summary "$GITHUB_STEP_SUMMARY" --github-output "$GITHUB_OUTPUT" \${{ github.event_name == 'schedule' && '--detailed-exitcode' || '' }}`,
      );
      expect(planRun.env).toEqual({ ROOTS: `\${{ needs.prepare.outputs.${scope} }}` });
      expect(plan.outputs).toEqual({ changes: `\${{ steps.${planRun.id}.outputs.changes }}` });
      const upload = plan.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"))!;
      const download = apply.steps.find((s) => s.uses?.startsWith("actions/download-artifact@"))!;
      expect(upload.with).toMatchObject({ name: `plans-${scope}`, path: "${{ runner.temp }}/plans" });
      expect(download.with).toEqual({ name: `plans-${scope}`, path: "${{ runner.temp }}/plans" });
      expect(apply.steps.at(-1)!.run).toBe(`npx caja apply ${scope} --plans "$RUNNER_TEMP/plans" --summary "$GITHUB_STEP_SUMMARY"`);
      expect(apply.steps.some((s) => s.run?.includes("terraform"))).toBe(false);
    }
  });

  it("serializes each scope's plans on the main branch, applies and drift checks in one group, never cancelling an apply", () => {
    const { wf } = workflowOf();
    for (const scope of ["global", "dev", "staging", "prod"]) {
      expect(wf.jobs[`apply-${scope}`]!.concurrency).toBe(`caja-${scope}`);
      expect(wf.jobs[`plan-${scope}`]!.concurrency).toBe(`caja-${scope}\${{ github.event_name == 'pull_request' && format('-pr{0}', github.event.number) || '' }}`);
    }
    expect(wf.concurrency["cancel-in-progress"]).toBe("${{ github.event_name == 'pull_request' }}");
  });

  it("runs caja's commands and no program of its own, in under 300 lines", () => {
    const { wf, text } = workflowOf();
    expect(text.split("\n").length).toBeLessThan(300);
    expect(text).not.toMatch(/node -e|node --input-type|<<|github-script|set -e/);
    for (const [id, job] of Object.entries(wf.jobs)) {
      for (const step of job.steps.filter((s) => s.run !== undefined)) expect(step.run!, id).toMatch(/^(npm ci|npx caja [a-z]+ [^\n]*)$/);
    }
    const prepare = wf.jobs.prepare!.steps.map((s) => s.run ?? "");
    expect(prepare).toEqual(["", "", "npm ci", "", "npx caja compile --check", "npx caja test all", 'npx caja ci roots --changed-since "$BASE" >> "$GITHUB_OUTPUT"']);
  });

  it("pins every action by full commit with its version beside it, on current majors", () => {
    const { text } = workflowOf();
    const uses = [...text.matchAll(/^\s*(?:- )?uses: (\S+)(.*)$/gm)];
    expect(uses.length).toBeGreaterThan(10);
    const pinned = Object.values(ACTIONS).map((a) => `${a.uses}@${a.commit} # ${a.version}`);
    for (const [, ref, rest] of uses) {
      expect(ref).toMatch(/^[a-z0-9-]+\/[a-z0-9-]+(\/[a-z0-9-]+)?@[0-9a-f]{40}$/);
      expect(pinned).toContain(`${ref}${rest}`.trim());
    }
    const major = (name: keyof typeof ACTIONS) => Number(/^v(\d+)/.exec(ACTIONS[name].version)![1]);
    expect(major("uploadSarif")).toBeGreaterThanOrEqual(4);
    expect(major("checkout")).toBeGreaterThanOrEqual(5);
    expect(major("setupNode")).toBeGreaterThanOrEqual(5);
    expect(text).toMatch(/node-version: (2[4-9]|[3-9]\d)\b/);
  });

  it("grants each job the least it needs: id-token only where a role is assumed, code scanning apart and never in the way", () => {
    const { wf } = workflowOf();
    expect(wf.permissions).toEqual({});
    for (const [id, job] of Object.entries(wf.jobs)) {
      if (credentialStep(job)) expect(job.permissions, id).toEqual({ contents: "read", "id-token": "write" });
      else expect(job.permissions?.["id-token"], id).toBeUndefined();
    }
    expect(wf.jobs.prepare!.permissions).toEqual({ contents: "read" });
    expect(wf.jobs.comment!.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    const scanning = wf.jobs["code-scanning"]!;
    expect(scanning.permissions).toEqual({ actions: "read", contents: "read", "security-events": "write" });
    const upload = scanning.steps.find((s) => s.uses?.startsWith("github/codeql-action/upload-sarif@"))!;
    expect(upload["continue-on-error"]).toBe(true);
    expect(upload.with).toEqual({ sarif_file: "caja.sarif" });
    for (const job of Object.values(wf.jobs)) expect(needsOf(job)).not.toContain("code-scanning");
    for (const job of Object.values(wf.jobs)) expect(job.steps[0]!.with?.["persist-credentials"]).toBe(false);
  });

  it("comments one summary on the pull request from the plan artifacts and the estimate's change against the base branch, through caja ci comment", () => {
    const { wf } = workflowOf();
    const comment = wf.jobs.comment!;
    expect(needsOf(comment)).toEqual(["prepare", "plan-global", "plan-dev", "plan-staging"]);
    expect(comment.steps.at(-1)!.run).toBe('npx caja ci comment --pr "$PR" --summaries "$RUNNER_TEMP/plans" --scopes "global dev staging" --administered "$ADMINISTERED" --cost-since "$BASE"');
    expect(comment.steps.at(-1)!.env).toEqual({ PR: "${{ github.event.number }}", ADMINISTERED: "${{ needs.prepare.outputs.administered }}", BASE: "origin/${{ github.base_ref }}", GITHUB_TOKEN: "${{ github.token }}" });
    // The base branch's committed estimate is read from git history.
    expect(comment.steps[0]!.with?.["fetch-depth"]).toBe(0);
  });

  it("passes each undecided value a root needs as TF_VAR_ from a repository variable", () => {
    const { wf, text } = workflowOf(configWith({ defaults: { alarms: { emails: todo("on-call list") } } }));
    expect((wf as any).env).toEqual({ TF_VAR_alarm_emails: "${{ vars.TF_VAR_ALARM_EMAILS }}" });
    expect(text).toMatch(/^# - Repository variable TF_VAR_ALARM_EMAILS: /m);
    expect((workflowOf().wf as any).env).toBeUndefined();
  });

  it("writes the account id into the role ARNs when the config sets accountId, else reads a repository variable", () => {
    expect(credentialStep(workflowOf(configWith({ accountId: "123456789012" })).wf.jobs["apply-dev"]!)!.with!["role-to-assume"]).toBe("arn:aws:iam::123456789012:role/caja-terraform-deployer-dev");
    const { wf, text } = workflowOf();
    expect(credentialStep(wf.jobs["plan-dev"]!)!.with!["role-to-assume"]).toBe("arn:aws:iam::${{ vars.AWS_ACCOUNT_ID }}:role/caja-terraform-planner-dev");
    expect(text).not.toMatch(/aws-access-key-id|aws-secret-access-key|secrets\./);
  });

  it("is the same while github.repository is todo(): the roles trust the repository variable", () => {
    expect(workflowOf(configWith({ github: { repository: todo("not named yet") } })).text).toBe(workflowOf().text);
  });

  it("lists the one-time set-up in its header and nothing more: the administrator's roots, the environments, the variables", () => {
    const { text } = workflowOf();
    expect(text).toContain("# Pull requests: global, dev, staging. Push to main, in order: global (approval), dev, staging (approval).\n# Manual dispatch: any one scope, the only way for prod. Daily: a drift check of every scope.\n");
    const setup = text.slice(text.indexOf("# One-time set-up:"), text.indexOf("\nname:")).split("\n").filter((l) => l.startsWith("# - "));
    expect(setup).toEqual([
      "# - From an administrator's machine, in order: caja apply global/00-bootstrap, then global/05-iam-oidc (see the README: bootstrap's state moves into its bucket).",
      "# - GitHub environments global, dev, staging, prod, each limited to deployment branch main (what keeps another branch's jobs from its deployer role); required reviewers on global, staging, prod.",
      "# - Repository variable AWS_ACCOUNT_ID (or set accountId in the config).",
    ]);
  });
});

describe("the pipeline model", () => {
  it("puts global first, applies non-prod scopes on push and prod on dispatch, and leaves the administrator's roots out", () => {
    const compiled = compileWith(configWith({ environments: { dev: {}, qa: {}, staging: {}, prod: {} } }));
    const p = pipeline(compiled.config, compiled.plan);
    expect(p.scopes.map((s) => [s.name, s.applyOn, s.approval, s.plannedOnPullRequests])).toEqual([
      ["global", "push", true, true],
      ["dev", "push", false, true],
      ["qa", "push", true, true],
      ["staging", "push", true, true],
      ["prod", "dispatch", true, false],
    ]);
    expect(p.scopes[0]!.roots).toEqual(["global/10-domain", "global/90-hardening"]);
    expect(p.administeredRoots).toEqual(["global/00-bootstrap", "global/05-iam-oidc"]);
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

