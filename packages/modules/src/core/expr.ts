/**
 * Terraform expressions inside plain values.
 *
 * Modules build resource bodies as ordinary objects and strings. A reference such as
 * `aws_vpc.main.id` travels inside a string as a token (private-use delimiters around the HCL),
 * so it composes with template literals (`` `service/${cluster}/${service}` ``) and survives
 * `JSON.stringify` untouched. The emitter turns tokens into `${...}` and escapes every other
 * `${` / `%{`, which is the Terraform-JSON rule generators most often get wrong: Terraform reads
 * every JSON string (object keys included) it evaluates as a template, so a config string written
 * unescaped would run as Terraform code on the machine that plans.
 */

const OPEN = "\uE000";
const CLOSE = "\uE001";
const LIST = "\uE002";
const TOKEN = /\uE000([^\uE000\uE001]*)\uE001/g;

/** A Terraform expression, usable anywhere a string is. */
export function expr(hcl: string): string {
  return `${OPEN}${hcl}${CLOSE}`;
}

/** A Terraform expression that yields a list, usable where a `string[]` is expected. */
export function listExpr(hcl: string): string[] {
  return [`${LIST}${hcl}${CLOSE}`];
}

/** True when `value` (deeply) contains no expression: it is known at compile time. */
export function isLiteral(value: unknown): boolean {
  if (typeof value === "string") return !value.includes(OPEN) && !value.includes(LIST);
  if (Array.isArray(value)) return value.every(isLiteral);
  if (value && typeof value === "object") return Object.values(value).every(isLiteral);
  return true;
}

/** The HCL of a string that is exactly one expression token, else undefined. */
export function soleExpression(value: string): string | undefined {
  if ((value.startsWith(OPEN) || value.startsWith(LIST)) && value.endsWith(CLOSE) && value.indexOf(CLOSE) === value.length - 1) {
    return value.slice(1, -1);
  }
  return undefined;
}

/** Every expression referenced in a value, e.g. to find which resources a body depends on. */
export function expressionsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") {
    for (const m of value.matchAll(TOKEN)) out.push(m[1]!);
    if (value.startsWith(LIST)) out.push(value.slice(1, -1));
  } else if (Array.isArray(value)) {
    for (const v of value) expressionsIn(v, out);
  } else if (value && typeof value === "object") {
    for (const v of Object.values(value)) expressionsIn(v, out);
  }
  return out;
}

/**
 * A value Terraform reads verbatim, without evaluating it (a variable's description or default,
 * backend settings, the mocked values of a test): {@link render} writes it as it is, since
 * escaping there would put `$${` in the value itself.
 */
export class Verbatim {
  constructor(readonly value: unknown) {}
}

/** Mark a value that Terraform reads verbatim; see {@link Verbatim}. */
export function verbatim(value: unknown): Verbatim {
  return new Verbatim(value);
}

/**
 * Render a value for Terraform JSON: tokens become `${...}`, literal `${`/`%{` are escaped in
 * values and keys alike, and a one-element list token collapses to the list expression itself.
 * The emitter renders each whole document once, so no string reaches a file unescaped unless it
 * is an expression token or marked {@link verbatim}.
 */
export function render(value: unknown): unknown {
  if (typeof value === "string") return renderString(value);
  if (Array.isArray(value)) {
    if (value.length === 1 && typeof value[0] === "string" && value[0].startsWith(LIST)) return `\${${value[0].slice(1, -1)}}`;
    return value.map(render);
  }
  if (value && typeof value === "object") {
    if (value instanceof Verbatim) return value.value;
    const out: Record<string, unknown> = {};
    for (const k in value) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[renderString(k)] = render(v);
    }
    return out;
  }
  return value;
}

/**
 * {@link render}, with every object's keys in sorted order (`sort()`'s UTF-16 order, as a
 * stable writer starts from), verbatim values included: the emitter writes a document in one
 * pass instead of rendering it and then copying it again to sort it. `flags.exotic` is set when
 * a key is integer-like, which `JSON.stringify` would move first whatever the order.
 */
