/**
 * caja's on-disk caches (the config bundle, the last compile's record): JSON files in
 * `node_modules/.cache/caja/` nearest the config, as other tools keep theirs, else in the temp
 * folder. Best effort throughout: a cache that cannot be read or written only costs time.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { replaceFile } from "./write.js";

/** The cache file `kind` keeps for `subject` (a path), near `near` (the config file). */
export function cacheFile(near: string, kind: string, subject: string): string {
  const name = `${kind}-${createHash("sha256").update(subject).digest("hex").slice(0, 16)}.json`;
  for (let dir = dirname(near); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "node_modules"))) return join(dir, "node_modules", ".cache", "caja", name);
    if (dirname(dir) === dir) return join(tmpdir(), `caja-cache-${process.getuid?.() ?? "user"}`, name);
  }
}

export function readCache<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}

/** Replace the cache file whole, or leave it as it was. */
export function writeCache(file: string, value: unknown): void {
  try {
    replaceFile(file, JSON.stringify(value));
  } catch {
    // see the module comment
  }
}
