/**
 * Where user code called into caja (`todo()`, `defineModule()`, a module's `ctx.read`), read from
 * the call stack, so a mistake found later is reported at the call. The loader maps bundle
 * positions to the source.
 */

export interface StackFrame {
  /** What precedes the location: `at name (` or `at `. */
  readonly fn: string;
  /** `file:line:col` (a path, a `file://` URL or a `data:` URL of a bundle). */
  readonly location: string;
}

/** The frames of a V8 stack that name a location, innermost first. */
export function stackFrames(stack: string | undefined): StackFrame[] {
  return (stack?.split("\n").slice(1) ?? []).flatMap((frame) => {
    const match = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/.exec(frame);
    return match ? [{ fn: frame.split("(")[0] ?? "", location: `${match[1]}:${match[2]}:${match[3]}` }] : [];
  });
}

/** `file:line:col` of the first frame whose function name does not match `skip`. */
export function callerSite(skip: RegExp): string | undefined {
  return siteIn(new Error().stack, skip);
}

/** {@link callerSite} of a stack captured earlier (an `Error` made at the call, its `stack` read only when needed). */
export function siteIn(stack: string | undefined, skip: RegExp): string | undefined {
  return stackFrames(stack).find((f) => !/\bcallerSite\b/.test(f.fn) && !skip.test(f.fn))?.location;
}
