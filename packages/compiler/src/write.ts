/**
 * Write stage: put emitted files under `out/` so that a failed or killed compile never leaves a
 * mix of old and new output.
 *
 * 1. Take `out/.caja-lock` (a second compile waits, then fails naming the holder). The lock file
 *    appears with its holder's pid already in it (written aside, then hard-linked into place), so a
 *    waiting compile never mistakes a lock being taken for an abandoned one.
 * 2. Finish or discard what an interrupted earlier write left in `out/.caja-journal/`.
 * 3. Read the manifest now on disk (under the lock: another compile may have written since the
 *    caller read it) for the files to prune, stage every changed file in the journal, then write
 *    `journal.json`: the commit point. A kill before it leaves `out/` as it was; a kill after it
 *    is rolled forward by the next run, before it writes anything.
 * 4. Move staged files into place (same-filesystem renames) and delete generated files that are
 *    no longer generated. Files caja did not generate (`.terraform/`, state, lock files, a user's
 *    own) are never touched: caja only deletes paths listed in its previous manifest.
 *
 * Unchanged files are not rewritten, so a second compile of the same input writes nothing.
 *
 * File system calls are synchronous: each is microseconds of real work, while a promise-based call
 * costs a round trip through libuv's thread pool (and the first one starts that pool), which made
 * small compiles mostly wait. Only waiting for another compile's lock is asynchronous.
 */
