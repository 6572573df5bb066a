/**
 * Phase 9 of the plan: the GitHub Actions pipeline `.github/workflows/infra-plan-apply.yml`, as
 * text, from the compiled config. Pure and deterministic.
 *
 * Who may assume which role is decided by phase 0.5 (the iam-oidc module); the pipeline follows
 * it and never restates it. Every scope (`global`, then each environment) has two roles:
 *
 * - its planner, read-only, trusted by pull requests (except for tier-prod environments) and by
 *   runs on the main branch: pull-request plans, the plan before each apply, daily drift checks;
 * - its deployer, trusted only by jobs running in the GitHub environment named like the scope:
 *   the apply jobs, which run after that environment's protection rules (its approval).
 *
 * So nothing a pull request can start holds a write-capable role, and every apply applies the
 * saved plans its approver saw (`caja plan --save-plans`, then `caja apply --plans`). The jobs run
 * caja's own commands; the workflow holds no program of its own.
 */
import type { ResolvedConfig } from "@caja/dsl/schema";
import { deployerRoleName, deployerTriggers, plannerRoleName, plannerTriggers } from "../../modules/src/iam-oidc.js";
import type { Plan } from "./plan.js";
import { isPipelineRoot } from "./run/ci.js";
import { annotated, toYaml, type YamlValue } from "./yaml.js";

export { toYaml, type YamlValue } from "./yaml.js";

/** Where `caja compile` writes the workflow, relative to the project folder. */
export const WORKFLOW_FILE = ".github/workflows/infra-plan-apply.yml";
/** The Terraform the pipeline installs (S3 lockfiles need >= 1.10). */
export const PIPELINE_TERRAFORM_VERSION = "1.11.4";
/** An LTS Node the project supports (engines: >= 20.11); 20 is past its end of life. */
export const PIPELINE_NODE_VERSION = 24;
/** Daily drift check, UTC (off the hour, when scheduled runs queue least). */
export const DRIFT_CRON = "23 5 * * *";

/** Every action, pinned by full commit (a tag can be moved), with its release in a comment. All run on Node 24. */
export const ACTIONS = {
  checkout: { uses: "actions/checkout", commit: "3d3c42e5aac5ba805825da76410c181273ba90b1", version: "v7.0.1" },
  setupNode: { uses: "actions/setup-node", commit: "820762786026740c76f36085b0efc47a31fe5020", version: "v7.0.0" },
  setupTerraform: { uses: "hashicorp/setup-terraform", commit: "dfe3c3f87815947d99a8997f908cb6525fc44e9e", version: "v4.0.1" },
  awsCredentials: { uses: "aws-actions/configure-aws-credentials", commit: "e6de054238d6b7531b4efff3b6587d9aade6a06c", version: "v6.2.3" },
  upload: { uses: "actions/upload-artifact", commit: "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", version: "v7.0.0" },
  download: { uses: "actions/download-artifact", commit: "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", version: "v8.0.1" },
  uploadSarif: { uses: "github/codeql-action/upload-sarif", commit: "8aad20d150bbac5944a9f9d289da16a4b0d87c1e", version: "v4.36.2" },
} as const;

export interface PipelineScope {
  /** `global` or an environment. */
  readonly name: string;
  readonly deployer: string;
  readonly planner: string;
  /** Its planner trusts pull requests, so they are planned. */
  readonly plannedOnPullRequests: boolean;
  /** `push`: planned and applied on every push to the main branch (after the scopes before it); `dispatch`: only by manual dispatch. */
  readonly applyOn: "push" | "dispatch";
  /** Whether its GitHub environment should require reviewers (all but the first environment, applied on every push). */
  readonly approval: boolean;
  /** The roots the pipeline plans and applies, in apply order. */
  readonly roots: readonly string[];
  /** Terraform variables of those roots that stand for a `todo()`: passed as `TF_VAR_*` from repository variables. */
  readonly todoVariables: readonly string[];
}

