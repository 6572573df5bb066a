/**
 * A plan bundle: the saved plans of one `caja plan --save-plans DIR` run, so that the plans a
 * reviewer approved are exactly the plans `caja apply --plans DIR` applies. `DIR/plans.json`
 * records, per root, what the plan does (counts, every destroy by address), a digest of the plan
 * file and of the root's `main.tf.json`, the commit it was made from, and a digest of each
 * upstream output the root read while planning. Apply refuses a bundle from another commit, a
 * plan file that is not the one recorded, and a root whose upstream outputs changed since (a
 * stale plan: re-run to plan it again). Terraform itself refuses a plan whose own state moved on.
 *
 * The bundle comes back from a CI artifact: everything in it is read as untrusted.
 */
import { createHash } from "node:crypto";
import { stableStringify } from "../json.js";
import { CajaUserError } from "../errors.js";
import type { Changes, Removal } from "./changes.js";

export const BUNDLE_MANIFEST = "plans.json";
/** A commit id as git prints it (SHA-1 or SHA-256). */
export const COMMIT_ID = /^[0-9a-f]{40}$|^[0-9a-f]{64}$/;
export const BUNDLE_FORMAT = "caja-plans/1";

/** What a root's plan came to. `waits`: a root it reads is not applied yet, so it was not planned. */
export type BundleStatus = "changes" | "no-changes" | "waits";

export interface Upstream {
  readonly root: string;
  /** The outputs read (every output, for the state-backend dependency). */
  readonly outputs: readonly string[];
  /** sha256 of those outputs' values when the root was planned. */
  readonly sha256: string;
}

export interface BundleRoot {
  readonly id: string;
  readonly status: BundleStatus;
  readonly changes?: Changes;
  readonly removals?: readonly Removal[];
  /** The saved plan's file in the bundle (roots with changes only). */
  readonly plan?: string;
  readonly planSha256?: string;
  /** The dependency lock file init wrote, so apply installs the providers the plan was made with. */
  readonly lockFile?: string;
  readonly lockSha256?: string;
  /** sha256 of the root's `main.tf.json` when planned. */
  readonly configSha256?: string;
  readonly upstream?: readonly Upstream[];
  /** `waits`: the root it waits for. */
  readonly waitsFor?: string;
}

export interface PlanBundle {
  readonly format: typeof BUNDLE_FORMAT;
  /** The commit the plans were made from. */
  readonly commit: string;
  /** The roots planned, in apply order. */
  readonly roots: readonly BundleRoot[];
}

export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** A digest of the named outputs' values (missing ones count as absent), independent of order. */
export function outputsDigest(values: ReadonlyMap<string, unknown>, names: readonly string[]): string {
  const picked = Object.fromEntries([...names].sort().map((n) => [n, values.has(n) ? { value: values.get(n) } : { absent: true }]));
  return sha256(stableStringify(picked));
}

/** The file a root's artifact is saved as in the bundle: `dev/20-network` → `dev__20-network.tfplan`. */
export function bundleFile(rootId: string, suffix: ".tfplan" | ".terraform.lock.hcl"): string {
  return `${rootId.replaceAll("/", "__")}${suffix}`;
}