export function renderSorted(value: unknown, flags: { exotic: boolean }): unknown {
  if (typeof value === "string") return renderString(value);
  if (Array.isArray(value)) {
    if (value.length === 1 && typeof value[0] === "string" && value[0].startsWith(LIST)) return `\${${value[0].slice(1, -1)}}`;
    return value.map((v) => renderSorted(v, flags));
  }
  if (value && typeof value === "object") {
    if (value instanceof Verbatim) return sortedCopy(value.value, flags);
    // Keys are almost always plain names, which render as themselves: then sort() sorts them
    // natively (its order is the comparator's below) and no [key, value] pairs are made.
    const keys: string[] = [];
    let plain = true;
    for (const k in value) {
      keys.push(k);
      if (plain && (k.includes(OPEN) || k.includes("{") || k.startsWith(LIST))) plain = false;
    }
    if (plain) {
      // Sorting copies the array first: most objects are small and many already in order.
      if (!inOrder(keys)) keys.sort();
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const v = (value as Record<string, unknown>)[k];
        if (v === undefined) continue;
        noteIntegerLike(k, flags);
        out[k] = renderSorted(v, flags);
      }
      return out;
    }
    const entries: [string, unknown][] = [];
    for (const k of keys) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) entries.push([renderString(k), v]);
    }
    return sortedObject(entries, flags, (v) => renderSorted(v, flags));
  }
  return value;
}

/** Whether `sort()` would leave `keys` as they are (it compares strings by UTF-16 code units, as `<` does). */
function inOrder(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}

function sortedCopy(value: unknown, flags: { exotic: boolean }): unknown {
  if (Array.isArray(value)) return value.map((v) => sortedCopy(v, flags));
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  return sortedObject(entries, flags, (v) => sortedCopy(v, flags));
}

const INTEGER_LIKE = /^(?:0|[1-9]\d{0,9})$/;

function sortedObject(entries: [string, unknown][], flags: { exotic: boolean }, inner: (v: unknown) => unknown): Record<string, unknown> {
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    noteIntegerLike(k, flags);
    out[k] = inner(v);
  }
  return out;
}

/** Sets `flags.exotic` for an integer-like key, which `JSON.stringify` would move first. */
function noteIntegerLike(key: string, flags: { exotic: boolean }): void {
  const first = key.charCodeAt(0);
  if (first >= 48 && first <= 57 && INTEGER_LIKE.test(key)) flags.exotic = true;
}

function renderString(value: string): string {
  if (value.startsWith(LIST)) return `\${${value.slice(1, -1)}}`;
  // A whole reference (`aws_vpc.main.id`, a test's condition) is the commonest expression.
  if (value.startsWith(OPEN) && value.indexOf(CLOSE) === value.length - 1) return `\${${value.slice(1, -1)}}`;
  // Most strings are plain names: nothing to render or escape (a compile renders tens of thousands).
  if (!value.includes(OPEN) && !value.includes("{")) return value;
  let out = "";
  let last = 0;
  for (const m of value.matchAll(TOKEN)) {
    out += escapeLiteral(value.slice(last, m.index)) + `\${${m[1]}}`;
    last = m.index! + m[0].length;
  }
  return out + escapeLiteral(value.slice(last));
}

