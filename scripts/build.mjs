// Builds the CLI into one ESM bundle and the tiny `caja` entry configs import, and regenerates
// the DSL's editor types from the schema. Run by `npm install` (prepare) and `npm run build`.
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
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

// Chunk names carry content hashes: start clean so no stale chunk is left behind.
rmSync(new URL("../packages/compiler/dist", import.meta.url), { recursive: true, force: true });

await Promise.all([
  build({
    ...common,
    // One module at start-up; what only some runs need (the provider schema) is a chunk loaded on demand.
    entryPoints: { cli: "packages/compiler/src/bin.ts" },
    outdir: "packages/compiler/dist",
    outExtension: { ".js": ".mjs" },
    splitting: true,
    chunkNames: "chunks/[name]-[hash]",
    // Loaded lazily, only to locate errors or edit config source, and esbuild ships a native binary.
    external: ["esbuild", "ts-morph"],
    plugins: [englishOnlyZodLocales],
    minify: true,
  }),
  build({ ...common, entryPoints: ["packages/compiler/src/public.ts"], outfile: "packages/compiler/dist/public.mjs" }),
]);
