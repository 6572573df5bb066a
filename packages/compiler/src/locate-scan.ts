/**
 * The fast path of `locatePaths` (locate.ts): where a config path is written, read off the config
 * file's text by a small scanner instead of a TypeScript program, which takes over a second and
 * more than 100 MB to load and parse on every run that reports a mistake.
 *
 * It understands the literal part of a config only: the default export through `defineConfig(...)`
 * (any call's first argument), parentheses, `as`/`satisfies`/`!`, and object and array literals.
 * Its answer for a path is exactly the position the ts-morph walker in locate.ts gives, or nothing
 * when it cannot be sure of that (a variable, a spread or shorthand that may supply the key, a
 * method, a computed key, code it cannot tokenize with certainty): locate.ts asks ts-morph for
 * just those paths.
 */
import { readFileSync } from "node:fs";
import { join, normalize, resolve } from "node:path";
import type { SourceLocation } from "./locate.js";

/**
 * Where each path (its segments) is written in `file`, as locate.ts's ts-morph walker reports it;
 * undefined for a path the scanner cannot be certain of (and for every path of a file it cannot
 * read or tokenize).
 */
export function scanLocations(file: string, paths: readonly (readonly PropertyKey[])[]): (SourceLocation | undefined)[] {
  const language = /\.m?(ts|js)$/.exec(file)?.[1];
  const text = language ? readable(file) : undefined;
  const source = text === undefined ? undefined : unlessUnsure(() => new ConfigSource(text, language === "js"));
  if (!source) return paths.map(() => undefined);
  const path = standardizedPath(file);
  return paths.map((segments) => {
    const pos = unlessUnsure(() => source.positionOf(segments));
    return pos === undefined ? undefined : { file: path, ...source.lineAndColumn(pos) };
  });
}

/** The file's text as ts-morph reads it (without a byte order mark); undefined when unreadable, for ts-morph to report. */
function readable(file: string): string | undefined {
  try {
    const text = readFileSync(file, "utf8");
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    return undefined;
  }
}

/** Thrown where the scanner could answer differently from ts-morph: the caller falls back. */
class Unsure extends Error {}

function unsure(): never {
  throw new Unsure();
}

function unlessUnsure<T>(compute: () => T): T | undefined {
  try {
    return compute();
  } catch (e) {
    if (e instanceof Unsure) return undefined;
    throw e;
  }
}

interface Token {
  readonly type: "name" | "string" | "number" | "template" | "regex" | "punct";
  readonly text: string;
  readonly start: number;
  /** A line break stands between this token and the one before (ASI, `as` and `!` depend on it). */
  readonly newlineBefore: boolean;
  /** For a bracket, the index of its partner; -1 for other tokens. */
  match: number;
  /** For `(` and `)`: true for the condition of `if`/`while`/`for`/`with` (a regex may follow it), undefined when that cannot be told. */
  condition?: boolean | undefined;
}

/** A value the walk has reached, after looking through the wrappers ts-morph's `unwrap` removes. */
type Value = { readonly kind: "object" | "array"; readonly open: number } | { readonly kind: "leaf"; readonly at: number };

/** A property or element, by token range [start, end). */
type Member = readonly [start: number, end: number];

/** ts-morph stops unwrapping after 20 nested wrappers; far fewer are ever written. */
const MAX_WRAPPERS = 15;
const PARTNERS = new Map([
  ["(", ")"],
  ["[", "]"],
  ["{", "}"],
]);
const CLOSERS = new Set([")", "]", "}"]);
const PUNCTUATORS = ["...", "=>", "?.", "++", "--", ..."{}()[];,<>+-*%&|^!~?:=.@"];
/**
 * After these words a `/` starts a regular expression; after other names it divides (`await` and
 * `yield` are keywords in a module, which a config with `export default` is).
 */
