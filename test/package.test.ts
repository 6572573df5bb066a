/**
 * caja outside this repository: the CLI package packed as a team would receive it, installed into
 * an empty folder outside the repository, then `init`, `compile`, the editor's type check and
 * `terraform validate` of a root, with nothing from this repository but the tarball. Also the
 * same CLI run in a folder with no caja installed at all (`npx caja` in an empty folder).
 *
 * The install takes esbuild and ts-morph from the npm registry (or npm's cache, which `npm ci`
 * filled). The tarball is packed without scripts: `npm test` built dist/ already, and a rebuild
 * would pull it from under the tests running beside this one.
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { findTerraform } from "../packages/compiler/src/terraform.js";
import { tempDir } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
const terraform = findTerraform();
/** What the issue allows an install to take on disk. */
const MAX_INSTALL_BYTES = 60 * 1024 * 1024;

function run(command: string, args: readonly string[], cwd: string, options: SpawnSyncOptions = {}) {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 240_000, ...options, env: { ...process.env, npm_config_update_notifier: "false", ...options.env } });
  return { code: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

function bytesUnder(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p, { throwIfNoEntry: false });
    if (!s) continue;
    total += s.isDirectory() ? bytesUnder(p) : s.size;
  }
  return total;
}

describe("the caja package, installed where there is no caja repository", () => {
  let tarball: string;
  let app: string;

  beforeAll(() => {
    const packed = tempDir("caja-pack-");
    const pack = run(npm, ["pack", "--workspace", "caja", "--ignore-scripts", "--json", "--pack-destination", packed], repo);
    expect(pack.code, pack.out).toBe(0);
    tarball = join(packed, readdirSync(packed).find((f) => f.endsWith(".tgz"))!);
    app = tempDir("caja-app-");
    const install = run(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", "--save-dev", tarball], app);
    expect(install.code, install.out).toBe(0);
  }, 300_000);

  it("depends only on packages of the public registry, and its install stays under 60 MB", () => {
    const pkg = JSON.parse(readFileSync(join(app, "node_modules", "caja", "package.json"), "utf8"));
    expect(Object.keys(pkg.dependencies ?? {}).sort()).toEqual(["esbuild", "ts-morph"]);
    // Only a project that writes modules needs zod, and installs it: optional, so npm leaves it out.
    expect(pkg.peerDependenciesMeta).toEqual({ zod: { optional: true } });
    expect(existsSync(join(app, "node_modules", "zod"))).toBe(false);
    expect(JSON.stringify(pkg.dependencies)).not.toMatch(/@caja\/|workspace:|file:/);
    expect(readdirSync(join(app, "node_modules")).filter((n) => n.startsWith("@caja"))).toEqual([]);
    expect(bytesUnder(join(app, "node_modules"))).toBeLessThan(MAX_INSTALL_BYTES);
  });

  it("inits a project that compiles at once, type-checks against the installed types, and validates", () => {
    const init = run(join(app, "node_modules", ".bin", "caja"), ["init", "--project", "shop", "--repository", "acme/infra"], app);
    expect(init.code, init.out).toBe(0);
    expect(init.out).toMatch(/^caja: wrote caja\.config\.ts, \.gitignore /m);
    expect(init.out).not.toMatch(/not installed/);
    // npm wrote package.json with the tarball; init leaves it alone and ignores what caja leaves behind.
    expect(JSON.parse(readFileSync(join(app, "package.json"), "utf8")).devDependencies.caja).toMatch(/^file:.*\.tgz$/);
    expect(readFileSync(join(app, ".gitignore"), "utf8").split("\n")).toEqual(expect.arrayContaining([".caja/", "node_modules/", "**/.terraform/", "*.tfstate*", "*.tfplan"]));

    const compile = run(join(app, "node_modules", ".bin", "caja"), ["compile"], app);
    expect(compile.code, compile.out).toBe(0);
    expect(existsSync(join(app, "out", "dev", "20-network", "main.tf.json"))).toBe(true);

    // The editor's view: the config checks against the package's declarations, and a wrong value is an error.
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "es2022", module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true }, include: ["caja.config.ts"] }));
    const typed = run(process.execPath, [tsc, "-p", "."], app);
    expect(typed.code, typed.out).toBe(0);
    const config = readFileSync(join(app, "caja.config.ts"), "utf8");
    writeFileSync(join(app, "caja.config.ts"), config.replace(/region: "[^"]+"/, "region: 42"));
    const wrong = run(process.execPath, [tsc, "-p", "."], app);
    expect(wrong.out).toMatch(/caja\.config\.ts\(\d+,\d+\): error TS2322: Type 'number' is not assignable/);
    writeFileSync(join(app, "caja.config.ts"), config);

    if (!terraform) {
      console.warn("SKIPPED: terraform validate of the installed package's output: terraform not found");
      return;
    }
    const root = join(app, "out", "dev", "20-network");
    for (const args of [["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]]) {
      const r = run(terraform, args, root, { env: { CHECKPOINT_DISABLE: "1" } });
      expect(r.code, `terraform ${args[0]}: ${r.out}`).toBe(0);
    }
  }, 300_000);

  it("compiles and type-checks a module of the project's own written against the installed caja/module, once zod is installed", () => {
    const project = tempDir("caja-module-app-");
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "with-module", private: true }));
    const install = run(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", "--save-dev", tarball], project);
    expect(install.code, install.out).toBe(0);
    const bin = join(project, "node_modules", ".bin", "caja");
    expect(run(bin, ["init", "--project", "shop", "--repository", "acme/infra"], project).code).toBe(0);
    mkdirSync(join(project, "modules"));
    writeFileSync(
      join(project, "modules", "events.ts"),
      [
        `import { defineModule, z } from "caja/module";`,
        `export const events = defineModule({`,
        `  id: "events", title: "Event queue", scope: "env", phase: { number: 4.5, id: "events", title: "Events" }, outputs: ["queue_arn"],`,
        `  settings: { key: "events", description: "An SQS queue for domain events.", schema: z.strictObject({ enabled: z.boolean().default(true) }) },`,
        `  build(ctx) {`,
        `    const t = ctx.root.resource("aws_sqs_queue", "events", { name: ctx.name("events"), sqs_managed_sse_enabled: true });`,
        `    ctx.root.output("queue_arn", { value: t.attr("arn"), description: "Event queue.", example: "arn:aws:sqs:us-east-1:123456789012:shop-dev-events" });`,
        `  },`,
        `});`,
      ].join("\n"),
    );
    const config = readFileSync(join(project, "caja.config.ts"), "utf8");
    writeFileSync(join(project, "caja.config.ts"), config.replace(`import { defineConfig`, `import { events } from "./modules/events.js";\nimport { defineConfig`).replace(`defineConfig({`, `defineConfig({\n  modules: [events],`));
    const withoutZod = run(bin, ["compile"], project);
    expect(withoutZod.code).toBe(1);
    expect(withoutZod.out).toMatch(/Cannot find package 'zod'.*npm install --save-dev zod@\^4/);
    const zod = run(npm, ["install", "--no-audit", "--no-fund", "--prefer-offline", "--save-dev", "zod@^4"], project);
    expect(zod.code, zod.out).toBe(0);
    const compile = run(bin, ["compile"], project);
    expect(compile.code, compile.out).toBe(0);
    expect(existsSync(join(project, "out", "dev", "45-events", "main.tf.json"))).toBe(true);
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "es2022", module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true }, include: ["caja.config.ts"] }));
    expect(run(process.execPath, [tsc, "-p", "."], project).out).toBe("");
    writeFileSync(join(project, "caja.config.ts"), readFileSync(join(project, "caja.config.ts"), "utf8").replace(`defaults: {`, `defaults: {\n    events: { enabled: "yes" },`));
    expect(run(process.execPath, [tsc, "-p", "."], project).out).toMatch(/caja\.config\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'boolean/);
  }, 120_000);

  it("compiles a config in a folder with no caja installed, lending its own copy, and says how to install one", () => {
    const empty = tempDir("caja-empty-");
    const bin = join(app, "node_modules", ".bin", "caja");
    const init = run(bin, ["init"], empty);
    expect(init.code, init.out).toBe(0);
    expect(init.out).toMatch(/^caja: wrote caja\.config\.ts, package\.json, \.gitignore /m);
    expect(init.out).toMatch(/caja is not installed in this folder .*release tarball .*no caja package is published on the npm registry/);
    const pkg = JSON.parse(readFileSync(join(empty, "package.json"), "utf8"));
    // Installed under some node_modules, this copy is no source to name: no dependency on an unpublished name.
    expect(pkg).toEqual({ name: expect.any(String), private: true, scripts: { check: "caja check", compile: "caja compile", docs: "caja docs" } });
    const compile = run(bin, ["compile"], empty);
    expect(compile.code, compile.out).toBe(0);
    expect(existsSync(join(empty, "out", "manifest.json"))).toBe(true);
  }, 120_000);
});
