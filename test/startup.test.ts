/**
 * The compile path stays fast: a successful compile never loads the TypeScript compiler or
 * ts-morph (they are only for locating an error in the config source).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { baseConfig } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const bin = join(repo, "packages/compiler/bin/caja.mjs");
const probe = join(repo, "test/fixtures-probe.cjs");

function compileLoaded(config: string): { code: number | null; loaded: string[] } {
  mkdirSync(join(repo, "test/.tmp"), { recursive: true });
  const dir = mkdtempSync(join(repo, "test/.tmp/startup-"));
  writeFileSync(join(dir, "caja.config.ts"), config);
  const r = spawnSync(process.execPath, ["--require", probe, bin, "compile"], { cwd: dir, encoding: "utf8" });
  const line = /caja-probe-loaded=(.*)/.exec(r.stderr)?.[1];
  if (!line) throw new Error(`no probe output:\n${r.stderr}`);
  return { code: r.status, loaded: JSON.parse(line) as string[] };
}

describe("what a compile loads", () => {
  it("never loads typescript or ts-morph when the config is valid", () => {
    const r = compileLoaded(`import { defineConfig } from "caja";\nexport default defineConfig(${JSON.stringify(baseConfig())});\n`);
    expect(r.code).toBe(0);
    expect(r.loaded).toEqual([]);
  });

  it("loads ts-morph only to locate an error (so the probe can see it)", () => {
    const r = compileLoaded(`import { defineConfig } from "caja";\nexport default defineConfig(${JSON.stringify({ ...baseConfig(), region: "mars-1" })} as never);\n`);
    expect(r.code).toBe(1);
    expect(r.loaded.some((p) => p.includes("ts-morph"))).toBe(true);
  });
});
