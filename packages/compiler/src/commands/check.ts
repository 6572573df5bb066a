/**
 * `caja check`: the security gate alone, over the plan of `caja.config.ts`, without writing
 * anything. Text for people (located like config errors), SARIF for GitHub code scanning. Exits 1
 * on a blocking finding or a broken suppression, in either format; warnings alone exit 0.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { VERSION } from "../cli.js";
import { workflowMaker } from "../compile.js";
import { emitWritten, schemaValidator, workflowYaml, WORKFLOW_FILE } from "../pipeline.js";
import { rootDocument } from "../emit.js";
import { ConfigIssuesError, formatIssue, type LocatedIssue } from "../errors.js";
import { stableStringify } from "../json.js";
import { findConfigFile, loadConfig } from "../load.js";
import { planRoots, type Plan } from "../plan.js";
import { checkPolicies, describeFinding, type Finding, type PolicyResult } from "../policy/check.js";
import { formatPath, parsePath } from "../policy/paths.js";
import { RULES } from "../policy/rules.js";
import { toSarif, type SourcePosition } from "../policy/sarif.js";
import { posixRelative } from "../relpath.js";
import { validateConfig } from "../validate.js";
import { parseArgs, UsageError, type FlagSpec, type Io } from "./support.js";

export const usage = `caja check [--config FILE] [--format text|sarif] [--output FILE] [--out DIR]

  Runs the security gate (the rules in the README) over every root the config compiles to and
  prints each finding at the config field that causes it. Writes nothing under out/.

  --format sarif   SARIF 2.1.0 for GitHub code scanning (github/codeql-action/upload-sarif)
  --output FILE    write the report to FILE instead of standard output
  --out DIR        where the generated roots live, for SARIF's links to them (default out)`;

const FLAGS: FlagSpec = { "--config": "value", "--format": "value", "--output": "value", "--out": "value" };

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  if (args.positional.length > 0) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  const format = args.value("--format") ?? "text";
  if (format !== "text" && format !== "sarif") throw new UsageError(`--format expects text or sarif, got "${format}"`);
  const started = performance.now();
  const explicit = args.value("--config");
  const configFile = findConfigFile(io.cwd, explicit);
  const loaded = await loadConfig(configFile, "check");

  const validation = validateConfig(loaded.value);
  if (!validation.ok) {
    throw new ConfigIssuesError(await locate(configFile, validation.issues.map((i) => ({ path: formatPath(i.path as (string | number)[]), message: i.message, ...(i.key ? { key: i.key } : {}) }))));
  }
  const { config } = validation;
  const validateBody = Object.keys(config.extend).length > 0 || Object.values(config.environments).some((e) => Object.keys(e.extend).length > 0) ? await schemaValidator() : undefined;
  const plan = planRoots(config, validateBody ? { validateBody } : {});
  if (plan.issues.length > 0) throw new ConfigIssuesError(await locate(configFile, plan.issues.map((i) => ({ path: i.path, message: i.message }))));

  // What a compile would write, for the secret scan: the same files, the workflow included.
  const workflow = workflowMaker({ cwd: io.cwd, outDir: args.value("--out") ?? "out" }, configFile, loaded.dependencies, { workflowYaml, WORKFLOW_FILE });
  const { written } = emitWritten(loaded.value, config, plan, { sourceRoot: dirname(configFile), gate: true, ...(workflow ? { workflow } : {}) });
  const result = checkPolicies(plan, config, { input: loaded.value, written });
  const shown = [
    ...result.problems.map((p) => p.path),
    ...[...result.blocking, ...result.warnings].map((f) => f.configPath),
    ...(format === "sarif" ? result.suppressed.flatMap((f) => [f.configPath, f.suppression.path]) : []),
  ];
  const positions = await positionsOf(configFile, shown);
  const failed = result.blocking.length > 0 || result.problems.length > 0;

  let report: string;
  if (format === "sarif") {
    const outDir = resolve(io.cwd, args.value("--out") ?? "out");
    const sarif = toSarif(result, {
      rules: RULES,
      version: VERSION,
      configUri: uri(io.cwd, configFile),
      positions,
      outUri: uri(io.cwd, outDir),
      resourceLines: resourceLines(plan, config),
    });
    report = `${JSON.stringify(sarif, null, 2)}\n`;
  } else {
    report = textReport(result, configFile, positions, io.cwd);
  }
  const output = args.value("--output");
  if (output) {
    const file = resolve(io.cwd, output);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, report);
  } else {
    io.out(report.replace(/\n$/, ""));
  }
  const summary = `caja: ${result.blocking.length} blocking, ${result.warnings.length} warning${result.warnings.length === 1 ? "" : "s"}, ${result.suppressed.length} suppressed${result.problems.length > 0 ? `, ${result.problems.length} broken suppression${result.problems.length === 1 ? "" : "s"}` : ""} (${RULES.length} rules over ${plan.roots.length} roots) in ${Math.round(performance.now() - started)} ms`;
  if (output || format === "sarif") io.err(summary);
  else io.out(summary);
  return failed ? 1 : 0;
}

function textReport(result: PolicyResult, configFile: string, positions: ReadonlyMap<string, SourcePosition>, cwd: string): string {
  const issue = (path: string, message: string): LocatedIssue => {
    const pos = positions.get(path);
    return { file: configFile, ...(pos ? { line: pos.line, column: pos.column } : {}), path, message };
  };
  const finding = (f: Finding) => formatIssue(issue(f.configPath, describeFinding(f)), cwd);
  return [
    ...result.problems.map((p) => formatIssue(issue(p.path, p.message), cwd)),
    ...result.blocking.map(finding),
    ...result.warnings.map((f) => `warning: ${finding(f)}`),
  ]
    .map((l) => `${l}\n`)
    .join("");
}

/** Where each config path is written (locate.ts, loaded only when there is something to place). */
async function positionsOf(configFile: string, paths: readonly string[]): Promise<Map<string, SourcePosition>> {
  const unique = [...new Set(paths)];
  const out = new Map<string, SourcePosition>();
  if (unique.length === 0) return out;
  const { locatePaths } = await import("../locate.js");
  const found = await locatePaths(configFile, unique.map(parsePath));
  unique.forEach((p, i) => {
    const loc = found[i];
    if (loc && resolve(loc.file) === resolve(configFile)) out.set(p, { line: loc.line, column: loc.column });
  });
  return out;
}

