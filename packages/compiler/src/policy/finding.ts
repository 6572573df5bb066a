/** A finding of the security gate, and how it is printed. Light: the compile command imports it. */
import type { Severity } from "./rules.js";
import { redactSecrets } from "./secrets.js";
import type { WrittenPlace } from "./written.js";

export interface Finding {
  readonly ruleId: string;
  /** The rule's one-line statement of what must hold. */
  readonly title: string;
  readonly checkov: readonly string[];
  readonly trivy: readonly string[];
  readonly severity: Severity;
  /** Root id, e.g. `prod/50-service`; empty for a finding in what is written outside a resource. */
  readonly root: string;
  /** Resource address in that root, e.g. `aws_lb.main`; for a written secret, the config field or file. */
  readonly address: string;
  /** The config field that caused it, or the closest one that controls it. */
  readonly configPath: string;
  readonly message: string;
  readonly fix: string;
  /** For a secret found in what the compile writes outside a resource body: the first file. */
  readonly written?: WrittenPlace;
}

/**
 * `[alb-waf] prod/50-service aws_lb.main: <message>. Fix: <fix>`. A credential a message quotes
 * (a rule showing the value at fault) is redacted: a finding is printed and written to reports.
 */
export function describeFinding(f: Finding): string {
  return redactSecrets(`[${f.ruleId}] ${f.root ? `${f.root} ` : ""}${f.address}: ${f.message}. Fix: ${f.fix}`);
}

/**
 * A warning as the compile prints it: the config field first, like a config error's line (without
 * its file:line, which would need the TypeScript compiler on every compile).
 */
export function describeWarning(f: Finding): string {
  return f.configPath && f.configPath !== f.address ? `${f.configPath}  ${describeFinding(f)}` : describeFinding(f);
}
