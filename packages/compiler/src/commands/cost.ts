/**
 * `caja cost`: the monthly estimate of what each scope runs (the same as `out/docs/environments.md`
 * and `out/docs/cost.json`), and with `--since REF` what the config's changes since REF do to it.
 * Offline: prices come from caja's dated table.
 */
import { spawnSync } from "node:child_process";
import { compileFromDisk } from "../compile.js";
import { compareEstimates, describeChange, parseEstimate } from "../cost/compare.js";
import { estimateCost, money, type Estimate, type ScopeEstimate } from "../cost/estimate.js";
import { COST_FILE, DOCS_DIR } from "../docs/paths.js";
import { CajaUserError } from "../errors.js";
import { stableStringify } from "../json.js";
import { parseArgs, UsageError, type FlagSpec, type Io } from "./support.js";

export const usage = [
  "caja cost [SCOPE] [--format text|json] [--since REF] [--config FILE] [--out DIR]",
  "",
  "  The fixed monthly price of what each scope (global, or an environment) runs: every line with its",
  "  quantity, unit price and the settings behind it, a total per scope, and the items priced by use,",
  "  named without a number. Prices are list prices for one region from caja's dated table.",
  "  --since REF  what changed against the estimate committed at REF (its out/docs/cost.json).",
].join("\n");

const FLAGS: FlagSpec = { "--format": "value", "--since": "value", "--config": "value", "--out": "value" };
const FORMATS = ["text", "json"] as const;

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  if (args.positional.length > 1) throw new UsageError(`unexpected argument ${args.positional[1]}`);
  const format = args.value("--format") ?? "text";
  if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format expects ${FORMATS.join(" or ")}, got "${format}"`);
  const config = args.value("--config");
  const compiled = await compileFromDisk({ cwd: io.cwd, ...(config ? { config } : {}) });
  const estimate = onlyScope(estimateCost(compiled.config, compiled.plan), args.positional[0]);
  const since = args.value("--since");
  if (since !== undefined) {
    const base = readCommittedEstimate(since, args.value("--out") ?? "out", io.cwd);
    const changes = compareEstimates(onlyScope(base, args.positional[0], true), estimate);
    if (format === "json") io.out(stableStringify({ since, changes }).trimEnd());
    else io.out(changes.length === 0 ? `No change to the monthly estimate since ${since}.` : changes.map(describeChange).join("\n"));
    return 0;
  }
  io.out(format === "json" ? stableStringify(estimate).trimEnd() : textReport(estimate));
  return 0;
}

function onlyScope(estimate: Estimate, scope: string | undefined, lenient = false): Estimate {
  if (scope === undefined) return estimate;
  const scopes = estimate.scopes.filter((s) => s.scope === scope);
  if (scopes.length === 0 && !lenient) throw new UsageError(`no scope "${scope}": the config has ${estimate.scopes.map((s) => s.scope).join(", ")}`);
  return { ...estimate, scopes };
}

/**
 * The estimate a revision committed (`REF:<out>/docs/cost.json`). Read back from git, so checked
 * like any untrusted file; a revision from before caja wrote estimates says so.
 */
export function readCommittedEstimate(ref: string, outDir: string, cwd: string): Estimate {
  if (ref.startsWith("-") || /[\s:]/.test(ref)) throw new UsageError(`--since expects a git revision, got "${ref}"`);
  const path = `./${outDir.replace(/^\.\/+|\/+$/g, "")}/${DOCS_DIR}/${COST_FILE}`;
  const git = spawnSync("git", ["show", `${ref}:${path}`], { cwd, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  if (git.status !== 0) throw new CajaUserError(`cannot read ${path.slice(2)} at ${ref}: ${(git.stderr || git.error?.message || "").trim().split("\n")[0]} (is ${ref} fetched, and did caja write estimates then?)`);
  try {
    return parseEstimate(git.stdout);
  } catch (e) {
    throw new CajaUserError(`${path.slice(2)} at ${ref} is not an estimate caja wrote: ${(e as Error).message}`);
  }
}

function textReport(estimate: Estimate): string {
  const p = estimate.prices;
  const out = [`Monthly estimate, ${p.currency} list prices for ${p.region} (caja's table of ${p.date}, ${p.hoursPerMonth} h a month):`];
  if (estimate.region !== p.region) out.push(`The config's region is ${estimate.region}: no line can be priced.`);
  for (const scope of estimate.scopes) out.push("", ...scopeText(scope));
  return out.join("\n");
}

function scopeText(scope: ScopeEstimate): string[] {
  const rows = scope.lines.map((l) => [l.item, l.quantity, l.unitPrice, l.monthly === null ? "—" : money(l.monthly), l.drivers.map((d) => `${d.setting}=${d.value}`).join(", ")]);
  const widths = [0, 1, 2, 3].map((i) => Math.max(0, ...rows.map((r) => r[i]!.length)));
  const lines = [`${scope.scope}: ${scope.total === null ? "not priced" : `${money(scope.total)} a month`}`];
  for (const r of rows) lines.push(`  ${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padEnd(widths[1]!)}  ${r[2]!.padEnd(widths[2]!)}  ${r[3]!.padStart(widths[3]!)}${r[4] ? `  ${r[4]}` : ""}`.trimEnd());
  if (scope.usage.length > 0) lines.push(`  priced by use, not in the total: ${scope.usage.map((u) => `${u.item} (${u.price})`).join("; ")}`);
  return lines;
}
