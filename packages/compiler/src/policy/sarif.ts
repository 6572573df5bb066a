/**
 * The gate's findings as SARIF 2.1.0, for GitHub code scanning (`upload-sarif`). Every rule is
 * declared, fired or not, so code scanning can tell "ran and found nothing" from "no such rule" and
 * close alerts that were fixed. Each result points at the config field that causes it (where the
 * fix goes) and, as a related location, at the resource in the generated root. Suppressed findings
 * are included with their reason as an in-source suppression, so they show as dismissed, not open.
 */
import type { Finding, PolicyResult, SuppressedFinding } from "./check.js";
import { describeFinding } from "./finding.js";
import { redactSecrets } from "./secrets.js";
import type { Rule } from "./rules.js";

export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

export interface SarifOptions {
  readonly rules: readonly Rule[];
  readonly version: string;
  /** The config file, relative to the repository root, with `/` separators. */
  readonly configUri: string;
  /** Where each config path is written in the config file (from the source locator). */
  readonly positions: ReadonlyMap<string, SourcePosition>;
  /** The output directory relative to the repository root (`out`). */
  readonly outUri: string;
  /** Line of each resource (`<root>/<address>`) in its generated `main.tf.json`, when known. */
  readonly resourceLines?: ReadonlyMap<string, number>;
}

/** The id of the pseudo-rule under which broken suppressions are reported. */
export const SUPPRESSION_RULE_ID = "policy-suppression";

export function toSarif(result: PolicyResult, options: SarifOptions): Record<string, unknown> {
  const rules = [
    ...options.rules.map(ruleDescriptor),
    {
      id: SUPPRESSION_RULE_ID,
      name: "PolicySuppression",
      shortDescription: { text: "Suppressions are current: known rule, known resource, not expired, still needed" },
      fullDescription: { text: "A suppression under policy.suppressions that has expired, names an unknown rule or resource, or matches no finding fails the gate." },
      help: { text: "Fix or remove the suppression at the reported place in the config." },
      defaultConfiguration: { level: "error" },
      properties: { tags: ["caja", "configuration"] },
    },
  ];
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const location = (path: string, message?: string) => {
    const pos = options.positions.get(path);
    return {
      physicalLocation: {
        artifactLocation: { uri: options.configUri },
        region: pos ? { startLine: pos.line, startColumn: pos.column } : { startLine: 1 },
      },
      ...(message ? { message: { text: message } } : {}),
    };
  };
  const related = (f: Finding) => {
    if (f.written) {
      const uri = f.written.base === "out" ? `${options.outUri}/${f.written.path}` : f.written.path;
      return { id: 1, physicalLocation: { artifactLocation: { uri } }, message: { text: `written to ${f.written.path}` } };
    }
    const line = options.resourceLines?.get(`${f.root}/${f.address}`);
    return {
      id: 1,
      physicalLocation: { artifactLocation: { uri: `${options.outUri}/${f.root}/main.tf.json` }, ...(line ? { region: { startLine: line } } : {}) },
      message: { text: `${f.address} in ${f.root}` },
    };
  };
  const findingResult = (f: Finding | SuppressedFinding) => {
    const suppression = "suppression" in f ? f.suppression : undefined;
    return {
      ruleId: f.ruleId,
      ruleIndex: index.get(f.ruleId),
      level: f.severity === "block" ? "error" : "warning",
      message: { text: describeFinding(f).replace(/^\[[^\]]+\] /, "") },
      locations: [location(f.configPath, f.configPath)],
      relatedLocations: [related(f)],
      // Stable across commits and line moves: the alert is the rule on the resource.
      partialFingerprints: { "cajaFinding/v1": `${f.ruleId}:${f.root ? `${f.root}/` : ""}${f.address}` },
      properties: { root: f.root, address: f.address, configPath: f.configPath, checkov: f.checkov, trivy: f.trivy },
      ...(suppression
        ? {
            suppressions: [
              {
                kind: "inSource",
                justification: redactSecrets(`${suppression.reason}${suppression.expires ? ` (until ${suppression.expires})` : ""}`),
                location: location(suppression.path),
              },
            ],
          }
        : {}),
    };
  };
  const results = [
    ...result.problems.map((p) => ({
      ruleId: SUPPRESSION_RULE_ID,
      ruleIndex: index.get(SUPPRESSION_RULE_ID),
      level: "error",
      message: { text: `${p.path}: ${p.message}` },
      locations: [location(p.path, p.path)],
      partialFingerprints: { "cajaFinding/v1": `${SUPPRESSION_RULE_ID}:${p.path}:${p.message}` },
    })),
    ...result.blocking.map(findingResult),
    ...result.warnings.map(findingResult),
    ...result.suppressed.map(findingResult),
  ];
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: { driver: { name: "caja", semanticVersion: options.version, rules } },
        automationDetails: { id: "caja/security-gate/" },
        results,
      },
    ],
  };
}

function ruleDescriptor(rule: Rule): Record<string, unknown> {
  const maps = [...rule.checkov.map((id) => `checkov ${id}`), ...rule.trivy.map((id) => `trivy ${id}`)];
  return {
    id: rule.id,
    name: rule.id.replace(/(?:^|-)([a-z0-9])/g, (_m, c: string) => c.toUpperCase()),
    shortDescription: { text: rule.title },
    fullDescription: { text: `${rule.title}.${maps.length > 0 ? ` Corresponds to ${maps.join(", ")}.` : ""}${rule.prodOnly ? " Checked in environments of tier prod." : ""}${rule.prodSeverity === "block" ? " Blocking in environments of tier prod." : ""}` },
    help: { text: rule.fix, markdown: `${rule.fix}\n\nSuppress a finding that is intended in \`caja.config.ts\`: \`policy: { suppressions: [{ rule: "${rule.id}", resource: "<address>", reason: "..." }] }\`.` },
    defaultConfiguration: { level: rule.severity === "block" ? "error" : "warning" },
    properties: {
      tags: ["security", "terraform", "aws", ...rule.checkov, ...rule.trivy],
      precision: "very-high",
      // GitHub's scale: 7.0-8.9 high, 4.0-6.9 medium.
      "security-severity": rule.severity === "block" ? "7.5" : "4.0",
    },
  };
}
