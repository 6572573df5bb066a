// Builds the CLI into one bundle and the tiny `caja` entry configs import, and regenerates
// the DSL's editor types from the schema. Run by `npm install` (prepare) and `npm run build`.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
// `--no-minify` keeps names readable for `node --cpu-prof` profiles.
const minify = !process.argv.includes("--no-minify");
// zod's classic entry re-exports all 64 message locales (~360 KB); caja's messages are English and
// its own. Resolve zod's locale index to English only.
const englishOnlyZodLocales = {
  name: "english-only-zod-locales",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${"node_modules"}/zod/`) ? { path: "zod-locales-en", namespace: "caja-shim" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "caja-shim" }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path === "zod-locales-en" ? "zod/v4/locales/en.js" : "")};`,
      resolveDir: root,
    }));
  },
};

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  legalComments: "none",
  logLevel: "warning",
};

const BUILD_ID_PLACEHOLDER = "caja-build-id-placeholder";

// Start clean so nothing stale from an earlier layout is left behind.
rmSync(new URL("../packages/compiler/dist", import.meta.url), { recursive: true, force: true });

await Promise.all([
  emitPublicTypes(),
  buildCli(),
  // What `caja` runs first: boots the config worker, then compiles the CLI through the code cache.
  build({ ...common, format: "cjs", entryPoints: ["packages/compiler/src/launcher.ts"], outfile: "packages/compiler/dist/launcher.cjs", minify }),
  build({ ...common, entryPoints: ["packages/compiler/src/public.ts"], outfile: "packages/compiler/dist/public.mjs" }),
]);

/**
 * The CLI: one CommonJS file, which the launcher compiles through `vm.Script` with V8's code
 * cache (Node 20 caches no ES module code). Lazily imported commands stay lazy: esbuild turns
 * each `import()` into a module initialised on first use. The first line names the content hash
 * the code cache is keyed on, so a rebuilt or upgraded bundle never meets a stale cache; the same
 * hash is the build id a compile's fingerprint includes (incremental.ts).
 */
async function buildCli() {
  const schema = await configJsonSchemaTexts();
  const result = await build({
    define: {
      __CAJA_CONFIG_JSON_SCHEMA__: JSON.stringify(schema.json),
      __CAJA_CONFIG_JSON_SCHEMA_DOCUMENT__: JSON.stringify(schema.document),
      // Replaced below by the bundle's own hash, which it cannot contain while it is hashed.
      __CAJA_BUILD_ID__: JSON.stringify(BUILD_ID_PLACEHOLDER),
    },
    ...common,
    entryPoints: ["packages/compiler/src/bin.ts"],
    format: "cjs",
    write: false,
    outfile: "packages/compiler/dist/cli.cjs",
    // Loaded lazily, only to locate errors or edit config source, and esbuild ships a native binary.
    external: ["esbuild", "ts-morph"],
    // Both are CommonJS: `import()` of them becomes `require`. Node cannot run `import()` from a
    // script compiled with a code cache (nodejs/node#43663), which is how the launcher runs this.
    supported: { "dynamic-import": false },
    plugins: [englishOnlyZodLocales],
    minify,
  });
  const built = result.outputFiles[0].text;
  const hash = createHash("sha256").update(built).digest("hex").slice(0, 16);
  const code = built.replaceAll(BUILD_ID_PLACEHOLDER, hash);
  mkdirSync(dirname(result.outputFiles[0].path), { recursive: true });
  writeFileSync(result.outputFiles[0].path, `// caja-build ${hash}\n${code}`);
}

/**
 * The declarations of what a config imports from "caja" (public.ts and the DSL it re-exports),
 * so an installed package types configs with nothing from this repository.
 */
async function emitPublicTypes() {
  const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));
  const args = ["--ignoreConfig", "--declaration", "--emitDeclarationOnly", "--rootDir", "packages", "--outDir", "packages/compiler/dist/types"];
  args.push("--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--strict", "--skipLibCheck", "--types", "node");
  const { status, stdout, stderr } = spawnSync(process.execPath, [tsc, ...args, "packages/compiler/src/public.ts"], { cwd: root, encoding: "utf8" });
  if (status !== 0) throw new Error(`declarations of packages/compiler/src/public.ts: ${stdout}${stderr}`);
}

/**
 * The config's JSON Schema, computed here once instead of on every compile (see json-schema.ts):
 * the object as JSON, and the document `out/docs/caja.schema.json` holds (stable JSON).
 */
async function configJsonSchemaTexts() {
  const result = await build({
    ...common,
    write: false,
    stdin: {
      contents: `export { configJsonSchema } from "./packages/dsl/src/json-schema.ts"; export { stableStringify } from "./packages/compiler/src/json.ts";`,
      resolveDir: root,
      loader: "ts",
    },
    plugins: [englishOnlyZodLocales],
  });
  const { configJsonSchema, stableStringify } = await import(`data:text/javascript;base64,${Buffer.from(result.outputFiles[0].text).toString("base64")}`);
  const schema = configJsonSchema();
  return { json: JSON.stringify(schema), document: stableStringify(schema) };
}
