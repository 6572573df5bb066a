/**
 * Booting the thread a config is evaluated in. Node takes tens of milliseconds to start a worker,
 * so the launcher starts one before it even compiles the CLI bundle, and hands it over; the
 * worker's program (`config-worker.ts`) arrives later, as its first message. Kept tiny: the
 * launcher bundles this module and nothing else of the compiler.
 */
import { SHARE_ENV, Worker } from "node:worker_threads";

/** Heap a config may use while it evaluates, in MB. */
export const DEFAULT_HEAP_MB = 512;

/** Runs the program it is sent first, with `require` in scope (the eval'd worker is CommonJS). */
const BOOT = `require("node:worker_threads").parentPort.once("message", (program) => new Function("require", program)(require));`;

export interface BootedWorker {
  readonly worker: Worker;
  readonly heapMb: number;
  /** Whether the thread ended before it was given its program. */
  readonly exited: () => boolean;
}

/**
 * A worker waiting for its program; idle, it does not keep the process alive. Its stdout and
 * stderr are not piped to the process's: its program posts whatever the config prints (console,
 * process.stdout, process.stderr, warnings) to the main thread, and piping would make the main
 * thread set up both of its own streams and their pipes now, on the compile's critical path
 * (about 4 ms of a 160 ms compile).
 */
export function bootWorker(heapMb = DEFAULT_HEAP_MB): BootedWorker {
  const worker = new Worker(BOOT, { eval: true, env: SHARE_ENV, stdout: true, stderr: true, resourceLimits: { maxOldGenerationSizeMb: heapMb } });
  worker.unref();
  let exited = false;
  worker.once("exit", () => (exited = true));
  // Until the compiler takes it over, an error only means the worker is unusable (see `exited`).
  worker.on("error", () => (exited = true));
  return { worker, heapMb, exited: () => exited };
}

/** Commands that never evaluate caja.config.ts. */
const CONFIG_FREE = new Set(["init", "help"]);

/** Whether this command line evaluates the config (so a worker is worth starting early). */
export function readsConfig(argv: readonly string[]): boolean {
  const [first] = argv;
  return first !== undefined && !first.startsWith("-") && !CONFIG_FREE.has(first) && !argv.includes("--help") && !argv.includes("-h");
}
