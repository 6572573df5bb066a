/**
 * Whole lines of text that arrives in pieces (a child's output, what a config prints): `write`
 * passes each line it completes to `onLine`, `end` the last one when it has no newline.
 */
export function lineSplitter(onLine: (line: string) => void): { write: (text: string) => void; end: () => void } {
  let pending = "";
  return {
    write: (text) => {
      const lines = (pending + text).split("\n");
      pending = lines.pop()!;
      for (const line of lines) onLine(line);
    },
    end: () => {
      if (pending !== "") onLine(pending);
      pending = "";
    },
  };
}
