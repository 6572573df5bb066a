/**
 * `todo("reason")` marks a config value that is not decided yet (plan section 13: zone id, alarm
 * emails, DB sizes...). Compilation succeeds; the value becomes a Terraform `variable` with no
 * default and the reason as its description, and caja lists every TODO with its file:line.
 */

import { callerSite } from "./site.js";

// A registered symbol, so a marker made by one copy of this module (the user's config bundle)
// is recognised by another (the compiler's bundle).
const TODO = Symbol.for("caja.todo");

/** A value left undecided with {@link todo}. */
export interface Todo {
  readonly [TODO]: true;
  /** Why the value is open, and who decides it. Becomes the Terraform variable's description. */
  readonly reason: string;
  /** `file:line:col` of the `todo()` call, when it could be read from the call stack. */
  readonly site?: string;
}

/**
 * Leave a value undecided. The compile succeeds, prints this TODO with its location, and the
 * value becomes a Terraform `variable` with no default, so `terraform plan` asks for it.
 *
 * @example
 * alarms: { emails: todo("on-call list not decided; owner: platform-engineering") }
 */
export function todo(reason: string): Todo {
  const site = callerSite(/\btodo\b/);
  return Object.freeze({ [TODO]: true as const, reason, ...(site ? { site } : {}) });
}

/**
 * The same TODO at another site: the loader uses it to point sites at the `.ts` source.
 * @internal
 */
export function relocateTodo(value: Todo, site: string): Todo {
  return Object.freeze({ [TODO]: true as const, reason: value.reason, site });
}

export function isTodo(value: unknown): value is Todo {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[TODO] === true;
}
