/**
 * A config is user code: whatever it does while loading (loop forever, never settle, exit, throw,
 * allocate without end, import what is not there), caja ends with an error naming the file, in
 * bounded time, and the success path still returns the value with its todo() sites mapped.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { isTodo } from "@caja/dsl";
import { ConfigLoadError } from "../packages/compiler/src/errors.js";
import { loadConfig } from "../packages/compiler/src/load.js";
import { baseConfig, CAJA_BIN, repoTempDir } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));

/** A project under test/.tmp (so `import "caja"` resolves) with one config file. */
function project(source: string, name = "caja.config.ts"): string {
  const dir = repoTempDir("load-");
  writeFileSync(join(dir, name), source);
  return join(dir, name);
}

async function loadError(file: string, options: Parameters<typeof loadConfig>[2] = {}): Promise<{ error: ConfigLoadError; ms: number }> {
  const started = performance.now();
  const error = await loadConfig(file, "compile", options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigLoadError);
  return { error: error as ConfigLoadError, ms: performance.now() - started };
}

const config = JSON.stringify(baseConfig());

describe("loading a config", () => {
  it("returns the value, the function form's too, with todo() markers intact and their sites in the source", async () => {
    const file = project(`import { defineConfig, todo } from "caja";\nconst c = ${config};\nexport default defineConfig(async ({ command }) => ({ ...c, github: { repository: todo(command) } }));\n`);
    const loaded = await loadConfig(file, "check");
    const repository = (loaded.value as { github: { repository: unknown } }).github.repository;
    expect(isTodo(repository)).toBe(true);
    expect(repository).toMatchObject({ reason: "check", site: `${file}:3:83` });
    expect(loaded.dependencies).toContain(file);
  });

  it("bundles caja's DSL in with the config: the project's files stay its dependencies, and a name the config shares with the DSL changes no site and no function's name", async () => {
    const file = project(
      [
        `import { defineConfig, todo as undecided } from "caja";`,
        `import { region } from "./region";`,
        // Top-level names caja's DSL module uses too: bundled together, esbuild renames one of each pair.
        `function todo() { return "mine"; }`,
        `function callerSite() { return "mine"; }`,
        `export default defineConfig({ ...${config}, region, project: todo, github: { repository: undecided(callerSite()) } });`,
        ``,
      ].join("\n"),
    );
    writeFileSync(join(file, "..", "region.ts"), `export const region = "us-east-1";\n`);
    const loaded = await loadConfig(file);
    const value = loaded.value as { project: unknown; github: { repository: unknown } };
    expect(value.github.repository).toMatchObject({ reason: "mine", site: `${file}:5:${`export default defineConfig({ ...${config}, region, project: todo, github: { repository: `.length + 1}` });
    expect((value.project as () => unknown).name).toBe("todo");
    expect([...loaded.dependencies].sort()).toEqual([file, join(file, "..", "region.ts")].sort());
  });

  it("stops an endless loop at the time limit and names the file", async () => {
    const file = project(`${"export default (() => { for (;;) {} })();"}\n`);
    const { error, ms } = await loadError(file, { timeoutMs: 1000 });
    expect(error.message).toBe(`${file}: the config did not finish evaluating within 1 s (an endless loop, or a promise that never settles?). Set CAJA_LOAD_TIMEOUT_MS to allow longer.`);
    expect(ms).toBeLessThan(5000);
  });

  it("stops an endless asynchronous loop in the function form", async () => {
    const file = project(`export default async () => { for (;;) await null; };\n`);
    const { error } = await loadError(file, { timeoutMs: 800 });
    expect(error.message).toMatch(/did not finish evaluating within 800 ms/);
  });

  it("says when the config awaits a promise that can never settle, without waiting for the limit", async () => {
    const file = project(`export default await new Promise(() => {});\n`);
    const { error, ms } = await loadError(file, { timeoutMs: 20_000 });
    expect(error.message).toBe(`${file}: the config stopped without producing its value: it awaits a promise that can never settle (or calls process.exit(0))`);
    expect(ms).toBeLessThan(10_000);
  });

  it("runs a config that needs no module loader as a script, as strict as a module, with the same value, sites and errors", async () => {
    // The module loader shows in the config's thread only when the config runs as a module.
    const how = `process.moduleLoadList.some((m) => m.includes("esm/module_job")) ? "module" : "script"`;
    const body = (extra: string) =>
      [
        `import { defineConfig, todo } from "caja";`,
        extra,
        `const strict = (function () { return this === undefined; })();`,
        `export default defineConfig({ ...${config}, project: ${how}, tags: { Strict: String(strict) }, github: { repository: todo("repo") } });`,
        ``,
      ].join("\n");
    const asScript = project(body(`const where = "a script";`));
    const asModule = project(body(`const where = import.meta.url;`));
    const values = await Promise.all([asScript, asModule].map(async (file) => (await loadConfig(file)).value as { project: string; tags: object; github: { repository: unknown } }));
    expect(values.map((v) => v.project)).toEqual(["script", "module"]);
    for (const [i, file] of [asScript, asModule].entries()) {
      expect(values[i]!.tags).toEqual({ Strict: "true" });
      expect(values[i]!.github.repository).toMatchObject({ reason: "repo", site: `${file}:4:${body("").split("\n")[3]!.indexOf("todo(") + 1}` });
    }
    const thrown = await Promise.all(
      [`const where = "a script";`, `const where = import.meta.url;`].map(async (extra) => {
        const file = project(`${extra}\nfunction fail() {\n  throw new Error("boom");\n}\nfail();\nexport default {};\n`);
        return (await loadError(file)).error.message.replaceAll(file, "FILE");
      }),
    );
    expect(thrown[0]).toBe("FILE: the config threw while loading: boom (at FILE:3:9)");
    expect(thrown[1]).toBe(thrown[0]);
  });

  it("reports process.exit() from the config instead of exiting", async () => {
    const file = project(`process.exit(3);\nexport default {};\n`);
    expect((await loadError(file)).error.message).toBe(`${file}: the config ended the process (process.exit(3)) while loading`);
  });

  it("stops a config that allocates without end", async () => {
    const file = project(`const hoard = [];\nfor (;;) hoard.push(new Array(1e5).fill(Math.random()));\nexport default {};\n`);
    const { error } = await loadError(file, { heapMb: 32, timeoutMs: 20_000 });
    expect(error.message).toBe(`${file}: the config could not be evaluated: it used more than 32 MB of memory (an endless loop that allocates?)`);
  });

  it("reports an import that fails at run time, naming the file that imports it", async () => {
    const missing = join(repo, "test/.tmp/no-such-dir/envs.mjs");
    const file = project(`import { defineConfig } from "caja";\nconst url = ${JSON.stringify(`file://${missing}`)};\nconst extra = await import(url);\nexport default defineConfig({ ...extra } as never);\n`);
    expect((await loadError(file)).error.message).toBe(`${file}: the config threw while loading: Cannot find module '${missing}' imported from ${file}`);
  });

  it("explains that a relative import computed at run time cannot be bundled", async () => {
    const file = project(`const name = ["./envs", "prod.js"].join("-");\nexport default await import(name);\n`);
    const { message } = (await loadError(file)).error;
    expect(message).toContain('Failed to resolve module specifier "./envs-prod.js"');
    expect(message).toContain('(import relative files statically, `import x from "./file"`, so caja bundles them)');
    expect(message).not.toContain("base64");
  });

  it("passes functions and symbols through as values the schema rejects, not as a crash", async () => {
    const file = project(`export default { ...${config}, project: function caja() {}, region: Symbol("us-east-1") };\n`, "caja.config.mjs");
    const value = (await loadConfig(file)).value as { project: unknown; region: unknown };
    expect(typeof value.project).toBe("function");
    expect(typeof value.region).toBe("symbol");
  });

  it("bounds the whole CLI run, which exits 1 with the message", () => {
    const file = project(`export default (() => { while (true) {} })();\n`);
    const started = performance.now();
    const r = spawnSync(process.execPath, [CAJA_BIN, "compile"], {
      cwd: join(file, ".."),
      encoding: "utf8",
      env: { ...process.env, CAJA_LOAD_TIMEOUT_MS: "700" },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("caja.config.ts: the config did not finish evaluating within 700 ms");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(performance.now() - started).toBeLessThan(8000);
  });

  it("does not wait for what a config leaves running (a timer) once its value is in", () => {
    const file = project(`import { defineConfig } from "caja";\nsetInterval(() => {}, 1000);\nexport default defineConfig(${config});\n`);
    const started = performance.now();
    const r = spawnSync(process.execPath, [CAJA_BIN, "compile", "--out", "out"], { cwd: join(file, ".."), encoding: "utf8" });
    expect(r.stderr).not.toContain("caja: ");
    expect(r.status).toBe(0);
    expect(performance.now() - started).toBeLessThan(8000);
  });
});
