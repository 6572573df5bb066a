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
    // zod's JSON Schema reader, which the CLI never calls: its module copies two of zod's namespaces
    // when it loads, and only it makes esbuild build them (about 1 ms of every start-up).
    b.onResolve({ filter: /^\.\/from-json-schema\.js$/ }, (args) =>
      args.importer.includes(`${"node_modules"}/zod/`) ? { path: "zod-from-json-schema", namespace: "caja-shim" } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "caja-shim" }, (args) => ({
      contents:
        args.path === "zod-locales-en"
          ? `export { default as en } from "zod/v4/locales/en.js";`
          : `export function fromJSONSchema() { throw new Error("internal: caja's CLI does not read JSON Schema into zod"); }`,
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
/** The CLI bundle is one function expression of CommonJS's arguments (see launcher.ts). */
const BUNDLE_HEAD = "(function (exports, require, module, __filename, __dirname) {";
const BUNDLE_TAIL = "\n})";

// Start clean so nothing stale from an earlier layout is left behind.
rmSync(new URL("../packages/compiler/dist", import.meta.url), { recursive: true, force: true });

await Promise.all([
  emitPublicTypes(),
  buildCli(),
  // What `caja` runs first: boots the config worker, then compiles the CLI through the code cache.
  build({ ...common, format: "cjs", entryPoints: ["packages/compiler/src/launcher.ts"], outfile: "packages/compiler/dist/launcher.cjs", minify }),
  build({ ...common, entryPoints: ["packages/compiler/src/public.ts"], outfile: "packages/compiler/dist/public.mjs" }),
  // `caja/module`: the module API. zod stays external, a dependency of the package, so a module's
  // schemas and the editor's types come from one copy.
  build({ ...common, entryPoints: ["packages/modules/src/api.ts"], outfile: "packages/compiler/dist/module.mjs", external: ["zod"] }),
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
      __CAJA_PROJECT_JSON_SCHEMA__: JSON.stringify(schema.projectJson),
      __CAJA_PROJECT_JSON_SCHEMA_DOCUMENT__: JSON.stringify(schema.document),
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
  // One character outside ASCII makes V8 hold the whole source as two bytes a character, twice
  // the memory for as long as the process runs (esbuild escapes strings, not regular expressions).
  // A profiling build (--no-minify) keeps comments, which may hold any character: escaped there
  // (as \uXXXX, which means the same in strings and regular expressions too), since the launcher
  // reads the bundle as latin1.
  const wide = minify ? /[^\x00-\x7f]/.exec(built) : null;
  if (wide) throw new Error(`the CLI bundle must be ASCII: write ${JSON.stringify(wide[0])} as \\u${wide[0].charCodeAt(0).toString(16).padStart(4, "0")} near: ${built.slice(Math.max(0, wide.index - 40), wide.index + 20)}`);
  const ascii = minify ? built : built.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  const hash = createHash("sha256").update(ascii).digest("hex").slice(0, 16);
  const code = ascii.replaceAll(BUILD_ID_PLACEHOLDER, hash);
  mkdirSync(dirname(result.outputFiles[0].path), { recursive: true });
  // Written as the function the launcher compiles, so it need not build a second copy of the
  // source around it (a large string, never freed in a run this short).
  writeFileSync(result.outputFiles[0].path, `${BUNDLE_HEAD}// caja-build ${hash}\n${code}${BUNDLE_TAIL}`);
}

/**
 * The declarations of what a config imports from "caja" (public.ts and the DSL it re-exports),
 * so an installed package types configs with nothing from this repository.
 */
async function emitPublicTypes() {
  const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));
  const args = ["--ignoreConfig", "--declaration", "--emitDeclarationOnly", "--rootDir", "packages", "--outDir", "packages/compiler/dist/types"];
  args.push("--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--strict", "--skipLibCheck", "--types", "node");
  args.push("--listFiles");
  const { status, stdout, stderr } = spawnSync(process.execPath, [tsc, ...args, "packages/compiler/src/public.ts", "packages/modules/src/api.ts"], { cwd: root, encoding: "utf8" });
  // tsc lists the files it read by absolute path, with forward slashes on every platform.
  const isListed = (line) => line.startsWith(root.replaceAll("\\", "/"));
  const lines = stdout.split(/\r?\n/);
  if (status !== 0) throw new Error(`declarations of packages/compiler/src/public.ts: ${lines.filter((line) => !isListed(line)).join("\n")}${stderr}`);
  await shipProviderSchema(lines.filter(isListed));
}

/**
 * What tsc and esbuild leave out. tsc emits no declaration for a declaration file it reads: the
 * provider's types outside the modules' subset are generated as one (3 MB no type check should
 * check), so each `.d.ts` of packages/ the declarations reach is copied to its place in dist/types.
 * And the provider schema of those types, which the CLI bundle reads from its own folder to check
 * escape-hatch bodies of them (packages/modules/src/aws/validate.ts): a file, not bundled, so a
 * compile loads it only when a config uses such a type.
 */
async function shipProviderSchema(listedFiles) {
  const { copyFileSync } = await import("node:fs");
  const { join, relative, sep } = await import("node:path");
  const packages = join(root, "packages");
  for (const file of listedFiles.filter((f) => f.endsWith(".d.ts"))) {
    const inPackages = relative(packages, file);
    if (inPackages.startsWith("..") || inPackages.split(sep).includes("node_modules") || inPackages.startsWith(join("compiler", "dist"))) continue;
    const to = join(root, "packages/compiler/dist/types", inPackages);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(file, to);
  }
  copyFileSync(join(root, "packages/modules/src/aws/schema.others.jsonl"), join(root, "packages/compiler/dist/schema.others.jsonl"));
}

/**
 * The config's JSON Schema, computed here once instead of on every compile (see json-schema.ts):
 * caja's own fields as JSON; with the sections of caja's opt-in modules as JSON and as the document
 * `out/docs/caja.schema.json` holds (stable JSON; see packages/compiler/src/docs/schema.ts).
 */
async function configJsonSchemaTexts() {
  const result = await build({
    ...common,
    write: false,
    stdin: {
      contents: [
        `export { configJsonSchema } from "./packages/dsl/src/json-schema.ts";`,
        `export { projectJsonSchema } from "./packages/compiler/src/docs/schema.ts";`,
        `export { API_MODULES } from "./packages/modules/src/index.ts";`,
      ].join("\n"),
      resolveDir: root,
      loader: "ts",
    },
    plugins: [englishOnlyZodLocales],
  });
  const { configJsonSchema, projectJsonSchema, API_MODULES } = await import(`data:text/javascript;base64,${Buffer.from(result.outputFiles[0].text).toString("base64")}`);
  const project = projectJsonSchema(API_MODULES);
  return { json: JSON.stringify(configJsonSchema()), projectJson: JSON.stringify(project.schema), document: project.document };
}
