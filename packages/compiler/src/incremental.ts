/**
 * Reusing the last compile: when the input is what the last successful `caja compile` into this
 * output directory compiled, and every file it wrote is still as it left it, the output on disk
 * already is what the pipeline would write, so it does not run again.
 *
 * The input is fingerprinted after the config is evaluated: the evaluated value (so imports,
 * environment variables and anything else the config reads count), where the config and its local
 * imports are, the options, today's date (suppressions expire), and the caja build itself. Each
 * written file is remembered by size, modification and change times and inode: an edit, a
 * checkout or a deletion shows in them. Anything unusual (an interrupted write, a lock, a value
 * that is not plain data) means the pipeline runs.
 *
 * The record is read back from a cache folder, so it is checked like anything else read from disk
 * (see cache.ts for whose records are read at all): a record of another shape is not used, and the
 * files it names must be ones this compile writes (generated files in out/, the workflow), reached
 * through no symbolic link; a file is compared by its own status, never a link's target.
 */
import { lstatSync } from "node:fs";
import { join } from "node:path";
import { isTodo } from "@caja/dsl";
import { cacheFile, readCache, writeCache } from "./cache.js";
import type { TodoReport } from "./pipeline.js";
import { isGeneratedOutput, JOURNAL_DIR, linkInOutput, LOCK_FILE } from "./write.js";

/** Defined by the CLI build: a hash of the bundle. Without it (caja run from source) nothing is reused. */
declare const __CAJA_BUILD_ID__: string | undefined;

const RECORD_FORMAT = 2;

/** What `caja compile` reports, whether the pipeline ran or its last result was reused. */
export interface CompileSummary {
  readonly roots: number;
  readonly resources: number;
  readonly todos: readonly TodoReport[];
  /** Security-gate warnings, described. */
  readonly warnings: readonly string[];
}

export interface FingerprintInput {
  readonly value: unknown;
  readonly configFile: string;
  readonly dependencies: readonly string[];
  readonly cwd: string;
  readonly outDir: string;
  readonly options: unknown;
}

type Signature = readonly [size: number, mtimeMs: number, ctimeMs: number, ino: number];

interface CompileRecord {
  readonly format: number;
  readonly key: string;
  /** Every file the compile wrote or found current (out/ relative, or absolute for the workflow). */
  readonly files: readonly (readonly [path: string, signature: Signature])[];
  readonly summary: CompileSummary;
}

/**
 * The input's fingerprint, or undefined when this run cannot reuse anything. It is the input
 * itself, as JSON, compared whole: no hash to trust, and no `node:crypto`, whose module alone
 * costs a compile 2 ms to load. It holds the config's values, which the compile writes into
 * out/ in any case, and the record keeping it is private to the user (see cache.ts).
 */
export function fingerprint(input: FingerprintInput): string | undefined {
  if (typeof __CAJA_BUILD_ID__ !== "string") return undefined;
  const value = plainValue(input.value);
  if (value === undefined) return undefined;
  return JSON.stringify({
    build: __CAJA_BUILD_ID__,
    value,
    configFile: input.configFile,
    dependencies: input.dependencies,
    cwd: input.cwd,
    outDir: input.outDir,
    options: input.options,
    today: new Date().toISOString().slice(0, 10),
  });
}

/**
 * The last compile's summary when its output is still exactly on disk, else undefined. `outside`:
 * the paths (relative to `outDir`) of the files outside it that the compile writes.
 */
export function reusable(configFile: string, outDir: string, key: string, outside: readonly string[] = []): CompileSummary | undefined {
  const present = (path: string) => lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  if (present(join(outDir, JOURNAL_DIR)) || present(join(outDir, LOCK_FILE))) return undefined;
  const record = readCache<unknown>(cacheFile(configFile, "compile", outDir));
  if (!isRecord(record, key)) return undefined;
  for (const [path, signature] of record.files) {
    if (!isGeneratedOutput(path) && !outside.includes(path)) return undefined;
    const now = signatureOf(join(outDir, path));
    if (!now || now.some((v, i) => v !== signature[i])) return undefined;
  }
  // Asked last, when all else matched: out/ or a folder in it being a link (which the write stage
  // refuses) may then be all that differs.
  if (linkInOutput(outDir, undefined, record.files.map(([path]) => path).filter(isGeneratedOutput)) !== undefined) return undefined;
  return record.summary;
}

/** Remember a successful compile: its fingerprint, the files now on disk, and its summary. */
export function remember(configFile: string, outDir: string, key: string, paths: readonly string[], summary: CompileSummary): void {
  const files: [string, Signature][] = [];
  for (const path of paths) {
    const signature = signatureOf(join(outDir, path));
    if (!signature) return; // a file it just wrote is gone already: nothing to vouch for
    files.push([path, signature]);
  }
  writeCache(cacheFile(configFile, "compile", outDir), { format: RECORD_FORMAT, key, files, summary } satisfies CompileRecord);
}

function signatureOf(path: string): Signature | undefined {
  const s = lstatSync(path, { throwIfNoEntry: false });
  return s?.isFile() ? [s.size, s.mtimeMs, s.ctimeMs, s.ino] : undefined;
}

/** Whether `record` is a compile record for `key`, of the shape `remember` writes (it was read from disk). */
function isRecord(record: unknown, key: string): record is CompileRecord {
  const r = record as Partial<CompileRecord> | undefined;
  if (typeof r !== "object" || r === null || r.format !== RECORD_FORMAT || r.key !== key || !Array.isArray(r.files)) return false;
  for (const entry of r.files as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string" || !Array.isArray(entry[1]) || entry[1].length !== 4 || !entry[1].every(Number.isFinite)) return false;
  }
  const s = r.summary as Partial<CompileSummary> | undefined;
  const strings = (x: unknown, keys: readonly string[]) => typeof x === "object" && x !== null && keys.every((k) => typeof (x as Record<string, unknown>)[k] === "string");
  return (
    typeof s === "object" &&
    s !== null &&
    Number.isFinite(s.roots) &&
    Number.isFinite(s.resources) &&
    Array.isArray(s.warnings) &&
    s.warnings.every((w) => typeof w === "string") &&
    Array.isArray(s.todos) &&
    s.todos.every(
      (t) =>
        strings(t, ["path", "reason"]) &&
        (t.site === undefined || typeof t.site === "string") &&
        Array.isArray(t.uses) &&
        (t.uses as unknown[]).every((u) => strings(u, ["variable", "root"])),
    )
  );
}

/**
 * The value as JSON-able data (todo() markers with their reason and site), or undefined when it
 * holds anything else (functions, symbols, class instances): such a config is not fingerprinted.
 */
function plainValue(value: unknown, ancestors = new Set<object>()): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "object") return undefined;
  if (isTodo(value)) return { "\u0000todo": [value.reason, value.site ?? null] };
  if (ancestors.has(value)) return undefined; // a cycle
  ancestors.add(value);
  try {
    return Array.isArray(value) ? plainArray(value, ancestors) : plainRecord(value, ancestors);
  } finally {
    ancestors.delete(value);
  }
}

function plainArray(value: readonly unknown[], ancestors: Set<object>): unknown {
  const out: unknown[] = [];
  for (const v of value) {
    const p = plainValue(v, ancestors);
    if (p === undefined) return undefined;
    out.push(p);
  }
  return out;
}

function plainRecord(value: object, ancestors: Set<object>): unknown {
  if (Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const p = plainValue(v, ancestors);
    if (p === undefined) return undefined;
    out[k] = p;
  }
  return out;
}
