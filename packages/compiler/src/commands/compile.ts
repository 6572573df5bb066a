/** `caja compile`: config → out/. */
import { join, relative } from "node:path";
import { compile, compileOrReuse, type CompileOptions, type CompileResult, type CompileSummary } from "../compile.js";
import { describeWarning } from "../policy/finding.js";
import { parseArgs, UsageError, type FlagSpec, type Io } from "./support.js";

export const usage = "caja compile [--config FILE] [--out DIR] [--env NAME]... [--backend s3|local] [--check]";

const FLAGS: FlagSpec = { "--config": "value", "--out": "value", "--env": "value", "--backend": "value", "--check": "bool" };

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  if (args.positional.length > 0) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  const backend = args.value("--backend");
  if (backend !== undefined && backend !== "s3" && backend !== "local") throw new UsageError(`--backend expects s3 or local, got "${backend}"`);
  // Not performance.now(): its first use loads a module, half a millisecond of a compile.
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
  const config = args.value("--config");
  const outDir = args.value("--out");
  const options: CompileOptions = {
    cwd: io.cwd,
    ...(config ? { config } : {}),
    ...(outDir ? { outDir } : {}),
    envs: args.values("--env"),
    ...(backend ? { backend } : {}),
  };
  if (args.has("--check")) return reportCheck(await compile({ ...options, check: true }), elapsed(), io);
  return reportWrite(await compileOrReuse(options), elapsed(), io);
}

/**
 * TODOs and gate warnings, on every compile (a reused one too: they still hold). When out/ was
 * already current, the warnings are those its security.md lists and the last compile printed:
 * their count, not the same list again on every run.
 */
function reportFindings(result: Pick<CompileSummary, "todos" | "warnings">, io: Io, unchanged = false): void {
  for (const todo of result.todos) {
    const where = todo.site ? `${relative(io.cwd, todo.site.replace(/^file:\/\//, ""))}  ` : "";
    const uses = todo.uses.length > 0 ? `variable ${[...new Set(todo.uses.map((u) => u.variable))].join(", ")} in ${todo.uses.map((u) => u.root).join(", ")}` : "not used by any root yet";
    io.err(`TODO ${where}${todo.path}: ${todo.reason} (${uses})`);
  }
  const n = result.warnings.length;
  if (unchanged && n > 0) io.err(`caja: ${n} security warning${n === 1 ? "" : "s"} (unchanged); npx caja check lists them`);
  else for (const warning of result.warnings) io.err(`warning: ${warning}`);
}

function reportCheck(result: CompileResult, ms: number, io: Io): number {
  reportFindings({ todos: result.todos, warnings: (result.policy?.warnings ?? []).map(describeWarning) }, io);
  const out = relative(io.cwd, result.outDir) || ".";
  const stale = result.stale ?? [];
  if (stale.length > 0) {
    io.err(`caja: ${out}/ is not current (${stale.length} file${stale.length === 1 ? "" : "s"}). Run caja compile and commit the result:`);
    // Stale paths are relative to out/ (the workflow file sits outside it): print them from here.
    for (const file of stale) io.err(`  ${relative(io.cwd, join(result.outDir, file.replace(/ \(no longer generated\)$/, "")))}${file.endsWith(" (no longer generated)") ? " (no longer generated)" : ""}`);
    return 1;
  }
  io.out(`caja: ${out}/ is current: ${result.plan.roots.length} roots, ${result.resources} resources (${Math.round(ms)} ms)`);
  return 0;
}

function reportWrite(result: Awaited<ReturnType<typeof compileOrReuse>>, ms: number, io: Io): number {
  // Every warning shows in out/docs/security.md, so an out/ with nothing written or removed has the same ones.
  const unchanged = result.reused === true || (result.write !== undefined && result.write.written.length + result.write.removed.length === 0);
  reportFindings(result, io, unchanged);
  const out = relative(io.cwd, result.outDir) || ".";
  const todos = result.todos.length > 0 ? `, ${result.todos.length} TODO${result.todos.length === 1 ? "" : "s"}` : "";
  const time = `${Math.round(ms)} ms`;
  if (result.reused) {
    io.out(`caja: ${out}/ is up to date: ${result.roots} roots, ${result.resources} resources (the input is unchanged since the last compile${todos}) in ${time}`);
    return 0;
  }
  const w = result.write!;
  const changes = w.written.length + w.removed.length === 0 ? "nothing changed" : `${w.written.length} written, ${w.removed.length} removed, ${w.unchanged} unchanged`;
  io.out(`caja: compiled ${result.roots} roots, ${result.resources} resources into ${out}/ (${changes}${todos}) in ${time}`);
  return 0;
}
