/**
 * Map a position in the in-memory config bundle back to the `.ts` source, so `todo()` call sites
 * and errors thrown by the config read `caja.config.ts:39:15`. Node does not apply source maps to
 * `data:` URL modules, so the loader does it with esbuild's inline map.
 */

export interface SourceMapV3 {
  readonly sources: readonly string[];
  readonly mappings: string;
}

export interface Position {
  readonly source: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

type Segment = readonly [genColumn: number, source: number, line: number, column: number];

export class SourceMapper {
  private readonly lines: Segment[][];

  constructor(private readonly map: SourceMapV3) {
    this.lines = decodeMappings(map.mappings);
  }

  /** The original position of 1-based `line`:`column` in the generated code. */
  original(line: number, column: number): Position | undefined {
    const segments = this.lines[line - 1];
    if (!segments || segments.length === 0) return undefined;
    let best: Segment | undefined;
    for (const s of segments) {
      if (s[0] <= column - 1) best = s;
      else break;
    }
    best ??= segments[0]!;
    const source = this.map.sources[best[1]];
    return source === undefined ? undefined : { source, line: best[2] + 1, column: best[3] + 1 };
  }
}

/** The inline `sourceMappingURL=data:...` map at the end of esbuild's output. */
export function inlineSourceMap(code: string): SourceMapV3 | undefined {
  const m = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/.exec(code);
  return m ? (JSON.parse(Buffer.from(m[1]!, "base64").toString("utf8")) as SourceMapV3) : undefined;
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGIT = new Map([...BASE64].map((c, i) => [c, i]));

function decodeMappings(mappings: string): Segment[][] {
  const out: Segment[][] = [];
  let source = 0;
  let line = 0;
  let column = 0;
  for (const lineText of mappings.split(";")) {
    const segments: Segment[] = [];
    let genColumn = 0;
    for (const text of lineText.split(",")) {
      if (!text) continue;
      const fields = decodeVlq(text);
      genColumn += fields[0] ?? 0;
      if (fields.length >= 4) {
        source += fields[1]!;
        line += fields[2]!;
        column += fields[3]!;
        segments.push([genColumn, source, line, column]);
      }
    }
    out.push(segments);
  }
  return out;
}

function decodeVlq(text: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = DIGIT.get(char);
    if (digit === undefined) throw new Error(`internal: bad source map character ${char}`);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}
