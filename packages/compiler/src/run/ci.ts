/**
 * What the generated pipeline asks of caja besides plan and apply: which roots it runs (all of a
 * scope, or on a pull request those whose files changed and every root that reads one of them),
 * and the one pull-request comment that carries the plans. Pure functions, except the comment's
 * HTTP calls, which go through an injected `fetch`.
 */
import type { Plan } from "../plan.js";
import type { Manifest } from "./manifest.js";

/** The roots the pipeline plans and applies: remote state, and not an administrator's phase. */
export function isPipelineRoot(root: Pick<Plan["roots"][number], "backend" | "phase">): boolean {
  return root.backend.type === "s3" && !root.phase.administered;
}

/** Scopes the pipeline runs, in apply order: `global` first, then each environment. */
export function pipelineScopes(plan: Pick<Plan, "roots">): string[] {
  return [...new Set(plan.roots.map((r) => r.scope))];
}

/**
 * The roots a change touches: those with a changed file under `<outDir>/<root>/`, then every root
 * reading an output of one of them, however indirectly (the manifest is in apply order, so one
 * pass reaches them all). Needing the state bucket is not reading: a change to the bootstrap root
 * alone does not select every root. `files` and `outDir` are relative to the same folder.
 */
export function changedRoots(manifest: Manifest, files: readonly string[], outDir: string): Set<string> {
  const prefix = outDir === "." || outDir === "" ? "" : `${outDir.replace(/\/+$/, "")}/`;
  const changed = new Set(manifest.roots.filter((r) => files.some((f) => f.startsWith(`${prefix}${r.dir}/`))).map((r) => r.id));
  for (const r of manifest.roots) if (r.dependsOn.some((d) => d.reason === "reads" && changed.has(d.root))) changed.add(r.id);
  return changed;
}

/**
 * `caja ci roots` as step outputs: one line per scope, `<scope>=<root ids>` (empty when none), and
 * `administered=<root ids>`: the changed roots that only an administrator applies.
 */
export function rootOutputs(plan: Pick<Plan, "roots">, changed: ReadonlySet<string> | undefined): string[] {
  const picked = (ids: readonly string[]) => ids.filter((id) => !changed || changed.has(id)).join(" ");
  return [
    ...pipelineScopes(plan).map((scope) => `${scope}=${picked(plan.roots.filter((r) => r.scope === scope && isPipelineRoot(r)).map((r) => r.id))}`),
    `administered=${picked(plan.roots.filter((r) => !isPipelineRoot(r)).map((r) => r.id))}`,
  ];
}

/** The hidden first line that marks caja's comment, so each run edits it instead of adding one. */
export const COMMENT_MARKER = "<!-- caja-plan -->";
/** GitHub refuses comments over 65,536 characters. */
const MAX_COMMENT = 65_000;

export interface CommentParts {
  /** Each plan job's summary, or undefined when the job wrote none (it failed or did not run). */
  readonly summaries: readonly { readonly name: string; readonly text: string | undefined }[];
  /** Changed roots that only an administrator applies. */
  readonly administered: readonly string[];
  readonly runUrl?: string;
  /** The monthly estimate's change per scope against the base branch (`describeChange` lines), or why there is none. */
  readonly cost?: { readonly since: string; readonly changes: readonly string[] } | { readonly since: string; readonly unavailable: string };
}

export function commentBody(parts: CommentParts): string {
  const lines = [COMMENT_MARKER, "## caja plan", ""];
  // First: a long plan truncates the comment's end.
  if (parts.cost) lines.push(...costLines(parts.cost), "");
  for (const s of parts.summaries) lines.push(s.text?.trimEnd() ?? `### ${s.name}\n\nNo plan: the job failed or did not run; see the workflow run.`, "");
  if (parts.summaries.length === 0) lines.push("No root of the pipeline changed.", "");
  if (parts.administered.length > 0) {
    lines.push(`Changed roots an administrator applies (not planned here): ${parts.administered.map((r) => `<code>${r.replace(/[^A-Za-z0-9_./-]/g, "")}</code>`).join(", ")}.`, "");
  }
  if (parts.runUrl) lines.push(`[The workflow run](${parts.runUrl}): plans, logs and artifacts.`);
  const body = lines.join("\n");
  return body.length <= MAX_COMMENT ? body : `${body.slice(0, MAX_COMMENT)}\n\n(truncated: the full plans are in the workflow run)`;
}

/** Text read back from files (the base's estimate) stays text: no HTML, mention or link survives. */
function costLines(cost: NonNullable<CommentParts["cost"]>): string[] {
  const plain = (text: string) => text.replace(/[\u0000-\u001f]/g, " ").replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll("@", "@\u200b").replaceAll("[", "\\[").replaceAll("]", "\\]").slice(0, 1000);
  const head = `### Monthly estimate (against ${plain(cost.since)})`;
  if ("unavailable" in cost) return [head, "", `No comparison: ${plain(cost.unavailable)}`];
  if (cost.changes.length === 0) return [head, "", "No change to the monthly estimate."];
  return [head, "", ...cost.changes.map((c) => `- ${plain(c)}`), "", "List prices from caja's dated table; items priced by use are not in it (the docs' environments page lists them)."];
}

export interface GitHubTarget {
  /** `https://api.github.com`, or a GitHub Enterprise API. */
  readonly api: string;
  /** `OWNER/REPO`. */
  readonly repository: string;
  readonly pr: number;
  readonly token: string;
}

export type Fetch = (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<{ ok: boolean; status: number; json(): Promise<unknown>; text(): Promise<string> }>;

/** Create caja's comment on the pull request, or update it in place. Returns what was done. */
export async function upsertComment(target: GitHubTarget, body: string, fetchImpl: Fetch): Promise<"created" | "updated"> {
  const headers = { Accept: "application/vnd.github+json", Authorization: `Bearer ${target.token}`, "X-GitHub-Api-Version": "2022-11-28", "Content-Type": "application/json" };
  const base = `${target.api.replace(/\/+$/, "")}/repos/${target.repository}/issues`;
  const call = async (method: string, url: string, payload?: unknown): Promise<unknown> => {
    const res = await fetchImpl(url, { method, headers, ...(payload === undefined ? {} : { body: JSON.stringify(payload) }) });
    if (!res.ok) throw new Error(`GitHub answered ${res.status} to ${method} ${url.replace(/\?.*$/, "")}: ${(await res.text()).slice(0, 300)}`);
    return res.json();
  };
  for (let page = 1; page <= 30; page++) {
    const comments = (await call("GET", `${base}/${target.pr}/comments?per_page=100&page=${page}`)) as { id: number; body?: string; user?: { type?: string } }[];
    // Only a bot's: anyone can post a comment that starts with the marker, and caja would then write into a comment its author can edit.
    const mine = comments.find((c) => c.user?.type === "Bot" && typeof c.body === "string" && c.body.startsWith(COMMENT_MARKER));
    if (mine) {
      await call("PATCH", `${base}/comments/${mine.id}`, { body });
      return "updated";
    }
    if (comments.length < 100) break;
  }
  await call("POST", `${base}/${target.pr}/comments`, { body });
  return "created";
}