const SAFE_FILE = /^[A-Za-z0-9_.-]+$/;
const ROOT_ID = /^[A-Za-z0-9_-]+\/[A-Za-z0-9_.-]+$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** Parse `plans.json`; anything unexpected is refused, naming `source`. */
export function parseBundle(text: string, source: string): PlanBundle {
  const bad = (why: string): never => {
    throw new CajaUserError(`${source}: not a plan bundle caja wrote (${why}); plan again with caja plan --save-plans`);
  };
  let doc: any;
  try {
    doc = JSON.parse(text);
  } catch {
    return bad("not JSON");
  }
  if (doc?.format !== BUNDLE_FORMAT) bad(`format is not ${BUNDLE_FORMAT}`);
  if (typeof doc.commit !== "string" || !COMMIT_ID.test(doc.commit)) bad("no commit");
  if (!Array.isArray(doc.roots)) bad("no roots");
  const seen = new Set<string>();
  for (const r of doc.roots as any[]) {
    if (typeof r?.id !== "string" || !ROOT_ID.test(r.id)) bad("a root without a plain id");
    if (seen.has(r.id)) bad(`${r.id} twice`);
    seen.add(r.id);
    if (!["changes", "no-changes", "waits"].includes(r.status)) bad(`${r.id}: unknown status`);
    if (r.status === "waits") {
      if (typeof r.waitsFor !== "string" || !ROOT_ID.test(r.waitsFor)) bad(`${r.id}: what it waits for`);
      continue;
    }
    // The counts reach the apply's summary: whole numbers only.
    const counts = ["add", "change", "destroy", "import", "outputs"];
    if (typeof r.changes !== "object" || r.changes === null || !counts.every((k) => Number.isSafeInteger(r.changes[k]) && r.changes[k] >= 0)) bad(`${r.id}: change counts`);
    if (r.status !== "changes") continue;
    if (r.plan !== bundleFile(r.id, ".tfplan")) bad(`${r.id}: plan file name`);
    if (r.lockFile !== undefined && r.lockFile !== bundleFile(r.id, ".terraform.lock.hcl")) bad(`${r.id}: lock file name`);
    for (const file of [r.plan, r.lockFile]) if (file !== undefined && !SAFE_FILE.test(file)) bad(`${r.id}: file name`);
    if (!HEX64.test(r.planSha256 ?? "") || !HEX64.test(r.configSha256 ?? "") || (r.lockFile !== undefined && !HEX64.test(r.lockSha256 ?? ""))) bad(`${r.id}: digests`);
    if (!Array.isArray(r.upstream)) bad(`${r.id}: upstream`);
    for (const u of r.upstream as any[]) {
      if (typeof u?.root !== "string" || !Array.isArray(u.outputs) || !u.outputs.every((o: unknown) => typeof o === "string") || !HEX64.test(u.sha256 ?? "")) bad(`${r.id}: upstream`);
    }
    if (!Array.isArray(r.removals) || !r.removals.every((x: any) => typeof x?.address === "string" && (x.action === "destroy" || x.action === "replace"))) bad(`${r.id}: removals`);
  }
  return doc as PlanBundle;
}

/** The text of `plans.json`. */
export function bundleText(bundle: PlanBundle): string {
  return stableStringify(bundle);
}

const MAX_PLAN_CHARS = 20_000;

/**
 * The reviewer's view of a bundle, as GitHub-flavoured Markdown: adds, changes and destroys per
 * root, every destroy and replacement by address, roots that wait, and each plan's text folded.
 */
export function summaryMarkdown(title: string, bundle: PlanBundle, planText: ReadonlyMap<string, string>): string {
  const lines = [`### ${esc(title)}`, "", ...(bundle.commit ? [`Commit \`${bundle.commit.slice(0, 12)}\`.`, ""] : [])];
  const planned = bundle.roots.filter((r) => r.status !== "waits");
  if (bundle.roots.length === 0) return [...lines, "No root to plan.", ""].join("\n");
  lines.push("| root | result | add | change | destroy |", "|---|---|---:|---:|---:|");
  for (const r of bundle.roots) {
    const c = r.changes;
    const result = r.status === "waits" ? `waits for <code>${esc(r.waitsFor ?? "")}</code>` : r.status === "changes" ? "**changes**" : "no changes";
    lines.push(`| <code>${esc(r.id)}</code> | ${result} | ${c?.add ?? "-"} | ${c?.change ?? "-"} | ${c?.destroy ?? "-"} |`);
  }
  lines.push("");
  const removals = planned.flatMap((r) => (r.removals ?? []).map((x) => `- <code>${esc(r.id)}</code>: <code>${esc(x.address)}</code>${x.action === "replace" ? " (replaced: destroyed, then created)" : " (destroyed)"}`));
  lines.push(removals.length > 0 ? `**${removals.length} resource${removals.length === 1 ? "" : "s"} destroyed or replaced:**` : "Nothing is destroyed.", ...removals, "");
  const waiting = bundle.roots.filter((r) => r.status === "waits");
  if (waiting.length > 0) lines.push(`${waiting.length === 1 ? "One root waits" : `${waiting.length} roots wait`} for roots not applied yet: plan again once they are.`, "");
  for (const r of planned) {
    const text = planText.get(r.id);
    if (r.status !== "changes" || !text) continue;
    const body = text.length > MAX_PLAN_CHARS ? `${text.slice(0, MAX_PLAN_CHARS)}\n… (truncated; the full plan is in the run's log)` : text;
    // A fence longer than any run of backticks in the text: the plan is shown literally.
    const fence = "`".repeat(Math.max(3, ...[...body.matchAll(/`+/g)].map((m) => m[0].length + 1)));
    lines.push(`<details><summary>Plan of <code>${esc(r.id)}</code></summary>`, "", fence, body.trimEnd(), fence, "", "</details>", "");
  }
  return lines.join("\n");
}

/** HTML-escaped: nothing in a root id, an address or terraform's output becomes markup. */
function esc(text: string): string {
  return text.replace(/[&<>"'`|*_\\[\]]/g, (c) => `&#${c.codePointAt(0)};`);
}
