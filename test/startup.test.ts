/**
 * The compile path stays fast, and the speed-ups change nothing a user sees: a successful compile
 * never loads the TypeScript compiler or ts-morph (they only locate errors in the config source);
 * the launcher keeps V8's compiled code between runs and survives a damaged cache; and the built
 * CLI (with what it precomputes at build time) writes exactly what the pipeline writes in-process.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { compile } from "../packages/compiler/src/compile.js";
import { baseConfig, CAJA_BIN, compileWith, repoTempDir } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const probe = join(repo, "test/fixtures-probe.cjs");

function project(config: string): string {
  const dir = repoTempDir("startup-");
  writeFileSync(join(dir, "caja.config.ts"), config);
  return dir;
}

const validConfig = `import { defineConfig } from "caja";\nexport default defineConfig(${JSON.stringify(baseConfig())});\n`;

function compileLoaded(config: string, cwd = project(config)): { code: number | null; loaded: string[] } {
  const r = spawnSync(process.execPath, ["--require", probe, CAJA_BIN, "compile"], { cwd, encoding: "utf8" });
  const line = /caja-probe-loaded=(.*)/.exec(r.stderr)?.[1];
  if (!line) throw new Error(`no probe output:\n${r.stderr}`);
  return { code: r.status, loaded: JSON.parse(line) as string[] };
}

describe("what a compile loads", () => {
  it("never loads typescript or ts-morph when the config is valid", () => {
    const r = compileLoaded(validConfig);
    expect(r.code).toBe(0);
    expect(r.loaded.filter((m) => m !== "node:crypto")).toEqual([]);
  });

  it("loads nothing more, not even node:crypto, to compile a config it has bundled before into an empty out/", () => {
    const dir = project(validConfig);
    expect(compileLoaded(validConfig, dir).code).toBe(0); // bundles the config (esbuild's client loads crypto)
    rmSync(join(dir, "out"), { recursive: true });
    const r = compileLoaded(validConfig, dir);
    expect(r.code).toBe(0);
    expect(r.loaded).toEqual([]);
  });

  it("loads ts-morph only to locate an error its scanner cannot place (so the probe can see it)", () => {
    // A value from a variable: the source scanner leaves it to ts-morph, which follows identifiers.
    const r = compileLoaded(`import { defineConfig } from "caja";\nconst region = "mars-1";\nexport default defineConfig({ ...${JSON.stringify(baseConfig())}, region } as never);\n`);
    expect(r.code).toBe(1);
    expect(r.loaded.some((p) => p.includes("ts-morph"))).toBe(true);
  });
});

describe("what a compile computes", () => {
  it("formats no stack trace for a config without mistakes (a module's definition site is read only for a mistake of its own)", () => {
    const original = Error.prepareStackTrace;
    let formatted = 0;
    Error.prepareStackTrace = (error, frames) => {
      formatted++;
      return `${String(error)}\n${frames.map((f) => `    at ${String(f)}`).join("\n")}`;
    };
    try {
      compileWith(baseConfig());
    } finally {
      Error.prepareStackTrace = original;
    }
    expect(formatted).toBe(0);
  });
});

describe("the launcher's code cache", () => {
  const run = (dir: string, cacheDir: string, extra: Record<string, string> = {}) =>
    spawnSync(process.execPath, [CAJA_BIN, "compile"], { cwd: dir, encoding: "utf8", env: { ...process.env, CAJA_CODE_CACHE_DIR: cacheDir, ...extra } });
  const entries = (cacheDir: string) => readdirSync(cacheDir).filter((f) => f.endsWith(".v8"));

  it("is written by the first successful run of a command and then reused as it is", () => {
    const dir = project(validConfig);
    const cacheDir = join(dir, "code-cache");
    expect(run(dir, cacheDir).status).toBe(0);
    const [file] = entries(cacheDir);
    expect(file).toMatch(/^cli-[0-9a-f]{16}-v\d+\.\d+\.\d+-compile\.v8$/);
    const first = readFileSync(join(cacheDir, file!));
    const written = statSync(join(cacheDir, file!)).mtimeMs;
    expect(run(dir, cacheDir).status).toBe(0);
    expect(statSync(join(cacheDir, file!)).mtimeMs).toBe(written);
    expect(readFileSync(join(cacheDir, file!)).equals(first)).toBe(true);
  });

  it("survives a damaged cache: same output, and the cache is written afresh", () => {
    const dir = project(validConfig);
    const cacheDir = join(dir, "code-cache");
    expect(run(dir, cacheDir).status).toBe(0);
    // A compile into an out/ already current, as the damaged run below will be (its output says so).
    const clean = run(dir, cacheDir);
    const [file] = entries(cacheDir);
    writeFileSync(join(cacheDir, file!), Buffer.alloc(4096, 7));
    const damaged = run(dir, cacheDir);
    expect(damaged.status).toBe(0);
    expect(damaged.stderr).toBe(clean.stderr);
    expect(readFileSync(join(cacheDir, file!)).equals(Buffer.alloc(4096, 7))).toBe(false);
  });

  // Compiled code V8 would run as caja's: a cache others could have written is not used.
  for (const [what, plant] of [
    ["a cache file others can write to", (cacheDir: string, file: string) => chmodSync(join(cacheDir, file), 0o666)],
    ["a cache folder others can write to", (cacheDir: string) => chmodSync(cacheDir, 0o777)],
  ] as const) {
    it(`ignores ${what}, and writes its own in its place`, () => {
      const dir = project(validConfig);
      const cacheDir = join(dir, "code-cache");
      expect(run(dir, cacheDir).status).toBe(0);
      const [file] = entries(cacheDir);
      plant(cacheDir, file!);
      const planted = statSync(join(cacheDir, file!)).ino;
      expect(run(dir, cacheDir).status).toBe(0);
      // Read, it would have been kept as it is (see above); ignored, it is replaced.
      expect(statSync(join(cacheDir, file!)).ino).not.toBe(planted);
    });
  }

  it("is neither read nor written with CAJA_CODE_CACHE=0", () => {
    const dir = project(validConfig);
    const cacheDir = join(dir, "code-cache");
    expect(run(dir, cacheDir, { CAJA_CODE_CACHE: "0" }).status).toBe(0);
    expect(() => readdirSync(cacheDir)).toThrow();
  });
});

describe("the built CLI", () => {
  it("writes the same bytes as the pipeline run in-process, for the repository's config", async () => {
    const config = readFileSync(join(repo, "caja.config.ts"), "utf8");
    const [cliDir, inProcessDir] = [project(config), project(config)];
    const r = spawnSync(process.execPath, [CAJA_BIN, "compile"], { cwd: cliDir, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const inProcess = await compile({ cwd: inProcessDir });
    const files = (root: string): Record<string, string> =>
      Object.fromEntries(
        readdirSync(root, { recursive: true, withFileTypes: true })
          .filter((e) => e.isFile())
          .map((e) => [relative(root, join(e.parentPath, e.name)), readFileSync(join(e.parentPath, e.name), "utf8")]),
      );
    const cli = files(join(cliDir, "out"));
    expect(Object.keys(cli).length).toBe(inProcess.files.length);
    expect(cli).toEqual(files(join(inProcessDir, "out")));
    expect(readFileSync(join(cliDir, ".github/workflows/infra-plan-apply.yml"), "utf8")).toBe(readFileSync(join(inProcessDir, ".github/workflows/infra-plan-apply.yml"), "utf8"));
  });
});
