/**
 * The main thread's side of the thread a config is evaluated in (see `load.ts`). The thread and
 * its program are booted by `worker-boot.ts`, usually by the launcher long before this module loads.
 */
import type { Worker } from "node:worker_threads";
import { bootWorker, DEFAULT_HEAP_MB, type BootedWorker } from "./worker-boot.js";

export { DEFAULT_HEAP_MB, TAG } from "./worker-boot.js";

export type Outcome =
  | { readonly kind: "value"; readonly value: unknown }
  | { readonly kind: "threw"; readonly stage: "import" | "call"; readonly error: ThrownError }
  | { readonly kind: "no-default" }
  | { readonly kind: "timeout" }
  | { readonly kind: "exited"; readonly code: number }
  | { readonly kind: "crashed"; readonly message: string };

export interface EvaluateRequest {
  readonly url: string;
  readonly script?: string;
  readonly command: string;
}

export interface ThrownError {
  readonly message: string;
  readonly stack?: string;
  readonly isError: boolean;
}

export class ConfigWorker {
  private readonly worker: Worker;
  private readonly settled: Promise<Outcome>;
  private resolve!: (outcome: Outcome) => void;
  private timer: NodeJS.Timeout | undefined;
  private print: (text: string) => void = () => {};

  constructor(private readonly booted: BootedWorker) {
    this.worker = booted.worker;
    const heapMb = booted.heapMb;
    this.settled = new Promise<Outcome>((resolve) => (this.resolve = resolve));
    this.worker.on("message", (message: Outcome | { kind: "print"; text: string }) => (message.kind === "print" ? this.print(String(message.text)) : this.resolve(message)));
    this.worker.on("error", (e: Error & { code?: string }) =>
      this.resolve({
        kind: "crashed",
        message: e.code === "ERR_WORKER_OUT_OF_MEMORY" ? `it used more than ${heapMb} MB of memory (an endless loop that allocates?)` : e.message,
      }),
    );
    this.worker.on("exit", (code) => this.resolve({ kind: "exited", code }));
  }

  /**
   * Evaluate the config: the module at `url`, or `script` (a function body whose frames name
   * `url`). `print` receives what the config writes to its stdout or stderr, in order.
   */
  evaluate(request: EvaluateRequest, timeoutMs: number, print: (text: string) => void): Promise<Outcome> {
    this.timer = setTimeout(() => this.resolve({ kind: "timeout" }), timeoutMs);
    this.print = print;
    this.worker.ref();
    this.worker.postMessage(request);
    return this.settled;
  }

  /** Not yet given a config, alive, and with this heap limit. */
  usable(heapMb: number): boolean {
    return this.timer === undefined && this.booted.heapMb === heapMb && !this.booted.exited();
  }

  /** Stops the worker (interrupting a loop) without waiting for it. */
  dispose(): void {
    clearTimeout(this.timer);
    this.worker.removeAllListeners("exit");
    // Stopping a thread takes milliseconds: the process need not wait for it before it exits.
    this.worker.unref();
    void this.worker.terminate();
  }
}

let prestarted: ConfigWorker | undefined;

/**
 * Take over a worker booted earlier (by the launcher), or boot one now, and send it its program,
 * for the next `configWorker()` to use: the CLI does this before it loads a command that reads
 * the config, so the thread's start-up overlaps loading the compiler.
 */
export function prestartConfigWorker(booted?: BootedWorker): void {
  prestarted ??= new ConfigWorker(booted ?? bootWorker());
}

/** The prestarted worker when it is still alive and has this heap limit, else a new one. */
export function configWorker(heapMb: number): ConfigWorker {
  const worker = prestarted;
  prestarted = undefined;
  if (worker?.usable(heapMb)) return worker;
  worker?.dispose();
  return new ConfigWorker(bootWorker(heapMb));
}