export interface Pipeline {
  readonly mainBranch: string;
  readonly region: string;
  readonly accountId?: string;
  /** Scopes with roots to run, in apply order: `global` first. */
  readonly scopes: readonly PipelineScope[];
  /** Roots applied from an administrator's machine, in apply order. */
  readonly administeredRoots: readonly string[];
}

export function pipeline(config: ResolvedConfig, plan: Pick<Plan, "roots">): Pipeline {
  const firstEnv = Object.values(config.environments).find((e) => e.tier !== "prod")?.name;
  const scopes = [...new Set(plan.roots.map((r) => r.scope))].flatMap((name): PipelineScope[] => {
    const roots = plan.roots.filter((r) => r.scope === name && isPipelineRoot(r));
    if (roots.length === 0) return [];
    const env = config.environments[name];
    if (deployerTriggers(config, name).some((t) => t.kind !== "environment")) throw new Error(`internal: the ${name} deployer role trusts more than its GitHub environment`);
    return [
      {
        name,
        deployer: deployerRoleName(config.project, name),
        planner: plannerRoleName(config.project, name),
        plannedOnPullRequests: plannerTriggers(config, name).some((t) => t.kind === "pull_request"),
        applyOn: env?.tier === "prod" ? "dispatch" : "push",
        approval: name !== firstEnv,
        roots: roots.map((r) => r.id),
        todoVariables: [...new Set(roots.flatMap((r) => r.todos.map((t) => t.variable)))].sort(),
      },
    ];
  });
  return {
    mainBranch: config.github.mainBranch,
    region: config.region,
    ...(config.accountId ? { accountId: config.accountId } : {}),
    scopes,
    administeredRoots: plan.roots.filter((r) => !isPipelineRoot(r)).map((r) => r.id),
  };
}

export interface WorkflowOptions {
  /** Output directory relative to the project folder, `/`-separated (`out`). */
  readonly outDir: string;
  /** The config file relative to the project folder (`caja.config.ts`). */
  readonly configFile: string;
  /** Pass `--config` to caja (the file is not one caja finds by default). */
  readonly configArg?: boolean;
  /** Files besides the config whose changes trigger the workflow (the config's local imports). */
  readonly imports?: readonly string[];
}