const BEFORE_EXPRESSION = new Set(["return", "typeof", "instanceof", "in", "new", "delete", "void", "throw", "case", "do", "else", "default", "await", "yield"]);
const CONDITIONS = new Set(["if", "while", "for", "with"]);
/** Names that cannot be the callee of the call the walker looks through. */
const RESERVED = new Set([
  ...["await", "async", "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete", "do", "else", "enum", "export", "extends"],
  ...["false", "finally", "for", "function", "if", "import", "in", "instanceof", "let", "new", "null", "of", "return", "static", "super", "switch"],
  ...["this", "throw", "true", "try", "typeof", "var", "void", "while", "with", "yield"],
]);
/** A name on a new line after the default export's expression ends it (ASI), except these. */
const CONTINUE_EXPRESSION = new Set(["in", "instanceof", "as", "satisfies"]);
const IDENTIFIER = /#?[$_\p{ID_Start}][$\u200c\u200d\p{ID_Continue}]*/uy;
const IDENTIFIER_PART = /[$\u200c\u200d\p{ID_Continue}]/u;
const NUMBER = /0[xXoObB][\da-fA-F_]+n?|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?n?/y;
const LINE_BREAK = /[\n\r\u2028\u2029]/;
const WHITESPACE = /\s/;

/** The config file's tokens and the default export's value in them. */
class ConfigSource {
  private readonly tokens: Token[];
  private readonly root: Value;
  /** Offsets of each `\n`, and of each line's start after a `\n` or `\r`, in order. */
  private readonly newlines: number[] = [];
  private readonly lineStarts: number[] = [0];

