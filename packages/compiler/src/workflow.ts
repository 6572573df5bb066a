/**
 * Phase 9 of the plan: the GitHub Actions pipeline `.github/workflows/infra-plan-apply.yml`, as
 * text, from the compiled config. Pure and deterministic.
 *
 * Who may assume which deployer role is decided by phase 0.5 (`deployerTriggers` in the iam-oidc
 * module). The pipeline is derived from that rule, never restated: each job takes one trigger the
 * role of its environment trusts and runs only on the events that present that trigger's OIDC
 * subject (`environment:` for an environment trigger; the pull request or the main branch
 * otherwise). So the workflow and the roles agree by construction:
 *
 * - an environment whose role trusts pull requests is planned on pull requests;
 * - the one whose role trusts pushes to the main branch is applied on every push;
 * - one that trusts pull requests but not the branch is applied on push from its GitHub
 *   environment, after that environment's approval;
 * - one that trusts only its GitHub environment (tier prod) is applied by manual dispatch only.
 *
 * Global roots are not run here: the deployer roles may neither change the OIDC provider and roles
 * nor write global state (phase 0.5 denies it), so they are applied from an administrator's machine.
 */
import type { ResolvedConfig } from "@caja/dsl/schema";
import { deployerRoleName, deployerTriggers, STS_AUDIENCE, type DeployerTrigger } from "../../modules/src/iam-oidc.js";
import type { Plan } from "./plan.js";

/** Where `caja compile` writes the workflow, relative to the project folder. */
export const WORKFLOW_FILE = ".github/workflows/infra-plan-apply.yml";
/** The Terraform the pipeline installs (the roots need >= 1.7; S3 lockfiles need >= 1.10). */
export const PIPELINE_TERRAFORM_VERSION = "1.11.4";
export const PIPELINE_NODE_VERSION = 20;
/** Daily drift check, UTC (off the hour, when scheduled runs queue least). */
export const DRIFT_CRON = "23 5 * * *";

const ACTIONS = {
  checkout: "actions/checkout@v4",
  setupNode: "actions/setup-node@v4",
  setupTerraform: "hashicorp/setup-terraform@v3",
  awsCredentials: "aws-actions/configure-aws-credentials@v4",
  upload: "actions/upload-artifact@v4",
  download: "actions/download-artifact@v4",
  script: "actions/github-script@v7",
  uploadSarif: "github/codeql-action/upload-sarif@v3",
} as const;

export type ApplyMode = "push" | "approval" | "dispatch";

export interface PipelineEnv {
  readonly name: string;
  /** The deployer role of phase 0.5. */
  readonly role: string;
  /** The trigger plan jobs present on pull requests; absent when the role does not trust them. */
  readonly planTrigger?: DeployerTrigger;
  readonly apply: ApplyMode;
  readonly applyTrigger: DeployerTrigger;
  readonly driftTrigger: DeployerTrigger;
  /** On push: the environment whose apply must succeed first. */
  readonly after?: string;
  /** Roots the pipeline plans and applies, in apply order. */
  readonly roots: readonly string[];
  /** Terraform variables of those roots that stand for a `todo()`: the pipeline passes them as `TF_VAR_*`. */
  readonly todoVariables: readonly string[];
}

export interface Pipeline {
  readonly mainBranch: string;
  readonly region: string;
  readonly accountId?: string;
  readonly envs: readonly PipelineEnv[];
  /** Roots the pipeline does not run, in apply order (global roots, and roots with local state). */
  readonly manualRoots: readonly string[];
}

