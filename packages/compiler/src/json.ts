/**
 * Deterministic JSON: keys sorted by code point at every level, 2-space indent, trailing newline.
 * Arrays keep their order (Terraform block lists are ordered). Written by hand because objects
 * put integer-like keys ("443") first whatever order they were inserted in.
 */
export function stableStringify(value: unknown): string {
  const ordered = { exotic: false };
  const clone = sortedClone(value, ordered);
  // Native stringify keeps our key order unless an object has integer-like keys, or keys outside
  // the BMP (where sort()'s UTF-16 order is not code-point order; one scan of the text tells):
  // those rare documents take the slow writer.
  if (!ordered.exotic) {
    const text = JSON.stringify(clone, null, 2);
    if (!WIDE.test(text)) return narrow(text);
    if (!SURROGATE.test(text)) return `${text}\n`;
  }
  return `${write(value, "")}\n`;
}

/**
 * {@link stableStringify} of a value whose objects already hold their keys in `sort()` order
 * and no undefined (as `renderSorted` makes them): no second copy. `exotic`: it has an
 * integer-like key, which only the slow writer puts in its place.
 */
export function stringifySorted(value: unknown, exotic: boolean): string {
  if (!exotic) {
    const text = JSON.stringify(value, null, 2);
    if (!WIDE.test(text)) return narrow(text);
    if (!SURROGATE.test(text)) return `${text}\n`;
  }
  return `${write(value, "")}\n`;
}

/**
 * A text whose every character fits in one byte, and its trailing newline, held one byte a
 * character. V8 writes a whole JSON text two bytes a character as soon as one string in it is (an
 * expression taken out of its token is, whatever it spells), and such a text costs twice the
 * memory and more time in everything that reads it after (the gate's scans, the UTF-8 encoding of
 * the write). Such a text has no surrogate either.
 */
function narrow(text: string): string {
  const length = text.length + 1;
  // One buffer for every text, grown as needed: a buffer per text costs more than the copy.
  if (scratch.length < length) scratch = Buffer.allocUnsafe(Math.max(length, 2 * scratch.length));
  scratch.write(text, 0, "latin1");
  scratch[length - 1] = 0x0a;
  return scratch.toString("latin1", 0, length);
}

let scratch = Buffer.alloc(0);

const INTEGER_LIKE = /^(?:0|[1-9]\d{0,9})$/;
const SURROGATE = /[\uD800-\uDFFF]/;
const WIDE = /[^\x00-\xff]/;

function sortedClone(value: unknown, flags: { exotic: boolean }): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortedClone(v, flags)));
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error(`internal: cannot write ${value} as JSON`);
    return value;
  }
  const keys = Object.keys(value);
  for (const k of keys) {
    const first = k.charCodeAt(0);
    if (first >= 48 && first <= 57 && INTEGER_LIKE.test(k)) flags.exotic = true;
  }
  keys.sort();
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = sortedClone(v, flags);
  }
  return out;
}

function write(value: unknown, indent: string): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new Error(`internal: cannot write ${value} as JSON`);
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      const inner = `${indent}  `;
      if (Array.isArray(value)) {
        if (value.length === 0) return "[]";
        return `[\n${value.map((v) => inner + write(v === undefined ? null : v, inner)).join(",\n")}\n${indent}]`;
      }
      const keys = Object.keys(value)
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .sort(byCodePoint);
      if (keys.length === 0) return "{}";
      return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${write((value as Record<string, unknown>)[k], inner)}`).join(",\n")}\n${indent}}`;
    }
    default:
      throw new Error(`internal: cannot write a ${typeof value} as JSON`);
  }
}

/** Code-point order (not UTF-16 units, not locale): the same everywhere. */
export function byCodePoint(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca - cb;
    if (ca > 0xffff) i++;
  }
  return a.length - b.length;
}
