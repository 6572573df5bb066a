/**
 * Terraform expressions inside plain values.
 *
 * Modules build resource bodies as ordinary objects and strings. A reference such as
 * `aws_vpc.main.id` travels inside a string as a token (private-use delimiters around the HCL),
 * so it composes with template literals (`` `service/${cluster}/${service}` ``) and survives
 * `JSON.stringify` untouched. The emitter turns tokens into `${...}` and escapes every other
 * `${` / `%{`, which is the Terraform-JSON rule generators most often get wrong.
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
 * Render a value for Terraform JSON: tokens become `${...}`, literal `${`/`%{` are escaped,
 * and a one-element list token collapses to the list expression itself.
 */
export function render(value: unknown): unknown {
  if (typeof value === "string") return renderString(value);
  if (Array.isArray(value)) {
    if (value.length === 1 && typeof value[0] === "string" && value[0].startsWith(LIST)) return `\${${value[0].slice(1, -1)}}`;
    return value.map(render);
  }
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k in value) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = render(v);
    }
    return out;
  }
  return value;
}

function renderString(value: string): string {
  if (value.startsWith(LIST)) return `\${${value.slice(1, -1)}}`;
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
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromTerraformJson(v)]));
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
