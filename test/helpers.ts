/** Shared test fixtures: a valid config, the pure pipeline, and readers for emitted JSON. */
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { CajaConfigInput } from "@caja/dsl/schema";
import { validateResourceBody } from "@caja/modules/validate";
import { compileConfig, type Compiled } from "../packages/compiler/src/pipeline.js";
import type { PhaseDef } from "../packages/compiler/src/phases.js";

/** The findings the platform accepts by design (public ALB, its :80 redirect, WAF deferred, ECS egress). */
export { BY_DESIGN_SUPPRESSIONS } from "../packages/compiler/src/policy/check.js";
import { BY_DESIGN_SUPPRESSIONS } from "../packages/compiler/src/policy/check.js";

/** The built `caja` command, as users run it. */
export const CAJA_BIN = fileURLToPath(new URL("../packages/compiler/bin/caja.cjs", import.meta.url));

/** A complete, valid config like the Caja platform's, without TODOs. */
export function baseConfig(): CajaConfigInput {
  return {
    project: "caja",
    region: "us-east-1",
    tags: { Owner: "platform-engineering", Confidentiality: "internal", CostCenter: "events-eng" },
    domain: { root: "dbash.dev", namespace: "caja" },
    github: { repository: "dbash/caja" },
    defaults: { alarms: { emails: ["oncall@dbash.dev"] } },
    policy: { suppressions: BY_DESIGN_SUPPRESSIONS.map((x) => ({ ...x })) },
    environments: { dev: {}, staging: {}, prod: {} },
  };
}

/** `baseConfig()` with some fields replaced (shallow per top-level key). */
export function configWith(patch: Partial<CajaConfigInput>): CajaConfigInput {
  return { ...baseConfig(), ...patch };
}

export function compileWith(config: unknown = baseConfig(), options: { phases?: readonly PhaseDef[]; backend?: "s3" | "local"; enforcePolicies?: boolean } = {}): Compiled {
  return compileValue(config, options);
}

/** Like `compileWith`, but compiles exactly the value given (`undefined` included): for fuzzing. */
export function compileValue(config: unknown, options: { phases?: readonly PhaseDef[]; backend?: "s3" | "local"; enforcePolicies?: boolean } = {}): Compiled {
  return compileConfig(config, { ...options, validateBody: (type, body) => validateResourceBody("resource", type, body) });
}

/** The parsed `main.tf.json` of a root, e.g. `rootJson(c, "dev/20-network")`. */
export function rootJson(compiled: Compiled, rootId: string): any {
  return fileJson(compiled, `${rootId}/main.tf.json`);
}

export function testJson(compiled: Compiled, rootId: string): any {
  return fileJson(compiled, `${rootId}/main.tftest.json`);
}

export function fileJson(compiled: Compiled, path: string): any {
  const file = compiled.files.find((f) => f.path === path);
  if (!file) throw new Error(`no file ${path}; have: ${compiled.files.map((f) => f.path).join(", ")}`);
  return JSON.parse(file.content);
}

/** Every resource body of `type` in a root, by name. */
export function resources(compiled: Compiled, rootId: string, type: string): Record<string, any> {
  return rootJson(compiled, rootId).resource?.[type] ?? {};
}

export function tempDir(prefix = "caja-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A temporary folder inside the repository, so a config's `import ... from "caja"` resolves to this
 * package. Like `tempDir`'s, under this run's own folder, which the run removes when it ends.
 */
export function repoTempDir(prefix: string): string {
  const root = process.env.CAJA_TEST_REPO_TMP ?? fileURLToPath(new URL(".tmp/", import.meta.url));
  mkdirSync(root, { recursive: true });
  return mkdtempSync(join(root, prefix));
}

/**
 * Every entry under `dir`, to show a refused command changed nothing: files with their mode and
 * bytes, links recorded as links (never followed).
 */
export function fileTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const s = lstatSync(p);
      if (s.isSymbolicLink()) out[relative(dir, p)] = `-> ${readlinkSync(p)}`;
      else if (s.isDirectory()) walk(p);
      else out[relative(dir, p)] = `${(s.mode & 0o777).toString(8)} ${readFileSync(p, "utf8")}`;
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** `line:col` (1-based) where `needle` first stands in `text`, as caja prints a location. */
export function lineColOf(text: string, needle: string): string {
  const index = text.indexOf(needle);
  if (index < 0) throw new Error(`${needle} is not in the text`);
  const before = text.slice(0, index).split("\n");
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

let cacheOn: Compiled | undefined;

/**
 * The resources of `<env>/35-cache` as the cache module writes them (type → name → body), from the
 * base config with the cache on in every tier: what the gate and checkov tests break one way at a time.
 */
export function cacheRootResources(env: "dev" | "staging" | "prod"): Record<string, Record<string, Record<string, unknown>>> {
  cacheOn ??= compileWith({ ...baseConfig(), defaults: { ...baseConfig().defaults, cache: { enabled: true } } });
  return structuredClone(rootJson(cacheOn, `${env}/35-cache`).resource);
}

/** `tsc --noEmit` of `dir/caja.config.ts` with the editor's settings (strict, nodenext), as users run it. */
export function typecheckDir(dir: string): { code: number | null; output: string } {
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", noEmit: true, skipLibCheck: true, types: [] }, files: ["caja.config.ts"] }),
  );
  const r = spawnSync(TSC, ["--noEmit", "-p", dir], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** `typecheckDir` of a config written into a fresh folder of the repository (so `caja` resolves). */
export function typecheck(config: string, prefix = "types-"): { code: number | null; output: string } {
  const dir = repoTempDir(prefix);
  writeFileSync(join(dir, "caja.config.ts"), config);
  return typecheckDir(dir);
}

const TSC = fileURLToPath(new URL("../node_modules/.bin/tsc", import.meta.url));