export function pipeline(config: ResolvedConfig, plan: Pick<Plan, "roots">): Pipeline {
  const runnable = (r: Plan["roots"][number]) => r.scope !== "global" && r.backend.type === "s3";
  let previous: string | undefined;
  const envs = Object.values(config.environments).map((env): PipelineEnv => {
    const triggers = deployerTriggers(config, env.name);
    const pr = triggers.find((t) => t.kind === "pull_request");
    const branch = triggers.find((t) => t.kind === "branch" && t.branch === config.github.mainBranch);
    const environment = triggers.find((t) => t.kind === "environment");
    if (!environment) throw new Error(`internal: the ${env.name} deployer role trusts no GitHub environment`);
    const apply: ApplyMode = branch ? "push" : pr ? "approval" : "dispatch";
    const roots = plan.roots.filter((r) => r.scope === env.name && runnable(r));
    const after = apply === "dispatch" ? undefined : previous;
    if (apply !== "dispatch") previous = env.name;
    return {
      name: env.name,
      role: deployerRoleName(config.project, env.name),
      ...(pr ? { planTrigger: pr } : {}),
      apply,
      applyTrigger: branch ?? environment,
      driftTrigger: branch ?? environment,
      ...(after && apply === "approval" ? { after } : {}),
      roots: roots.map((r) => r.id),
      todoVariables: [...new Set(roots.flatMap((r) => r.todos.map((t) => t.variable)))].sort(),
    };
  });
  return {
    mainBranch: config.github.mainBranch,
    region: config.region,
    ...(config.accountId ? { accountId: config.accountId } : {}),
    envs,
    manualRoots: plan.roots.filter((r) => !runnable(r)).map((r) => r.id),
  };
}

export interface WorkflowOptions {
  /** Output directory relative to the project folder, `/`-separated (`out`). */
  readonly outDir: string;
  /** The config file relative to the project folder (`caja.config.ts`). */
  readonly configFile: string;
  /** Pass `--config` to `caja compile --check` (the file is not one caja finds by default). */
  readonly configArg?: boolean;
  /** Files besides the config whose changes trigger the workflow (the config's local imports). */
  readonly imports?: readonly string[];
}

