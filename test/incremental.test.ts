/**
 * A compile of unchanged input reuses the output on disk instead of running the pipeline, and
 * never when anything that shapes the output changed: the config, what it reads, the files in
 * out/ (an edit, even one that keeps size and time, a deletion), an interrupted write.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { baseConfig, CAJA_BIN, repoTempDir } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));

function project(config: string): string {
  const dir = repoTempDir("incremental-");
  writeFileSync(join(dir, "caja.config.ts"), config);
  return dir;
}

function caja(cwd: string, env: Record<string, string> = {}, ...args: string[]) {
  const r = spawnSync(process.execPath, [CAJA_BIN, "compile", ...args], { cwd, encoding: "utf8", env: { ...process.env, ...env } });
  expect(r.status, r.stderr).toBe(0);
  return { stdout: r.stdout, stderr: r.stderr, reused: /is up to date: .*the input is unchanged since the last compile/.test(r.stdout) };
}

const config = (owner = `"platform-engineering"`) =>
  `import { defineConfig } from "caja";\nconst base = ${JSON.stringify(baseConfig())};\nexport default defineConfig({ ...base, tags: { ...base.tags, Owner: ${owner} } });\n`;

const ROOT_FILE = "out/global/10-domain/main.tf.json";

describe("an unchanged input", () => {
  it("reuses the output: nothing is read back or rewritten, and the warnings are still reported, by their count", () => {
    const dir = project(config());
    const first = caja(dir);
    expect(first.reused).toBe(false);
    const before = statSync(join(dir, ROOT_FILE));
    const second = caja(dir);
    expect(second.reused).toBe(true);
    expect(second.stdout).toMatch(/^caja: out\/ is up to date: \d+ roots, \d+ resources \(the input is unchanged since the last compile\) in \d+ ms\n$/);
    const warnings = first.stderr.split("\n").filter((l) => l.startsWith("warning: ")).length;
    expect(warnings).toBeGreaterThan(0);
    expect(second.stderr).toBe(`caja: ${warnings} security warnings (unchanged); npx caja check lists them\n`);
    const after = statSync(join(dir, ROOT_FILE));
    expect([after.mtimeMs, after.ctimeMs, after.ino]).toEqual([before.mtimeMs, before.ctimeMs, before.ino]);
  });

  it("is not reused for --check, which always compares the bytes", () => {
    const dir = project(config());
    caja(dir);
    const check = spawnSync(process.execPath, [CAJA_BIN, "compile", "--check"], { cwd: dir, encoding: "utf8" });
    expect(check.status).toBe(0);
    expect(check.stdout).toMatch(/out\/ is current/);
  });
});

describe("the pipeline runs again when", () => {
  it("the config changes", () => {
    const dir = project(config());
    caja(dir);
    writeFileSync(join(dir, "caja.config.ts"), config(`"sre"`));
    const r = caja(dir);
    expect(r.reused).toBe(false);
    expect(readFileSync(join(dir, ROOT_FILE), "utf8")).toContain('"Owner": "sre"');
  });

  it("something the config reads changes (an environment variable)", () => {
    const dir = project(config("process.env.CAJA_TEST_OWNER ?? \"nobody\""));
    caja(dir, { CAJA_TEST_OWNER: "team-a" });
    expect(caja(dir, { CAJA_TEST_OWNER: "team-a" }).reused).toBe(true);
    expect(caja(dir, { CAJA_TEST_OWNER: "team-b" }).reused).toBe(false);
    expect(readFileSync(join(dir, ROOT_FILE), "utf8")).toContain('"Owner": "team-b"');
  });

  it("an output file was edited, even keeping its size and modification time: it is restored", () => {
    const dir = project(config());
    caja(dir);
    const file = join(dir, ROOT_FILE);
    const original = readFileSync(file, "utf8");
    const { atime, mtime } = statSync(file);
    writeFileSync(file, original.replace('"Owner": "platform-engineering"', '"Owner": "platform-engineerinG"'));
    utimesSync(file, atime, mtime);
    const r = caja(dir);
    expect(r.reused).toBe(false);
    expect(r.stdout).toContain("1 written");
    expect(readFileSync(file, "utf8")).toBe(original);
  });

  it("an output file or the workflow was deleted: they are written again", () => {
    const dir = project(config());
    caja(dir);
    const workflow = join(dir, ".github/workflows/infra-plan-apply.yml");
    const content = readFileSync(workflow, "utf8");
    rmSync(workflow);
    rmSync(join(dir, "out/docs/phases.md"));
    const r = caja(dir);
    expect(r.reused).toBe(false);
    expect(readFileSync(workflow, "utf8")).toBe(content);
    expect(statSync(join(dir, "out/docs/phases.md")).isFile()).toBe(true);
  });

  it("a write was interrupted (a journal is left in out/)", () => {
    const dir = project(config());
    caja(dir);
    mkdirSync(join(dir, "out/.caja-journal/files"), { recursive: true });
    const r = caja(dir);
    expect(r.reused).toBe(false);
    expect(() => statSync(join(dir, "out/.caja-journal"))).toThrow();
  });

  it("the output goes elsewhere (--out), and back: the workflow, which names out/, was rewritten", () => {
    const dir = project(config());
    caja(dir);
    expect(caja(dir, {}, "--out", "other").reused).toBe(false);
    expect(caja(dir, {}, "--out", "other").reused).toBe(true);
    expect(caja(dir).reused).toBe(false);
    expect(readFileSync(join(dir, ".github/workflows/infra-plan-apply.yml"), "utf8")).toContain("out/");
  });
});
