import { isAbsolute, relative, sep } from "node:path";

/** `to` relative to `from`, with `/` on every platform (as paths are shown and recorded). */
export function posixRelative(from: string, to: string): string {
  return relative(from, to).split(sep).join("/");
}

/**
 * Whether `path` (read from disk: a journal, a manifest, a cache record) names something inside the
 * folder it is relative to: `/`-separated names, none empty, `.` or `..`, no absolute path, no
 * backslash or NUL (which would mean something else to the file system than to this check).
 */
export function isPlainRelative(path: unknown): path is string {
  if (typeof path !== "string" || path === "" || path.startsWith("/") || /[\\\0]/.test(path) || /^[A-Za-z]:/.test(path)) return false;
  for (const name of path.split("/")) if (name === "" || name === "." || name === "..") return false;
  return true;
}

/** How a path is shown to the user: relative to `cwd` when inside it, else as it is. */
export function shownFrom(cwd: string): (path: string) => string {
  return (path) => {
    const rel = relative(cwd, path);
    return rel === "" ? "." : rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? path : rel;
  };
}