/** The workflow file's text. */
export function workflowYaml(config: ResolvedConfig, plan: Pick<Plan, "roots">, options: WorkflowOptions): string {
  const p = pipeline(config, plan);
  requirePlainWords(p, options);
  const out = options.outDir;
  const account = p.accountId ?? "${{ vars.AWS_ACCOUNT_ID }}";
  const where = `${options.configArg ? ` --config ${options.configFile}` : ""}${out !== "out" ? ` --out ${out}` : ""}`;
  const paths = [...new Set([options.configFile, ...(options.imports ?? []), `${out}/**`, WORKFLOW_FILE])];
  const pushPaths = paths.flatMap((path) => (path === `${out}/**` ? [path, `!${out}/docs/**`] : [path]));
  const pr = "github.event_name == 'pull_request'";
  const dispatched = (s: PipelineScope) => `github.event_name == 'workflow_dispatch' && inputs.scope == '${s.name}'`;
  const chain = p.scopes.filter((s) => s.applyOn === "push");

  const jobs: Record<string, YamlValue> = {
    prepare: {
      name: "Check out/ and choose the roots",
      "runs-on": "ubuntu-latest",
      permissions: { contents: "read" },
      outputs: Object.fromEntries([...p.scopes.map((s) => s.name), "administered"].map((k) => [k, `\${{ steps.roots.outputs.${k} }}`])),
      steps: [
        ...setup({ "fetch-depth": 0 }),
        setupTerraform(),
        { name: "out/ is what the config compiles to", run: `npx caja compile --check${where}` },
        { name: "Validate and mock-apply every root (terraform test)", run: `npx caja test all${where}` },
        {
          name: "Roots to run: on a pull request, the changed ones and every root that reads them",
          id: "roots",
          env: { BASE: "${{ github.base_ref && format('origin/{0}', github.base_ref) || '' }}" },
          run: `npx caja ci roots --changed-since "$BASE"${where} >> "$GITHUB_OUTPUT"`,
        },
      ],
    },
    "code-scanning": {
      name: "Security gate findings to code scanning",
      if: "github.event_name != 'schedule'",
      "runs-on": "ubuntu-latest",
      // Code scanning on a private repository reads the run (actions: read).
      permissions: { actions: "read", contents: "read", "security-events": "write" },
      steps: [
        ...setup(),
        { run: `npx caja check --format sarif --output caja.sarif${where}` },
        // Nothing waits for this job, and a repository without code scanning only gets a warning.
        { uses: action("uploadSarif"), "continue-on-error": true, with: { sarif_file: "caja.sarif" } },
      ],
    },
  };

  for (const s of p.scopes) {
    const before = chain.slice(0, chain.indexOf(s)).flatMap((b) => [`plan-${b.name}`, `apply-${b.name}`]);
    const events = [
      ...(s.plannedOnPullRequests ? [`(${pr} && !github.event.pull_request.head.repo.fork)`] : []),
      ...(s.applyOn === "push" ? [`(github.event_name == 'push' && !contains(needs.*.result, 'failure') && !contains(needs.*.result, 'cancelled'))`] : []),
      "github.event_name == 'schedule'",
      `(${dispatched(s)})`,
    ];
    jobs[`plan-${s.name}`] = {
      needs: ["prepare", ...(s.applyOn === "push" ? before : [])],
      if: `\${{ !cancelled() && needs.prepare.result == 'success' && needs.prepare.outputs.${s.name} != '' && (${events.join(" || ")}) }}`,
      "runs-on": "ubuntu-latest",
      permissions: { contents: "read", "id-token": "write" },
      // On the main branch the scope's one group, shared with its applies and drift checks; pull requests plan side by side.
      concurrency: `caja-${s.name}\${{ ${pr} && format('-pr{0}', github.event.number) || '' }}`,
      outputs: { changes: "${{ steps.plan.outputs.changes }}" },
      steps: [
        ...setup(),
        setupTerraform(),
        credentials(s.planner, account, p.region, `plan-${s.name}`),
        {
          id: "plan",
          env: { ROOTS: `\${{ needs.prepare.outputs.${s.name} }}` },
          // The daily run is the drift check: any change fails the job, and the summary lists the drifted roots.
          run: `npx caja plan ${s.name} --roots "$ROOTS"${where} --save-plans "$RUNNER_TEMP/plans" --summary "$RUNNER_TEMP/plans/summary.md" --summary "$GITHUB_STEP_SUMMARY" --github-output "$GITHUB_OUTPUT" \${{ github.event_name == 'schedule' && '--detailed-exitcode' || '' }}`,
        },
        { uses: action("upload"), if: "always()", with: { name: `plans-${s.name}`, path: "${{ runner.temp }}/plans", "if-no-files-found": "ignore", "retention-days": 7 } },
      ],
    };
    jobs[`apply-${s.name}`] = {
      needs: `plan-${s.name}`,
      if: `needs.plan-${s.name}.outputs.changes == 'true' && github.ref == 'refs/heads/${p.mainBranch}' && (${s.applyOn === "push" ? "github.event_name == 'push' || " : ""}${dispatched(s)})`,
      "runs-on": "ubuntu-latest",
      // The deployer role trusts only this environment's subject, presented after its protection rules pass.
      environment: s.name,
      permissions: { contents: "read", "id-token": "write" },
      // Queued behind the scope's running plan, apply or drift check; never cancelled (the default).
      concurrency: `caja-${s.name}`,
      steps: [
        ...setup(),
        setupTerraform(),
        credentials(s.deployer, account, p.region, `apply-${s.name}`),
        { uses: action("download"), with: { name: `plans-${s.name}`, path: "${{ runner.temp }}/plans" } },
        { run: `npx caja apply ${s.name} --plans "$RUNNER_TEMP/plans"${where} --summary "$GITHUB_STEP_SUMMARY"` },
      ],
    };
  }

  const prPlanned = p.scopes.filter((s) => s.plannedOnPullRequests);
  if (prPlanned.length > 0) {
    jobs.comment = {
      name: "Plan summary on the pull request",
      needs: ["prepare", ...prPlanned.map((s) => `plan-${s.name}`)],
      if: `\${{ !cancelled() && ${pr} && !github.event.pull_request.head.repo.fork && needs.prepare.result == 'success' }}`,
      "runs-on": "ubuntu-latest",
      permissions: { contents: "read", "pull-requests": "write" },
      steps: [
        // The base branch's history: the estimate is compared with the one committed there.
        ...setup({ "fetch-depth": 0 }),
        { uses: action("download"), "continue-on-error": true, with: { pattern: "plans-*", path: "${{ runner.temp }}/plans" } },
        {
          env: { PR: "${{ github.event.number }}", ADMINISTERED: "${{ needs.prepare.outputs.administered }}", BASE: "origin/${{ github.base_ref }}", GITHUB_TOKEN: "${{ github.token }}" },
          run: `npx caja ci comment --pr "$PR" --summaries "$RUNNER_TEMP/plans" --scopes "${prPlanned.map((s) => s.name).join(" ")}" --administered "$ADMINISTERED" --cost-since "$BASE"${where}`,
        },
      ],
    };
  }

  const doc: Record<string, YamlValue> = {
    name: "infra-plan-apply",
    on: {
      pull_request: { paths },
      // Docs alone change nothing deployed.
      push: { branches: [p.mainBranch], paths: pushPaths },
      workflow_dispatch: { inputs: { scope: { description: "Scope to plan, then apply after its approval", type: "choice", required: true, options: p.scopes.map((s) => s.name) } } },
      schedule: [{ cron: DRIFT_CRON }],
    },
    permissions: {},
    // A new push to a pull request cancels its running checks; on the main branch nothing is cancelled.
    concurrency: { group: `\${{ github.workflow }}-\${{ ${pr} && github.ref || github.run_id }}`, "cancel-in-progress": `\${{ ${pr} }}` },
    // Values the config leaves undecided (todo()), from repository variables: plain settings, not secrets.
    ...todoEnv([...new Set(p.scopes.flatMap((s) => s.todoVariables))].sort()),
    jobs,
  };
  return `${header(p, options).map((l) => (l ? `# ${l}` : "#")).join("\n")}\n${toYaml(doc)}`;
}

