/**
 * Bad input, tried hard (fast-check, fixed seed): valid configs with one thing broken are always
 * rejected with an issue at the field that was broken, garbage anywhere in a config never escapes
 * as anything but a config error, and a sample of rejections, compiled from a file, names the
 * source line of that field.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Compiled } from "../packages/compiler/src/compile.js";
import { compile } from "../packages/compiler/src/compile.js";
import { ConfigIssuesError, type LocatedIssue } from "../packages/compiler/src/errors.js";
import { checkPolicies } from "../packages/compiler/src/policy/check.js";
import { parsePath } from "../packages/compiler/src/policy/paths.js";
import { MUTATIONS, validConfig, type Mutated } from "./fuzz-configs.js";
import { compileWith, tempDir, compileValue } from "./helpers.js";

// Fixed so every run checks the same cases; CAJA_FUZZ_SEED explores others (a failure prints the seed to reproduce).
const SEED = Number(process.env.CAJA_FUZZ_SEED ?? 20261125);
const TODAY = "2026-06-15";

/** Mutations caught by the schema (fast); the rest need the plan or the gate. */
const SCHEMA_LEVEL = Object.keys(MUTATIONS).filter((m) => !["prod database without deletion protection", "unknown suppression rule", "escape-hatch attribute the provider does not have"].includes(m));
const PLAN_LEVEL = Object.keys(MUTATIONS).filter((m) => !SCHEMA_LEVEL.includes(m));

type Outcome = { readonly accepted: true; readonly compiled: Compiled } | { readonly accepted: false; readonly issues: readonly LocatedIssue[] };

/** The compile and the gate, as `caja compile` runs them; anything but a config error is a bug. */
function outcome(config: unknown): Outcome {
  let compiled: Compiled;
  try {
    compiled = compileValue(config);
  } catch (e) {
    if (e instanceof ConfigIssuesError) return { accepted: false, issues: e.issues };
    throw e;
  }
  const gate = checkPolicies(compiled.plan, compiled.config, { today: TODAY, input: config });
  const issues = [...gate.problems, ...gate.blocking.map((f) => ({ path: f.configPath, message: f.message }))];
  return issues.length > 0 ? { accepted: false, issues } : { accepted: true, compiled };
}

/** The issue is at the field, under it, or at the object holding it (a field the config did not write). */
function pointsAt(issue: LocatedIssue, path: string): boolean {
  return issue.path === path || issue.path.startsWith(`${path}.`) || issue.path.startsWith(`${path}[`) || (issue.path !== "" && path.startsWith(issue.path));
}

const picks = fc.array(fc.nat(), { minLength: 10, maxLength: 10 });
function picker(seq: readonly number[]): (n: number) => number {
  let i = 0;
  return (n) => seq[i++ % seq.length]! % n;
}

function expectRejectedAt(m: Mutated): void {
  const result = outcome(m.config);
  expect(result.accepted, `${m.what} was accepted`).toBe(false);
  if (result.accepted) return;
  for (const issue of result.issues) expect(issue.path, `${m.what}: an issue without a config path: ${issue.message}`).not.toBe("");
  expect(
    result.issues.some((i) => pointsAt(i, m.path)),
    `${m.what}: no issue at ${m.path}; got ${result.issues.map((i) => `${i.path}: ${i.message}`).join(" | ")}`,
  ).toBe(true);
}