/** Config issues with their file:line:col, as the compile reports them. */
async function locate(configFile: string, issues: readonly (LocatedIssue & { key?: string })[]): Promise<LocatedIssue[]> {
  const { locatePaths } = await import("../locate.js");
  const found = await locatePaths(configFile, issues.map((i) => parsePath(i.path)), issues.map((i) => i.key));
  return issues.map(({ key: _key, ...issue }, i) => {
    const loc = found[i];
    return loc ? { ...issue, file: loc.file, line: loc.line, column: loc.column } : { ...issue, file: configFile };
  });
}

/** Line of every resource in its root's `main.tf.json`, as `emit` writes it (for SARIF's related locations). */
function resourceLines(plan: Plan, config: Parameters<typeof rootDocument>[1]): Map<string, number> {
  const lines = new Map<string, number>();
  for (const root of plan.roots) {
    let inResources = false;
    let type = "";
    stableStringify(rootDocument(root, config, plan))
      .split("\n")
      .forEach((line, i) => {
        if (line === '  "resource": {') inResources = true;
        else if (/^ {2}\S/.test(line)) inResources = false;
        else if (inResources && /^ {4}"/.test(line)) type = JSON.parse(line.trim().replace(/: \{$/, ""));
        else if (inResources && /^ {6}"/.test(line)) lines.set(`${root.id}/${type}.${JSON.parse(line.trim().replace(/: \{$/, ""))}`, i + 1);
      });
  }
  return lines;
}

function uri(cwd: string, file: string): string {
  return posixRelative(cwd, file) || ".";
}
