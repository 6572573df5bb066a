#!/usr/bin/env node
// The `caja` command. The launcher and the CLI are built into dist/ by `npm install` (or
// `npm run build`); the launcher boots the config worker and runs the CLI bundle (src/launcher.ts).
"use strict";
const { existsSync } = require("node:fs");
const { join } = require("node:path");

const dist = join(__dirname, "..", "dist");
if (!existsSync(join(dist, "launcher.cjs")) || !existsSync(join(dist, "cli.cjs"))) {
  process.stderr.write("caja: the CLI is not built. Run `npm install` (or `npm run build`) in the caja repository.\n");
  process.exit(1);
}
require(join(dist, "launcher.cjs")).launch(dist);
