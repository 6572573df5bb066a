// `npm run bench`: whole-process timings of `caja compile` against `node -e 0`, measured
// alternately in the same run (these machines are noisy, so ratios, not absolute times, are the
// targets), plus peak memory. `--quick` runs fewer rounds (CI prints the table once).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("..", import.meta.url));
const rssProbe = join(repo, "bench/rss-probe.cjs");
const quick = process.argv.includes("--quick");
const rounds = quick ? 7 : 21;

const TARGETS = { ratio: 4, rssMb: 120 };

function run(args, { cwd = repo, probe = false } = {}) {
  const started = performance.now();
  const r = spawnSync(process.execPath, [...(probe ? ["--require", rssProbe] : []), ...args], { cwd, encoding: "utf8", env: { ...process.env, CAJA_RSS_PROBE: probe ? "1" : "" } });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  const rss = probe ? Number(/caja-rss-kb=(\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024 : undefined;
  return { ms, rss };
}

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return { median, min: sorted[0], max: sorted.at(-1) };
}

const fmt = (n) => n.toFixed(1);

function measure(label, compileArgs, prepare) {
  const node = [];
  const caja = [];
  run(["-e", "0"]);
  prepare?.();
  run(compileArgs());
  for (let i = 0; i < rounds; i++) {
    node.push(run(["-e", "0"]).ms);
    prepare?.();
    caja.push(run(compileArgs()).ms);
  }
  prepare?.();
  const rss = run(compileArgs(), { probe: true }).rss;
  return { label, node: stats(node), caja: stats(caja), ratio: stats(caja).median / stats(node).median, rss };
}

const out = mkdtempSync(join(tmpdir(), "caja-bench-"));
let fresh = 0;
const rows = [
  measure("compile, fresh out/", () => ["packages/compiler/bin/caja.mjs", "compile", "--out", join(out, `fresh-${fresh}`)], () => {
    rmSync(join(out, `fresh-${fresh}`), { recursive: true, force: true });
    fresh++;
  }),
  measure("compile, unchanged out/", () => ["packages/compiler/bin/caja.mjs", "compile", "--out", join(out, "warm")]),
];
rmSync(out, { recursive: true, force: true });

const lines = [
  `caja bench (${rounds} alternating rounds; node ${process.version}; ${quick ? "quick" : "full"})`,
  "",
  "| case | node -e 0 median (min–max) ms | caja median (min–max) ms | ratio | target | peak RSS MB | target | result |",
  "|---|---|---|---|---|---|---|---|",
];
let ok = true;
for (const r of rows) {
  const pass = r.ratio <= TARGETS.ratio && r.rss <= TARGETS.rssMb;
  ok &&= pass;
  lines.push(
    `| ${r.label} | ${fmt(r.node.median)} (${fmt(r.node.min)}–${fmt(r.node.max)}) | ${fmt(r.caja.median)} (${fmt(r.caja.min)}–${fmt(r.caja.max)}) | ${r.ratio.toFixed(2)} | ≤ ${TARGETS.ratio} | ${fmt(r.rss)} | ≤ ${TARGETS.rssMb} | ${pass ? "PASS" : "FAIL"} |`,
  );
}
console.log(lines.join("\n"));
process.exitCode = ok || quick ? 0 : 1;
