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
 *    own) are never touched: caja only deletes paths listed in its previous manifest, and only
 *    those of the kinds it generates (see `isGeneratedOutput`).
 *
 * Everything read back from disk is untrusted: out/ may hold a planted journal, manifest or lock,
 * or symbolic links, committed by anyone. Every path read from a journal or a manifest must be a
 * plain relative path of a kind caja generates, and no folder on the way to anything caja writes
 * or deletes may be a symbolic link (nor out/ itself): otherwise the write stops, naming the
 * offending entry or link, before anything is changed. A link in place of a file caja writes is
 * replaced, never written through.
 *
 * Unchanged files are not rewritten, so a second compile of the same input writes nothing.
 *
 * File system calls are synchronous: each is microseconds of real work, while a promise-based call
 * costs a round trip through libuv's thread pool (and the first one starts that pool), which made
 * small compiles mostly wait. Only waiting for another compile's lock is asynchronous.
 */
import {
  closeSync,
  constants,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
  type Stats,
} from "node:fs";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import type { EmittedFile } from "./emit.js";
import { WriteError } from "./errors.js";
import { isPlainRelative, posixRelative } from "./relpath.js";

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
  /** How errors show a path (default: as it is); the CLI shows them relative to the project. */
  readonly show?: (path: string) => string;
  /** The project folder: no folder from it down to the output directory may be a symbolic link. */
  readonly within?: string;
}

export interface WriteResult {
  readonly written: readonly string[];
  readonly removed: readonly string[];
  readonly unchanged: number;
}

export async function writeOutput(outDir: string, files: readonly EmittedFile[], options: WriteOptions): Promise<WriteResult> {
  const show = options.show ?? ((path: string) => path);
  // Before anything is created: the lock itself is a file in out/.
  refuseLinkedOutput(outDir, options.within, show);
  for (const file of files) if (!isGeneratedOutput(file.path)) throw new Error(`internal: ${file.path} is not a kind of file caja generates`);
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (e) {
    throw new WriteError(`cannot create ${show(outDir)}: ${reason(e, show)}`);
  }
  const release = await lock(outDir, options.lockTimeoutMs ?? 30_000, show);
  try {
    try {
      recover(outDir, show);
    } catch (e) {
      if (e instanceof WriteError) throw e;
      throw new WriteError(`cannot finish the interrupted write in ${show(join(outDir, JOURNAL_DIR))}: ${reason(e, show)}. Fix that, then run caja compile again.`);
    }
    return await commit(outDir, files, { ...options, previous: [...new Set([...options.previous, ...manifestFiles(outDir)])] }, holdsNothing(outDir), show);
  } finally {
    release();
  }
}

/** Larger than any manifest or journal caja writes (a 100-environment manifest is about 1 MB). */
const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/**
 * The files the manifest on disk lists (what the last completed write generated), keeping only
 * plain relative paths of the kinds caja generates: the manifest is a file anyone can edit, and
 * what it lists may be deleted.
 */
export function manifestFiles(outDir: string): string[] {
  const text = readUntrusted(join(outDir, MANIFEST), MAX_RECORD_BYTES);
  if (text === undefined) return [];
  try {
    const files = (JSON.parse(text) as { files?: unknown })?.files;
    return Array.isArray(files) ? [...new Set(files.filter(isGeneratedOutput))] : [];
  } catch {
    return [];
  }
}

/**
 * Whether `path` (relative to out/) is of a kind caja generates: `manifest.json`, a reviewer doc
 * in `docs/`, or a root's `main.tf.json` / `main.tftest.json`. Never state (`*.tfstate*`), plans,
 * `.terraform/`, lock files, variables files, overrides, or anything hidden.
 */
export function isGeneratedOutput(path: unknown): path is string {
  return typeof path === "string" && GENERATED.test(path);
}

const GENERATED =
  /^(?!.*\.(?:tfstate|tfplan|tfvars))(?:manifest\.json|docs\/[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9_-]+)?\.(?:md|svg|json)|(?:[A-Za-z0-9][A-Za-z0-9_-]*\/)+main\.(?:tf|tftest)\.json)$/;

/** Whether `out/` holds nothing but this compile's lock (a first compile): no file to compare with. */
function holdsNothing(outDir: string): boolean {
  return readdirSync(outDir).every((name) => name === LOCK_FILE);
}

