/**
 * The repository config, every root, through a real AWS API: `caja emulate` against moto_server
 * (pip install "moto[server]"). Applies every root with real remote-state reads, re-plans each
 * (no change allowed beyond the emulator's listed differences), destroys everything and checks
 * nothing is left. Runs when moto_server is on PATH (or CAJA_MOTO names it) and terraform can run;
 * CAJA_REQUIRE_MOTO=1 (CI) makes a missing emulator a failure instead of a skip.
 */
import { spawn } from "node:child_process";
import { delimiter, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { findProgram, findTerraform } from "../packages/compiler/src/terraform.js";
import { CAJA_BIN } from "./helpers.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));

const moto = findProgram("moto_server", process.env.CAJA_MOTO || undefined);
const terraform = findTerraform();
if (!moto || !terraform) {
  const missing = !moto ? "moto_server (pip install \"moto[server]\")" : "terraform";
  if (process.env.CAJA_REQUIRE_MOTO === "1") throw new Error(`CAJA_REQUIRE_MOTO=1 but ${missing} is not available`);
  console.warn(`SKIPPED: the emulated apply of every root: ${missing} not found`);
}

describe.skipIf(!moto || !terraform)("every root of the repository config against an AWS emulator", () => {
  it("applies, re-plans clean and destroys, leaving nothing behind; under 5 % of resources not emulated", { timeout: 45 * 60_000 }, async () => {
    const started = Date.now();
    const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
      const child = spawn(process.execPath, [CAJA_BIN, "emulate", "--moto", moto!, "--timeout", "420", "--parallel", "3"], {
        cwd: REPO,
        env: { ...process.env, PATH: `${dirname(terraform!)}${delimiter}${process.env.PATH}` },
      });
      let text = "";
      child.stdout.on("data", (b: Buffer) => (text += b.toString()));
      child.stderr.on("data", (b: Buffer) => (text += b.toString()));
      child.on("close", (c) => resolve({ code: c ?? 1, out: text }));
    });
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    console.log(`caja emulate: every environment in ${minutes} min`);
    const summary = out.split("\n").filter((l) => /^(root|global\/|[a-z0-9-]+\/\d\d-|[a-z0-9-]+: |not emulated|\(.* in all\))/.test(l));
    expect(code, `${summary.join("\n")}\n\n${out.slice(-6000)}`).toBe(0);
    for (const env of ["dev", "staging", "prod"]) expect(out).toContain(`${env}: every root applied, re-planned clean and was destroyed`);
    for (const share of out.matchAll(/not emulated \((\d+) of (\d+) resources/g)) expect(Number(share[1]) / Number(share[2])).toBeLessThan(0.05);
    expect(out).not.toContain("left in the emulator after destroy");
  });
});
