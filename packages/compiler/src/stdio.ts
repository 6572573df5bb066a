/**
 * The CLI's own output, written straight to file descriptors 1 and 2. Node builds
 * `process.stdout` (a socket or a tty stream and the modules behind them) on first use, about
 * 2.5 ms when stdout is a pipe: a compile prints a line or two, so it writes them itself. Writes
 * are synchronous, as Node's own are to pipes and files on Linux, so nothing is left queued when
 * the process exits.
 */
import { writeSync } from "node:fs";

const closed = new Set<number>();
/** For a descriptor the process inherited in non-blocking mode: wait a moment, then write on. */
let pause: Int32Array | undefined;

/** Writes all of `text` to `fd`; a reader that has gone away (EPIPE) ends further output there. */
export function writeText(fd: 1 | 2, text: string): void {
  if (closed.has(fd)) return;
  let bytes = Buffer.from(text, "utf8");
  while (bytes.length > 0) {
    try {
      const n = writeSync(fd, bytes);
      bytes = bytes.subarray(n);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") {
        pause ??= new Int32Array(new SharedArrayBuffer(4));
        Atomics.wait(pause, 0, 0, 1);
        continue;
      }
      if (code === "EPIPE") {
        closed.add(fd);
        return;
      }
      throw e;
    }
  }
}