/** The workflow file's text. */
export function workflowYaml(config: ResolvedConfig, plan: Pick<Plan, "roots">, options: WorkflowOptions): string {
  const p = pipeline(config, plan);
  requirePlainWords(p, options);
  const out = options.outDir;
  const main = `refs/heads/${p.mainBranch}`;
  const account = p.accountId ?? "${{ vars.AWS_ACCOUNT_ID }}";
  const paths = [...new Set([options.configFile, ...(options.imports ?? []), `${out}/**`, WORKFLOW_FILE])];
  const compileCheck = `npx caja compile --check${options.configArg ? ` --config ${shellWord(options.configFile)}` : ""}${out !== "out" ? ` --out ${shellWord(out)}` : ""}`;
  const planned = p.envs.filter((e) => e.planTrigger);

  const prepareOutputs: Record<string, YamlValue> = {};
  for (const e of p.envs) {
    prepareOutputs[`all_${e.name}`] = `\${{ steps.roots.outputs.all_${e.name} }}`;
    if (e.planTrigger) prepareOutputs[`changed_${e.name}`] = `\${{ steps.roots.outputs.changed_${e.name} }}`;
  }
  prepareOutputs.changed_global = "${{ steps.roots.outputs.changed_global }}";

  const jobs: Record<string, YamlValue> = {
    prepare: {
      name: "Check the generated output",
      "runs-on": "ubuntu-latest",
      // security-events: the security gate's findings go to GitHub code scanning.
      permissions: { contents: "read", "security-events": "write" },
      outputs: prepareOutputs,
      steps: [
        { uses: ACTIONS.checkout, with: { "fetch-depth": 0 } },
        { uses: ACTIONS.setupNode, with: { "node-version": PIPELINE_NODE_VERSION, cache: "npm" } },
        { run: "npm ci" },
        { name: "out/ is what the config compiles to", run: compileCheck },
        {
          name: "Security gate findings as SARIF",
          run: `npx caja check --format sarif --output caja.sarif${options.configArg ? ` --config ${shellWord(options.configFile)}` : ""}`,
        },
        { name: "Upload the findings to code scanning", if: "always()", uses: ACTIONS.uploadSarif, with: { sarif_file: "caja.sarif", category: "caja" } },
        { name: "Every JSON file is well-formed and canonical (sorted keys, two-space indent)", run: nodeScript(jsonCheckScript(out)) },
        setupTerraform(),
        {
          name: "terraform validate (every root)",
          run: [
            "set -euo pipefail",
            'mkdir -p "$TF_PLUGIN_CACHE_DIR"',
            `for dir in $(node -e 'for (const r of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).roots) console.log(r.dir)' ${shellWord(`${out}/manifest.json`)}); do`,
            `  echo "::group::$dir"`,
            `  terraform -chdir="${out}/$dir" init -backend=false -input=false -no-color`,
            `  terraform -chdir="${out}/$dir" validate -no-color`,
            `  echo "::endgroup::"`,
            "done",
          ].join("\n"),
        },
        {
          name: "Roots to plan and apply, in manifest order",
          id: "roots",
          env: { BASE_REF: "${{ github.base_ref }}" },
          run: [
            "set -euo pipefail",
            'if [ "$GITHUB_EVENT_NAME" = pull_request ]; then',
            '  git diff --name-only "origin/$BASE_REF...HEAD" > "$RUNNER_TEMP/changed-files"',
            '  export CHANGED_FILES="$RUNNER_TEMP/changed-files"',
            "fi",
            nodeScript(rootsScript(out, p)),
          ].join("\n"),
        },
      ],
    },
  };

  for (const e of planned) {
    jobs[`plan-${e.name}`] = {
      name: `Plan ${e.name}`,
      needs: "prepare",
      if: "github.event_name == 'pull_request'",
      "runs-on": "ubuntu-latest",
      permissions: { contents: "read", "id-token": "write" },
      ...todoEnv(e),
      steps: [
        { uses: ACTIONS.checkout },
        setupTerraform(),
        credentials(e, account, p.region, "plan", `needs.prepare.outputs.changed_${e.name} != ''`),
        {
          name: `terraform plan (changed ${e.name} roots and their dependents)`,
          env: { ROOTS: `\${{ needs.prepare.outputs.changed_${e.name} }}`, SUMMARY: `\${{ runner.temp }}/summary/${e.name}.md` },
          run: planScript(out, e.name),
        },
        {
          uses: ACTIONS.upload,
          if: "always()",
          with: { name: `plan-${e.name}`, path: `${out}/${e.name}/*/plan.tfplan\n${out}/${e.name}/*/plan.txt\n`, "if-no-files-found": "ignore", "retention-days": 14 },
        },
        { uses: ACTIONS.upload, if: "always()", with: { name: `plan-summary-${e.name}`, path: `\${{ runner.temp }}/summary/${e.name}.md` } },
      ],
    };
  }

  if (planned.length > 0) {
    const unplanned = p.envs.filter((e) => !e.planTrigger).map((e) => e.name);
    jobs.comment = {
      name: "Plan summary on the pull request",
      needs: ["prepare", ...planned.map((e) => `plan-${e.name}`)],
      if: "always() && github.event_name == 'pull_request' && needs.prepare.result == 'success'",
      "runs-on": "ubuntu-latest",
      permissions: { "pull-requests": "write" },
      steps: [
        { uses: ACTIONS.download, "continue-on-error": true, with: { pattern: "plan-summary-*", path: "summary", "merge-multiple": true } },
        {
          uses: ACTIONS.script,
          env: {
            CHANGED_GLOBAL: "${{ needs.prepare.outputs.changed_global }}",
            ENVS: planned.map((e) => e.name).join(" "),
            UNPLANNED: unplanned.join(" "),
          },
          with: { script: commentScript() },
        },
      ],
    };
  }

  for (const e of p.envs) {
    const on =
      e.apply === "dispatch"
        ? `github.event_name == 'workflow_dispatch' && inputs.environment == '${e.name}'`
        : `(github.event_name == 'push'${e.after ? ` && needs.apply-${e.after}.result == 'success'` : ""}) || (github.event_name == 'workflow_dispatch' && inputs.environment == '${e.name}')`;
    const needs = e.after ? ["prepare", `apply-${e.after}`] : "prepare";
    const condition = e.after
      ? `\${{ !cancelled() && needs.prepare.result == 'success' && github.ref == '${main}' && (${on}) }}`
      : `github.ref == '${main}' && (${on})`;
    jobs[`apply-${e.name}`] = {
      name: `Apply ${e.name}`,
      needs,
      if: condition,
      "runs-on": "ubuntu-latest",
      ...environmentOf(e.applyTrigger),
      permissions: { contents: "read", "id-token": "write" },
      concurrency: { group: `caja-apply-${e.name}`, "cancel-in-progress": false },
      ...todoEnv(e),
      steps: [
        { uses: ACTIONS.checkout },
        setupTerraform(),
        credentials(e, account, p.region, "apply"),
        { name: `terraform apply (every ${e.name} root, in manifest order)`, env: { ROOTS: `\${{ needs.prepare.outputs.all_${e.name} }}` }, run: applyScript(out) },
      ],
    };
  }

  for (const e of p.envs) {
    jobs[`drift-${e.name}`] = {
      name: `Drift check ${e.name}`,
      needs: "prepare",
      if: "github.event_name == 'schedule'",
      "runs-on": "ubuntu-latest",
      ...environmentOf(e.driftTrigger),
      permissions: { contents: "read", "id-token": "write" },
      ...todoEnv(e),
      steps: [
        { uses: ACTIONS.checkout },
        setupTerraform(),
        credentials(e, account, p.region, "drift"),
        { name: `terraform plan -detailed-exitcode (every ${e.name} root)`, env: { ROOTS: `\${{ needs.prepare.outputs.all_${e.name} }}` }, run: driftScript(out, e.name) },
      ],
    };
  }

  const doc: Record<string, YamlValue> = {
    name: "infra-plan-apply",
    on: {
      pull_request: { paths },
      // Docs alone change nothing deployed.
      push: { branches: [p.mainBranch], paths: [...paths.slice(0, paths.indexOf(`${out}/**`) + 1), `!${out}/docs/**`, ...paths.slice(paths.indexOf(`${out}/**`) + 1)] },
      workflow_dispatch: {
        inputs: {
          environment: { description: "Environment to apply", type: "choice", required: true, options: p.envs.map((e) => e.name) },
        },
      },
      schedule: [{ cron: DRIFT_CRON }],
    },
    permissions: { contents: "read" },
    // A new push to a pull request cancels its running checks; other runs never wait for each other
    // here (each environment's applies are serialized by their job's own concurrency group).
    concurrency: { group: "${{ github.workflow }}-${{ github.event_name == 'pull_request' && github.ref || github.run_id }}", "cancel-in-progress": true },
    env: { TF_IN_AUTOMATION: "1", TF_INPUT: "0", CHECKPOINT_DISABLE: "1", TF_PLUGIN_CACHE_DIR: "${{ github.workspace }}/.terraform-plugin-cache", TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE: "true" },
    jobs,
  };
  return `${header(p, options, out).map((l) => (l ? `# ${l}` : "#")).join("\n")}\n${toYaml(doc)}`;
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
    ...p.manualRoots.map((r): [string, string] => ["a root", r]),
    ...p.envs.flatMap((e): [string, string][] => [
      ["an environment", e.name],
      ["a deployer role", e.role],
      ...e.roots.map((r): [string, string] => ["a root", r]),
      ...e.todoVariables.map((v): [string, string] => ["a variable", v]),
    ]),
  ];
  for (const [what, word] of words) {
    if (!PLAIN_WORD.test(word)) throw new Error(`internal: ${what} ${JSON.stringify(word)} reached the workflow with characters outside letters, digits and _ . / -`);
  }
}

