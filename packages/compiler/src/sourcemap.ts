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
  // Decoded on first use: most configs map no position at all (no todo(), nothing thrown).
  private decoded: Segment[][] | undefined;

  constructor(private readonly map: SourceMapV3) {}

  /** The original position of 1-based `line`:`column` in the generated code. */
  original(line: number, column: number): Position | undefined {
    this.decoded ??= decodeMappings(this.map.mappings);
    const segments = this.decoded[line - 1];
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

/** Base64 digit of each character code (-1: not a digit). */
const DIGIT = new Int8Array(128).fill(-1);
for (const [i, c] of [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].entries()) DIGIT[c.charCodeAt(0)] = i;
const SEMICOLON = 59;
const COMMA = 44;

/** The mappings' segments by generated line: one pass over the text, character by character. */
function decodeMappings(mappings: string): Segment[][] {
  const out: Segment[][] = [];
  let segments: Segment[] = [];
  const fields: number[] = [];
  let genColumn = 0;
  let source = 0;
  let line = 0;
  let column = 0;
  let value = 0;
  let shift = 0;
  const endSegment = () => {
    if (fields.length > 0) genColumn += fields[0]!;
    if (fields.length >= 4) {
      source += fields[1]!;
      line += fields[2]!;
      column += fields[3]!;
      segments.push([genColumn, source, line, column]);
    }
    fields.length = 0;
  };
  for (let i = 0; i <= mappings.length; i++) {
    const code = i < mappings.length ? mappings.charCodeAt(i) : SEMICOLON;
    if (code === SEMICOLON || code === COMMA) {
      if (shift !== 0) throw new Error("internal: a source map segment ends inside a number");
      endSegment();
      if (code === SEMICOLON) {
        out.push(segments);
        segments = [];
        genColumn = 0;
      }
      continue;
    }
    const digit = code < 128 ? DIGIT[code]! : -1;
    if (digit < 0) throw new Error(`internal: bad source map character ${mappings[i]}`);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}
