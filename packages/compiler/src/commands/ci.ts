/**
 * `caja ci`: what the generated GitHub workflow runs besides plan and apply. `roots` prints, as
 * step outputs, the roots each scope's jobs work on; `comment` puts the plan summaries on the
 * pull request as one comment, updated in place.
 */
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { CajaUserError } from "../errors.js";
import { compileFromDisk } from "../compile.js";
import { compareEstimates, describeChange } from "../cost/compare.js";
import { estimateCost } from "../cost/estimate.js";
import { changedRoots, commentBody, rootOutputs, upsertComment, type CommentParts, type Fetch } from "../run/ci.js";
import { readCommittedEstimate } from "./cost.js";
import { prepareWorkspace } from "../run/workspace.js";
import { parseArgs, UsageError, type Io } from "./support.js";

export const usage = `caja ci roots [--changed-since REF | --changed-files FILE] [--config FILE] [--out DIR]
       caja ci comment --pr N --summaries DIR --scopes "SCOPE..." [--administered "ROOT..."]
                       [--cost-since REF [--config FILE] [--out DIR]]

  roots    print, one line per scope, <scope>=<root ids> the pipeline plans and applies (roots
           with remote state, apart from those an administrator applies), then
           administered=<root ids>. With --changed-since REF (git diff REF...HEAD) or
           --changed-files FILE (one path per line, relative to here), only the roots whose
           files changed and every root that reads one of them; an empty REF means every root
           (GitHub gives no base outside pull requests). Append the lines to $GITHUB_OUTPUT.
  comment  post the summaries DIR/plans-<scope>/summary.md of each scope (in the order given) as
           one comment on pull request N, or update caja's earlier comment. Reads GITHUB_TOKEN,
           GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_SERVER_URL and GITHUB_RUN_ID. With
           --cost-since REF, the comment starts with each scope's change of the monthly
           estimate against the one committed at REF (see caja cost --since).`;

export async function run(argv: readonly string[], io: Io, fetchImpl: Fetch = fetch as unknown as Fetch): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "roots") return roots(rest, io);
  if (sub === "comment") return comment(rest, io, fetchImpl);
  throw new UsageError(sub === undefined ? "caja ci needs a subcommand: roots or comment" : `unknown caja ci subcommand "${sub}" (roots or comment)`);
}

async function roots(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { "--changed-since": "value", "--changed-files": "value", "--config": "value", "--out": "value" });
  if (args.positional.length > 0) throw new UsageError(`caja ci roots takes no ${args.positional[0]}`);
  const since = args.value("--changed-since");
  const listFile = args.value("--changed-files");
  if (since && listFile !== undefined) throw new UsageError("--changed-since and --changed-files are two ways to say the same; give one");
  const config = args.value("--config");
  const outDir = args.value("--out");
  const workspace = await prepareWorkspace({ cwd: io.cwd, trial: false, ...(config ? { config } : {}), ...(outDir ? { outDir } : {}) });
  let files: string[] | undefined;
  if (since) files = gitChangedFiles(since, io.cwd);
  else if (listFile !== undefined) files = (await readFile(join(io.cwd, listFile), "utf8")).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const changed = files && changedRoots(workspace.manifest, files, relative(io.cwd, workspace.runDir).split("\\").join("/"));
  for (const line of rootOutputs(workspace.compiled.plan, changed)) io.out(line);
  return 0;
}

/** The estimate's change since REF; a base without one (or unreadable) is said in the comment, never fatal to it. */
async function costChange(since: string, config: string | undefined, outDir: string, cwd: string): Promise<NonNullable<CommentParts["cost"]>> {
  const compiled = await compileFromDisk({ cwd, ...(config ? { config } : {}) });
  const head = estimateCost(compiled.config, compiled.plan);
  try {
    return { since, changes: compareEstimates(readCommittedEstimate(since, outDir, cwd), head).map(describeChange) };
  } catch (e) {
    if (e instanceof CajaUserError || e instanceof UsageError) return { since, unavailable: e.message };
    throw e;
  }
}

/** Files changed between `ref` and HEAD (from their merge base), relative to `cwd`. */
function gitChangedFiles(ref: string, cwd: string): string[] {
  if (ref.startsWith("-")) throw new UsageError(`--changed-since expects a git revision, got "${ref}"`);
  const git = spawnSync("git", ["diff", "--name-only", "--relative", "--no-renames", `${ref}...HEAD`, "--"], { cwd, encoding: "utf8" });
  if (git.status !== 0) throw new CajaUserError(`git diff ${ref}...HEAD failed: ${(git.stderr || git.error?.message || "").trim().split("\n")[0]} (is ${ref} fetched? the checkout needs its history: fetch-depth 0)`);
  return git.stdout.split("\n").filter(Boolean);
}

async function comment(argv: readonly string[], io: Io, fetchImpl: Fetch): Promise<number> {
  const args = parseArgs(argv, { "--pr": "value", "--summaries": "value", "--scopes": "value", "--administered": "value", "--cost-since": "value", "--config": "value", "--out": "value" });
  const pr = Number(args.value("--pr"));
  if (!Number.isInteger(pr) || pr < 1) throw new UsageError("--pr expects the pull request's number");
  const dir = args.value("--summaries");
  if (dir === undefined) throw new UsageError("--summaries expects the folder the plan artifacts were downloaded to");
  const env = process.env;
  const token = env.GITHUB_TOKEN;
  const repository = env.GITHUB_REPOSITORY;
  if (!token || !repository || !/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(repository)) throw new CajaUserError("caja ci comment needs GITHUB_TOKEN and GITHUB_REPOSITORY (OWNER/REPO) in its environment");
  const scopes = (args.value("--scopes") ?? "").split(/\s+/).filter(Boolean);
  const summaries = await Promise.all(
    scopes.map(async (scope) => ({ name: scope, text: await readFile(join(io.cwd, dir, `plans-${scope}`, "summary.md"), "utf8").catch(() => undefined) })),
  );
  const server = env.GITHUB_SERVER_URL ?? "https://github.com";
  const since = args.value("--cost-since");
  const body = commentBody({
    ...(since ? { cost: await costChange(since, args.value("--config"), args.value("--out") ?? "out", io.cwd) } : {}),
    summaries,
    administered: (args.value("--administered") ?? "").split(/\s+/).filter(Boolean),
    ...(env.GITHUB_RUN_ID && /^\d+$/.test(env.GITHUB_RUN_ID) ? { runUrl: `${server}/${repository}/actions/runs/${env.GITHUB_RUN_ID}` } : {}),
  });
  const done = await upsertComment({ api: env.GITHUB_API_URL ?? "https://api.github.com", repository, pr, token }, body, fetchImpl);
  io.out(`caja ci comment: ${done} the plan comment on pull request #${pr}`);
  return 0;
}
