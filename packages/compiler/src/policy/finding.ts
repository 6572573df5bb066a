/** A finding of the security gate, and how it is printed. Light: the compile command imports it. */
import type { Severity } from "./rules.js";

export interface Finding {
  readonly ruleId: string;
  /** The rule's one-line statement of what must hold. */
  readonly title: string;
  readonly checkov: readonly string[];
  readonly trivy: readonly string[];
  readonly severity: Severity;
  /** Root id, e.g. `prod/50-service`. */
  readonly root: string;
  /** Resource address in that root, e.g. `aws_lb.main`. */
  readonly address: string;
  /** The config field that caused it, or the closest one that controls it. */
  readonly configPath: string;
  readonly message: string;
  readonly fix: string;
}

/** `[alb-waf] prod/50-service aws_lb.main: <message>. Fix: <fix>` */
export function describeFinding(f: Finding): string {
  return `[${f.ruleId}] ${f.root} ${f.address}: ${f.message}. Fix: ${f.fix}`;
}
