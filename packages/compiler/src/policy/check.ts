/**
 * The security gate: every rule over every planned resource of every root, before anything is
 * written. A blocking finding fails the compile with the same located error as a config mistake;
 * warnings are reported; suppressions (`policy.suppressions` in the config) accept a finding of one
 * rule on one resource, with a reason and an optional expiry. A suppression that has expired, names
 * an unknown rule, or no longer matches any finding is itself an error, so the list cannot rot.
 */
import type { ResolvedConfig, Suppression } from "@caja/dsl/schema";
import { closest } from "@caja/dsl/suggest";
import { ConfigIssuesError, type LocatedIssue } from "../errors.js";
import type { Plan } from "../plan.js";
import { PlanView, type PlannedResource } from "./engine.js";
import { formatPath, type PathSegment } from "./paths.js";
import { RULES, type CheckResult, type Rule, type Severity, type Violation } from "./rules.js";
import { writtenHints } from "./secrets.js";
import { writtenSecretFindings, type WrittenInput } from "./written.js";
import byDesign from "./by-design-suppressions.json" with { type: "json" };

export type { Finding } from "./finding.js";
import type { Finding } from "./finding.js";

export interface SuppressedFinding extends Finding {
  readonly suppression: Suppression & { readonly path: string };
}

/** A suppression that is wrong: expired, unknown rule, or matching nothing. */
export interface PolicyProblem {
  readonly path: string;
  readonly message: string;
}

export interface PolicyResult {
  readonly blocking: readonly Finding[];
  readonly warnings: readonly Finding[];
  readonly suppressed: readonly SuppressedFinding[];
  readonly problems: readonly PolicyProblem[];
}

export interface PolicyOptions {
  /** Today as `YYYY-MM-DD` (UTC), for suppression expiry; injectable for tests. */
  readonly today?: string;
  /**
   * The config as written, before defaults: a finding caused by a setting written under
   * `defaults` then points there rather than at the environment that inherited it.
   */
  readonly input?: unknown;
  /** The rules to run (all of them by default). */
  readonly rules?: readonly Rule[];
  /**
   * Every file the compile writes (roots, tests, manifest, docs, the workflow): scanned for
   * credentials by `no-secret-values` too, beyond the resource bodies.
   */
  readonly written?: readonly WrittenInput[];
}

export function checkPolicies(plan: Plan, config: ResolvedConfig, options: PolicyOptions = {}): PolicyResult {
  const rules = options.rules ?? RULES;
  const view = new PlanView(plan, config);
  // Each type's rules, then the rules of every type: looked up once per type, not once per resource.
  const anyType = rules.filter((r) => r.types.includes("*"));
  const byType = new Map<string, Rule[]>();
  const rulesOf = (type: string): Rule[] => {
    let list = byType.get(type);
    if (list === undefined) byType.set(type, (list = [...rules.filter((r) => r.types.includes(type) && type !== "*"), ...anyType]));
    return list;
  };

  // Each root's written JSON is searched once (writtenHints): a plainly clean one's bodies are not
  // scanned one by one, and the scan of what is written does not search the text again.
  const shapeFree = new Set<string>();
  const cleanRoots = new Set<string>();
  for (const file of options.written ?? []) {
    if ((file.base ?? "out") !== "out" || !file.path.endsWith(`/${ROOT_FILE}`)) continue;
    const hints = writtenHints(file.content);
    if (hints.shapeFree) shapeFree.add(file.path);
    if (hints.clean) cleanRoots.add(file.path.slice(0, -ROOT_FILE.length - 1));
  }

  const findings: Finding[] = [];
  for (const resource of view.resources) {
    const env = resource.root.env;
    for (const rule of rulesOf(resource.type)) {
      if (rule.id === SECRET_RULE && cleanRoots.has(resource.root.id)) continue;
      if (rule.prodOnly && env?.tier !== "prod") continue;
      for (const v of violations(rule.check(resource, { view, env }))) {
        findings.push({
          ruleId: rule.id,
          title: rule.title,
          checkov: rule.checkov,
          trivy: rule.trivy,
          severity: env?.tier === "prod" && rule.prodSeverity ? rule.prodSeverity : rule.severity,
          root: resource.root.id,
          address: resource.address,
          configPath: formatPath(configPathOf(rule, resource, v, config, options.input)),
          message: v.message,
          fix: rule.fix,
        });
      }
    }
  }
  const secretRule = rules.find((r) => r.id === SECRET_RULE);
  if (options.written && secretRule) {
    const reported = new Set(findings.filter((f) => f.ruleId === SECRET_RULE).map((f) => `${f.root}/${f.address}`));
    findings.push(...writtenSecretFindings(options.written, options.input ?? config, secretRule, (key) => reported.has(key), shapeFree));
  }
  return applySuppressions(findings, config.policy.suppressions, view, rules, options.today ?? new Date().toISOString().slice(0, 10));
}

