/**
 * Where user code called into caja (`todo()`, `defineModule()`), read from the call stack, so a
 * mistake found later is reported at the call. The loader maps bundle positions to the source.
 */

/** `file:line:col` of the first frame whose function name does not match `skip`. */
export function callerSite(skip: RegExp): string | undefined {
  const stack = new Error().stack?.split("\n").slice(1) ?? [];
  for (const frame of stack) {
    const fn = frame.split("(")[0] ?? "";
    if (/\bcallerSite\b/.test(fn) || skip.test(fn)) continue;
    const match = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/.exec(frame);
    if (match) return `${match[1]}:${match[2]}:${match[3]}`;
  }
  return undefined;
}