/** Terraform reads `${` and `%{` in any JSON string as template syntax; literals must double them. */
export function escapeLiteral(text: string): string {
  if (!text.includes("{")) return text;
  // A function replacement: in a replacement string "$$" would itself mean one "$".
  return text.replace(/([$%])\{/g, (_m, sigil: string) => `${sigil}${sigil}{`);
}

/** A JSON document (an IAM policy, a container definition) as a Terraform string, with its references intact. */
export function jsonDocument(value: unknown): string {
  return JSON.stringify(value);
}

/**
 * Read a value written as Terraform JSON (the escape hatch): `${...}` becomes an expression,
 * `$${` and `%%{` the literal `${` and `%{`. Braces inside an expression are matched, quoted
 * strings inside it are skipped, so `${jsonencode({a = "}"})}` stays one expression.
 */
export function fromTerraformJson(value: unknown): unknown {
  if (typeof value === "string") return fromTerraformString(value);
  if (Array.isArray(value)) return value.map(fromTerraformJson);
  // Keys too: Terraform evaluates a map key such as "${var.x}" like any other string.
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [fromTerraformString(k), fromTerraformJson(v)]));
  return value;
}

function fromTerraformString(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    if ((text.startsWith("$${", i) || text.startsWith("%%{", i))) {
      out += `${text[i]}{`;
      i += 3;
    } else if (text.startsWith("${", i)) {
      const end = matchBrace(text, i + 2);
      if (end < 0) return out + text.slice(i);
      out += expr(text.slice(i + 2, end).trim());
      i = end + 1;
    } else {
      out += text[i];
      i++;
    }
  }
  return out;
}

function matchBrace(text: string, from: number): number {
  let depth = 1;
  let quote = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === '"') quote = false;
    } else if (c === '"') quote = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  return -1;
}

/** What an HCL expression refers to; see {@link referencesIn}. */
export interface HclReferences {
  /** Each reference as its leading names: `aws_lb.main.arn` is `["aws_lb", "main", "arn"]`. */
  readonly refs: readonly (readonly string[])[];
  /** Names a `for` expression or directive binds inside the expression itself. */
  readonly bound: ReadonlySet<string>;
}

/**
 * The references of one HCL expression (the text between `${` and `}`), for checking that they
 * name something the root declares. Function names, object keys, attribute accesses, literals and
 * keywords are not references; quoted strings are read as templates, so `"${var.x}"` inside
 * `jsonencode(...)` is found too. Returns `undefined` for syntax it does not read (a heredoc): the
 * caller then checks nothing, rather than refuse what Terraform would accept.
 */
export function referencesIn(hcl: string): HclReferences | undefined {
  const refs: string[][] = [];
  const bound = new Set<string>();
  try {
    scanExpression(hcl, 0, false, refs, bound);
  } catch (e) {
    if (e === UNREAD) return undefined;
    throw e;
  }
  return { refs, bound };
}

const UNREAD = Symbol("unread");
const KEYWORDS = new Set(["true", "false", "null", "for", "in", "if", "else", "endif", "endfor"]);
const IDENT_START = /[\p{L}_]/u;
const IDENT_PART = /[\p{L}\p{N}_-]/u;

interface Frame {
  readonly object: boolean;
  /** Open `?` of conditionals, so their `:` is not read as an object key's. */
  pending: number;
  /** Inside a `for` expression; `header` until its `in`, where the names it binds end. */
  isFor: boolean;
  header: boolean;
}

/**
 * Scans an expression from `i`; inside a template (`nested`) it stops at the `}` closing it and
 * returns that index, else it runs to the end of the text.
 */
