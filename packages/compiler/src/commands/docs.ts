/** `caja docs`: write (or check) only the reviewer docs under out/docs/. `caja compile` writes them too. */
import { relative } from "node:path";
import { compile } from "../compile.js";
import { parseArgs, UsageError, type FlagSpec, type Io } from "./support.js";

export const usage = [
  "caja docs [--config FILE] [--out DIR] [--check]",
  "",
  "  Writes out/docs/: config-reference.md, environments.md, phases.md (+ phases.svg) and caja.schema.json.",
  "  --check exits 1 and lists the stale files instead of writing.",
].join("\n");

const FLAGS: FlagSpec = { "--config": "value", "--out": "value", "--check": "bool" };

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  if (args.positional.length > 0) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  const config = args.value("--config");
  const outDir = args.value("--out");
  const check = args.has("--check");
  const result = await compile({ cwd: io.cwd, ...(config ? { config } : {}), ...(outDir ? { outDir } : {}), docsOnly: true, check });
  const out = relative(io.cwd, result.outDir) || ".";
  if (check) {
    const stale = result.stale ?? [];
    if (stale.length > 0) {
      io.err(`caja: ${out}/docs/ is not current. Run caja docs (or caja compile) and commit the result:`);
      for (const file of stale) io.err(`  ${out}/${file}`);
      return 1;
    }
    io.out(`caja: ${out}/docs/ is current (${result.files.length} files)`);
    return 0;
  }
  const w = result.write!;
  const changes = w.written.length + w.removed.length === 0 ? "nothing changed" : `${w.written.length} written, ${w.removed.length} removed`;
  io.out(`caja: wrote the reviewer docs in ${out}/docs/ (${changes})`);
  return 0;
}
