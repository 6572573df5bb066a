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
  return `${block(value, "").join("\n")}\n`;
}

function block(value: YamlValue, indent: string): string[] {
  if (isSeq(value)) {
    if (value.length === 0) return [`${indent}[]`];
    return value.flatMap((item) => {
      if (isMap(item) && Object.keys(item).length === 0) return [`${indent}- {}`];
      if (isMap(item) || isSeq(item)) {
        const lines = block(item, `${indent}  `);
        return [`${indent}- ${lines[0]!.slice(indent.length + 2)}`, ...lines.slice(1)];
      }
      if (item instanceof Annotated) return [`${indent}- ${scalar(item.value)} # ${item.comment}`];
      return scalarLines(`${indent}- `, item, `${indent}  `);
    });
  }
  if (isMap(value)) {
    return Object.entries(value).flatMap(([key, v]) => {
      const k = `${indent}${plainKey(key)}:`;
      const inline = flow(v);
      if (inline !== undefined && k.length + 1 + inline.length <= FLOW_WIDTH) return [`${k} ${inline}`];
      if (isMap(v)) return Object.keys(v).length === 0 ? [`${k} {}`] : [k, ...block(v, `${indent}  `)];
      if (isSeq(v)) return v.length === 0 ? [`${k} []`] : [k, ...block(v, `${indent}  `)];
      if (v instanceof Annotated) return [`${k} ${scalar(v.value)} # ${v.comment}`];
      return scalarLines(`${k} `, v, `${indent}  `);
    });
  }
  if (value instanceof Annotated) return [`${indent}${scalar(value.value)} # ${value.comment}`];
  return [`${indent}${scalar(value)}`];
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

function scalarLines(prefix: string, value: string | number | boolean, indent: string): string[] {
  // A literal block keeps the text as written, but cannot carry \r or more than one final newline.
  // Several lines with some text (a newline and a non-space anywhere): cheaper than one regex over the whole value.
  if (typeof value === "string" && value.includes("\n") && /\S/.test(value) && !value.includes("\r") && !value.endsWith("\n\n")) {
    const chomp = value.endsWith("\n") ? "" : "-";
    const body = value.endsWith("\n") ? value.slice(0, -1) : value;
    // A first line starting with a space would set the block's indentation: state it instead.
    const indentation = /^\s/.test(body) ? "2" : "";
    return [`${prefix}|${indentation}${chomp}`, ...body.split("\n").map((l) => (l === "" ? "" : `${indent}${l}`))];
  }
  return [`${prefix}${scalar(value)}`];
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