/** The rule that scans resource bodies and, given them, the written files. */
const SECRET_RULE = "no-secret-values";

/** A root's Terraform JSON in the output folder (`<scope>/<NN-phase>/main.tf.json`). */
const ROOT_FILE = "main.tf.json";

/** Blocking findings and suppression problems as config issues (unlocated: the compile locates them). */
export function policyIssues(result: PolicyResult): LocatedIssue[] {
  return [...result.problems.map((p) => ({ path: p.path, message: p.message })), ...result.blocking.map((f) => ({ path: f.configPath, message: describeFinding(f) }))];
}

/**
 * The gate as the compile runs it: throws `ConfigIssuesError` on a blocking finding or a bad
 * suppression (so nothing is written), else returns the result for its warnings and report.
 */
export function enforcePolicies(plan: Plan, config: ResolvedConfig, options: PolicyOptions = {}): PolicyResult {
  const result = checkPolicies(plan, config, options);
  const issues = policyIssues(result);
  if (issues.length > 0) throw new ConfigIssuesError(issues);
  return result;
}

export { describeFinding } from "./finding.js";
import { describeFinding } from "./finding.js";

function violations(result: CheckResult): Violation[] {
  if (result === undefined) return [];
  const list = Array.isArray(result) ? result : [result];
  return (list as (string | Violation)[]).map((v) => (typeof v === "string" ? { message: v } : v));
}

// -----------------------------------------------------------------------------------------------
// Where a finding comes from in the config

/** Global roots' nearest config field, when no override or raw resource caused the finding. */
const GLOBAL_SETTING: Readonly<Record<string, PathSegment[]>> = {
  bootstrap: ["state"],
  "iam-oidc": ["github"],
  domain: ["domain"],
  "cost-allocation": ["tags"],
};

/**
 * The escape hatch first (a raw resource, or an override that set the attribute at fault), then
 * the setting the rule names, then the environment (or the global section) the root belongs to.
 */
function configPathOf(rule: Rule, checked: PlannedResource, v: Violation, config: ResolvedConfig, input: unknown): PathSegment[] {
  const r = v.at ?? checked;
  const env = r.root.env;
  const phase = r.root.phase.id;
  const extendPath: PathSegment[] = env ? ["environments", env.name, "extend", phase] : ["extend", phase];
  const extension = env ? env.extend[phase] : config.extend[phase];
  const raw = extension?.resources?.[r.type]?.[r.name];
  if (raw) return written([...extendPath, "resources", r.type, r.name, ...(v.attribute && v.attribute in raw ? [v.attribute] : [])], input);
  const override = extension?.overrides?.[r.address];
  if (override && v.attribute && v.attribute in override) return written([...extendPath, "overrides", r.address, v.attribute], input);
  if (env) return written(["environments", env.name, ...(rule.setting ? rule.setting.split(".") : [])], input);
  return GLOBAL_SETTING[phase] ?? ["extend"];
}

/**
 * `environments.<env>.<rest>` as the user wrote it: when the environment does not set `<rest>`
 * itself but `defaults` does, the finding belongs to `defaults.<rest>`.
 */
