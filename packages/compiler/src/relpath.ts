import { relative, sep } from "node:path";

/** `to` relative to `from`, with `/` on every platform (as paths are shown and recorded). */
export function posixRelative(from: string, to: string): string {
  return relative(from, to).split(sep).join("/");
}