  constructor(text: string, jsx: boolean) {
    this.tokens = new Tokenizer(text, jsx).all();
    const { value, end } = this.unwrap(this.defaultExport(), this.tokens.length);
    if (!this.endsStatement(end)) unsure();
    this.root = value;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch === 10) this.newlines.push(i);
      if (ch === 10 || ch === 13) this.lineStarts.push(i + 1);
    }
  }

  /** ts-morph's `getLineAndColumnAtPos`: lines counted by `\n`, the column from the last `\n` or `\r`, in UTF-16 units. */
  lineAndColumn(pos: number): { line: number; column: number } {
    const lineStart = this.lineStarts[countBelow(this.lineStarts, pos + 1) - 1]!;
    return { line: countBelow(this.newlines, pos) + 1, column: pos - lineStart + 1 };
  }

  /** Offset of the node ts-morph's walk ends at: the deepest property or element along the path. */
  positionOf(segments: readonly PropertyKey[]): number {
    let value = this.root;
    let best = this.startOf(this.root);
    for (const [i, seg] of segments.entries()) {
      const found = this.child(value, seg);
      if (!found) break;
      best = this.tokens[found.at]!.start;
      if (i + 1 < segments.length) value = this.unwrapExactly(found.value).value;
    }
    return best;
  }

  /** Index of the first token of the expression after `export default` (there must be one such statement). */
  private defaultExport(): number {
    const { tokens } = this;
    let found = -1;
    for (let i = 0; i < tokens.length; i = Math.max(i, tokens[i]!.match) + 1) {
      const t = tokens[i]!;
      if (t.type === "name" && t.text === "export" && tokens[i + 1]?.text === "default" && tokens[i - 1]?.text !== ".") {
        if (found >= 0) unsure();
        found = i + 2;
      }
    }
    return found >= 0 ? found : unsure();
  }

  /** The default export's expression ends here, so what the scanner read is the whole of it. */
  private endsStatement(end: number): boolean {
    const next = this.tokens[end];
    return !next || next.text === ";" || (next.newlineBefore && next.type === "name" && !CONTINUE_EXPRESSION.has(next.text));
  }

  private startOf(value: Value): number {
    return this.tokens[value.kind === "leaf" ? value.at : value.open]!.start;
  }

  /**
   * What ts-morph's `child` finds for one segment: where the member starts and its value's tokens,
   * or undefined when it finds nothing (the walk then stops at the node before).
   */
  private child(value: Value, seg: PropertyKey): { at: number; value: Member } | undefined {
    if (typeof seg === "symbol") unsure();
    if (value.kind === "leaf") return undefined;
    const members = this.members(value.open);
    if (value.kind === "array") {
      const element = typeof seg === "number" && Number.isInteger(seg) ? members[seg] : undefined;
      if (!element) return undefined;
      // A hole or a spread element is no value the walker can stand for.
      if (element[0] === element[1] || this.tokens[element[0]]!.text === "...") unsure();
      return { at: element[0], value: element };
    }
    // Later properties win, as at run time: the walker reads them last to first, and so does this.
    for (const [start, end] of members.toReversed()) {
      const name = this.propertyName([start, end]);
      if (name === undefined) unsure();
      if (name === String(seg)) return { at: start, value: [start + 2, end] };
    }
    return undefined;
  }

  /**
   * The key of a `key: value` member as the walker compares it (quotes removed); undefined for any
   * other member (a spread, shorthand, method, accessor or computed key, which the walker may
   * match differently) or a key whose written form is not the key itself (escapes, `0x10`, `1.50`).
   */
  private propertyName([start, end]: Member): string | undefined {
    const key = this.tokens[start];
    if (!key || end - start < 3 || this.tokens[start + 1]!.text !== ":") return undefined;
    if (key.type === "name") return key.text.startsWith("#") ? undefined : key.text;
    if (key.type === "number") return /^(?:0|[1-9]\d*)$/.test(key.text) ? key.text : undefined;
    if (key.type === "string") return /[\\\u2028\u2029]/.test(key.text) ? undefined : key.text.slice(1, -1);
    return undefined;
  }

  /**
   * The members of the bracket group opening at `open`, split at its top-level commas: empty ranges
   * are holes, and a trailing comma adds none. A `<` before a comma and a `>` after it may be type
   * arguments (`f<A, B>(x)`), whose comma separates nothing: the scanner then cannot count.
   */
  private members(open: number): Member[] {
    const { tokens } = this;
    const close = tokens[open]!.match;
    const members: Member[] = [];
    let start = open + 1;
    let angle: "none" | "open" | "open, then comma" = "none";
    for (let i = open + 1; i < close; i = Math.max(i, tokens[i]!.match) + 1) {
      const text = tokens[i]!.text;
      if (text === "<") angle = angle === "none" ? "open" : angle;
      else if (text === ">" && angle === "open, then comma") unsure();
      else if (text === ",") {
        members.push([start, i]);
        start = i + 1;
        if (angle === "open") angle = "open, then comma";
      }
    }
    if (start < close) members.push([start, close]);
    return members;
  }

  /** `unwrap` over exactly the tokens of `range`: anything after the expression is a form the scanner does not know. */
  private unwrapExactly([start, end]: Member, outer = 0): { value: Value; wrappers: number } {
    const { value, end: stop, wrappers } = this.unwrap(start, end, outer);
    return stop === end ? { value, wrappers } : unsure();
  }

  /**
   * ts-morph's `unwrap` for the expression starting at token `i` (before `limit`): through
   * parentheses, a call (to its first argument), `as`, `satisfies` and `!`, to an object or array
   * literal or a literal the walker cannot enter. `end` is the token after the expression,
   * `wrappers` how many it looked through (inside `outer` more, which ts-morph counts as well).
   */
  private unwrap(i: number, limit: number, outer = 0): { value: Value; end: number; wrappers: number } {
    const { tokens } = this;
    const t = i < limit ? tokens[i] : undefined;
    if (!t || outer > MAX_WRAPPERS) unsure();
    let inner: { value: Value; wrappers: number };
    let end: number;
    if (t.text === "(") {
      inner = this.unwrapExactly([i + 1, t.match], outer + 1);
      end = t.match + 1;
    } else if (t.text === "{" || t.text === "[") {
      inner = { value: { kind: t.text === "{" ? "object" : "array", open: i }, wrappers: -1 };
      end = t.match + 1;
    } else if (this.isLeaf(i)) {
      inner = { value: { kind: "leaf", at: i }, wrappers: -1 };
      end = t.type === "punct" ? i + 2 : i + 1;
    } else {
      const open = this.callArguments(i, limit);
      const first = this.members(open)[0];
      if (!first || first[0] === first[1] || tokens[first[0]]!.text === "...") unsure();
      inner = this.unwrapExactly(first, outer + 1);
      end = tokens[open]!.match + 1;
    }
    let wrappers = inner.wrappers + 1;
    for (;;) {
      const w = end < limit ? tokens[end] : undefined;
      if (!w || w.newlineBefore) break;
      if (w.text === "!") end += 1;
      else if (w.type === "name" && (w.text === "as" || w.text === "satisfies")) end = this.typeEnd(end + 1, limit);
      else break;
      wrappers += 1;
    }
    if (outer + wrappers > MAX_WRAPPERS) unsure();
    return { value: inner.value, end, wrappers };
  }

  /** A string, number (signed too), template, regex, `true`, `false` or `null`: ts-morph looks into none. */
  private isLeaf(i: number): boolean {
    const t = this.tokens[i]!;
    if (t.type === "punct") return (t.text === "-" || t.text === "+") && this.tokens[i + 1]?.type === "number";
    return t.type === "name" ? ["true", "false", "null"].includes(t.text) : true;
  }

  /** For a call `a.b.c(...)` starting at `i`, the index of its `(`. */
  private callArguments(i: number, limit: number): number {
    const { tokens } = this;
    if (tokens[i]!.type !== "name" || RESERVED.has(tokens[i]!.text)) unsure();
    let j = i + 1;
    while (j + 1 < limit && tokens[j]!.text === "." && tokens[j + 1]!.type === "name") j += 2;
    return j < limit && tokens[j]!.text === "(" ? j : unsure();
  }

  /** The token after the type of an `as` or `satisfies` at `i`: `const`, or a named type with type arguments and `[]`s. */
  private typeEnd(i: number, limit: number): number {
    const { tokens } = this;
    const name = tokens[i];
    if (i >= limit || name?.type !== "name" || name.text === "as" || name.text === "satisfies") unsure();
    let j = i + 1;
    while (j + 1 < limit && tokens[j]!.text === "." && tokens[j + 1]!.type === "name") j += 2;
    // A type's `<` and `[` belong to it only on the same line.
    if (j < limit && tokens[j]!.text === "<" && !tokens[j]!.newlineBefore) j = this.angleEnd(j, limit);
    while (j + 1 < limit && tokens[j]!.text === "[" && !tokens[j]!.newlineBefore && tokens[j]!.match === j + 1) j += 2;
    return j;
  }

  private angleEnd(open: number, limit: number): number {
    let depth = 0;
    for (let j = open; j < limit; j = Math.max(j, this.tokens[j]!.match) + 1) {
      const text = this.tokens[j]!.text;
      if (text === "<") depth++;
      else if (text === ">" && --depth === 0) return j + 1;
    }
    return unsure();
  }
}