/** Diff, stage, commit, apply. */
async function commit(outDir: string, files: readonly EmittedFile[], options: WriteOptions, empty: boolean, show: (path: string) => string): Promise<WriteResult> {
  // Every folder on the way to what is written or deleted is checked before anything is read
  // through it: each once, and none at all in an out/ that holds nothing yet.
  const folders: Folders = new Map();
  const refuseLinks = (path: string) => {
    const link = linkOnTheWay(outDir, parentOf(path), folders);
    if (link !== undefined) throw linkError(link, show);
  };
  if (!empty) for (const file of files) refuseLinks(file.path);
  const next = new Set(files.map((f) => f.path));
  const owns = options.owns ?? (() => true);
  const stale: string[] = [];
  for (const path of options.previous) {
    if (next.has(path) || !owns(path) || !isGeneratedOutput(path)) continue;
    refuseLinks(path);
    const present = lstatSync(join(outDir, path), { throwIfNoEntry: false });
    if (present?.isFile() || present?.isSymbolicLink()) stale.push(path);
  }
  const changed: EmittedFile[] = [];
  for (const file of files) if (empty || readIfExists(join(outDir, file.path)) !== file.content) changed.push(file);
  if (changed.length === 0 && stale.length === 0) return { written: [], removed: [], unchanged: files.length };

  const journal = join(outDir, JOURNAL_DIR);
  const write = options.writeFile ?? (async (path: string, content: string) => writeFileSync(path, content));
  const entry: Journal = { write: changed.map((f) => ({ from: `${STAGED}/${f.path}`, to: f.path })), remove: stale };
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
    await write(join(journal, "journal.json.tmp"), JSON.stringify(entry));
    renameSync(join(journal, "journal.json.tmp"), join(journal, "journal.json"));
  } catch (e) {
    quietly(() => rmSync(journal, { recursive: true, force: true }));
    throw new WriteError(`cannot write ${show(outDir)}: ${reason(e, show)}. The previous output is unchanged.`);
  }
  try {
    apply(outDir, entry);
  } catch (e) {
    throw new WriteError(
      `cannot write ${show(outDir)}: ${reason(e, show)}. The write was interrupted after its commit point; ` +
        `the next caja compile finishes it from ${show(join(outDir, JOURNAL_DIR))} before writing anything else.`,
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

let made = 0;

/**
 * A name part (hexadecimal, as recovery reads it back) no other file or lock of this process has,
 * and another process's only by chance (with its pid beside it, never): each such file is created
 * exclusively, so uniqueness is all a name needs. Not `crypto.randomBytes`, whose module alone
 * costs a compile 2 ms to load.
 */
function unique(): string {
  return `${(++made).toString(16)}${Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, "0")}`;
}

/**
 * Replace a file whole: written beside it, then renamed over it, so a reader never sees it half
 * written (and a symbolic link in its place is replaced, not written through). The temporary
 * file is created fresh (never an existing file or link of that name). On failure it is removed
 * and the error thrown.
 */
export function replaceFile(path: string, content: string | Uint8Array, options: { readonly mode?: number } = {}): void {
  const temp = `${path}.caja-${process.pid}-${unique()}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(temp, content, { flag: "wx", ...(options.mode !== undefined ? { mode: options.mode } : {}) });
    renameSync(temp, path);
  } catch (e) {
    quietly(() => unlinkSync(temp));
    throw e;
  }
}

/** A regular file's text, or undefined when it is missing, not a regular file (a link, a folder) or unreadable. */
export function readIfExists(path: string): string | undefined {
  // Asked first, because a failed read throws, and a thrown error (with its stack) costs more than
  // the read: a first compile into an empty out/ asks this for every file.
  if (!lstatSync(path, { throwIfNoEntry: false })?.isFile()) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * A file caja did not necessarily write (a manifest, a journal, a lock, a cache record): never
 * through a symbolic link in its place, never a FIFO or device (which could block or never end),
 * at most `maxBytes`, and only when `accept` (given its status) agrees. Undefined otherwise.
 */
export function readUntrusted(path: string, maxBytes: number, accept: (stats: Stats) => boolean = () => true): string | undefined {
  const stats = lstatSync(path, { throwIfNoEntry: false });
  if (!stats?.isFile() || stats.size > maxBytes || !accept(stats)) return undefined;
  try {
    // Should it have been swapped since: no link followed, no FIFO waited on. (Node takes numeric
    // flags here, though its types say string.)
    return readFileSync(path, { encoding: "utf8", flag: UNTRUSTED_READ as unknown as string });
  } catch {
    return undefined;
  }
}

const UNTRUSTED_READ = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** Roll a committed journal forward (idempotent: safe to repeat after another interruption). */
function apply(outDir: string, journal: Journal): void {
  const journalDir = join(outDir, JOURNAL_DIR);
  const present = new Map<string, boolean>();
  const exists = (dir: string) => {
    let known = present.get(dir);
    if (known === undefined) present.set(dir, (known = lstatSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false));
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
 * A journal left in out/, checked whole before any of it is applied: it may have been planted
 * (committed, copied in), and applying it moves and deletes files. Every entry must be a plain
 * relative path that stays in its folder, what it writes or removes must be a kind of file caja
 * generates, and no folder on the way may be a symbolic link.
 */
function readJournal(outDir: string, show: (path: string) => string): Journal {
  const journalDir = join(outDir, JOURNAL_DIR);
  const file = join(journalDir, "journal.json");
  const refuse = (why: string) => new WriteError(`${show(file)}: refused: ${why}; nothing was changed. Remove ${show(journalDir)} if you did not create it.`);
  const text = readUntrusted(file, MAX_RECORD_BYTES);
  let doc: unknown;
  try {
    doc = text === undefined ? undefined : JSON.parse(text);
  } catch {
    doc = undefined;
  }
  const { write, remove } = (doc ?? {}) as { write?: unknown; remove?: unknown };
  if (!Array.isArray(write) || !Array.isArray(remove)) throw refuse("it is not a journal caja writes (a regular file of JSON with write and remove lists)");
  const inOut: Folders = new Map();
  const inJournal: Folders = new Map();
  /** `path` read from the journal, relative to `base`: a file caja generates (`to`, `remove`) or a staged one (`from`). */
  const check = (path: unknown, base: string, folders: Folders, generated: boolean) => {
    const entry = `entry ${quote(path)}`;
    if (typeof path !== "string") throw refuse(`${entry} is not a path`);
    if (isAbsolute(path) || /^[A-Za-z]:/.test(path)) throw refuse(`${entry} is an absolute path`);
    if (!isPlainRelative(path)) {
      const resolved = join(base, path);
      const inside = (dir: string) => resolved === dir || resolved.startsWith(dir + sep);
      throw refuse(`${entry} ${!inside(outDir) ? `leaves ${show(outDir)}/` : !inside(base) ? `leaves ${show(base)}/` : "is not a plain relative path"}`);
    }
    if (generated && !isGeneratedOutput(path)) throw refuse(`${entry} is not a file caja generates`);
    let link = linkOnTheWay(base, parentOf(path), folders);
    // A staged file that is a link would move into out/ as a link to anywhere.
    if (link === undefined && !generated && lstatSync(join(base, path), { throwIfNoEntry: false })?.isSymbolicLink()) link = join(base, path);
    if (link !== undefined) throw refuse(`${entry} passes through ${show(link)}, a symbolic link (to ${linkTarget(link)})`);
  };
  for (const w of write as unknown[]) {
    const { from, to } = (typeof w === "object" && w !== null ? w : {}) as { from?: unknown; to?: unknown };
    check(from, journalDir, inJournal, false);
    check(to, outDir, inOut, true);
  }
  for (const path of remove as unknown[]) check(path, outDir, inOut, true);
  return { write: write as Journal["write"], remove: remove as string[] };
}

/** A journal entry as the user can find it in the file, cut short if long. */
function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * What the next compile does first, for readers that must not see a half-applied write (and for
 * tests): under the lock, finish or discard an interrupted write. Afterwards `out/` holds exactly
 * one compile's output.
 */
export async function recoverOutput(outDir: string, options: Pick<WriteOptions, "lockTimeoutMs" | "show"> = {}): Promise<void> {
  const show = options.show ?? ((path: string) => path);
  refuseLinkedOutput(outDir, undefined, show);
  const release = await lock(outDir, options.lockTimeoutMs ?? 30_000, show);
  try {
    recover(outDir, show);
  } finally {
    release();
  }
}

/** Finish a committed journal; discard an uncommitted one (its staging never reached `out/`). */
function recover(outDir: string, show: (path: string) => string): void {
  removeAbandonedLockFiles(outDir);
  const journalDir = join(outDir, JOURNAL_DIR);
  const found = lstatSync(journalDir, { throwIfNoEntry: false });
  if (found === undefined) return;
  if (found.isSymbolicLink()) throw linkError(journalDir, show);
  if (found.isDirectory() && lstatSync(join(journalDir, "journal.json"), { throwIfNoEntry: false }) !== undefined) apply(outDir, readJournal(outDir, show));
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

/** Each folder's kind, by its path relative to the base it was looked up from. */
type Folders = Map<string, "folder" | "link" | "other">;

/** The folder part of a `/`-separated relative path ("" for a name alone). */
function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

/**
 * The first symbolic link among the folders from `base` (excluded) down to `base/dir` (a
 * `/`-separated relative path), or undefined: none, or the folders stop existing before one (then
 * nothing below exists either). Each folder is looked at once per `folders`.
 */
function linkOnTheWay(base: string, dir: string, folders: Folders): string | undefined {
  let start = 0;
  while (start < dir.length) {
    let end = dir.indexOf("/", start);
    if (end === -1) end = dir.length;
    const prefix = dir.slice(0, end);
    let kind = folders.get(prefix);
    if (kind === undefined) {
      const found = lstatSync(join(base, prefix), { throwIfNoEntry: false });
      kind = found?.isDirectory() ? "folder" : found?.isSymbolicLink() ? "link" : "other";
      folders.set(prefix, kind);
    }
    if (kind === "link") return join(base, prefix);
    // Missing, or a file where a folder belongs (writing there fails, naming it).
    if (kind === "other") return undefined;
    start = end + 1;
  }
  return undefined;
}

/** The first symbolic link among the folders on the way from `base` to any of `paths` (`/`-separated, relative to it). */
export function linkAmong(base: string, paths: Iterable<string>): string | undefined {
  const folders: Folders = new Map();
  for (const path of paths) {
    const link = linkOnTheWay(base, parentOf(path), folders);
    if (link !== undefined) return link;
  }
  return undefined;
}

/**
 * Throws, naming the link, when a folder on the way from `base` to the file `path` below it is a
 * symbolic link: caja writes and deletes through no link, whoever made it.
 */
export function refuseLinksOnTheWay(base: string, path: string, show: (path: string) => string = (p) => p): void {
  const link = linkOnTheWay(base, parentOf(posixRelative(base, path)), new Map());
  if (link !== undefined) throw linkError(link, show);
}

/**
 * The first symbolic link that out/ is (or a folder down to it from the project folder `within`),
 * else one among the folders on the way to `paths` in it (`/`-separated, relative to out/).
 */
export function linkInOutput(outDir: string, within: string | undefined, paths: Iterable<string> = []): string | undefined {
  const rel = within === undefined ? "" : posixRelative(within, outDir);
  const inside = rel !== "" && rel !== ".." && !rel.startsWith("../") && !isAbsolute(rel);
  const own = inside ? linkOnTheWay(within!, rel, new Map()) : lstatSync(outDir, { throwIfNoEntry: false })?.isSymbolicLink() ? outDir : undefined;
  return own ?? linkAmong(outDir, paths);
}

/** out/ itself, and the folders down to it from the project folder, must not be symbolic links. */
function refuseLinkedOutput(outDir: string, within: string | undefined, show: (path: string) => string): void {
  const link = linkInOutput(outDir, within);
  if (link !== undefined) throw linkError(link, show);
}

function linkError(link: string, show: (path: string) => string): WriteError {
  return new WriteError(`${show(link)} is a symbolic link (to ${linkTarget(link)}); caja does not write through links. Remove it and compile again.`);
}

function linkTarget(link: string): string {
  return quietly(() => readlinkSync(link)) ?? "?";
}

async function lock(outDir: string, timeoutMs: number, show: (path: string) => string): Promise<() => void> {
  const path = join(outDir, LOCK_FILE);
  const mine = `${process.pid} ${unique()}`;
  const started = Date.now();
  let takeovers = 0;
  for (;;) {
    if (tryCreate(path, mine, outDir, show)) {
      // Release only our own lock: a lock that was taken over is someone else's now.
      return () => {
        if (readIfExists(path) === mine) quietly(() => unlinkSync(path));
      };
    }
    // A lock that is a link, a folder or a FIFO (planted) holds no pid: it is taken over, and only
    // the link itself is removed. Never read through it (a FIFO would block, /dev/zero never end).
    const held = readUntrusted(path, 1024) ?? "";
    if (held === "" && lstatSync(path, { throwIfNoEntry: false }) === undefined) continue; // released between our attempt and the read
    const holder = Number(held.split(" ")[0]);
    if (!holder || !alive(holder)) {
      // The holder died (kill -9) without releasing: the lock is stale.
      if (++takeovers > 20) throw new WriteError(`cannot take over the abandoned lock ${show(path)}; remove it and run caja compile again`);
      takeOver(path, held);
      continue;
    }
    if (Date.now() - started > timeoutMs) {
      throw new WriteError(`another caja compile (pid ${holder}) is writing ${show(outDir)}; waited ${Math.round(timeoutMs / 1000)}s. Try again when it finishes.`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Create the lock with its content in one step: write it aside, then hard-link it into place (a
 * link fails if the name exists, like `open(wx)`, but the file is never seen empty). Where hard
 * links are not supported, fall back to `open(wx)`.
 */
function tryCreate(path: string, content: string, outDir: string, show: (path: string) => string): boolean {
  const aside = `${path}.${process.pid}.${unique()}`;
  try {
    writeFileSync(aside, content, { flag: "wx" });
  } catch (e) {
    throw new WriteError(`cannot lock ${show(outDir)}: ${reason(e, show)}`);
  }
  try {
    linkSync(aside, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") throw new WriteError(`cannot lock ${show(outDir)}: ${reason(e, show)}`);
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
      throw new WriteError(`cannot lock ${show(outDir)}: ${reason(e2, show)}`);
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
  const aside = `${path}.stale.${process.pid}.${unique()}`;
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

function reason(e: unknown, show: (path: string) => string): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case "EACCES":
    case "EPERM":
      return `permission denied (${err.path === undefined ? "?" : show(err.path)})`;
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
