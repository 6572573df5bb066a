// Builds the CLI into one ESM bundle and the tiny `caja` entry configs import, and regenerates
// the DSL's editor types from the schema. Run by `npm install` (prepare) and `npm run build`.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  legalComments: "none",
  logLevel: "warning",
};

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
    minifySyntax: true,
  }),
  build({ ...common, entryPoints: ["packages/compiler/src/public.ts"], outfile: "packages/compiler/dist/public.mjs" }),
]);
