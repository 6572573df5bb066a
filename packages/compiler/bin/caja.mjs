#!/usr/bin/env node
// The CLI is one esbuild bundle (built by `npm install` / `npm run build`), so start-up loads one module.
import { existsSync } from "node:fs";

const bundle = new URL("../dist/cli.mjs", import.meta.url);
if (!existsSync(bundle)) {
  process.stderr.write("caja: the CLI is not built. Run `npm install` (or `npm run build`) in the caja repository.\n");
  process.exit(1);
}
await import(bundle.href);
