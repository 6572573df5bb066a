/**
 * What a run prints, as pure functions of what happened: a progress line when a root starts, one
 * block when it ends (its status line, then its terraform output, indented), and the summary
 * table. The runner prints each block in one go, so two roots' lines never interleave.
 */
import type { Upstream } from "./bundle.js";
import type { Changes, Removal } from "./changes.js";

export type Action = "plan" | "apply" | "destroy" | "test";

export type Outcome =
  /**
   * Planned (and, for apply and destroy, applied when `applied`). A plan also tells what it
   * deletes and the digests of the upstream outputs it was made against.
   */
  | { readonly kind: "done"; readonly changes: Changes; readonly applied: boolean; readonly output: string; readonly removals?: readonly Removal[]; readonly upstream?: readonly Upstream[] }
  /** destroy: the root has no state, so there is nothing to destroy. */
  | { readonly kind: "no-state" }
  /** A root it depends on has no state yet, or lacks outputs it reads. */
  | { readonly kind: "waits"; readonly for: string; readonly missing: readonly string[] }
  /** destroy: a root outside the run that depends on this one still has state, so this one is kept. */
  | { readonly kind: "needed-by"; readonly by: string }
  /** Trial mode: the root reads AWS data sources, which cannot be planned without AWS. */
  | { readonly kind: "needs-aws"; readonly reads: readonly string[] }
  | { readonly kind: "failed"; readonly command: string; readonly detail: string; readonly log: string }
  /** test: every run of the root's mock test passed. */
  | { readonly kind: "passed"; readonly runs: number; readonly note?: string }
  /** Not started because an earlier root failed. */
  | { readonly kind: "not-run" };

export interface RootResult {
  readonly root: string;
  readonly outcome: Outcome;
  readonly ms: number;
}

export interface Position {
  /** 1-based, in start order. */
  readonly index: number;
  readonly total: number;
  readonly root: string;
}

const VERB: Record<Action, string> = { plan: "planning", apply: "applying", destroy: "destroying", test: "testing" };
const GUTTER = "  │ ";

/** `[3/9] dev/30-persistence  planning…` */
export function startLine(p: Position, action: Action): string {
  return `${prefix(p)}  ${VERB[action]}…`;
}

/** `[3/9] dev/30-persistence  applying… 2m 30s`: printed now and then while a root runs. */
export function stillLine(p: Position, action: Action, ms: number): string {
  return `${prefix(p)}  ${VERB[action]}… ${duration(ms)}`;
}

/** The block printed when a root ends: its status line, then what it said. */
export function finishBlock(p: Position, action: Action, r: RootResult, cwdRelative: (path: string) => string = (x) => x): string[] {
  const head = `${prefix(p)}  ${status(action, r.outcome)}  ${duration(r.ms)}`;
  const o = r.outcome;
  switch (o.kind) {
    case "done":
      return [head, ...indent(o.output)];
    case "failed":
      return [head, ...indent(o.detail), `${GUTTER}full log: ${cwdRelative(o.log)}`];
    case "passed":
      return o.note ? [head, ...indent(o.note)] : [head];
    case "no-state":
    case "waits":
    case "needed-by":
    case "needs-aws":
    case "not-run":
      return [head];
  }
}

