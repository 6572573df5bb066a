/**
 * The gate in Markdown: the rules table the README carries (generated from the rule definitions,
 * between markers a test keeps current), and the findings report the compile writes under
 * `out/docs/`, where reviewers see every warning and every accepted finding with its reason.
 */
import { pageHeader, prose } from "../docs/markdown.js";
import type { PolicyResult, SuppressedFinding } from "./check.js";
import { CHECKOV_NOT_FOLLOWED, type NotFollowed } from "./checkov.js";
import type { Finding } from "./finding.js";
import { RULES, type Rule } from "./rules.js";
import { redactSecrets } from "./secrets.js";

export const README_BEGIN = "<!-- BEGIN POLICY RULES -->";
export const README_END = "<!-- END POLICY RULES -->";
/** The findings report, relative to the output directory. */
export const POLICY_REPORT_FILE = "docs/security.md";

/** The README section between the markers (markers included). */
export function rulesSection(rules: readonly Rule[] = RULES): string {
  const rows = rules.map(
    (r) => `| \`${r.id}\` | ${escape(r.title)} | ${r.severity}${r.prodSeverity ? `; ${r.prodSeverity} in prod` : ""} | ${ids(r.checkov)} | ${ids(r.trivy)} | ${r.types.map((t) => (t === "*" ? "every resource" : `\`${t}\``)).join(", ")} |`,
  );
  const blocking = rules.filter((r) => r.severity === "block").length;
  return [
    README_BEGIN,
    "<!-- Generated from packages/compiler/src/policy/rules.ts by `npm run gen:rules`; do not edit by hand. -->",
    "",
    "## Security gate",
    "",
    `Every \`caja compile\` checks the planned resources of every root against ${rules.length} rules (${blocking} blocking, ${rules.length - blocking} warnings),`,
    "and every file it would write for credentials, before anything is written. A blocking finding fails the",
    "compile like a config error, at the config field that causes it, and nothing is written; warnings are",
    "printed and listed, with every accepted finding, in",
    `\`out/${POLICY_REPORT_FILE}\`. \`npx caja check\` runs the gate alone; \`npx caja check --format sarif --output caja.sarif\``,
    "writes SARIF for GitHub code scanning. The checkov and trivy columns name the scanner checks each rule stands for.",
    "",
    "| Rule | What must hold | Severity | checkov | trivy | Resources |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
    "### Suppressing a finding",
    "",
    "A finding that is intended is accepted in `caja.config.ts`, for one rule on one resource, with the reason",
    "reviewers will read (in `out/docs/security.md` and as a dismissed alert in code scanning), and optionally the",
    "last day it holds:",
    "",
    "```ts",
    "policy: {",
    "  suppressions: [",
    '    { rule: "alb-internal", resource: "aws_lb.main", reason: "The ALB is the only public entry point." },',
    '    { rule: "sg-no-world-egress", resource: "prod/20-network/aws_vpc_security_group_egress_rule.ecs_https_ipv4",',
    '      reason: "Until the VPC endpoints land.", expires: "2026-12-31" },',
    "  ],",
    "},",
    "```",
    "",
    "`resource` is the address in every root that has it (`aws_lb.main`: every environment), or `<root>/<address>`",
    "for one root; for a credential written outside a resource (`no-secret-values`), the config field the finding",
    "names (`tags.Note`), or the written file when no field holds it. A suppression that names an unknown rule or",
    "resource, has expired, or no longer matches a finding fails the compile, so the list stays true.",
    README_END,
  ].join("\n");
}

/** `README.md` with its rules section replaced (or appended when the markers are missing). */
export function withRulesSection(readme: string, rules: readonly Rule[] = RULES): string {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin >= 0 && end > begin) return readme.slice(0, begin) + rulesSection(rules) + readme.slice(end + README_END.length);
  return `${readme.replace(/\n*$/, "")}\n\n${rulesSection(rules)}\n`;
}

/**
 * `out/docs/security.md`: what the gate found in this compile, then each rule's verdict beside the
 * checkov checks it stands for and the checks caja does not follow. Deterministic (no dates), and
 * it does not run checkov: it states the mapping the comparison tests hold caja to. Findings are
 * grouped by rule, one bullet per resource with its reason below as a sentence: a table squeezed
 * the reasons to a word per line.
 */