/**
 * JavaScript and TypeScript tokens, brackets matched. Template literals (with their `${...}`) and
 * regular expressions are single tokens; a `/` whose meaning (division or regex) depends on more
 * than the token before it, and JSX in a JavaScript file, make the whole file unsure.
 */
class Tokenizer {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly jsx: boolean,
  ) {}

  all(): Token[] {
    if (this.text.startsWith("#!")) this.skipLine();
    return this.tokens(false);
  }

  /** Tokens to the end of the text, or in a template's `${` to the `}` that closes it. */
  private tokens(inSubstitution: boolean): Token[] {
    const out: Token[] = [];
    const open: number[] = [];
    for (;;) {
      const newlineBefore = this.skipTrivia();
      if (this.pos >= this.text.length) return inSubstitution || open.length > 0 ? unsure() : out;
      const prev = out.at(-1);
      const token = this.token(out, newlineBefore);
      if (token.text === "}" && inSubstitution && open.length === 0) return out;
      if (token.type === "punct" && PARTNERS.has(token.text)) {
        const word = token.text === "(" && prev?.type === "name" && !afterDot(out) ? prev.text : "";
        // `for await (...)` is a loop's head, `await (x)` a value: which, the token before cannot tell.
        token.condition = word === "await" ? undefined : CONDITIONS.has(word);
        open.push(out.length);
      } else if (token.type === "punct" && CLOSERS.has(token.text)) {
        const at = open.pop() ?? unsure();
        const opener = out[at]!;
        if (PARTNERS.get(opener.text) !== token.text) unsure();
        opener.match = out.length;
        token.match = at;
        token.condition = opener.condition;
      }
      out.push(token);
    }
  }

  private token(before: readonly Token[], newlineBefore: boolean): Token {
    const { text } = this;
    const start = this.pos;
    const ch = text[start]!;
    const make = (type: Token["type"]): Token => ({ type, text: text.slice(start, this.pos), start, newlineBefore, match: -1 });
    if (ch === '"' || ch === "'") return this.skipString(ch), make("string");
    if (ch === "`") return this.skipTemplate(), make("template");
    if (ch === "/") {
      const regex = regexMayStart(before);
      if (regex === undefined) unsure();
      if (regex) return this.skipRegex(), make("regex");
      return (this.pos += 1), make("punct");
    }
    NUMBER.lastIndex = start;
    if (/[\d.]/.test(ch) && NUMBER.exec(text)) {
      this.pos = NUMBER.lastIndex;
      if (IDENTIFIER_PART.test(text[this.pos] ?? "")) unsure();
      return make("number");
    }
    IDENTIFIER.lastIndex = start;
    if (IDENTIFIER.exec(text)) {
      this.pos = IDENTIFIER.lastIndex;
      if (text[this.pos] === "\\") unsure();
      return make("name");
    }
    const punct = PUNCTUATORS.find((p) => text.startsWith(p, start) && !(p === "?." && /\d/.test(text[start + 2] ?? ""))) ?? unsure();
    // In a JavaScript file TypeScript reads `<` where an expression may start as JSX, whose text is no JavaScript.
    if (punct === "<" && this.jsx && regexMayStart(before) !== false) unsure();
    this.pos += punct.length;
    return make("punct");
  }

  /** Whitespace and comments; true when they hold a line break. */
  private skipTrivia(): boolean {
    const { text } = this;
    let newline = false;
    while (this.pos < text.length) {
      const ch = text[this.pos]!;
      if (WHITESPACE.test(ch)) {
        newline ||= LINE_BREAK.test(ch);
        this.pos += 1;
      } else if (text.startsWith("//", this.pos)) {
        this.skipLine();
      } else if (text.startsWith("/*", this.pos)) {
        const end = text.indexOf("*/", this.pos + 2);
        if (end < 0) unsure();
        newline ||= LINE_BREAK.test(text.slice(this.pos, end));
        this.pos = end + 2;
      } else break;
    }
    return newline;
  }

  private skipLine(): void {
    while (this.pos < this.text.length && !LINE_BREAK.test(this.text[this.pos]!)) this.pos += 1;
  }

  private skipString(quote: string): void {
    const { text } = this;
    for (let i = this.pos + 1; ; ) {
      const ch = text[i];
      if (ch === undefined || ch === "\n" || ch === "\r") unsure();
      if (ch === "\\") i += text.startsWith("\r\n", i + 1) ? 3 : 2;
      else if (ch === quote) return void (this.pos = i + 1);
      else i += 1;
    }
  }

  private skipTemplate(): void {
    const { text } = this;
    let i = this.pos + 1;
    for (;;) {
      const ch = text[i];
      if (ch === undefined) unsure();
      if (ch === "\\") i += 2;
      else if (ch === "`") return void (this.pos = i + 1);
      else if (text.startsWith("${", i)) {
        this.pos = i + 2;
        this.tokens(true);
        i = this.pos;
      } else i += 1;
    }
  }

  private skipRegex(): void {
    const { text } = this;
    let inClass = false;
    let i = this.pos + 1;
    for (;;) {
      const ch = text[i];
      if (ch === undefined || LINE_BREAK.test(ch)) unsure();
      if (ch === "\\") i += 2;
      else {
        if (ch === "[") inClass = true;
        else if (ch === "]") inClass = false;
        i += 1;
        if (ch === "/" && !inClass) break;
      }
    }
    while (i < text.length && IDENTIFIER_PART.test(text[i]!)) i += 1;
    this.pos = i;
  }
}