/** Letters, digits and `_ . / -`: nothing a shell, YAML or a GitHub expression reads as syntax. */
const PLAIN_WORD = /^[A-Za-z0-9_./-]+$/;

/**
 * Every value the workflow takes from the config or the command line lands unquoted in `run:`
 * scripts, `if:` conditions or `${{ }}` expressions. The schema (and, for paths, the caller)
 * already limits each to plain words; checked again here, so that a looser rule one day stops the
 * compile instead of writing a pipeline that runs a config string as shell or as an expression.
 */
function requirePlainWords(p: Pipeline, options: WorkflowOptions): void {
  const words: [string, string][] = [
    ["github.mainBranch", p.mainBranch],
    ["region", p.region],
    ["accountId", p.accountId ?? "0"],
    ["--out", options.outDir],
    ["the config file", options.configFile],
    ...(options.imports ?? []).map((f): [string, string] => ["an import of the config", f]),
    ...p.administeredRoots.map((r): [string, string] => ["a root", r]),
    ...p.scopes.flatMap((s): [string, string][] => [
      ["a scope", s.name],
      ["a role", s.deployer],
      ["a role", s.planner],
      ...s.roots.map((r): [string, string] => ["a root", r]),
      ...s.todoVariables.map((v): [string, string] => ["a variable", v]),
    ]),
  ];
  for (const [what, word] of words) {
    if (!PLAIN_WORD.test(word)) throw new Error(`internal: ${what} ${JSON.stringify(word)} reached the workflow with characters outside letters, digits and _ . / -`);
  }
}

