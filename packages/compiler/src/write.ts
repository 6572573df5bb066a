/**
 * Write stage: put emitted files under `out/` so that a failed or killed compile never leaves a
 * mix of old and new output.
 *
 * 1. Take `out/.caja-lock` (a second compile waits, then fails naming the holder).
 * 2. Finish or discard what an interrupted earlier write left in `out/.caja-journal/`.
 * 3. Stage every changed file in the journal, then write `journal.json`: the commit point.
 *    A kill before it leaves `out/` as it was; a kill after it is rolled forward by the next run.
 * 4. Move staged files into place (same-filesystem renames) and delete generated files that are
 *    no longer generated. Files caja did not generate (`.terraform/`, state, lock files, a user's
 *    own) are never touched: caja only deletes paths listed in its previous manifest.
 *
 * Unchanged files are not rewritten, so a second compile of the same input writes nothing.
 */
import { mkdir, open, readFile, readdir, rename, rm, rmdir, unlink, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import type { EmittedFile } from "./emit.js";

export const JOURNAL_DIR = ".caja-journal";
export const LOCK_FILE = ".caja-lock";
export const MANIFEST = "manifest.json";

export interface WriteOptions {
  /** Paths (under out/) of files a previous compile generated and this one may delete. */
  readonly previous: readonly string[];
  /** Only prune previous files this predicate owns (e.g. one environment with `--env`). */
  readonly owns?: (path: string) => boolean;
  /** How long to wait for another compile's lock, in milliseconds. */
  readonly lockTimeoutMs?: number;
  /** The file writer, replaceable so tests can inject a full or read-only disk. */
  readonly writeFile?: (path: string, content: string) => Promise<void>;
}

export interface WriteResult {
  readonly written: readonly string[];
  readonly removed: readonly string[];
  readonly unchanged: number;
}

/** A write that failed for a reason the user can act on (permissions, disk full, a held lock). */
export class WriteError extends Error {}

export async function writeOutput(outDir: string, files: readonly EmittedFile[], options: WriteOptions): Promise<WriteResult> {
  await mkdir(outDir, { recursive: true }).catch((e) => {
    throw new WriteError(`cannot create ${outDir}: ${reason(e)}`);
  });
  const release = await lock(outDir, options.lockTimeoutMs ?? 30_000);
  try {
    await recover(outDir);
    return await commit(outDir, files, options);
  } finally {
    await release();
  }
}

/** Diff, stage, commit, apply. */
async function commit(outDir: string, files: readonly EmittedFile[], options: WriteOptions): Promise<WriteResult> {
  const changed: EmittedFile[] = [];
  for (const file of files) {
    const current = await readFile(join(outDir, file.path), "utf8").catch(() => undefined);
    if (current !== file.content) changed.push(file);
  }
  const next = new Set(files.map((f) => f.path));
  const owns = options.owns ?? (() => true);
  const stale = options.previous.filter((p) => !next.has(p) && owns(p) && isSafeRelative(p));
  if (changed.length === 0 && stale.length === 0) return { written: [], removed: [], unchanged: files.length };

  const journal = join(outDir, JOURNAL_DIR);
  const write = options.writeFile ?? ((path: string, content: string) => writeFile(path, content));
  try {
    await rm(journal, { recursive: true, force: true });
    for (const [i, file] of changed.entries()) {
      const staged = join(journal, "files", String(i));
      await mkdir(dirname(staged), { recursive: true });
      await write(staged, file.content);
    }
    const entry: Journal = { write: changed.map((f, i) => ({ from: `files/${i}`, to: f.path })), remove: stale };
    await write(join(journal, "journal.json.tmp"), JSON.stringify(entry));
    await rename(join(journal, "journal.json.tmp"), join(journal, "journal.json"));
  } catch (e) {
    await rm(journal, { recursive: true, force: true }).catch(() => {});
    throw new WriteError(`cannot write ${outDir}: ${reason(e)}. The previous output is unchanged.`);
  }
  await apply(outDir);
  return { written: changed.map((f) => f.path), removed: stale, unchanged: files.length - changed.length };
}

interface Journal {
  readonly write: readonly { readonly from: string; readonly to: string }[];
  readonly remove: readonly string[];
}

/** Roll a committed journal forward (idempotent: safe to repeat after another interruption). */
async function apply(outDir: string): Promise<void> {
  const journalDir = join(outDir, JOURNAL_DIR);
  const journal = JSON.parse(await readFile(join(journalDir, "journal.json"), "utf8")) as Journal;
  for (const { from, to } of journal.write) {
    const target = join(outDir, to);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(join(journalDir, from), target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
  for (const path of journal.remove) {
    await unlink(join(outDir, path)).catch(() => {});
    await pruneEmptyDirs(outDir, dirname(join(outDir, path)));
  }
  await rm(journalDir, { recursive: true, force: true });
}

/** Finish a committed journal; discard an uncommitted one (its staging never reached `out/`). */
async function recover(outDir: string): Promise<void> {
  const journalDir = join(outDir, JOURNAL_DIR);
  const committed = await readFile(join(journalDir, "journal.json"), "utf8").then(
    () => true,
    () => false,
  );
  if (committed) await apply(outDir);
  else await rm(journalDir, { recursive: true, force: true });
}

/** Remove directories left empty by pruning, up to (not including) `outDir`. Never non-empty ones. */
async function pruneEmptyDirs(outDir: string, dir: string): Promise<void> {
  let current = dir;
  while (current.startsWith(outDir + sep)) {
    const entries = await readdir(current).catch(() => null);
    if (entries === null || entries.length > 0) return;
    await rmdir(current).catch(() => {});
    current = dirname(current);
  }
}

function isSafeRelative(path: string): boolean {
  return !path.startsWith("/") && !path.split("/").includes("..") && relative(".", path) === path.split("/").join(sep);
}

async function lock(outDir: string, timeoutMs: number): Promise<() => Promise<void>> {
  const path = join(outDir, LOCK_FILE);
  const started = Date.now();
  for (;;) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(path).catch(() => {});
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "EEXIST") throw new WriteError(`cannot lock ${outDir}: ${reason(e)}`);
    }
    const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (!holder || !alive(holder)) {
      // The holder died (kill -9) without releasing: the lock is stale.
      await unlink(path).catch(() => {});
      continue;
    }
    if (Date.now() - started > timeoutMs) {
      throw new WriteError(`another caja compile (pid ${holder}) is writing ${outDir}; waited ${Math.round(timeoutMs / 1000)}s. Try again when it finishes.`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case "EACCES":
    case "EPERM":
      return `permission denied (${err.path ?? "?"})`;
    case "EROFS":
      return "the file system is read-only";
    case "ENOSPC":
      return "no space left on the device";
    case "EDQUOT":
      return "disk quota exceeded";
    default:
      return err.message ?? String(e);
  }
}