/** Whether a `/` after these tokens starts a regular expression (or divides); undefined when that depends on more. */
function regexMayStart(before: readonly Token[]): boolean | undefined {
  const prev = before.at(-1);
  if (!prev) return true;
  switch (prev.type) {
    case "name":
      if (afterDot(before)) return false;
      if (BEFORE_EXPRESSION.has(prev.text)) return true;
      // `for (x of /re/)`, or a variable named `of` divided.
      return prev.text === "of" ? undefined : false;
    case "punct":
      if (prev.text === ")") return prev.condition;
      if (prev.text === "]") return false;
      // `}` ends a block or an object, `!`, `++`, `--` may be prefix or postfix, `>` may close type arguments.
      return ["}", "!", "++", "--", ">"].includes(prev.text) ? undefined : true;
    default:
      return false;
  }
}

/** The last token is a word after `.`: a property name (`x.default / 2`), whatever the word. */
function afterDot(before: readonly Token[]): boolean {
  const dot = before.at(-2)?.text;
  return dot === "." || dot === "?.";
}

/** The path as ts-morph's `getFilePath()` writes it: absolute, normalized, forward slashes. */
function standardizedPath(file: string): string {
  const absolute = file.startsWith("/") || /^[a-z]+:[\\/]/i.test(file) ? file : join(resolve(), file);
  return normalize(absolute).replace(/\\/g, "/");
}

/** How many numbers of the ascending list are below `limit`. */
function countBelow(sorted: readonly number[], limit: number): number {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const mid = (low + high) >> 1;
    if (sorted[mid]! < limit) low = mid + 1;
    else high = mid;
  }
  return low;
}
