/**
 * caja's gate against checkov's: every check checkov fails on the generated roots is accounted for
 * by a finding of the rule that lists the check (accepted with a reason, or reported), or by the
 * documented list of checks caja does not follow, or it is unexplained. Pure: the caller runs
 * checkov (compile never spawns programs) and passes its parsed JSON report in.
 */
import type { PolicyResult } from "./check.js";
import type { Finding } from "./finding.js";
import notFollowed from "./checkov-not-followed.json" with { type: "json" };

/** A checkov check caja deliberately does not follow, and why. */
export interface NotFollowed {
  readonly check: string;
  readonly reason: string;
  /** The environment tiers it is not followed in (a rule follows it in the others); absent: nowhere. */
  readonly tiers?: readonly string[];
}

export const CHECKOV_NOT_FOLLOWED: readonly NotFollowed[] = notFollowed;

/** A root as checkov should read it, and which resource starts on which line of that text. */
export interface ScannableRoot {
  /** caja's root id, e.g. `dev/30-persistence`. */
  readonly root: string;
  readonly text: string;
  /** 1-based line of each resource's `"<name>": {` → its address (`aws_db_instance.main`, `data.aws_x.y`). */
  readonly addresses: ReadonlyMap<number, string>;
}

/**
 * `main.tf.json` rewritten for checkov. Its terraform_json parser stops at the first plain value
 * inside the `terraform` block (`required_version`; bridgecrewio/checkov#7454) and then reports the
 * file as a parsing error rather than a failed check, so those values are left out: no checkov
 * check reads them. Its resource-level results also name a resource `resource.<name>` without the
 * type, so the lines each resource starts on are recorded to recover the address.
 */
export function scannableRoot(root: string, json: Record<string, unknown>): ScannableRoot {
  const copy = { ...json };
  if (isRecord(copy.terraform)) copy.terraform = Object.fromEntries(Object.entries(copy.terraform).filter(([, v]) => isRecord(v)));
  const text = `${JSON.stringify(copy, null, 2)}\n`;
  const addresses = new Map<number, string>();
  let block: string | undefined;
  let type: string | undefined;
  text.split("\n").forEach((line, i) => {
    const m = /^( *)("(?:[^"\\]|\\.)*"): \{\}?,?$/.exec(line);
    if (!m) return;
    const key = JSON.parse(m[2]!) as string;
    const depth = m[1]!.length / 2;
    if (depth === 1) block = key;
    else if (depth === 2) type = key;
    else if (depth === 3 && (block === "resource" || block === "data")) addresses.set(i + 1, `${block === "data" ? "data." : ""}${type}.${key}`);
  });
  return { root, text, addresses };
}

/** One failed checkov check, on a caja root and resource. */
export interface CheckovFailure {
  readonly check: string;
  /** checkov's one-line statement of the check. */
  readonly name: string;
  /** The scanned file, relative to the directory checkov scanned. */
  readonly file: string;
  readonly root: string;
  /** `aws_db_instance.main`; checkov's own name when no scanned root explains it. */
  readonly address: string;
}

export interface CheckovReport {
  readonly failures: readonly CheckovFailure[];
  readonly passed: number;
  /** Files checkov could not read: each is a root whose checks silently did not run. */
  readonly parsingErrors: number;
  readonly version?: string;
}

/**
 * checkov's `-o json` report (one object per framework, or a list of them) as failures on caja's
 * roots. `scanned` maps each scanned file, relative to the scanned directory, to its root.
 */
export function readCheckovReport(report: unknown, scanned: ReadonlyMap<string, ScannableRoot>): CheckovReport {
  const failures: CheckovFailure[] = [];
  let passed = 0;
  let parsingErrors = 0;
  let version: string | undefined;
  for (const part of Array.isArray(report) ? report : [report]) {
    if (!isRecord(part)) continue;
    // With nothing to scan checkov prints only the summary, without `results`.
    const summary = isRecord(part.summary) ? part.summary : part;
    passed += Number(summary.passed ?? 0);
    parsingErrors += Number(summary.parsing_errors ?? 0);
    if (typeof summary.checkov_version === "string") version ??= summary.checkov_version;
    const results = isRecord(part.results) && Array.isArray(part.results.failed_checks) ? part.results.failed_checks : [];
    for (const r of results.filter(isRecord)) {
      const file = String(r.file_path ?? "").replace(/^\/+/, "");
      const root = scanned.get(file);
      const resource = String(r.resource ?? "");
      const start = Array.isArray(r.file_line_range) ? Number(r.file_line_range[0]) : NaN;
      const typeless = /^(?:resource|data)\.[^.]+$/.test(resource);
      failures.push({
        check: String(r.check_id ?? ""),
        name: String(r.check_name ?? ""),
        file,
        root: root?.root ?? file.replace(/\/?[^/]*$/, ""),
        address: (typeless ? root?.addresses.get(start) : undefined) ?? resource,
      });
    }
  }
  return { failures, passed, parsingErrors, ...(version ? { version } : {}) };
}

export type CheckovClass = "suppressed" | "caja-blocks" | "caja-warns" | "not-followed" | "unexplained";

export const CHECKOV_CLASSES: readonly CheckovClass[] = ["suppressed", "caja-blocks", "caja-warns", "not-followed", "unexplained"];

export interface ClassifiedFailure extends CheckovFailure {
  readonly class: CheckovClass;
  /** The caja rule whose finding matches it. */
  readonly rule?: string;
  /** The suppression's reason, or why caja does not follow the check. */
  readonly reason?: string;
}

export interface ClassifyOptions {
  readonly notFollowed?: readonly NotFollowed[];
  /** The tier of a root's environment (undefined for global roots). */
  readonly tierOf: (root: string) => string | undefined;
}

/**
 * Each failure's class: a finding on the same root and resource by a rule listing the check
 * (blocking, then warning, then accepted: what the gate would do with it wins), else a check caja
 * does not follow there, else unexplained.
 */
export function classifyCheckov(failures: readonly CheckovFailure[], gate: PolicyResult, options: ClassifyOptions): ClassifiedFailure[] {
  const list = options.notFollowed ?? CHECKOV_NOT_FOLLOWED;
  const matching = (f: CheckovFailure) => (finding: Finding) => finding.root === f.root && finding.address === f.address && finding.checkov.includes(f.check);
  return failures.map((f): ClassifiedFailure => {
    const blocks = gate.blocking.find(matching(f));
    if (blocks) return { ...f, class: "caja-blocks", rule: blocks.ruleId };
    const warns = gate.warnings.find(matching(f));
    if (warns) return { ...f, class: "caja-warns", rule: warns.ruleId };
    const accepted = gate.suppressed.find(matching(f));
    if (accepted) return { ...f, class: "suppressed", rule: accepted.ruleId, reason: accepted.suppression.reason };
    const tier = options.tierOf(f.root);
    const skipped = list.find((n) => n.check === f.check && (n.tiers === undefined || (tier !== undefined && n.tiers.includes(tier))));
    if (skipped) return { ...f, class: "not-followed", reason: skipped.reason };
    return { ...f, class: "unexplained" };
  });
}

/** How many failures fall in each class (every class present, in order). */
export function countByClass(classified: readonly ClassifiedFailure[]): Record<CheckovClass, number> {
  const counts = Object.fromEntries(CHECKOV_CLASSES.map((c) => [c, 0])) as Record<CheckovClass, number>;
  for (const c of classified) counts[c.class]++;
  return counts;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