describe("fuzzed configs", () => {
  it("every schema-level mutation is rejected at the field it broke (thousands of cases)", () => {
    fc.assert(
      fc.property(validConfig({ maxEnvs: 3 }), fc.constantFrom(...SCHEMA_LEVEL), picks, (config, name, seq) => {
        const m = MUTATIONS[name]!(config, picker(seq));
        fc.pre(m !== undefined);
        expectRejectedAt(m!);
      }),
      { seed: SEED, numRuns: 3000 },
    );
  }, 120_000);

  it("every plan- and gate-level mutation is rejected at the field it broke", () => {
    fc.assert(
      fc.property(validConfig({ maxEnvs: 2 }), fc.constantFrom(...PLAN_LEVEL), picks, (config, name, seq) => {
        const m = MUTATIONS[name]!(config, picker(seq));
        fc.pre(m !== undefined);
        expectRejectedAt(m!);
      }),
      { seed: SEED, numRuns: 150 },
    );
  }, 120_000);

  it("garbage at any place in a config is a config error with a path, never an exception", () => {
    const garbage = fc.oneof(
      fc.anything({ maxDepth: 2, withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true }),
      fc.constantFrom(Number.NaN, Infinity, -0, "", "__proto__", "${jsonencode(1)}", "%{ if true }x%{ endif }", "\u0000", "a".repeat(5000)),
    );
    fc.assert(
      fc.property(validConfig({ maxEnvs: 1 }), fc.array(fc.nat(), { minLength: 6, maxLength: 6 }), garbage, (config, seq, junk) => {
        const paths = leafPaths(config);
        const target = paths[seq[0]! % paths.length]!;
        // Sometimes the field itself, sometimes the object that holds it.
        const cut = target.slice(0, Math.max(1, target.length - (seq[1]! % 2)));
        const result = outcome(setAt(config, cut, junk));
        if (!result.accepted) for (const issue of result.issues) expect(issue.path, issue.message).not.toBe("");
      }),
      { seed: SEED, numRuns: 1500 },
    );
  }, 120_000);

  it("a config that is not an object at all is a config error too", () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 1 }), (value) => {
        const result = outcome(value);
        expect(result.accepted).toBe(false);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe("rejections read from a file", () => {
  it("name the source line of the field, for a sample of mutations", async () => {
    const samples = fc.sample(
      fc.tuple(validConfig({ maxEnvs: 2 }).filter((c) => typeof (c.github as { repository: unknown }).repository === "string"), fc.constantFrom(...SCHEMA_LEVEL), picks),
      { seed: SEED, numRuns: 24 },
    );
    const mutated = samples.map(([config, name, seq]) => MUTATIONS[name]!(config, picker(seq))).filter((m): m is Mutated => m !== undefined).slice(0, 8);
    expect(mutated.length).toBe(8);
    for (const m of mutated) {
      const dir = tempDir("caja-fuzz-file-");
      const file = join(dir, "caja.config.mjs");
      writeFileSync(file, `export default ${JSON.stringify(m.config, null, 2)};\n`);
      const error = await compile({ cwd: dir, check: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, m.what).toBeInstanceOf(ConfigIssuesError);
      const lines = readFileSync(file, "utf8").split("\n");
      for (const issue of (error as ConfigIssuesError).issues) {
        expect(issue.file, `${m.what}: ${issue.path}`).toBe(file);
        expect(issue.line, `${m.what}: ${issue.path} has no line`).toBeGreaterThan(0);
        // The line holds the field's key, its value (a list element), or the misspelt key itself.
        const segments = parsePath(issue.path);
        const value = segments.reduce<any>((node, seg) => node?.[seg], m.config);
        const candidates = [
          ...segments.filter((seg): seg is string => typeof seg === "string").map((key) => `${JSON.stringify(key)}:`),
          ...(typeof value !== "object" && value !== undefined ? [JSON.stringify(value)] : []),
          ...[...issue.message.matchAll(/unknown field "([^"]+)"/g)].map((x) => `${JSON.stringify(x[1])}:`),
        ];
        const text = lines[issue.line! - 1]!;
        expect(candidates.some((c) => text.includes(c)), `${m.what}: line ${issue.line} "${text}" for ${issue.path} (${issue.message})`).toBe(true);
      }
    }
  }, 120_000);
});

function leafPaths(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== "object" || value === null || Object.getOwnPropertySymbols(value).length > 0) return path.length > 0 ? [path] : [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  const out = entries.flatMap(([k, v]) => leafPaths(v, [...path, k]));
  return out.length > 0 ? out : path.length > 0 ? [path] : [];
}

function setAt(config: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const node = (typeof config === "object" && config !== null ? config : {}) as Record<string | number, unknown>;
  const copy = (Array.isArray(node) ? [...node] : { ...node }) as Record<string | number, unknown>;
  copy[head!] = setAt(node[head!], rest, value);
  return copy;
}
