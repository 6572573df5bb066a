/** `caja compile`: config → out/. */
import { join, relative } from "node:path";
import { compile, type CompileResult } from "../compile.js";
import { describeFinding } from "../policy/finding.js";
import { parseArgs, UsageError, type FlagSpec, type Io } from "./support.js";

export const usage = "caja compile [--config FILE] [--out DIR] [--env NAME]... [--backend s3|local] [--check]";

const FLAGS: FlagSpec = { "--config": "value", "--out": "value", "--env": "value", "--backend": "value", "--check": "bool" };

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  if (args.positional.length > 0) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  const backend = args.value("--backend");
  if (backend !== undefined && backend !== "s3" && backend !== "local") throw new UsageError(`--backend expects s3 or local, got "${backend}"`);
  const started = performance.now();
  const config = args.value("--config");
  const outDir = args.value("--out");
  const result = await compile({
    cwd: io.cwd,
    ...(config ? { config } : {}),
    ...(outDir ? { outDir } : {}),
    envs: args.values("--env"),
    ...(backend ? { backend } : {}),
    check: args.has("--check"),
  });
  return report(result, args.has("--check"), performance.now() - started, io);
}

function report(result: CompileResult, check: boolean, ms: number, io: Io): number {
  for (const todo of result.todos) {
    const where = todo.site ? `${relative(io.cwd, todo.site.replace(/^file:\/\//, ""))}  ` : "";
    const uses = todo.uses.length > 0 ? `variable ${[...new Set(todo.uses.map((u) => u.variable))].join(", ")} in ${todo.uses.map((u) => u.root).join(", ")}` : "not used by any root yet";
    io.err(`TODO ${where}${todo.path}: ${todo.reason} (${uses})`);
  }
  for (const finding of result.policy?.warnings ?? []) io.err(`warning: ${describeFinding(finding)}`);
  const out = relative(io.cwd, result.outDir) || ".";
  const roots = result.plan.roots.length;
  const time = `${Math.round(ms)} ms`;
  if (check) {
    const stale = result.stale ?? [];
    if (stale.length > 0) {
      io.err(`caja: ${out}/ is not current (${stale.length} file${stale.length === 1 ? "" : "s"}). Run caja compile and commit the result:`);
      // Stale paths are relative to out/ (the workflow file sits outside it): print them from here.
      for (const file of stale) io.err(`  ${relative(io.cwd, join(result.outDir, file.replace(/ \(no longer generated\)$/, "")))}${file.endsWith(" (no longer generated)") ? " (no longer generated)" : ""}`);
      return 1;
    }
    io.out(`caja: ${out}/ is current: ${roots} roots, ${result.resources} resources (${time})`);
    return 0;
  }
  const w = result.write!;
  const changes = w.written.length + w.removed.length === 0 ? "nothing changed" : `${w.written.length} written, ${w.removed.length} removed, ${w.unchanged} unchanged`;
  const todos = result.todos.length > 0 ? `, ${result.todos.length} TODO${result.todos.length === 1 ? "" : "s"}` : "";
  io.out(`caja: compiled ${roots} roots, ${result.resources} resources into ${out}/ (${changes}${todos}) in ${time}`);
  return 0;
}
