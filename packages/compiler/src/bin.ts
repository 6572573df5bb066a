import { createInterface } from "node:readline/promises";
import { main } from "./cli.js";

/** A yes/no question on the terminal; only when there is one to answer it. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

const code = await main(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  cwd: process.cwd(),
  ...(process.stdin.isTTY ? { confirm } : {}),
});
process.exitCode = code;