function header(p: Pipeline, options: WorkflowOptions): string[] {
  const names = (list: readonly PipelineScope[]) => list.map((s) => s.name).join(", ") || "none";
  const push = p.scopes.filter((s) => s.applyOn === "push");
  return [
    `Generated by caja from ${options.configFile} (plan phase 9). Edit the config and run \`npx caja compile\`; do not edit this file.`,
    "",
    "Each scope is planned with its read-only planner role; the plans are saved and shown in the job summary (on pull",
    "requests also in one comment). Its apply job runs in the GitHub environment named like the scope, so after that",
    "environment's rules, and applies exactly those plans with the scope's deployer role. No apply is ever cancelled.",
    `Pull requests: ${names(p.scopes.filter((s) => s.plannedOnPullRequests))}. Push to ${p.mainBranch}, in order: ${push.map((s) => (s.approval ? `${s.name} (approval)` : s.name)).join(", ")}.`,
    `Manual dispatch: any one scope${p.scopes.some((s) => s.applyOn === "dispatch") ? `, the only way for ${names(p.scopes.filter((s) => s.applyOn === "dispatch"))}` : ""}. Daily: a drift check of every scope.`,
    "",
    "One-time set-up:",
    ...pipelineSetup(p).map((l) => `- ${l}`),
    "",
  ];
}

/** What a person does once, outside this workflow, for it to run. */
export function pipelineSetup(p: Pipeline): string[] {
  const vars = [...new Set(p.scopes.flatMap((s) => s.todoVariables))].sort();
  return [
    ...(p.administeredRoots.length > 0 ? [`From an administrator's machine, in order: caja apply ${p.administeredRoots.join(", then ")} (see the README: bootstrap's state moves into its bucket).`] : []),
    `GitHub environments ${p.scopes.map((s) => s.name).join(", ")}, each limited to deployment branch ${p.mainBranch} (what keeps another branch's jobs from its deployer role); required reviewers on ${p.scopes.filter((s) => s.approval).map((s) => s.name).join(", ") || "none"}.`,
    ...(p.accountId ? [] : ["Repository variable AWS_ACCOUNT_ID (or set accountId in the config)."]),
    ...vars.map((v) => `Repository variable TF_VAR_${v.toUpperCase()}: the undecided ${v} (a todo() in the config).`),
  ];
}

function action(name: keyof typeof ACTIONS): YamlValue {
  const a = ACTIONS[name];
  return annotated(`${a.uses}@${a.commit}`, a.version);
}

/** Check out (without keeping the token on disk), Node with npm's cache, and the project's packages. */
function setup(checkout: Record<string, YamlValue> = {}): YamlValue[] {
  return [
    { uses: action("checkout"), with: { ...checkout, "persist-credentials": false } },
    { uses: action("setupNode"), with: { "node-version": PIPELINE_NODE_VERSION, cache: "npm" } },
    { run: "npm ci" },
  ];
}

function setupTerraform(): YamlValue {
  return { uses: action("setupTerraform"), with: { terraform_version: PIPELINE_TERRAFORM_VERSION, terraform_wrapper: false } };
}

function credentials(role: string, account: string, region: string, session: string): YamlValue {
  return {
    uses: action("awsCredentials"),
    // The audience is the action's default, the one the roles' trust policies require.
    with: { "role-to-assume": `arn:aws:iam::${account}:role/${role}`, "role-session-name": `caja-${session}-\${{ github.run_id }}`, "aws-region": region },
  };
}

function todoEnv(variables: readonly string[]): { env?: Record<string, YamlValue> } {
  if (variables.length === 0) return {};
  return { env: Object.fromEntries(variables.map((v) => [`TF_VAR_${v}`, `\${{ vars.TF_VAR_${v.toUpperCase()} }}`])) };
}