export function policyReport(result: PolicyResult, rules: readonly Rule[] = RULES, notFollowed: readonly NotFollowed[] = CHECKOV_NOT_FOLLOWED): string {
  const lines = pageHeader(
    POLICY_REPORT_FILE.split("/").at(-1)!,
    "Security",
    [
      `What the security gate found in this compile: ${result.blocking.length} blocking, ${result.warnings.length} warnings, ${result.suppressed.length} accepted by suppressions in the config.`,
      'The rules are listed in the README ("Security gate").',
    ].join("\n"),
  );
  if (result.warnings.length > 0) {
    lines.push("## Warnings", "");
    for (const findings of byRule(result.warnings)) {
      lines.push(...ruleHeading(findings[0]!, findings.length, "warning"));
      const fixes = new Set(findings.map((f) => f.fix));
      for (const f of findings) {
        lines.push(`- ${where(f)}, config field ${code(f.configPath)}: ${sentence(f.message)}`);
        if (fixes.size > 1) lines.push(`  Fix: ${sentence(f.fix)}`);
      }
      lines.push("");
      if (fixes.size === 1) lines.push(`Fix: ${sentence(findings[0]!.fix)}`, "");
    }
  }
  if (result.suppressed.length > 0) {
    lines.push("## Accepted findings", "");
    for (const findings of byRule(result.suppressed)) {
      lines.push(...ruleHeading(findings[0]!, findings.length, "accepted"));
      // One bullet per suppression and what it accepts: the roots it holds in are listed together.
      const bullets = new Map<string, SuppressedFinding[]>();
      for (const f of findings) {
        const key = JSON.stringify([f.suppression.path, f.address, f.message]);
        bullets.set(key, [...(bullets.get(key) ?? []), f]);
      }
      for (const same of bullets.values()) {
        const f = same[0]!;
        const roots = same.map((x) => x.root).filter((r) => r !== "");
        const until = f.suppression.expires ? ` Accepted until ${f.suppression.expires}.` : "";
        lines.push(`- ${code(f.address)}${roots.length > 0 ? ` in ${roots.map(code).join(", ")}` : ""}: ${sentence(f.message)}`, "", `  Reason: ${sentence(f.suppression.reason)}${until}`, "");
      }
    }
  }
  lines.push(...checkovSection(result, rules, notFollowed));
  return `${lines.join("\n").trimEnd()}\n`;
}

/** Findings by rule, rules in the order they first occur (the plan's root order). */
function byRule<F extends Finding>(findings: readonly F[]): F[][] {
  const groups = new Map<string, F[]>();
  for (const f of findings) groups.set(f.ruleId, [...(groups.get(f.ruleId) ?? []), f]);
  return [...groups.values()];
}

/** The rule's heading (its count keeps it unique when a rule has warnings and accepted findings) and scanner checks. */
function ruleHeading(f: Finding, count: number, what: "warning" | "accepted"): string[] {
  const scanners = ([["checkov", f.checkov], ["trivy", f.trivy]] as const).filter(([, list]) => list.length > 0).map(([name, list]) => `${name} ${ids(list)}`);
  return [
    `### \`${f.ruleId}\`: ${text(f.title)} (${count} ${what}${what === "warning" && count > 1 ? "s" : ""})`,
    "",
    scanners.length > 0 ? `Stands for ${scanners.join(" and ")}.` : "A rule of caja's own, with no checkov or trivy check.",
    "",
  ];
}

/** `` `aws_lb.main` in `dev/50-service` ``, or the config field or file alone for a secret written outside any root. */
function where(f: Finding): string {
  return f.root ? `${code(f.address)} in ${code(f.root)}` : code(f.address);
}

/** Text as a sentence: it ends with a full stop. */
function sentence(t: string): string {
  const s = text(t).trim();
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** Per rule: this compile's verdict and the checkov checks it stands for; then the checks not followed. */
function checkovSection(result: PolicyResult, rules: readonly Rule[], notFollowed: readonly NotFollowed[]): string[] {
  const count = (findings: readonly { ruleId: string }[], id: string) => findings.filter((f) => f.ruleId === id).length;
  const verdict = (id: string) => {
    const parts = ([[result.blocking, "blocking"], [result.warnings, "warning"], [result.suppressed, "accepted"]] as const)
      .map(([findings, what]) => [count(findings, id), what] as const)
      .filter(([n]) => n > 0)
      .map(([n, what]) => `${n} ${what}${what === "warning" && n > 1 ? "s" : ""}`);
    return parts.length > 0 ? parts.join(", ") : "passes";
  };
  const lines = [
    "## caja and checkov",
    "",
    "Each rule stands for the checkov checks beside it. caja's tests run checkov over the generated roots and account",
    "for every check it fails there: as a finding, on the same resource, of a rule listing the check (accepted or",
    "reported above), or as a check caja does not follow (below). A rule without a checkov check is caja's own.",
    "",
    "| Rule | caja in this compile | checkov |",
    "| --- | --- | --- |",
    ...rules.map((r) => `| \`${r.id}\` | ${verdict(r.id)} | ${ids(r.checkov)} |`),
    "",
  ];
  if (notFollowed.length > 0) {
    lines.push("### checkov checks caja does not follow", "", "| checkov | Where | Why |", "| --- | --- | --- |");
    for (const n of notFollowed) lines.push(`| \`${n.check}\` | ${n.tiers ? `tier${n.tiers.length > 1 ? "s" : ""} ${n.tiers.join(" and ")}` : "everywhere"} | ${escape(n.reason)} |`);
    lines.push("");
  }
  return lines;
}

/** Scanner check ids as code, or – for none. */
function ids(list: readonly string[]): string {
  return list.length > 0 ? list.map((id) => `\`${id}\``).join(", ") : "–";
}

/**
 * Text from findings and the config: a credential in it (a value a rule quotes, a suppression's
 * reason) is redacted, so the report never carries one; angle brackets are escaped, as in every
 * page's prose.
 */
function text(t: string): string {
  return prose(redactSecrets(t).replace(/\n/g, " "));
}

/** `text` for a table cell, where a pipe would end the cell. */
function escape(t: string): string {
  return text(t).replace(/\|/g, "\\|");
}

/** `` `prod/50-service` ``, or – when empty (a secret written outside any root). */
function code(t: string): string {
  return t ? `\`${redactSecrets(t).replace(/\n/g, " ")}\`` : "–";
}