/** The status of one root in a few words, as the progress line and the summary show it. */
export function status(action: Action, o: Outcome): string {
  switch (o.kind) {
    case "done": {
      const c = o.changes;
      const imports = c.import > 0 ? `, ${c.import} to import` : "";
      if (c.add + c.change + c.destroy + c.import === 0) return c.outputs === 0 ? "no changes" : o.applied ? "outputs updated" : "planned: output changes only";
      if (!o.applied) return `planned: ${c.add} to add, ${c.change} to change, ${c.destroy} to destroy${imports}`;
      return action === "destroy" ? `destroyed: ${c.destroy} destroyed` : `applied: ${c.add} added, ${c.change} changed, ${c.destroy} destroyed${c.import > 0 ? `, ${c.import} imported` : ""}`;
    }
    case "no-state":
      return "nothing to destroy (no state)";
    case "waits":
      return `waits for ${o.for} (${o.missing.length > 0 ? `its state lacks ${o.missing.join(", ")}` : "not applied yet"})`;
    case "needed-by":
      return `kept: ${o.by} still has state and depends on it`;
    case "needs-aws":
      return `needs AWS: reads ${o.reads.join(", ")}, which trial mode cannot plan`;
    case "failed":
      return `FAILED at ${o.command}`;
    case "passed":
      return `passed (${o.runs} run${o.runs === 1 ? "" : "s"})`;
    case "not-run":
      return "not run (an earlier root failed)";
  }
}

/** The closing table: one row per root in run order, then the totals. */
export function summaryTable(action: Action, results: readonly RootResult[]): string[] {
  const counted = action !== "test";
  const header = counted ? ["root", "result", "add", "change", "destroy", "time"] : ["root", "result", "time"];
  const rows = results.map((r) => {
    const c = r.outcome.kind === "done" ? r.outcome.changes : undefined;
    const time = r.outcome.kind === "not-run" ? "" : duration(r.ms);
    const result = shortStatus(r.outcome);
    return counted ? [r.root, result, num(c?.add), num(c?.change), num(c?.destroy), time] : [r.root, result, time];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const numeric = (i: number) => counted && i >= 2 && i < header.length - 1;
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (numeric(i) ? cell.padStart(widths[i]!) : i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line), totals(action, results)];
}

function shortStatus(o: Outcome): string {
  switch (o.kind) {
    case "done":
      return o.applied ? "applied" : o.changes.add + o.changes.change + o.changes.destroy + o.changes.import === 0 ? "no changes" : "planned";
    case "no-state":
      return "no state";
    case "waits":
      return `waits for ${o.for}`;
    case "needed-by":
      return `kept for ${o.by}`;
    case "needs-aws":
      return "needs AWS";
    case "failed":
      return "FAILED";
    case "passed":
      return "passed";
    case "not-run":
      return "not run";
  }
}

const TOTAL_LABEL: Partial<Record<Outcome["kind"], string>> = { waits: "waiting", "needed-by": "kept", "needs-aws": "need AWS" };

function totals(action: Action, results: readonly RootResult[]): string {
  const counts = new Map<string, number>();
  for (const r of results) {
    const key = TOTAL_LABEL[r.outcome.kind] ?? shortStatus(r.outcome);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const parts = [...counts].map(([k, n]) => `${n} ${k}`);
  const done = results.flatMap((r) => (r.outcome.kind === "done" && (action === "plan" || r.outcome.applied) ? [r.outcome.changes] : []));
  const sum = (k: "add" | "change" | "destroy") => done.reduce((n, c) => n + c[k], 0);
  const changes =
    action === "test" || done.length === 0
      ? ""
      : action === "plan"
        ? `; ${sum("add")} to add, ${sum("change")} to change, ${sum("destroy")} to destroy`
        : `; ${sum("add")} added, ${sum("change")} changed, ${sum("destroy")} destroyed`;
  return `${results.length} root${results.length === 1 ? "" : "s"}: ${parts.join(", ")}${changes}`;
}

function prefix(p: Position): string {
  return `[${p.index}/${p.total}] ${p.root}`;
}

function num(n: number | undefined): string {
  return n === undefined ? "-" : String(n);
}

/** Terraform's output for a block: blank edges dropped, every line in the gutter. */
function indent(text: string): string[] {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  while (lines.length > 0 && lines[0]!.trim() === "") lines.shift();
  while (lines.length > 0 && lines.at(-1)!.trim() === "") lines.pop();
  return lines.map((l) => (l.trim() === "" ? GUTTER.trimEnd() : `${GUTTER}${l.trimEnd()}`));
}

/** `850ms`, `12.4s`, `2m 05s`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
}
