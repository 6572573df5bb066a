/** What every command shares: its I/O, flag parsing and the one way failures are printed. */
import { CajaUserError, ConfigIssuesError, formatIssue, WriteError } from "../errors.js";

export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  readonly cwd: string;
  /** Ask a yes/no question (destroy); absent when there is no terminal. */
  readonly confirm?: (question: string) => Promise<boolean>;
}

export class UsageError extends Error {}

/** Flags a command accepts: `value` flags take an argument (repeatable), `bool` flags do not. */
export type FlagSpec = Readonly<Record<string, "value" | "bool">>;

export interface Args {
  readonly positional: readonly string[];
  /** Every value given for a value flag, in order. */
  values(flag: string): readonly string[];
  /** The last value given for a value flag. */
  value(flag: string): string | undefined;
  has(flag: string): boolean;
}

export function parseArgs(argv: readonly string[], spec: FlagSpec): Args {
  const values = new Map<string, string[]>();
  const bools = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const kind = spec[name];
    if (kind === "value") {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || (eq < 0 && value.startsWith("-"))) throw new UsageError(`${name} expects a value`);
      values.set(name, [...(values.get(name) ?? []), value]);
    } else if (kind === "bool") {
      if (eq > 0) throw new UsageError(`${name} takes no value`);
      bools.add(name);
    } else if (arg.startsWith("-") && arg !== "-") {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  return {
    positional,
    values: (flag) => values.get(flag) ?? [],
    value: (flag) => values.get(flag)?.at(-1),
    has: (flag) => bools.has(flag),
  };
}

/** Print a failure the way every command does; returns the exit code. */
export function reportFailure(e: unknown, io: Io): number {
  if (e instanceof UsageError) {
    io.err(`caja: ${e.message}. Run caja --help for usage.`);
    return 2;
  }
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
