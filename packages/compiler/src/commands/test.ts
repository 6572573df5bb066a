/**
 * `caja test`: the offline proof that every root applies. The chosen roots of out/ (which must be
 * current) are copied to a temporary directory and checked there (see `checkRoots`): their
 * generated mock tests (main.tftest.json: mock AWS provider, remote-state reads overridden) as
 * one batch, and a root the batch does not prove on its own, with terraform init -backend=false,
 * validate and test. Copies keep out/ free of .terraform/ and lock files and leave any real init alone.
 */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { killProviderServers } from "../provider-server.js";
import { checkRoots, releaseCacheLocks, type RootCheck } from "../terraform.js";
import { parallelOf, selectOrUsage } from "../run/command.js";
import { resolveTerraform } from "../run/binary.js";
import { duration, finishBlock, startLine, summaryTable, type Outcome, type Position, type RootResult } from "../run/render.js";
import { LOG_DIR, prepareWorkspace } from "../run/workspace.js";
import { parseArgs, type Io } from "./support.js";

export const usage = `caja test [global|ENV|all]... [--parallel N] [--terraform PATH] [--config FILE] [--out DIR]

  Runs the generated mock terraform test of every root (or those of the named scopes), in copies
  of out/, with no AWS account: all roots as one terraform test, each root as a module, with one
  shared provider process. A root that fails there (or cannot be loaded as a module) is checked
  on its own, terraform init -backend=false, validate and test, and reported as that check says.
  out/ must be current (caja compile).

  --parallel N     roots checked at once on their own (default 2)
  --terraform PATH the terraform binary (default: terraform on PATH; needs >= 1.7)`;

const FLAGS = { "--config": "value", "--out": "value", "--parallel": "value", "--terraform": "value" } as const;

const STEP_COMMAND: Record<NonNullable<RootCheck["failedStep"]>, string> = {
  init: "terraform init -backend=false",
  validate: "terraform validate",
  test: "terraform test",
};

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  const parallel = parallelOf(args, 2);
  const terraform = await resolveTerraform(args.value("--terraform"), io.cwd);
  const config = args.value("--config");
  const outDir = args.value("--out");
  const workspace = await prepareWorkspace({ cwd: io.cwd, trial: false, ...(config ? { config } : {}), ...(outDir ? { outDir } : {}) });
  const roots = selectOrUsage(workspace, args.positional.length > 0 ? args.positional : ["all"]);

  const copy = await mkdtemp(join(tmpdir(), "caja-test-"));
  const logDir = join(io.cwd, LOG_DIR, "test");
  await rm(logDir, { recursive: true, force: true });
  const started = performance.now();
  // A signal to caja alone (as a CI runner sends it) also ends the provider process it shares.
  const onSignal = (signal: NodeJS.Signals) => {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    killProviderServers();
    releaseCacheLocks();
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  try {
    const dirs = new Map<string, string>();
    for (const root of roots) {
      dirs.set(join(copy, root.dir), root.id);
      for (const file of workspace.compiled.files.filter((f) => f.path.startsWith(`${root.dir}/`))) {
        await mkdir(dirname(join(copy, file.path)), { recursive: true });
        await writeFile(join(copy, file.path), file.content);
      }
    }
    io.out(`caja test: ${roots.length} root${roots.length === 1 ? "" : "s"} of ${[...new Set(roots.map((r) => r.scope))].join(", ")}, terraform ${terraform.version}, ${parallel} at a time`);
    const positions = new Map<string, Position>();
    const results = new Map<string, RootResult>();
    const pending: Promise<void>[] = [];
    await checkRoots(terraform.bin, [...dirs.keys()], {
      concurrency: parallel,
      onStart: (dir) => {
        const position = { index: positions.size + 1, total: dirs.size, root: dirs.get(dir)! };
        positions.set(dir, position);
        io.out(startLine(position, "test"));
      },
      onDone: (check) => {
        const root = dirs.get(check.dir)!;
        const log = join(logDir, `${root}.log`);
        const outcome: Outcome = check.ok
          ? { kind: "passed", runs: check.runsPassed, ...(check.protectedLeftovers.length > 0 ? { note: `Terraform before 1.14 kept prevent_destroy resources at teardown: ${check.protectedLeftovers.join(", ")}` } : {}) }
          : { kind: "failed", command: STEP_COMMAND[check.failedStep ?? "test"], detail: check.detail, log };
        const result: RootResult = { root, outcome, ms: check.ms };
        results.set(root, result);
        pending.push(mkdir(dirname(log), { recursive: true }).then(() => writeFile(log, `caja test: ${root}\n${check.ok ? "passed" : `failed at ${STEP_COMMAND[check.failedStep ?? "test"]}`}\n\n${check.detail}\n`)));
        for (const line of finishBlock(positions.get(check.dir)!, "test", result, (p) => relative(io.cwd, p))) io.out(line);
      },
    });
    await Promise.all(pending);
    const ordered = roots.map((r) => results.get(r.id)!);
    io.out("");
    for (const line of summaryTable("test", ordered)) io.out(line);
    io.out(`(${duration(performance.now() - started)})`);
    const failed = ordered.filter((r) => r.outcome.kind === "failed");
    for (const r of failed) {
      if (r.outcome.kind === "failed") io.err(`caja: ${r.root} failed at ${r.outcome.command}. Full log: ${relative(io.cwd, r.outcome.log)}`);
    }
    return failed.length > 0 ? 1 : 0;
  } finally {
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    await rm(copy, { recursive: true, force: true });
  }
}
