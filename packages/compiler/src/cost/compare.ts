/**
 * Two estimates side by side: what a change to the config does to each scope's monthly price, and
 * why, in the words of the settings that moved ("prod: +$32.85/month: network.nat single → per-az;
 * NAT gateway 1 → 2"). The earlier estimate is read back from a file (a base branch's
 * `out/docs/cost.json`), so it is checked like any untrusted input before it is believed.
 */
import type { CostDriver, CostLine, Estimate, ScopeEstimate } from "./estimate.js";
import { money } from "./estimate.js";

export interface ScopeChange {
  readonly scope: string;
  readonly before: number | null;
  readonly after: number | null;
  /** Settings whose change moved a line: `network.nat single → per-az`. */
  readonly settings: readonly string[];
  /** Lines whose quantity or price changed, appeared or went: `NAT gateway 1 → 2`. */
  readonly lines: readonly string[];
}

/** Every scope whose estimate differs, in the later estimate's order (then scopes that went). */
export function compareEstimates(before: Estimate, after: Estimate): ScopeChange[] {
  const old = new Map(before.scopes.map((s) => [s.scope, s]));
  const changes: ScopeChange[] = [];
  for (const scope of after.scopes) {
    const change = compareScope(old.get(scope.scope), scope);
    if (change) changes.push(change);
    old.delete(scope.scope);
  }
  for (const gone of old.values()) changes.push({ scope: gone.scope, before: gone.total, after: null, settings: [], lines: ["scope removed"] });
  return changes;
}

function compareScope(before: ScopeEstimate | undefined, after: ScopeEstimate): ScopeChange | undefined {
  if (!before) return { scope: after.scope, before: null, after: after.total, settings: [], lines: ["new scope"] };
  const was = new Map(before.lines.map((l) => [l.key, l]));
  const settings = new Set<string>();
  const lines: string[] = [];
  for (const line of after.lines) {
    const prior = was.get(line.key);
    was.delete(line.key);
    if (!prior) {
      lines.push(`${line.item} added (${line.quantity})`);
      continue;
    }
    if (prior.count === line.count && prior.monthly === line.monthly && prior.item === line.item) continue;
    lines.push(prior.count !== line.count ? `${line.item} ${prior.count} → ${line.count}` : prior.item !== line.item ? `${prior.item} → ${line.item}` : `${line.item} ${price(prior.monthly)} → ${price(line.monthly)}`);
    for (const moved of movedDrivers(prior.drivers, line.drivers)) settings.add(moved);
  }
  for (const gone of was.values()) lines.push(`${gone.item} removed`);
  if (lines.length === 0 && before.total === after.total) return undefined;
  return { scope: after.scope, before: before.total, after: after.total, settings: [...settings], lines };
}

function movedDrivers(before: readonly CostDriver[], after: readonly CostDriver[]): string[] {
  const was = new Map(before.map((d) => [d.setting, d.value]));
  return after.filter((d) => was.has(d.setting) && was.get(d.setting) !== d.value).map((d) => `${d.setting} ${was.get(d.setting)} → ${d.value}`);
}

/** `prod: +$32.85/month ($251.36 → $284.21): network.nat single → per-az; NAT gateway 1 → 2`. */
export function describeChange(c: ScopeChange): string {
  const delta = c.before !== null && c.after !== null ? signed(c.after - c.before) : c.after !== null ? signed(c.after) : c.before !== null ? signed(-c.before) : "no priced change";
  const why = [...c.settings, ...c.lines].join("; ");
  return `${c.scope}: ${delta}/month (${price(c.before)} → ${price(c.after)})${why ? `: ${why}` : ""}`;
}

function signed(usd: number): string {
  const rounded = Math.round(usd * 100) / 100;
  return rounded > 0 ? `+${money(rounded)}` : rounded < 0 ? money(rounded).replace("-", "−") : money(0);
}

function price(usd: number | null): string {
  return usd === null ? "not priced" : money(usd);
}

/** A stored estimate, checked field by field; a file that is not one is an error the caller words. */
export function parseEstimate(text: string): Estimate {
  const value: unknown = JSON.parse(text);
  const fail = (what: string): never => {
    throw new TypeError(`not a caja estimate: ${what}`);
  };
  if (!isObject(value) || typeof value.region !== "string" || !isObject(value.prices) || !Array.isArray(value.scopes)) fail("expected region, prices and scopes");
  const v = value as Record<string, unknown> & { scopes: unknown[]; prices: Record<string, unknown> };
  const scopes = v.scopes.map((s, i): ScopeEstimate => {
    if (!isObject(s) || typeof s.scope !== "string" || !nullableNumber(s.total) || !Array.isArray(s.lines)) fail(`scopes[${i}]`);
    const scope = s as { scope: string; total: number | null; lines: unknown[] };
    const lines = scope.lines.map((l, j): CostLine => {
      const where = `scopes[${i}].lines[${j}]`;
      if (!isObject(l) || typeof l.key !== "string" || typeof l.item !== "string" || typeof l.count !== "number" || typeof l.quantity !== "string" || typeof l.unitPrice !== "string" || !nullableNumber(l.monthly) || !Array.isArray(l.drivers)) fail(where);
      const line = l as Record<string, unknown> & { drivers: unknown[] };
      const drivers = line.drivers.map((d) => (isObject(d) && typeof d.setting === "string" && typeof d.value === "string" ? { setting: d.setting, value: d.value } : fail(`${where}.drivers`)));
      return { key: line.key as string, item: line.item as string, count: line.count as number, quantity: line.quantity as string, unitPrice: line.unitPrice as string, monthly: line.monthly as number | null, drivers, resources: [] };
    });
    return { scope: scope.scope, total: scope.total, lines, usage: [] };
  });
  const p = v.prices;
  if (typeof p.region !== "string" || typeof p.date !== "string" || typeof p.source !== "string" || typeof p.hoursPerMonth !== "number") fail("prices");
  return { region: v.region as string, prices: { region: p.region as string, date: p.date as string, currency: "USD", source: p.source as string, hoursPerMonth: p.hoursPerMonth as number }, scopes };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function nullableNumber(v: unknown): boolean {
  return v === null || (typeof v === "number" && Number.isFinite(v));
}