function scanExpression(text: string, i: number, nested: boolean, refs: string[][], bound: Set<string>): number {
  const frames: Frame[] = [{ object: false, pending: 0, isFor: false, header: false }];
  // What came before: an attribute name follows ".", a `for` opens a bracket.
  let prev: "open" | "dot" | "value" | "op" = "open";
  while (i < text.length) {
    const c = text[i]!;
    const top = frames[frames.length - 1]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
    } else if (c === "#" || text.startsWith("//", i)) {
      const eol = text.indexOf("\n", i);
      i = eol < 0 ? text.length : eol + 1;
    } else if (text.startsWith("/*", i)) {
      const close = text.indexOf("*/", i + 2);
      if (close < 0) throw UNREAD;
      i = close + 2;
    } else if (c === '"') {
      i = scanTemplate(text, i + 1, refs, bound);
      prev = "value";
    } else if (text.startsWith("<<", i)) {
      throw UNREAD;
    } else if (c >= "0" && c <= "9") {
      i += /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 64))![0].length;
      prev = "value";
    } else if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < text.length && IDENT_PART.test(text[j]!)) j++;
      // Provider functions: provider::aws::arn_parse(...).
      while (text.startsWith("::", j) && j + 2 < text.length && IDENT_START.test(text[j + 2]!)) {
        j += 3;
        while (j < text.length && IDENT_PART.test(text[j]!)) j++;
      }
      const name = text.slice(i, j);
      const next = nextSignificant(text, j);
      if (prev === "dot") {
        prev = "value";
      } else if (text[next] === "(") {
        prev = "op";
      } else if (name === "for" && prev === "open") {
        top.isFor = true;
        top.header = true;
        prev = "op";
      } else if (top.header) {
        if (name === "in") top.header = false;
        else bound.add(name);
        prev = "op";
      } else if (KEYWORDS.has(name)) {
        prev = name === "true" || name === "false" || name === "null" ? "value" : "op";
      } else if (top.object && !top.isFor && isKeySeparator(text, next, top)) {
        prev = "op";
      } else {
        const parts = [name];
        // A traversal: .name and legacy .0 steps; it ends at an index, a splat or anything else.
        while (text[j] === "." && j + 1 < text.length && (IDENT_START.test(text[j + 1]!) || /\d/.test(text[j + 1]!))) {
          let k = j + 2;
          while (k < text.length && IDENT_PART.test(text[k]!)) k++;
          parts.push(text.slice(j + 1, k));
          j = k;
        }
        refs.push(parts);
        prev = "value";
      }
      i = j;
    } else if (c === ".") {
      if (text.startsWith("...", i)) {
        i += 3;
        prev = "op";
      } else {
        i++;
        prev = "dot";
      }
    } else if (c === "(" || c === "[" || c === "{") {
      frames.push({ object: c === "{", pending: 0, isFor: false, header: false });
      i++;
      prev = "open";
    } else if (c === ")" || c === "]" || c === "}") {
      if (frames.length === 1) {
        if (c === "}" && nested) return i;
        throw UNREAD;
      }
      frames.pop();
      i++;
      prev = "value";
    } else if (c === "?") {
      top.pending++;
      i++;
      prev = "op";
    } else if (c === ":") {
      if (top.pending > 0) top.pending--;
      i++;
      prev = "op";
    } else {
      // Operators (== != <= >= && || ! + - * / % => , = ~) and anything else: no names.
      i++;
      prev = "op";
    }
  }
  if (nested) throw UNREAD;
  return i;
}

/** Inside `{ }`, `name =` or `name:` makes `name` a key (`==`, `=>` and a conditional's `:` do not). */
function isKeySeparator(text: string, at: number, frame: Frame): boolean {
  if (text[at] === "=") return text[at + 1] !== "=" && text[at + 1] !== ">";
  return text[at] === ":" && frame.pending === 0;
}

function nextSignificant(text: string, i: number): number {
  while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  return i;
}

/** Scans a quoted template from just after its `"`; returns the index after the closing `"`. */
function scanTemplate(text: string, i: number, refs: string[][], bound: Set<string>): number {
  while (i < text.length) {
    const c = text[i]!;
    if (c === "\\") i += 2;
    else if (c === '"') return i + 1;
    else if (text.startsWith("$${", i) || text.startsWith("%%{", i)) i += 3;
    else if (text.startsWith("${", i) || text.startsWith("%{", i)) i = scanExpression(text, i + 2, true, refs, bound) + 1;
    else i++;
  }
  throw UNREAD;
}

const RESERVED = /[\uE000-\uE002]/;

/** True when `text` holds a character caja reserves for expression tokens (no config string may). */
export function hasReservedCharacter(text: string): boolean {
  return RESERVED.test(text);
}
