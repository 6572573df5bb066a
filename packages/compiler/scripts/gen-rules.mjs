// Writes the security gate's rules table into README.md, between its markers (`npm run gen:rules`).
// The rule definitions import the workspace packages' TypeScript sources, so they are bundled in
// memory first, like the CLI.
import { build } from "esbuild";
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../../..", import.meta.url));
const result = await build({
  entryPoints: [fileURLToPath(new URL("../src/policy/report.ts", import.meta.url))],
  absWorkingDir: repo, bundle: true, write: false, platform: "node", format: "esm", target: "node20", logLevel: "error",
});
const { withRulesSection } = await import(`data:text/javascript;base64,${Buffer.from(result.outputFiles[0].text).toString("base64")}`);
const readme = `${repo}README.md`;
await writeFile(readme, withRulesSection(await readFile(readme, "utf8")));
