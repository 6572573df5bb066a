/**
 * The monthly estimate in `environments.md`, laid out like the rest of the page: environments side
 * by side, a row per priced item with its unit price, each cell the quantity and what it costs,
 * rows that differ in bold with the settings behind them; then what `global` shares, and the items
 * priced by use, named but never given a number.
 */
import type { CostLine, Estimate, ScopeEstimate } from "../cost/estimate.js";
import { money } from "../cost/estimate.js";
import { code, prose, table } from "./markdown.js";

export function costSection(estimate: Estimate, environments: readonly string[]): string[] {
  const { prices } = estimate;
  const lines = ["## Monthly estimate", ""];
  lines.push(
    `What each environment's roots run, at fixed monthly list prices in ${prices.currency}: ${prose(prices.source)}, confirmed ${prices.date}; ${prices.hoursPerMonth} hours a month. Items priced by use (data, requests, storage) are listed below without a number, so real bills are higher. **Bold** rows differ between environments; "Set by" names the settings behind them. The prices are caja's own table, never fetched; \`npx caja cost\` prints the same.`,
    "",
  );
  if (estimate.region !== prices.region) lines.push(`**The config's region is ${code(estimate.region)}; caja's table has prices for ${code(prices.region)} only, so no line is priced.**`, "");
  const envs = estimate.scopes.filter((s) => environments.includes(s.scope));
  if (envs.length > 0) lines.push(...sideBySide(envs), "");
  for (const scope of estimate.scopes.filter((s) => !environments.includes(s.scope))) {
    lines.push(`Shared, in ${code(scope.scope)}:`, "", ...sideBySide([scope]), "");
  }
  lines.push(...usageList(estimate.scopes));
  return lines;
}

/** One row per line, one column per scope: `2 gateways × 730 h = $65.70`. */
function sideBySide(scopes: readonly ScopeEstimate[]): string[] {
  const keys = [...new Set(scopes.flatMap((s) => s.lines.map((l) => l.key)))];
  const rows = keys.map((key) => {
    const cells = scopes.map((s) => s.lines.find((l) => l.key === key));
    const first = cells.find((l) => l !== undefined)!;
    // One unit price for the row when every scope pays the same; else each cell says its own.
    const oneUnitPrice = new Set(cells.map((l) => l?.unitPrice).filter((u) => u !== undefined)).size === 1;
    const values = cells.map((l) => (l === undefined ? "—" : l.monthly === null ? `${l.quantity}: ${prose(l.unitPrice)}` : `${l.quantity}${oneUnitPrice ? "" : ` at ${prose(l.unitPrice)}`} = ${money(l.monthly)}`));
    const differs = new Set(values).size > 1;
    const unitPrice = first.monthly === null ? "—" : oneUnitPrice ? prose(first.unitPrice) : "in each cell";
    const row = [prose(first.item), unitPrice, ...values, setBy(cells)];
    return differs ? row.map((cell, i) => (i === row.length - 1 || cell === "" ? cell : `**${cell}**`)) : row;
  });
  rows.push(["**Total**", "", ...scopes.map((s) => (s.total === null ? "not priced" : `**${money(s.total)}**`)), ""]);
  return table(["Item", "Unit price", ...scopes.map((s) => code(s.scope)), "Set by"], rows);
}

/** The settings behind a line, with their value where environments differ (`network.nat`: `single`, `per-az`). */
function setBy(cells: readonly (CostLine | undefined)[]): string {
  const settings = [...new Set(cells.flatMap((l) => l?.drivers.map((d) => d.setting) ?? []))];
  return settings
    .map((setting) => {
      const values = [...new Set(cells.map((l) => l?.drivers.find((d) => d.setting === setting)?.value).filter((v) => v !== undefined))];
      return values.length > 1 ? `${code(setting)}: ${values.map((v) => code(v!)).join(", ")}` : code(setting);
    })
    .join("; ");
}

function usageList(scopes: readonly ScopeEstimate[]): string[] {
  const items = new Map<string, { item: string; price: string; scopes: string[] }>();
  for (const s of scopes) {
    for (const u of s.usage) {
      const entry = items.get(u.key) ?? { item: u.item, price: u.price, scopes: [] };
      entry.scopes.push(s.scope);
      items.set(u.key, entry);
    }
  }
  if (items.size === 0) return [];
  return ["Priced by use, not in any total:", "", ...[...items.values()].map((u) => `- ${prose(u.item)}: ${prose(u.price)} (${u.scopes.map(code).join(", ")})`), ""];
}
