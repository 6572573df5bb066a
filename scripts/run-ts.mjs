// Runs a TypeScript file of this repo: esbuild bundles it in memory (bare imports but the
// workspace's stay external, resolved from the file's folder) and Node imports the result.
// For repo scripts only.
import { build } from "esbuild";
import { writeFile, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error("usage: node scripts/run-ts.mjs FILE.ts [args...]");
  process.exit(2);
}
const entry = resolve(file);
const result = await build({
  entryPoints: [entry], bundle: true, write: false, platform: "node", format: "esm", target: "node20",
  sourcemap: "inline", logLevel: "error",
  // The workspace's own packages are TypeScript: bundled. Every other package stays external.
  plugins: [{ name: "external-packages", setup(b) { b.onResolve({ filter: /^[^./]/ }, (a) => (a.path.startsWith("@caja/") ? undefined : { path: a.path, external: true })); } }],
});
// Written beside the script so its bare imports resolve from the repo's node_modules.
const tmp = join(dirname(entry), `.run-${process.pid}.mjs`);
await writeFile(tmp, result.outputFiles[0].text);
process.argv = [process.argv[0], entry, ...args];
try {
  await import(pathToFileURL(tmp).href);
} finally {
  await unlink(tmp).catch(() => {});
}