import { randomBytes } from "node:crypto";
import { closeSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import type { EmittedFile } from "./emit.js";
import { WriteError } from "./errors.js";

export { WriteError };

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

export async function writeOutput(outDir: string, files: readonly EmittedFile[], options: WriteOptions): Promise<WriteResult> {
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (e) {
    throw new WriteError(`cannot create ${outDir}: ${reason(e)}`);
  }
  const release = await lock(outDir, options.lockTimeoutMs ?? 30_000);
  try {
    try {
      recover(outDir);
    } catch (e) {
      throw new WriteError(`cannot finish the interrupted write in ${join(outDir, JOURNAL_DIR)}: ${reason(e)}. Fix that, then run caja compile again.`);
    }
    return await commit(outDir, files, { ...options, previous: [...new Set([...options.previous, ...manifestFiles(outDir)])] }, holdsNothing(outDir));
  } finally {
    release();
  }
}

/** The files the manifest on disk lists (what the last completed write generated). */
export function manifestFiles(outDir: string): string[] {
  try {
    const manifest = JSON.parse(readFileSync(join(outDir, MANIFEST), "utf8")) as { files?: unknown };
    return Array.isArray(manifest.files) ? manifest.files.filter((f): f is string => typeof f === "string") : [];
  } catch {
    return [];
  }
}

/** Whether `out/` holds nothing but this compile's lock (a first compile): no file to compare with. */
function holdsNothing(outDir: string): boolean {
  return readdirSync(outDir).every((name) => name === LOCK_FILE);
}

/** Diff, stage, commit, apply. */
async function commit(outDir: string, files: readonly EmittedFile[], options: WriteOptions, empty: boolean): Promise<WriteResult> {
  const changed: EmittedFile[] = [];
  for (const file of files) if (empty || readIfExists(join(outDir, file.path)) !== file.content) changed.push(file);
  const next = new Set(files.map((f) => f.path));
  const owns = options.owns ?? (() => true);
  const stale = options.previous.filter((p) => !next.has(p) && owns(p) && isSafeRelative(p));
  if (changed.length === 0 && stale.length === 0) return { written: [], removed: [], unchanged: files.length };

  const journal = join(outDir, JOURNAL_DIR);
  const write = options.writeFile ?? (async (path: string, content: string) => writeFileSync(path, content));
  try {
    rmSync(journal, { recursive: true, force: true });
    // Staged in the layout of out/ (files/prod/50-service/main.tf.json): a folder new to out/ then
    // moves in whole, and no folder collects thousands of new files, which some file systems
    // (ext4 here) create several times slower than the same files spread over folders.
    const made = new Set<string>();
    for (const file of changed) {
      const staged = join(journal, STAGED, file.path);
      const dir = dirname(staged);
      if (!made.has(dir)) {
        mkdirSync(dir, { recursive: true });
        made.add(dir);
      }
      await write(staged, file.content);
    }
    const entry: Journal = { write: changed.map((f) => ({ from: `${STAGED}/${f.path}`, to: f.path })), remove: stale };
    await write(join(journal, "journal.json.tmp"), JSON.stringify(entry));
    renameSync(join(journal, "journal.json.tmp"), join(journal, "journal.json"));
  } catch (e) {
    quietly(() => rmSync(journal, { recursive: true, force: true }));
    throw new WriteError(`cannot write ${outDir}: ${reason(e)}. The previous output is unchanged.`);
  }
  try {
    apply(outDir);
  } catch (e) {
    throw new WriteError(
      `cannot write ${outDir}: ${reason(e)}. The write was interrupted after its commit point; ` +
        `the next caja compile finishes it from ${join(outDir, JOURNAL_DIR)} before writing anything else.`,
    );
  }
  return { written: changed.map((f) => f.path), removed: stale, unchanged: files.length - changed.length };
}

/** Where a journal stages the files it writes (in out/'s layout). */
const STAGED = "files";

/** The outermost folder from `outDir` down to `dir` that does not exist, if any. */
function outermostMissing(outDir: string, dir: string, exists: (dir: string) => boolean): string | undefined {
  let current = outDir;
  for (const segment of relative(outDir, dir).split(sep)) {
    if (segment === "") continue;
    current = join(current, segment);
    if (!exists(current)) return current;
  }
  return undefined;
}

interface Journal {
  readonly write: readonly { readonly from: string; readonly to: string }[];
  readonly remove: readonly string[];
}

/**
 * Replace a file whole: written beside it, then renamed over it, so a reader never sees it half
 * written. On failure the temporary file is removed and the error thrown.
 */
export function replaceFile(path: string, content: string): void {
  const temp = `${path}.caja-${process.pid}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(temp, content);
    renameSync(temp, path);
  } catch (e) {
    quietly(() => unlinkSync(temp));
    throw e;
  }
}

/** A text file's content, or undefined when it cannot be read. */
export function readIfExists(path: string): string | undefined {
  // Asked first, because a failed read throws, and a thrown error (with its stack) costs more than
  // the read: a first compile into an empty out/ asks this for every file.
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Roll a committed journal forward (idempotent: safe to repeat after another interruption). */
function apply(outDir: string): void {
  const journalDir = join(outDir, JOURNAL_DIR);
  const journal = JSON.parse(readFileSync(join(journalDir, "journal.json"), "utf8")) as Journal;
  const present = new Map<string, boolean>();
  const exists = (dir: string) => {
    let known = present.get(dir);
    if (known === undefined) present.set(dir, (known = statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false));
    return known;
  };
  // Folders this run moved in whole (`dev/`): the files staged in them have moved with them.
  const movedWhole: string[] = [];
  for (const { from, to } of journal.write) {
    if (from === `${STAGED}/${to}` && movedWhole.some((dir) => to.startsWith(dir))) continue;
    const target = join(outDir, to);
    // The outermost folder of the target that out/ does not have yet: when the file was staged in
    // out/'s layout, that folder is staged whole (every file in it is new) and moves in at once.
    const missing = outermostMissing(outDir, dirname(target), exists);
    if (missing !== undefined) {
      const staged = join(journalDir, STAGED, relative(outDir, missing));
      if (from === `${STAGED}/${to}` && exists(staged)) {
        renameSync(staged, missing);
        movedWhole.push(`${relative(outDir, missing).split(sep).join("/")}/`);
        present.clear();
        continue;
      }
      mkdirSync(dirname(target), { recursive: true });
      present.clear();
    }
    try {
      renameSync(join(journalDir, from), target);
    } catch (e) {
      // Moved already: by an earlier run of this journal, or with its folder.
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
  for (const path of journal.remove) {
    quietly(() => unlinkSync(join(outDir, path)));
    pruneEmptyDirs(outDir, dirname(join(outDir, path)));
  }
  rmSync(journalDir, { recursive: true, force: true });
}

/**
 * What the next compile does first, for readers that must not see a half-applied write (and for
 * tests): under the lock, finish or discard an interrupted write. Afterwards `out/` holds exactly
 * one compile's output.
 */
export async function recoverOutput(outDir: string, options: Pick<WriteOptions, "lockTimeoutMs"> = {}): Promise<void> {
  const release = await lock(outDir, options.lockTimeoutMs ?? 30_000);
  try {
    recover(outDir);
  } finally {
    release();
  }
}

/** Finish a committed journal; discard an uncommitted one (its staging never reached `out/`). */
function recover(outDir: string): void {
  removeAbandonedLockFiles(outDir);
  const journalDir = join(outDir, JOURNAL_DIR);
  if (readIfExists(join(journalDir, "journal.json")) !== undefined) apply(outDir);
  else rmSync(journalDir, { recursive: true, force: true });
}

/** Lock files a killed compile left aside while taking the lock (`.caja-lock.<pid>.<hex>`). */
function removeAbandonedLockFiles(outDir: string): void {
  for (const name of quietly(() => readdirSync(outDir)) ?? []) {
    const m = /^\.caja-lock\.(?:stale\.)?(\d+)\.[0-9a-f]+$/.exec(name);
    if (m && !alive(Number(m[1]))) quietly(() => rmSync(join(outDir, name), { recursive: true, force: true }));
  }
}

/** Remove directories left empty by pruning, up to (not including) `outDir`. Never non-empty ones. */
function pruneEmptyDirs(outDir: string, dir: string): void {
  let current = dir;
  while (current.startsWith(outDir + sep)) {
    const entries = quietly(() => readdirSync(current));
    if (entries === undefined || entries.length > 0) return;
    quietly(() => rmdirSync(current));
    current = dirname(current);
  }
}

function isSafeRelative(path: string): boolean {
  return !path.startsWith("/") && !path.split("/").includes("..") && relative(".", path) === path.split("/").join(sep);
}

async function lock(outDir: string, timeoutMs: number): Promise<() => void> {
  const path = join(outDir, LOCK_FILE);
  const mine = `${process.pid} ${randomBytes(6).toString("hex")}`;
  const started = Date.now();
  let takeovers = 0;
  for (;;) {
    if (tryCreate(path, mine, outDir)) {
      // Release only our own lock: a lock that was taken over is someone else's now.
      return () => {
        if (readIfExists(path) === mine) quietly(() => unlinkSync(path));
      };
    }
    let held: string;
    try {
      held = readFileSync(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // released between our attempt and the read
      held = "";
    }
    const holder = Number(held.split(" ")[0]);
    if (!holder || !alive(holder)) {
      // The holder died (kill -9) without releasing: the lock is stale.
      if (++takeovers > 20) throw new WriteError(`cannot take over the abandoned lock ${path}; remove it and run caja compile again`);
      takeOver(path, held);
      continue;
    }
    if (Date.now() - started > timeoutMs) {
      throw new WriteError(`another caja compile (pid ${holder}) is writing ${outDir}; waited ${Math.round(timeoutMs / 1000)}s. Try again when it finishes.`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Create the lock with its content in one step: write it aside, then hard-link it into place (a
 * link fails if the name exists, like `open(wx)`, but the file is never seen empty). Where hard
 * links are not supported, fall back to `open(wx)`.
 */
function tryCreate(path: string, content: string, outDir: string): boolean {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    writeFileSync(aside, content, { flag: "wx" });
  } catch (e) {
    throw new WriteError(`cannot lock ${outDir}: ${reason(e)}`);
  }
  try {
    linkSync(aside, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") throw new WriteError(`cannot lock ${outDir}: ${reason(e)}`);
    try {
      const fd = openSync(path, "wx");
      try {
        writeSync(fd, content);
      } finally {
        closeSync(fd);
      }
      return true;
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw new WriteError(`cannot lock ${outDir}: ${reason(e2)}`);
    }
  } finally {
    quietly(() => unlinkSync(aside));
  }
}

/**
 * Remove a stale lock without racing another compile doing the same: move it aside atomically,
 * and if what was moved is not the stale lock we saw (another compile took the lock in between),
 * put it back.
 */
function takeOver(path: string, stale: string): void {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // already gone: someone else took it over
  }
  const moved = readIfExists(aside) ?? stale;
  if (moved !== stale) quietly(() => linkSync(aside, path));
  quietly(() => rmSync(aside, { recursive: true, force: true }));
}

/** `f()`, or undefined where it throws: for clean-up whose failure changes nothing. */
function quietly<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
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
