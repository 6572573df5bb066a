/**
 * The `caja` command: finds the command and runs it. Each command is its own module, loaded only
 * when run, so `caja compile` never pays for what `caja apply` needs. The only place that prints
 * (through `Io`), reads argv or decides the exit code.
 */
import { reportFailure, type Io } from "./commands/support.js";
import { prestartConfigWorker } from "./config-worker.js";
import { readsConfig } from "./worker-boot.js";

export type { Io } from "./commands/support.js";
export const VERSION = "0.1.0";

interface Command {
  readonly summary: string;
  readonly load: () => Promise<{ run: (argv: readonly string[], io: Io) => Promise<number>; usage: string }>;
}

/** Every command, in the order `--help` lists them. */
const COMMANDS: Readonly<Record<string, Command>> = {
  compile: { summary: "write out/<scope>/<NN-phase>/main.tf.json (+ tests), the manifest and docs", load: () => import("./commands/compile.js") },
  check: { summary: "run the security gate over every root; --format sarif for GitHub code scanning", load: () => import("./commands/check.js") },
  plan: { summary: "terraform init + plan each root of global, an environment or all, in apply order", load: () => import("./commands/plan.js") },
  apply: { summary: "plan and apply each root in apply order, stopping at the first failure", load: () => import("./commands/apply.js") },
  destroy: { summary: "destroy an environment's roots in reverse order (asks first; prod needs --allow-prod)", load: () => import("./commands/destroy.js") },
  emulate: { summary: "apply, re-plan and destroy every root against an AWS emulator (moto), no account needed", load: () => import("./commands/emulate.js") },
  test: { summary: "validate and mock-apply every root offline (terraform test), in parallel", load: () => import("./commands/test.js") },
  docs: { summary: "write only the reviewer docs (out/docs/); --check lists stale ones", load: () => import("./commands/docs.js") },
  cost: { summary: "the monthly estimate per scope from caja's dated price table (--since REF: its change)", load: () => import("./commands/cost.js") },
  graph: { summary: "print the phase graph (--format mermaid|dot|json)", load: () => import("./commands/graph.js") },
  ci: { summary: "what the generated GitHub workflow runs: ci roots (changed roots), ci comment (plan comment)", load: () => import("./commands/ci.js") },
  init: { summary: "write a starter caja.config.ts here (--project, --domain, --region, --env)", load: () => import("./commands/init.js") },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    `caja ${VERSION}: compile caja.config.ts into Terraform JSON roots`,
    "",
    "Usage: caja <command> [options]",
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    "",
    "Run caja <command> --help for a command's options. caja --version prints the version.",
  ].join("\n");
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const [first, ...rest] = argv;
  if (first === "--version" || first === "-v") {
    io.out(VERSION);
    return 0;
  }
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    io.out(help());
    return first === undefined ? 2 : 0;
  }
  const command = COMMANDS[first];
  if (!command) {
    io.err(`caja: unknown command "${first}". Expected one of: ${Object.keys(COMMANDS).join(", ")}. Run caja --help for usage.`);
    return 2;
  }
  const wantsHelp = rest.includes("--help") || rest.includes("-h");
  // Node takes tens of milliseconds to start a worker: let that overlap loading the command.
  if (readsConfig(argv)) prestartConfigWorker();
  try {
    const mod = await command.load();
    if (wantsHelp) {
      io.out(`Usage: ${mod.usage}`);
      return 0;
    }
    return await mod.run(rest, io);
  } catch (e) {
    return reportFailure(e, io);
  }
}
