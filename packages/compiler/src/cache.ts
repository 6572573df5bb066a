/**
 * caja's on-disk caches (the config bundle, the last compile's record): JSON files in
 * `node_modules/.cache/caja/` nearest the config, as other tools keep theirs, else in the temp
 * folder. Best effort throughout: a cache that cannot be read or written only costs time.
 *
 * A cache is trusted input (the bundle record is code caja runs), and the temp folder is shared
 * with every user of the machine. So a record is read only when it and its folder belong to the
 * current user and nobody else may write them (and neither is a symbolic link); anything else is
 * ignored, as if there were no cache, and rebuilt. caja keeps its records private (folder 0700,
 * files 0600), tightens a folder of its own that others could write to, and writes nothing into
 * a folder that is not the user's.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, type Stats } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fnv1a } from "@caja/dsl";
import { readUntrusted, replaceFile } from "./write.js";

/** Far above any record caja writes (a config bundle is tens of kilobytes). */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** The cache file `kind` keeps for `subject` (a path), near `near` (the config file). */
export function cacheFile(near: string, kind: string, subject: string): string {
  const name = cacheName(kind, subject);
  for (let dir = dirname(near); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "node_modules"))) return join(dir, "node_modules", ".cache", "caja", name);
    if (dirname(dir) === dir) return join(tmpdir(), `caja-cache-${process.getuid?.() ?? "user"}`, name);
  }
}

/**
 * The name of the file `kind` keeps for `subject`, in whichever folder it is kept. The hash only
 * spreads names: every record says what it is for and is compared whole, so two subjects sharing a
 * name cost a cache miss, nothing more (and the name needs no `node:crypto`, 2 ms to load).
 */
export function cacheName(kind: string, subject: string): string {
  return `${kind}-${fnv1a(subject).toString(16).padStart(8, "0")}.json`;
}

/** The record, when it may be trusted (see the module comment) and is JSON; else undefined. */
export function readCache<T>(file: string): T | undefined {
  const folder = lstatSync(dirname(file), { throwIfNoEntry: false });
  if (!folder?.isDirectory() || !isPrivate(folder)) return undefined;
  const text = readUntrusted(file, MAX_RECORD_BYTES, isPrivate);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** Replace the cache file whole, or leave it as it was. */
export function writeCache(file: string, value: unknown): void {
  try {
    const dir = dirname(file);
    // Asked first: a failed mkdir is a thrown error, which costs more than the question.
    let folder = lstatSync(dir, { throwIfNoEntry: false });
    if (folder === undefined) {
      mkdirSync(dirname(dir), { recursive: true });
      try {
        mkdirSync(dir, { mode: 0o700 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      folder = lstatSync(dir);
    }
    const uid = process.getuid?.();
    if (!folder.isDirectory() || (uid !== undefined && folder.uid !== uid)) return; // another user's folder (or a link to one): keep nothing there
    if (!isPrivate(folder)) chmodSync(dir, folder.mode & 0o755);
    replaceFile(file, JSON.stringify(value), { mode: 0o600 });
  } catch {
    // see the module comment
  }
}

/** The current user's, and writable by nobody else (where the platform has users and modes). */
function isPrivate(stats: Stats): boolean {
  const uid = process.getuid?.();
  return uid === undefined || (stats.uid === uid && (stats.mode & 0o022) === 0);
}
