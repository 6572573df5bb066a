/**
 * Errors a user can act on. The CLI prints these without a stack trace and exits 1; anything else
 * that escapes is a bug in caja, and the CLI says so.
 */
import { relative } from "node:path";

export class CajaUserError extends Error {
  override name = "CajaUserError";
}

/** The config could not be found, bundled or evaluated. */
export class ConfigLoadError extends CajaUserError {
  override name = "ConfigLoadError";
}

export interface LocatedIssue {
  /** Absolute path of the file the value is written in, when it could be found. */
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** Dot path of the config field, e.g. `environments.prod.db.instanceClass`. */
  readonly path: string;
  readonly message: string;
  /** Before locating: `file:line:col` in user code (a module's) that the issue belongs to, rather than a config field. */
  readonly site?: string;
}

/** A write that failed for a reason the user can act on (permissions, disk full, a held lock). */
export class WriteError extends Error {}

/** The config loaded but is wrong: every issue, each with its location. */
export class ConfigIssuesError extends CajaUserError {
  override name = "ConfigIssuesError";
  constructor(readonly issues: readonly LocatedIssue[]) {
    super(`${issues.length} problem${issues.length === 1 ? "" : "s"} in the config`);
  }
}

/** `caja.config.ts:14:5  environments.prod.db.instanceClass  "db.t5.huge" is not ...` */
export function formatIssue(issue: LocatedIssue, cwd: string): string {
  const where = issue.file ? `${relative(cwd, issue.file) || issue.file}${issue.line ? `:${issue.line}:${issue.column ?? 1}` : ""}` : "caja.config";
  return [where, issue.path || "(config)", issue.message].join("  ");
}

/** `a.b[0].c` from a path array. */
export function toDotPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/**
 * How to install caja where it is missing. No caja package is on the npm registry yet: a bare
 * `npm install caja` would install whatever someone publishes under the name later.
 */
export const CAJA_INSTALL_HINT =
  "install caja from a release tarball (npm install --save-dev ./caja-VERSION.tgz) or from a checkout of its repository (npm install --save-dev CHECKOUT/packages/compiler); no caja package is published on the npm registry";