function header(p: Pipeline, options: WorkflowOptions, out: string): string[] {
  const mode = (e: PipelineEnv) =>
    e.apply === "push" ? `on every push to ${p.mainBranch}` : e.apply === "approval" ? `on push, after ${e.after ? `${e.after} applied and ` : ""}the "${e.name}" environment's approval` : `only by manual dispatch, in the "${e.name}" environment`;
  return [
    `Generated by caja from ${options.configFile} (plan phase 9). Edit the config and run \`npx caja compile\`; do not edit this file.`,
    "",
    `Pull requests touching the config or ${out}/: check ${out}/ is current, every JSON file canonical and every root valid,`,
    `then plan the changed roots and their dependents in manifest order, upload the plans and comment a summary.`,
    ...p.envs.map((e) => `${e.name}: ${e.planTrigger ? "planned on pull requests; " : "not planned on pull requests (its role trusts only its environment); "}applied ${mode(e)}; role ${e.role}.`),
    `Daily: drift check (\`terraform plan -detailed-exitcode\`) of every environment root; the run fails and reports drifted roots.`,
    "",
    "Set up once in the repository settings:",
    ...pipelineSetup(p).map((l) => `- ${l}`),
    "",
    "Authentication: GitHub OIDC (id-token: write), assuming the phase 0.5 roles; no stored AWS keys.",
    ...(p.manualRoots.length > 0 ? [`Not run here (apply from an administrator's machine): ${p.manualRoots.join(", ")}.`] : []),
    "",
  ];
}

