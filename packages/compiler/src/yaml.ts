/**
 * A small YAML writer for the generated workflow: maps keep insertion order, strings are plain
 * when YAML reads them back as the same string, double-quoted (JSON escapes are valid YAML)
 * otherwise, and multi-line strings are literal blocks. A value may carry a trailing comment
 * (`annotated`), which is how an action pinned by commit names its version.
 */

export type YamlValue = string | number | boolean | Annotated | readonly YamlValue[] | { readonly [key: string]: YamlValue };

/** A scalar written with a `# comment` after it. */
export class Annotated {
  constructor(
    readonly value: string,
    readonly comment: string,
  ) {}
}

export function annotated(value: string, comment: string): Annotated {
  if (/[\n\r]/.test(comment)) throw new Error("internal: a YAML comment cannot span lines");
  return new Annotated(value, comment);
}
export function toYaml(value: YamlValue): string {
  const lines: string[] = [];
  block(value, "", lines);
  return `${lines.join("\n")}\n`;
}

/** Appends `value`'s lines to `out`: one list for the whole document, not one per level copied into its parent's. */
function block(value: YamlValue, indent: string, out: string[]): void {
  if (isSeq(value)) {
    if (value.length === 0) {
      out.push(`${indent}[]`);
      return;
    }
    for (const item of value) {
      if (isMap(item) && Object.keys(item).length === 0) out.push(`${indent}- {}`);
      else if (isMap(item) || isSeq(item)) {
        const first = out.length;
        block(item, `${indent}  `, out);
        out[first] = `${indent}- ${out[first]!.slice(indent.length + 2)}`;
      } else if (item instanceof Annotated) out.push(`${indent}- ${scalar(item.value)} # ${item.comment}`);
      else scalarLines(`${indent}- `, item, `${indent}  `, out);
    }
    return;
  }
  if (isMap(value)) {
    for (const key in value) {
      const v = value[key]!;
      const k = `${indent}${plainKey(key)}:`;
      const inline = flow(v);
      if (inline !== undefined && k.length + 1 + inline.length <= FLOW_WIDTH) out.push(`${k} ${inline}`);
      else if (isMap(v)) {
        if (Object.keys(v).length === 0) out.push(`${k} {}`);
        else {
          out.push(k);
          block(v, `${indent}  `, out);
        }
      } else if (isSeq(v)) {
        if (v.length === 0) out.push(`${k} []`);
        else {
          out.push(k);
          block(v, `${indent}  `, out);
        }
      } else if (v instanceof Annotated) out.push(`${k} ${scalar(v.value)} # ${v.comment}`);
      else scalarLines(`${k} `, v, `${indent}  `, out);
    }
    return;
  }
  if (value instanceof Annotated) out.push(`${indent}${scalar(value.value)} # ${value.comment}`);
  else out.push(`${indent}${scalar(value)}`);
}

/** Short maps and lists of scalars go on one line (`{ a: 1, b: x }`, `[a, b]`) when it fits. */
const FLOW_WIDTH = 120;

function flow(value: YamlValue): string | undefined {
  if (isSeq(value)) {
    if (value.length === 0 || !value.every((v) => typeof v === "string" || typeof v === "number" || typeof v === "boolean")) return undefined;
    return `[${value.map((v) => flowScalar(v as string | number | boolean)).join(", ")}]`;
  }
  if (!isMap(value)) return undefined;
  const entries = Object.entries(value);
  if (entries.length === 0 || !entries.every(([, v]) => typeof v === "string" || typeof v === "number" || typeof v === "boolean")) return undefined;
  return `{ ${entries.map(([k, v]) => `${plainKey(k)}: ${flowScalar(v as string | number | boolean)}`).join(", ")} }`;
}

/** In a flow collection `, [ ] { }` are syntax too: a string holding one is quoted. */
function flowScalar(value: string | number | boolean): string {
  if (typeof value !== "string") return String(value);
  if (value.includes("\n")) return JSON.stringify(value);
  const plain = scalar(value);
  return plain.startsWith('"') || !/[,[\]{}]/.test(value) ? plain : JSON.stringify(value);
}

function scalarLines(prefix: string, value: string | number | boolean, indent: string, out: string[]): void {
  // A literal block keeps the text as written, but cannot carry \r or more than one final newline.
  // Several lines with some text (a newline and a non-space anywhere): cheaper than one regex over the whole value.
  if (typeof value === "string" && value.includes("\n") && /\S/.test(value) && !value.includes("\r") && !value.endsWith("\n\n")) {
    const chomp = value.endsWith("\n") ? "" : "-";
    const body = value.endsWith("\n") ? value.slice(0, -1) : value;
    // A first line starting with a space would set the block's indentation: state it instead.
    const indentation = /^\s/.test(body) ? "2" : "";
    out.push(`${prefix}|${indentation}${chomp}`);
    for (const l of body.split("\n")) out.push(l === "" ? "" : `${indent}${l}`);
    return;
  }
  out.push(`${prefix}${scalar(value)}`);
}

function isSeq(v: YamlValue): v is readonly YamlValue[] {
  return Array.isArray(v);
}

function isMap(v: unknown): v is { readonly [key: string]: YamlValue } {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Annotated);
}

const RESERVED = /^(?:true|false|yes|no|y|n|on|off|null|~)$/i;

function scalar(value: string | number | boolean): string {
  if (typeof value !== "string") return String(value);
  const plain =
    /^[A-Za-z_$./(][^\n\t]*$/.test(value) &&
    !RESERVED.test(value) &&
    !/^\.(?:[0-9]|inf$|nan$)/i.test(value) &&
    !value.includes(": ") &&
    !value.includes(" #") &&
    !value.endsWith(":") &&
    !value.endsWith(" ");
  return plain ? value : JSON.stringify(value);
}

/** `on` stays plain: it is how every workflow spells its trigger key, and GitHub reads it as a string. */
function plainKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) && (key === "on" || !RESERVED.test(key)) ? key : JSON.stringify(key);
}
