/**
 * The `caja` command. The only place that prints, reads argv or sets the exit code.
 */
import { relative } from "node:path";
import { compile, type CompileResult } from "./compile.js";
import { CajaUserError, ConfigIssuesError, formatIssue } from "./errors.js";
import { WriteError } from "./write.js";

export const VERSION = "0.1.0";

const HELP = `caja ${VERSION}: compile caja.config.ts into Terraform JSON roots

Usage:
  caja compile [--config FILE] [--out DIR] [--env NAME]... [--backend s3|local] [--check]
  caja --help | --version

Commands:
  compile     Write out/<scope>/<NN-phase>/main.tf.json (+ main.tftest.json) and out/manifest.json.

Options:
  --config FILE      config file (default: caja.config.ts in the current folder)
  --out DIR          output folder (default: out)
  --env NAME         write only this environment's roots and the global ones (repeatable)
  --backend MODE     s3 (default) or local: local state everywhere, to try caja without AWS
  --check            write nothing; exit 1 and list the files that differ from what would be written
  -h, --help         show this help
  -v, --version      show the version
`;

interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly cwd: string;
}

class UsageError extends Error {}

interface Parsed {
  readonly command: string;
  readonly flags: Map<string, string[]>;
  readonly bools: Set<string>;
}

const VALUE_FLAGS = new Set(["--config", "--out", "--env", "--backend"]);
const BOOL_FLAGS = new Set(["--check", "--help", "-h", "--version", "-v"]);

function parse(argv: readonly string[]): Parsed {
  const flags = new Map<string, string[]>();
  const bools = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    if (VALUE_FLAGS.has(name)) {
      const value = inline ?? argv[++i];
      if (value === undefined || value.startsWith("-")) throw new UsageError(`${name} expects a value`);
      flags.set(name, [...(flags.get(name) ?? []), value]);
    } else if (BOOL_FLAGS.has(name)) {
      bools.add(name);
    } else if (arg.startsWith("-")) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length > 1) throw new UsageError(`unexpected argument ${positional[1]}`);
  return { command: positional[0] ?? "", flags, bools };
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`caja: ${e.message}. Run caja --help for usage.`);
      return 2;
    }
    throw e;
  }
  if (parsed.bools.has("--version") || parsed.bools.has("-v")) {
    io.out(VERSION);
    return 0;
  }
  if (parsed.bools.has("--help") || parsed.bools.has("-h") || parsed.command === "" || parsed.command === "help") {
    io.out(HELP.trimEnd());
    return parsed.command === "" && !parsed.bools.has("--help") && !parsed.bools.has("-h") ? 2 : 0;
  }
  if (parsed.command !== "compile") {
    io.err(`caja: unknown command "${parsed.command}". Expected: compile. Run caja --help for usage.`);
    return 2;
  }
  const backend = parsed.flags.get("--backend")?.at(-1);
  if (backend !== undefined && backend !== "s3" && backend !== "local") {
    io.err(`caja: --backend expects s3 or local, got "${backend}"`);
    return 2;
  }

  const started = performance.now();
  try {
    const config = parsed.flags.get("--config")?.at(-1);
    const outDir = parsed.flags.get("--out")?.at(-1);
    const result = await compile({
      cwd: io.cwd,
      ...(config ? { config } : {}),
      ...(outDir ? { outDir } : {}),
      envs: parsed.flags.get("--env") ?? [],
      ...(backend ? { backend } : {}),
      check: parsed.bools.has("--check"),
    });
    return report(result, parsed.bools.has("--check"), performance.now() - started, io);
  } catch (e) {
    return failure(e, io);
  }
}

function report(result: CompileResult, check: boolean, ms: number, io: Io): number {
  for (const todo of result.todos) {
    const where = todo.site ? `${relative(io.cwd, todo.site.replace(/^file:\/\//, ""))}  ` : "";
    const uses = todo.uses.length > 0 ? `variable ${[...new Set(todo.uses.map((u) => u.variable))].join(", ")} in ${todo.uses.map((u) => u.root).join(", ")}` : "not used by any root yet";
    io.err(`TODO ${where}${todo.path}: ${todo.reason} (${uses})`);
  }
  const out = relative(io.cwd, result.outDir) || ".";
  const roots = result.plan.roots.length;
  const time = `${Math.round(ms)} ms`;
  if (check) {
    const stale = result.stale ?? [];
    if (stale.length > 0) {
      io.err(`caja: ${out}/ is not current (${stale.length} file${stale.length === 1 ? "" : "s"}). Run caja compile and commit the result:`);
      for (const file of stale) io.err(`  ${out}/${file}`);
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

function failure(e: unknown, io: Io): number {
  if (e instanceof ConfigIssuesError) {
    for (const issue of e.issues) io.err(formatIssue(issue, io.cwd));
    io.err(`caja: ${e.message}; nothing was written.`);
    return 1;
  }
  if (e instanceof CajaUserError || e instanceof WriteError) {
    io.err(`caja: ${e.message}`);
    return 1;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  io.err(`caja: internal error (a bug in caja, not in your config): ${err.message}`);
  if (err.stack) io.err(err.stack);
  return 70;
}
