/**
 * The program of the thread a config is evaluated in (see `load.ts`), and the main thread's side
 * of it. The thread itself is booted by `worker-boot.ts`, usually by the launcher long before
 * this module loads.
 */
import type { Worker } from "node:worker_threads";
import { bootWorker, DEFAULT_HEAP_MB, type BootedWorker } from "./worker-boot.js";

export { DEFAULT_HEAP_MB };

export type Outcome =
  | { readonly kind: "value"; readonly value: unknown }
  | { readonly kind: "threw"; readonly stage: "import" | "call"; readonly error: ThrownError }
  | { readonly kind: "no-default" }
  | { readonly kind: "timeout" }
  | { readonly kind: "exited"; readonly code: number }
  | { readonly kind: "crashed"; readonly message: string };

export interface ThrownError {
  readonly message: string;
  readonly stack?: string;
  readonly isError: boolean;
}

/** Marks values structured clone cannot carry (todo markers, functions, symbols) across the thread. */
export const TAG = "\u0000caja";

/**
 * Runs in the worker (sent to the booted thread as a string, so the built CLI needs no extra
 * file): imports the bundle, calls the function form, and posts the value back, encoded.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const TAG = ${JSON.stringify(TAG)};
const TODO = Symbol.for("caja.todo");
const MODULE = Symbol.for("caja.module");
const PASS = [Date, RegExp, Map, Set, ArrayBuffer];
function encode(value, seen) {
  if (typeof value === "function") return { [TAG]: "function", name: value.name };
  if (typeof value === "symbol") return { [TAG]: "symbol", name: String(value.description) };
  if (typeof value !== "object" || value === null) return value;
  if (value[TODO] === true) return { [TAG]: "todo", reason: value.reason, site: value.site };
  // A module is code (its build) and a schema: the main thread imports the config for it.
  if (value[MODULE] === true) return { [TAG]: "module", id: String(value.id) };
  if (PASS.some((C) => value instanceof C) || ArrayBuffer.isView(value)) return value;
  if (seen.has(value)) return seen.get(value);
  const out = Array.isArray(value) ? [] : {};
  seen.set(value, out);
  if (Array.isArray(value)) for (const v of value) out.push(encode(v, seen));
  else for (const key of Object.keys(value)) out[key] = encode(value[key], seen);
  return out;
}
function thrown(e) {
  return e instanceof Error ? { message: String(e.message), stack: String(e.stack), isError: true } : { message: String(e), isError: false };
}
// Start the module loader while the main thread bundles: the config's import is then quicker.
const warm = import("data:text/javascript,export default 0").catch(() => {});
// One config per thread: once the answer is posted, the thread may end on its own (unless the
// config left timers or handles behind), so its teardown overlaps the compile instead of delaying
// the process's exit.
function answer(message) {
  parentPort.postMessage(message);
  parentPort.unref();
}
// What the config prints is not caja's output: stdout carries only what a command promises
// (\`caja graph --format json > g.json\` must stay JSON). Both of the config's streams are
// posted to the main thread on the port the answer takes, so none of it is lost or reordered
// when the process ends right after the answer (a worker's own stdio is forwarded separately).
//
// A worker creates its stdio streams on first use, which costs milliseconds on the compile's
// critical path: console is redirected without them, and a stream is made (and redirected) only
// when the config itself asks for process.stdout or process.stderr.
function capturePrints() {
  const post = (text) => parentPort.postMessage({ kind: "print", text });
  const { format, inspect } = require("node:util");
  for (const method of ["log", "info", "debug", "warn", "error"]) console[method] = (...args) => post(format(...args) + "\\n");
  console.dir = (value, options) => post(inspect(value, options) + "\\n");
  console.trace = (...args) => post("Trace: " + format(...args) + "\\n" + String(new Error().stack).split("\\n").slice(2).join("\\n") + "\\n");
  for (const name of ["stdout", "stderr"]) {
    const original = Object.getOwnPropertyDescriptor(process, name);
    if (!original || !original.get || !original.configurable) continue;
    let stream;
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: original.enumerable,
      get() {
        if (stream) return stream;
        stream = original.get.call(process);
        stream.write = (chunk, encoding, callback) => {
          post(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString(typeof encoding === "string" ? encoding : "utf8"));
          const done = typeof encoding === "function" ? encoding : callback;
          if (typeof done === "function") queueMicrotask(() => done());
          return true;
        };
        return stream;
      },
    });
  }
}
parentPort.once("message", async ({ url, command }) => {
  capturePrints();
  let stage = "import";
  try {
    await warm;
    const mod = await import(url);
    if (!("default" in mod)) return answer({ kind: "no-default" });
    stage = "call";
    let value = mod.default;
    if (typeof value === "function") value = await value({ command });
    value = await value;
    answer({ kind: "value", value: encode(value, new Map()) });
  } catch (e) {
    answer({ kind: "threw", stage, error: thrown(e) });
  }
});
`;

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
    this.worker.postMessage(WORKER_SOURCE);
  }

  /** `print` receives what the config writes to its stdout or stderr, in order. */
  evaluate(url: string, command: string, timeoutMs: number, print: (text: string) => void): Promise<Outcome> {
    this.timer = setTimeout(() => this.resolve({ kind: "timeout" }), timeoutMs);
    this.print = print;
    this.worker.ref();
    this.worker.postMessage({ url, command });
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