function written(path: PathSegment[], input: unknown): PathSegment[] {
  if (input === undefined || path[0] !== "environments" || path.length < 3) return path;
  const rest = path.slice(2);
  if (has(input, path)) return path;
  for (let n = rest.length; n > 0; n--) {
    if (has(input, ["defaults", ...rest.slice(0, n)])) return ["defaults", ...rest.slice(0, n)];
    if (has(input, [...path.slice(0, 2), ...rest.slice(0, n)])) return [...path.slice(0, 2), ...rest.slice(0, n)];
  }
  return path;
}

function has(value: unknown, path: readonly PathSegment[]): boolean {
  let node = value;
  for (const seg of path) {
    if (typeof node !== "object" || node === null || !(String(seg) in node)) return false;
    node = (node as Record<string, unknown>)[String(seg)];
  }
  return node !== undefined;
}

// -----------------------------------------------------------------------------------------------
// Suppressions

function applySuppressions(findings: readonly Finding[], suppressions: readonly Suppression[], view: PlanView, rules: readonly Rule[], today: string): PolicyResult {
  const problems: PolicyProblem[] = [];
  const at = (i: number, field?: keyof Suppression) => formatPath(["policy", "suppressions", i, ...(field ? [field] : [])]);
  const ruleIds = rules.map((r) => r.id);
  const active = new Map<number, Suppression>();
  const seen = new Map<string, number>();
  suppressions.forEach((s, i) => {
    const key = `${s.rule}\u0000${s.resource}`;
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push({ path: at(i), message: `suppresses ${s.rule} on ${s.resource} again (already ${at(first)}); remove one` });
      return;
    }
    seen.set(key, i);
    if (!ruleIds.includes(s.rule)) {
      const hint = closest(s.rule, ruleIds);
      problems.push({ path: at(i, "rule"), message: `no security rule "${s.rule}".${hint ? ` Did you mean "${hint}"?` : " The README lists the rules."}` });
      return;
    }
    if (s.expires !== undefined && s.expires < today) {
      problems.push({ path: at(i, "expires"), message: `the suppression of ${s.rule} on ${s.resource} expired on ${s.expires}: fix the finding, or renew the suppression with a new expiry and reason` });
      return;
    }
    active.set(i, s);
  });

  const blocking: Finding[] = [];
  const warnings: Finding[] = [];
  const suppressed: SuppressedFinding[] = [];
  const used = new Set<number>();
  for (const f of findings) {
    const match = [...active].find(([, s]) => s.rule === f.ruleId && (s.resource === f.address || s.resource === `${f.root}/${f.address}`));
    if (match) {
      used.add(match[0]);
      suppressed.push({ ...f, suppression: { ...match[1], path: at(match[0]) } });
    } else if (f.severity === "block") blocking.push(f);
    else warnings.push(f);
  }
  for (const [i, s] of active) {
    if (used.has(i)) continue;
    // A secret written outside a resource is suppressed by its config field or file, not by an address.
    const written = s.rule === SECRET_RULE && !RESOURCE_ADDRESS.test(s.resource);
    const exists = written || view.resources.some((r) => r.address === s.resource || r.key === s.resource);
    if (!exists) {
      const hint = closest(s.resource, [...new Set(view.resources.flatMap((r) => [r.address, r.key]))]);
      problems.push({ path: at(i, "resource"), message: `no resource ${s.resource} in any root.${hint ? ` Did you mean "${hint}"?` : ""} Remove the suppression or fix the address` });
    } else {
      problems.push({ path: at(i), message: `${s.rule} passes on ${s.resource}, so the suppression is unused: remove it` });
    }
  }
  return { blocking, warnings, suppressed, problems };
}

/** `aws_lb.main` or `prod/50-service/aws_lb.main`. */
const RESOURCE_ADDRESS = /^(?:[\w-]+\/[\w-]+\/)?aws_\w+\.[\w-]+$/;

/**
 * The findings the plan accepts by design, with the plan's reasons: the public ALB (sole ingress),
 * its port 80 (a 301 to HTTPS only), WAF deferred, and the tasks' HTTPS egress through NAT (no VPC
 * endpoints). `caja init` writes them into a starter config; a config states its own. Kept as
 * JSON so the bench's generated configs (plain scripts) state exactly these too.
 */
export const BY_DESIGN_SUPPRESSIONS: readonly Suppression[] = byDesign;