/** What a person sets up once in the repository's settings for the pipeline to run. */
export function pipelineSetup(p: Pipeline): string[] {
  const vars = [...new Set(p.envs.flatMap((e) => e.todoVariables))].sort();
  return [
    p.accountId ? `AWS account ${p.accountId} is set in the config (accountId).` : "Variable AWS_ACCOUNT_ID: the AWS account id of the deployer roles (or set accountId in the config).",
    ...p.envs.filter((e) => e.apply !== "push").map((e) => `Environment "${e.name}" with required reviewers${e.apply === "dispatch" ? ` and deployment branch ${p.mainBranch}` : ""}; its scheduled drift check runs in it too, so it waits for that approval.`),
    ...vars.map((v) => `Variable TF_VAR_${v.toUpperCase()}: the value of the undecided ${v} (a todo() in the config), passed to Terraform as TF_VAR_${v}.`),
    `${p.mainBranch} must be the default branch (scheduled runs present its subject).`,
  ];
}

function setupTerraform(): YamlValue {
  return { uses: ACTIONS.setupTerraform, with: { terraform_version: PIPELINE_TERRAFORM_VERSION, terraform_wrapper: false } };
}

function credentials(e: PipelineEnv, account: string, region: string, purpose: string, condition?: string): Record<string, YamlValue> {
  return {
    name: `Assume ${e.role}`,
    ...(condition ? { if: condition } : {}),
    uses: ACTIONS.awsCredentials,
    with: {
      "role-to-assume": `arn:aws:iam::${account}:role/${e.role}`,
      "role-session-name": `caja-${purpose}-${e.name}-\${{ github.run_id }}`,
      "aws-region": region,
      audience: STS_AUDIENCE,
    },
  };
}

function environmentOf(trigger: DeployerTrigger): { environment?: string } {
  return trigger.kind === "environment" ? { environment: trigger.environment } : {};
}

function todoEnv(e: PipelineEnv): { env?: Record<string, YamlValue> } {
  if (e.todoVariables.length === 0) return {};
  return { env: Object.fromEntries(e.todoVariables.map((v) => [`TF_VAR_${v}`, `\${{ vars.TF_VAR_${v.toUpperCase()} }}`])) };
}

/** A Node ES module run from a quoted heredoc: nothing in it is expanded by the shell. */
function nodeScript(source: string): string {
  return `node --input-type=module <<'CAJA_JS'\n${source}\nCAJA_JS`;
}

