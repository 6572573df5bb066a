/**
 * The CLI bundle's entry. The launcher (`launcher.ts`) compiles the bundle through V8's code cache
 * and calls `run`; the process-level wiring (argv, stdout, the exit code) is here, the commands in
 * `cli.ts`.
 */
import { fstatSync } from "node:fs";
import { main } from "./cli.js";
import { prestartConfigWorker } from "./config-worker.js";
import { writeText } from "./stdio.js";
import type { BootedWorker } from "./worker-boot.js";

/** A yes/no question on the terminal; only when there is one to answer it. */
async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/**
 * Whether stdin is a terminal. Not `process.stdin.isTTY`, which sets up the stream, nor `tty`
 * loaded up front, which loads `net` behind it: a terminal is a character device, so only stdin
 * that is one loads it, to ask.
 */
async function interactive(): Promise<boolean> {
  try {
    if (!fstatSync(0).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return (await import("node:tty")).isatty(0);
}

/** `worker`: the config worker the launcher booted, if it did. */
export async function run(argv: readonly string[], worker?: BootedWorker): Promise<number> {
  if (worker) prestartConfigWorker(worker);
  return main(argv, {
    out: (line) => writeText(1, `${line}\n`),
    err: (line) => writeText(2, `${line}\n`),
    cwd: process.cwd(),
    ...((await interactive()) ? { confirm } : {}),
  });
}
