/**
 * Booting the thread a config is evaluated in, and its program. Node takes tens of milliseconds to
 * start a worker, so the launcher starts one before it even compiles the CLI bundle, and hands it
 * over (`config-worker.ts` is the main thread's side). Kept small: the launcher bundles this module
 * and nothing else of the compiler.
 */
import { SHARE_ENV, Worker } from "node:worker_threads";

/** Heap a config may use while it evaluates, in MB. */
export const DEFAULT_HEAP_MB = 512;

/** Marks values structured clone cannot carry (todo markers, functions, symbols) across the thread. */
export const TAG = "\u0000caja";

/**
 * The worker's program (a string, so the built CLI needs no extra file): waits for the config's
 * bundle, runs it (as a module, or as a script: see load.ts), calls the function form, and posts
 * the value back, encoded. It is the thread's own code from its start, so its listener is set
 * before the main thread has even compiled the CLI.
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
// A config that needs no module loader (see load.ts) comes as a script: it runs as a function, and
// Node's module loader, milliseconds to start, is never started.
function run(script, url) {
  return require("node:vm").compileFunction(script, [], { filename: url })();
}
parentPort.once("message", async ({ url, script, command }) => {
  capturePrints();
  let stage = "import";
  try {
    const mod = script === undefined ? await import(url) : run(script, url);
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
  const worker = new Worker(WORKER_SOURCE, { eval: true, env: SHARE_ENV, stdout: true, stderr: true, resourceLimits: { maxOldGenerationSizeMb: heapMb } });
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