function shellWord(word: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** Parses every JSON file under out/ and checks it is written as caja writes it. */
function jsonCheckScript(out: string): string {
  return `import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
const byCodePoint = (a, b) => {
  const x = Array.from(a, (c) => c.codePointAt(0));
  const y = Array.from(b, (c) => c.codePointAt(0));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
};
const format = (v, indent) => {
  const inner = indent + "  ";
  if (Array.isArray(v)) return v.length === 0 ? "[]" : "[\\n" + v.map((x) => inner + format(x, inner)).join(",\\n") + "\\n" + indent + "]";
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v).sort(byCodePoint);
    return keys.length === 0 ? "{}" : "{\\n" + keys.map((k) => inner + JSON.stringify(k) + ": " + format(v[k], inner)).join(",\\n") + "\\n" + indent + "}";
  }
  return JSON.stringify(v);
};
const bad = [];
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) { if (entry.name !== ".terraform") walk(path); continue; }
    if (!entry.name.endsWith(".json")) continue;
    const text = readFileSync(path, "utf8");
    try {
      if (format(JSON.parse(text), "") + "\\n" !== text) bad.push([path, "not canonical: keys sorted by code point, two-space indent, final newline"]);
    } catch (e) {
      bad.push([path, e.message]);
    }
  }
};
walk(${JSON.stringify(out)});
for (const [path, why] of bad) console.log("::error file=" + path + "::" + why);
if (bad.length > 0) process.exit(1);`;
}

/**
 * Writes the job outputs: every runnable root per environment (`all_<env>`) and, on a pull
 * request, the roots whose files changed plus every root that depends on one (`changed_<env>`,
 * `changed_global`), all in manifest (apply) order.
 */
function rootsScript(out: string, p: Pipeline): string {
  const envs = p.envs.map((e) => e.name);
  const planned = p.envs.filter((e) => e.planTrigger).map((e) => e.name);
  return `import { appendFileSync, readFileSync } from "node:fs";
const out = ${JSON.stringify(out)};
const manifest = JSON.parse(readFileSync(out + "/manifest.json", "utf8"));
const runnable = manifest.roots.filter((r) => r.scope !== "global" && r.backend.type === "s3");
const list = (roots) => roots.map((r) => r.dir).join(" ");
const lines = [];
for (const env of ${JSON.stringify(envs)}) lines.push("all_" + env + "=" + list(runnable.filter((r) => r.scope === env)));
if (process.env.CHANGED_FILES) {
  const files = readFileSync(process.env.CHANGED_FILES, "utf8").split("\\n").filter(Boolean);
  const changed = new Set(manifest.roots.filter((r) => files.some((f) => f.startsWith(out + "/" + r.dir + "/"))).map((r) => r.id));
  // The manifest lists roots in apply order, so one pass reaches every dependent, however indirect.
  for (const r of manifest.roots) if (r.dependsOn.some((d) => changed.has(d.root))) changed.add(r.id);
  for (const env of ${JSON.stringify(planned)}) lines.push("changed_" + env + "=" + list(runnable.filter((r) => r.scope === env && changed.has(r.id))));
  lines.push("changed_global=" + list(manifest.roots.filter((r) => changed.has(r.id) && !runnable.includes(r))));
}
appendFileSync(process.env.GITHUB_OUTPUT, lines.join("\\n") + "\\n");
console.log(lines.join("\\n"));`;
}

function planScript(out: string, env: string): string {
  return `set -uo pipefail
mkdir -p "$TF_PLUGIN_CACHE_DIR"
mkdir -p "$(dirname "$SUMMARY")"
echo "### ${env}" > "$SUMMARY"
if [ -z "$ROOTS" ]; then
  echo "No ${env} root changed." >> "$SUMMARY"
  exit 0
fi
failed=0
for dir in $ROOTS; do
  echo "::group::$dir"
  code=0
  terraform -chdir="${out}/$dir" init -input=false -no-color > "${out}/$dir/plan.txt" 2>&1 || code=$?
  if [ "$code" -eq 0 ]; then
    terraform -chdir="${out}/$dir" plan -input=false -no-color -lock-timeout=10m -out=plan.tfplan > "${out}/$dir/plan.txt" 2>&1 || code=$?
  fi
  cat "${out}/$dir/plan.txt"
  echo "::endgroup::"
  if [ "$code" -eq 0 ]; then
    result="$(grep -E '^(Plan:|No changes\\.|Changes to Outputs:)' "${out}/$dir/plan.txt" | head -n 1)"
  else
    result="plan failed (exit $code)"
    failed=1
  fi
  {
    echo "<details><summary><code>$dir</code>: \${result:-see the log}</summary>"
    echo
    echo '\`\`\`'
    head -c 12000 "${out}/$dir/plan.txt"
    echo '\`\`\`'
    echo "</details>"
  } >> "$SUMMARY"
done
cat "$SUMMARY" >> "$GITHUB_STEP_SUMMARY"
exit "$failed"`;
}

function applyScript(out: string): string {
  return `set -euo pipefail
mkdir -p "$TF_PLUGIN_CACHE_DIR"
for dir in $ROOTS; do
  echo "::group::$dir"
  terraform -chdir="${out}/$dir" init -input=false -no-color
  terraform -chdir="${out}/$dir" apply -input=false -no-color -auto-approve -lock-timeout=10m
  echo "::endgroup::"
done`;
}

function driftScript(out: string, env: string): string {
  return `set -uo pipefail
mkdir -p "$TF_PLUGIN_CACHE_DIR"
drifted=""
failed=""
for dir in $ROOTS; do
  echo "::group::$dir"
  code=0
  terraform -chdir="${out}/$dir" init -input=false -no-color || code=$?
  if [ "$code" -eq 0 ]; then
    terraform -chdir="${out}/$dir" plan -detailed-exitcode -lock=false -input=false -no-color > "$RUNNER_TEMP/plan.txt" 2>&1 || code=$?
    cat "$RUNNER_TEMP/plan.txt"
  fi
  echo "::endgroup::"
  case "$code" in
    0) ;;
    2)
      drifted="$drifted $dir"
      echo "::error title=Drift in $dir::the deployed resources differ from ${out}/$dir"
      { echo "<details><summary><code>$dir</code> drifted</summary>"; echo; echo '\`\`\`'; head -c 20000 "$RUNNER_TEMP/plan.txt"; echo '\`\`\`'; echo "</details>"; } >> "$GITHUB_STEP_SUMMARY"
      ;;
    *)
      failed="$failed $dir"
      echo "::error title=Drift check failed in $dir::terraform exited $code"
      ;;
  esac
done
{
  echo "### Drift check: ${env}"
  echo "Drifted:\${drifted:- none}"
  echo
  echo "Could not check:\${failed:- none}"
} >> "$GITHUB_STEP_SUMMARY"
[ -z "$drifted$failed" ]`;
}

/** One comment per pull request, updated in place (found by its marker). */
function commentScript(): string {
  return `const fs = require("node:fs");
const marker = "<!-- caja-plan -->";
const envs = process.env.ENVS.split(" ").filter(Boolean);
const parts = [marker, "## caja plan", ""];
for (const env of envs) {
  const file = "summary/" + env + ".md";
  parts.push(fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "### " + env + "\\nThe plan job did not finish; see the run.", "");
}
const global = process.env.CHANGED_GLOBAL.trim();
if (global) parts.push("Changed global roots, not planned here (apply them from an administrator's machine): " + global.split(" ").map((r) => "\`" + r + "\`").join(", ") + ".", "");
const unplanned = process.env.UNPLANNED.trim();
if (unplanned) parts.push("Not planned on pull requests (their roles trust only their GitHub environment): " + unplanned + ".", "");
parts.push("[Workflow run](" + context.serverUrl + "/" + context.repo.owner + "/" + context.repo.repo + "/actions/runs/" + context.runId + ")");
let body = parts.join("\\n");
if (body.length > 65000) body = body.slice(0, 65000) + "\\n\\n(truncated; the full plans are in the run's artifacts)";
const { owner, repo } = context.repo;
const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number: context.issue.number, per_page: 100 });
const mine = comments.find((c) => c.body && c.body.startsWith(marker));
if (mine) await github.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body });
else await github.rest.issues.createComment({ owner, repo, issue_number: context.issue.number, body });`;
}

// ---------------------------------------------------------------------------------------------
// A small YAML writer for the workflow: maps keep insertion order, strings are plain when YAML
// reads them back as the same string, double-quoted (JSON escapes are valid YAML) otherwise, and
// multi-line strings are literal blocks.

export type YamlValue = string | number | boolean | readonly YamlValue[] | { readonly [key: string]: YamlValue };

export function toYaml(value: YamlValue): string {
  return `${block(value, "").join("\n")}\n`;
}

function block(value: YamlValue, indent: string): string[] {
  if (isSeq(value)) {
    if (value.length === 0) return [`${indent}[]`];
    return value.flatMap((item) => {
      if (isMap(item) && Object.keys(item).length === 0) return [`${indent}- {}`];
      if (isMap(item) || isSeq(item)) {
        const lines = block(item, `${indent}  `);
        return [`${indent}- ${lines[0]!.slice(indent.length + 2)}`, ...lines.slice(1)];
      }
      return scalarLines(`${indent}- `, item, `${indent}  `);
    });
  }
  if (isMap(value)) {
    return Object.entries(value).flatMap(([key, v]) => {
      const k = `${indent}${plainKey(key)}:`;
      if (isMap(v)) return Object.keys(v).length === 0 ? [`${k} {}`] : [k, ...block(v, `${indent}  `)];
      if (isSeq(v)) return v.length === 0 ? [`${k} []`] : [k, ...block(v, `${indent}  `)];
      return scalarLines(`${k} `, v, `${indent}  `);
    });
  }
  return [`${indent}${scalar(value)}`];
}

function scalarLines(prefix: string, value: string | number | boolean, indent: string): string[] {
  // A literal block keeps the text as written, but cannot carry \r or more than one final newline.
  if (typeof value === "string" && /\n[^]*\S|\S[^]*\n/.test(value) && !value.includes("\r") && !value.endsWith("\n\n")) {
    const chomp = value.endsWith("\n") ? "" : "-";
    const body = value.endsWith("\n") ? value.slice(0, -1) : value;
    // A first line starting with a space would set the block's indentation: state it instead.
    const indentation = /^\s/.test(body) ? "2" : "";
    return [`${prefix}|${indentation}${chomp}`, ...body.split("\n").map((l) => (l === "" ? "" : `${indent}${l}`))];
  }
  return [`${prefix}${scalar(value)}`];
}

function isSeq(v: YamlValue): v is readonly YamlValue[] {
  return Array.isArray(v);
}

function isMap(v: unknown): v is { readonly [key: string]: YamlValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const RESERVED = /^(?:true|false|yes|no|y|n|on|off|null|~)$/i;

function scalar(value: string | number | boolean): string {
  if (typeof value !== "string") return String(value);
  const plain =
    /^[A-Za-z_$./(][^\n\t"\\]*$/.test(value) &&
    !RESERVED.test(value) &&
    !/^\.(?:[0-9]|inf$|nan$)/i.test(value) &&
    !value.includes(": ") &&
    !value.includes(" #") &&
    !value.endsWith(":") &&
    !value.endsWith(" ");
  return plain ? value : JSON.stringify(value);
}

/** `on` stays plain: it is how every workflow spells its trigger key, and GitHub reads it as a string. */
function plainKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) && (key === "on" || !RESERVED.test(key)) ? key : JSON.stringify(key);
}
