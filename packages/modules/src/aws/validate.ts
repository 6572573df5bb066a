/**
 * Checks resource and data source bodies against the hashicorp/aws provider schema, pruned by
 * `scripts/gen-aws-types.ts`: the types caja's modules emit are a static import
 * (`schema.subset.json`); every other type of the provider is read from `schema.others.jsonl` when
 * a body of one is first checked, so a compile that uses none reads nothing more. It catches what
 * `terraform validate` would, without Terraform or the provider: unknown or missing arguments,
 * computed-only attributes being set, blocks written as attributes (and the reverse), wrong value
 * shapes and `max_items`. Strings holding a Terraform template
 * (`${...}` / `%{...}`, or an unrendered caja expression token) are accepted for every attribute,
 * since their value is only known at plan time; nested blocks can never be expressions.
 */
import { readFileSync } from "node:fs";
import { join as joinPath } from "node:path";
import schema from "./schema.subset.json" with { type: "json" };

export interface SchemaIssue {
  /** Dotted path of the offending key, e.g. `resource.aws_s3_bucket.state.versioning`. */
  path: string;
  message: string;
}

/** A cty type as `terraform providers schema -json` writes it. */
export type CtyType =
  | "string"
  | "number"
  | "bool"
  | "dynamic"
  | readonly ["list" | "set" | "map", CtyType]
  | readonly ["object", { readonly [name: string]: CtyType }, (readonly string[])?]
  | readonly ["tuple", readonly CtyType[]];

export interface AttributeSchema {
  readonly type: CtyType;
  readonly required?: boolean;
  readonly optional?: boolean;
  readonly computed?: boolean;
  readonly deprecated?: boolean;
  readonly description?: string;
}

export type NestingMode = "single" | "group" | "list" | "set" | "map";

export interface BlockTypeSchema {
  readonly nesting_mode: NestingMode;
  readonly min_items?: number;
  readonly max_items?: number;
  readonly block: BlockSchema;
}

export interface BlockSchema {
  readonly attributes?: { readonly [name: string]: AttributeSchema };
  readonly block_types?: { readonly [name: string]: BlockTypeSchema };
  readonly deprecated?: boolean;
}

/** The committed subset: the provider schema's shape, minus what a validator does not need. */
export interface SchemaSubset {
  readonly provider: string;
  readonly resource_schemas: { readonly [type: string]: { readonly block: BlockSchema } };
  readonly data_source_schemas: { readonly [type: string]: { readonly block: BlockSchema } };
}

/** A block as `schema.others.jsonl` writes it: a nested block may be a number, an entry of its line's `shared`. */
export interface EncodedBlock {
  readonly attributes?: { readonly [name: string]: AttributeSchema };
  readonly block_types?: { readonly [name: string]: Omit<BlockTypeSchema, "block"> & { readonly block: EncodedBlock | number } };
  readonly deprecated?: boolean;
}

const SUBSET = schema as unknown as SchemaSubset;

/** The provider's types outside the subset, one per line (see `encodeSchemaLines` in codegen.ts). */
export const OTHERS_FILE = "schema.others.jsonl";

const RESOURCE_META = new Set(["count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"]);
const DATA_META = new Set(["count", "for_each", "depends_on", "provider", "lifecycle"]);
const RESOURCE_LIFECYCLE = new Set(["create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by", "precondition", "postcondition"]);
const DATA_LIFECYCLE = new Set(["precondition", "postcondition"]);
/** Terraform JSON's comment property, allowed in every block body. */
const COMMENT = "//";
/** Terraform built-ins that are not part of the aws provider. */
const BUILTIN = { resource: new Set(["terraform_data"]), data: new Set(["terraform_remote_state"]) };

/** The resource types caja's modules emit (`types.json`). */
export function resourceTypes(): string[] {
  return Object.keys(SUBSET.resource_schemas).sort();
}

/** The data source types caja's modules read (`types.json`). */
export function dataSourceTypes(): string[] {
  return Object.keys(SUBSET.data_source_schemas).sort();
}

/** Every resource or data source type of the provider, in code unit order; reads the others' file. */
export function providerTypes(kind: "resource" | "data"): string[] {
  const subset = kind === "resource" ? SUBSET.resource_schemas : SUBSET.data_source_schemas;
  const o = others();
  o.names ??= otherTypeNames(o.text);
  return [...Object.keys(subset), ...o.names[kind]].sort();
}

/** The pruned schema of a provider type, or undefined for a type the provider does not have. */
export function blockSchema(kind: "resource" | "data", type: string): BlockSchema | undefined {
  const subset = kind === "resource" ? SUBSET.resource_schemas : SUBSET.data_source_schemas;
  if (Object.hasOwn(subset, type)) return subset[type]!.block;
  const o = others();
  const key = JSON.stringify([kind, type]);
  if (o.decoded.has(key)) return o.decoded.get(key);
  // The line starts as the canonical JSON of `[kind, type, ...]` does: found without parsing the file.
  const head = Buffer.from(`${key.slice(0, -1)},`);
  const start = o.text.subarray(0, head.length).equals(head) ? 0 : lineAfter(o.text.indexOf(Buffer.concat([NEWLINE, head])));
  let block: BlockSchema | undefined;
  if (start !== undefined) {
    const end = o.text.indexOf(NEWLINE, start);
    block = decodeSchemaLine(o.text.toString("utf8", start, end < 0 ? o.text.length : end)).block;
  }
  o.decoded.set(key, block);
  return block;
}

const NEWLINE = Buffer.from("\n");

function lineAfter(newline: number): number | undefined {
  return newline < 0 ? undefined : newline + 1;
}

interface Others {
  readonly text: Buffer;
  readonly decoded: Map<string, BlockSchema | undefined>;
  /** Only to suggest a type for an unknown one. */
  names?: { readonly resource: readonly string[]; readonly data: readonly string[] };
}

let othersFile: Others | undefined;

/**
 * The others' file, read once (3 MB); a type's line is found by how it starts and parsed when the
 * type is first checked (0.6 KB for the median type, 0.7 MB for the largest). It is read from `__dirname`: this folder from source
 * (vitest defines `__dirname` there), the CLI bundle's once built, where scripts/build.mjs copies
 * it. The bundle is CommonJS, so `import.meta.url` would be empty in it.
 */
function others(): Others {
  if (othersFile) return othersFile;
  const dir = typeof __dirname === "string" ? __dirname : undefined;
  if (dir === undefined) throw new Error(`internal: ${OTHERS_FILE} is read from __dirname, which this ES module has none of: run it from the CLI bundle or vitest`);
  othersFile = { text: readFileSync(joinPath(dir, OTHERS_FILE)), decoded: new Map() };
  return othersFile;
}

function otherTypeNames(text: Buffer): { resource: string[]; data: string[] } {
  const names = { resource: [] as string[], data: [] as string[] };
  for (const m of text.toString("latin1").matchAll(/^\["(resource|data)","([^"]+)",/gm)) names[m[1] as "resource" | "data"].push(m[2]!);
  return names;
}

/** One line of `schema.others.jsonl`, shared subtrees in place (shared, not copied: checks only read them). */
export function decodeSchemaLine(line: string): { kind: "resource" | "data"; type: string; block: BlockSchema } {
  const [kind, type, encoded] = JSON.parse(line) as ["resource" | "data", string, { block: EncodedBlock; shared?: EncodedBlock[] }];
  const shared = encoded.shared ?? [];
  const resolved = new Map<number, BlockSchema>();
  const decode = (b: EncodedBlock | number): BlockSchema => {
    if (typeof b === "number") {
      let block = resolved.get(b);
      if (block === undefined) {
        const entry = shared[b];
        if (entry === undefined) throw new Error(`internal: ${OTHERS_FILE}: ${kind} ${type} refers to shared block ${b}, which it lacks`);
        block = decode(entry);
        resolved.set(b, block);
      }
      return block;
    }
    if (!b.block_types) return b as BlockSchema;
    const blockTypes: Record<string, BlockTypeSchema> = {};
    for (const [name, bt] of Object.entries(b.block_types)) blockTypes[name] = { ...bt, block: decode(bt.block) };
    return { ...b, block_types: blockTypes };
  };
  return { kind, type, block: decode(encoded.block) };
}

/** Issues in one `resource "type" "name"` / `data "type" "name"` body; paths are relative to it. */
export function validateResourceBody(kind: "resource" | "data", type: string, body: Record<string, unknown>): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const block = blockSchema(kind, type);
  if (!block) {
    const hint = suggest(type, providerTypes(kind));
    const what = kind === "resource" ? "resource" : "data source";
    issues.push({ path: "", message: `unknown ${what} type "${type}"${hint}: the hashicorp/aws provider has no such ${what} type` });
    return issues;
  }
  if (!isPlainObject(body)) {
    issues.push({ path: "", message: `the body of ${type} must be an object, got ${describe(body)}` });
    return issues;
  }
  const meta = kind === "resource" ? RESOURCE_META : DATA_META;
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (meta.has(key)) checkMeta(kind, key, value, issues);
    else rest[key] = value;
  }
  if (body.count !== undefined && body.for_each !== undefined) {
    issues.push({ path: "for_each", message: `"count" and "for_each" cannot both be set` });
  }
  checkBlock(block, rest, "", type, issues);
  return issues;
}

/** Issues in a whole Terraform JSON root: every `resource` and `data` body, with full paths. */
export function validateRoot(root: Record<string, unknown>): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  for (const kind of ["resource", "data"] as const) {
    const section = root[kind];
    if (section === undefined) continue;
    for (const [byType, typePath] of objects(section, kind, issues)) {
      for (const [type, byName] of Object.entries(byType)) {
        if (BUILTIN[kind].has(type)) continue;
        for (const [names, namesPath] of objects(byName, join(typePath, type), issues)) {
          for (const [name, bodies] of Object.entries(names)) {
            for (const [body, bodyPath] of objects(bodies, join(namesPath, name), issues)) {
              for (const issue of validateResourceBody(kind, type, body)) {
                issues.push({ path: join(bodyPath, issue.path), message: issue.message });
              }
            }
          }
        }
      }
    }
  }
  return issues;
}

/** Terraform JSON lets any block level be an object or an array of objects. */
function objects(value: unknown, path: string, issues: SchemaIssue[]): [Record<string, unknown>, string][] {
  if (isPlainObject(value)) return [[value, path]];
  if (Array.isArray(value)) {
    const out: [Record<string, unknown>, string][] = [];
    value.forEach((item, i) => {
      if (isPlainObject(item)) out.push([item, `${path}[${i}]`]);
      else issues.push({ path: `${path}[${i}]`, message: `expected an object, got ${describe(item)}` });
    });
    return out;
  }
  issues.push({ path, message: `expected an object, got ${describe(value)}` });
  return [];
}

function checkMeta(kind: "resource" | "data", key: string, value: unknown, issues: SchemaIssue[]): void {
  if (value === null || value === undefined || isExpression(value)) return;
  switch (key) {
    case "count":
      if (!(typeof value === "number" && Number.isInteger(value) && value >= 0)) {
        issues.push({ path: key, message: `"count" must be a whole number or an expression, got ${describe(value)}` });
      }
      return;
    case "for_each":
      if (!isPlainObject(value)) {
        const hint = Array.isArray(value) ? ` (a list literal is a tuple: wrap it, e.g. "\${toset([...])}")` : "";
        issues.push({ path: key, message: `"for_each" must be a map or an expression, got ${describe(value)}${hint}` });
      }
      return;
    case "depends_on":
      if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
        issues.push({ path: key, message: `"depends_on" must be a list of addresses (strings), got ${describe(value)}` });
      }
      return;
    case "provider":
      if (typeof value !== "string") issues.push({ path: key, message: `"provider" must be a string such as "aws.us_east_1", got ${describe(value)}` });
      return;
    case "lifecycle": {
      const allowed = kind === "resource" ? RESOURCE_LIFECYCLE : DATA_LIFECYCLE;
      for (const [block, path] of objects(value, key, issues)) {
        for (const k of Object.keys(block)) {
          if (k !== COMMENT && !allowed.has(k)) {
            issues.push({ path: join(path, k), message: `unsupported lifecycle argument "${k}"${suggest(k, [...allowed])}` });
          }
        }
      }
      return;
    }
    default:
      // provisioner / connection: free-form, checked by Terraform itself.
      return;
  }
}

function checkBlock(block: BlockSchema, body: Record<string, unknown>, path: string, owner: string, issues: SchemaIssue[]): void {
  const attributes = block.attributes ?? {};
  const blockTypes = block.block_types ?? {};
  const dynamicBlocks = new Set<string>();

  for (const [key, value] of Object.entries(body)) {
    const at = join(path, key);
    if (key === COMMENT) continue;
    if (Object.hasOwn(attributes, key)) {
      checkAttribute(key, attributes[key]!, value, at, issues);
    } else if (Object.hasOwn(blockTypes, key)) {
      checkNestedBlock(key, blockTypes[key]!, value, at, owner, issues);
    } else if (key === "dynamic") {
      for (const name of checkDynamic(blockTypes, value, at, owner, issues)) dynamicBlocks.add(name);
    } else {
      const hint = suggest(key, [...Object.keys(attributes), ...Object.keys(blockTypes)]);
      issues.push({ path: at, message: `unsupported argument "${key}" in ${owner}${hint}` });
    }
  }

  for (const [name, attribute] of Object.entries(attributes)) {
    if (attribute.required && (body[name] === undefined || body[name] === null)) {
      issues.push({ path: join(path, name), message: `missing required argument "${name}" in ${owner}` });
    }
  }
  for (const [name, blockType] of Object.entries(blockTypes)) {
    const min = blockType.min_items ?? 0;
    if (min >= 1 && (body[name] === undefined || body[name] === null) && !dynamicBlocks.has(name)) {
      issues.push({ path: join(path, name), message: `missing required block "${name}" in ${owner}` });
    }
  }
}

function checkAttribute(name: string, attribute: AttributeSchema, value: unknown, path: string, issues: SchemaIssue[]): void {
  if (attribute.computed && !attribute.optional && !attribute.required) {
    issues.push({ path, message: `"${name}" is computed by the provider and cannot be set` });
    return;
  }
  if (value === null || value === undefined || isExpression(value)) return;
  const t = attribute.type;
  if (Array.isArray(value) && value.length > 0 && value.every(isPlainObject) && !acceptsObjectList(t)) {
    issues.push({
      path,
      message: `"${name}" is an attribute of type ${typeName(t)}, not a nested block: write ${valueHint(t)}, not an array of objects`,
    });
    return;
  }
  checkValue(t, value, path, issues);
}

/** Matches a value against a cty type; Terraform's own conversions (number to string...) are allowed. */
function checkValue(t: CtyType, value: unknown, path: string, issues: SchemaIssue[]): void {
  if (value === null || value === undefined || isExpression(value)) return;
  const wrong = () => issues.push({ path, message: `expected ${typeName(t)}, got ${describe(value)}` });
  if (typeof t === "string") {
    switch (t) {
      case "string":
        if (!["string", "number", "boolean"].includes(typeof value)) wrong();
        return;
      case "number":
        if (!(typeof value === "number" || (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))))) wrong();
        return;
      case "bool":
        if (!(typeof value === "boolean" || value === "true" || value === "false")) wrong();
        return;
      default:
        return; // dynamic
    }
  }
  switch (t[0]) {
    case "list":
    case "set":
      if (!Array.isArray(value)) return void wrong();
      value.forEach((item, i) => checkValue(t[1], item, `${path}[${i}]`, issues));
      return;
    case "map":
      if (!isPlainObject(value)) return void wrong();
      for (const [k, v] of Object.entries(value)) checkValue(t[1], v, join(path, k), issues);
      return;
    case "object": {
      if (!isPlainObject(value)) return void wrong();
      const fields = t[1];
      const optional = new Set(t[2] ?? []);
      for (const [k, v] of Object.entries(value)) {
        if (Object.hasOwn(fields, k)) checkValue(fields[k]!, v, join(path, k), issues);
        else issues.push({ path: join(path, k), message: `unsupported attribute "${k}"${suggest(k, Object.keys(fields))}` });
      }
      for (const k of Object.keys(fields)) {
        if (!optional.has(k) && !Object.hasOwn(value, k)) issues.push({ path: join(path, k), message: `missing attribute "${k}"` });
      }
      return;
    }
    case "tuple":
      if (!Array.isArray(value) || value.length !== t[1].length) return void wrong();
      value.forEach((item, i) => checkValue(t[1][i]!, item, `${path}[${i}]`, issues));
      return;
  }
}

function checkNestedBlock(name: string, blockType: BlockTypeSchema, value: unknown, path: string, owner: string, issues: SchemaIssue[]): void {
  if (value === null || value === undefined) return;
  if (typeof value === "string" && isExpression(value)) {
    issues.push({
      path,
      message: `"${name}" is a nested block and cannot be an expression: write it as an object (or use a "dynamic" block)`,
    });
    return;
  }
  const blockOwner = `${owner}.${name}`;
  const mode = blockType.nesting_mode;
  if (mode === "map") {
    if (!isPlainObject(value)) {
      issues.push({ path, message: `"${name}" is a nested block (map of blocks by label): write an object of objects, got ${describe(value)}` });
      return;
    }
    for (const [label, item] of Object.entries(value)) {
      if (isPlainObject(item)) checkBlock(blockType.block, item, join(path, label), blockOwner, issues);
      else issues.push({ path: join(path, label), message: `a "${name}" block must be an object, got ${describe(item)}` });
    }
    return;
  }
  if (isPlainObject(value)) {
    checkBlock(blockType.block, value, path, blockOwner, issues);
    return;
  }
  if (!Array.isArray(value)) {
    issues.push({ path, message: `"${name}" is a nested block, not an attribute: write an object (or an array of objects), got ${describe(value)}` });
    return;
  }
  const max = mode === "single" || mode === "group" ? 1 : blockType.max_items;
  if (max !== undefined && max > 0 && value.length > max) {
    issues.push({ path, message: `at most ${max} "${name}" block${max === 1 ? "" : "s"} allowed, got ${value.length}` });
  }
  const min = blockType.min_items ?? 0;
  if (value.length < min) {
    issues.push({ path, message: `at least ${min} "${name}" block${min === 1 ? "" : "s"} required, got ${value.length}` });
  }
  value.forEach((item, i) => {
    const at = `${path}[${i}]`;
    if (isPlainObject(item)) checkBlock(blockType.block, item, at, blockOwner, issues);
    else if (typeof item === "string" && isExpression(item)) issues.push({ path: at, message: `a "${name}" block cannot be an expression: write it as an object (or use a "dynamic" block)` });
    else issues.push({ path: at, message: `a "${name}" block must be an object, got ${describe(item)}` });
  });
}

/** `"dynamic": { "<block>": { "for_each": ..., "iterator"?, "labels"?, "content": {...} } }`; returns the block names. */
function checkDynamic(blockTypes: { readonly [name: string]: BlockTypeSchema }, value: unknown, path: string, owner: string, issues: SchemaIssue[]): string[] {
  const names: string[] = [];
  for (const [dynamic, at] of objects(value, path, issues)) {
    for (const [name, spec] of Object.entries(dynamic)) {
      if (name === COMMENT) continue;
      const blockPath = join(at, name);
      if (!Object.hasOwn(blockTypes, name)) {
        issues.push({ path: blockPath, message: `"${name}" is not a nested block of ${owner}, so it cannot be dynamic${suggest(name, Object.keys(blockTypes))}` });
        continue;
      }
      names.push(name);
      for (const [body, bodyPath] of objects(spec, blockPath, issues)) {
        for (const key of Object.keys(body)) {
          if (!["for_each", "iterator", "labels", "content", COMMENT].includes(key)) {
            issues.push({ path: join(bodyPath, key), message: `unsupported argument "${key}" in a dynamic block` });
          }
        }
        if (body.for_each === undefined) issues.push({ path: join(bodyPath, "for_each"), message: `missing required argument "for_each" in a dynamic block` });
        if (body.content === undefined) issues.push({ path: join(bodyPath, "content"), message: `missing required block "content" in a dynamic block` });
        else if (isPlainObject(body.content)) checkBlock(blockTypes[name]!.block, body.content, join(bodyPath, "content"), `${owner}.${name}`, issues);
        else issues.push({ path: join(bodyPath, "content"), message: `"content" must be an object, got ${describe(body.content)}` });
      }
    }
  }
  return names;
}

/**
 * A value only known at plan time: a Terraform template (`${` / `%{` not escaped as `$${` / `%%{`),
 * or a caja expression token not yet rendered (private-use delimiters, see `core/expr.ts`).
 */
function isExpression(value: unknown): boolean {
  return typeof value === "string" && (/(^|[^$])\$\{|(^|[^%])%\{/.test(value) || value.includes("\uE000") || value.includes("\uE002"));
}

function acceptsObjectList(t: CtyType): boolean {
  if (t === "dynamic") return true;
  if (typeof t === "string") return false;
  return (t[0] === "list" || t[0] === "set") && (t[1] === "dynamic" || (typeof t[1] !== "string" && (t[1][0] === "object" || t[1][0] === "map")));
}

function typeName(t: CtyType): string {
  if (typeof t === "string") return t;
  if (t[0] === "object") return "object";
  if (t[0] === "tuple") return "tuple";
  return `${t[0]}(${typeName(t[1])})`;
}

function valueHint(t: CtyType): string {
  if (typeof t === "string") return `a ${t}`;
  if (t[0] === "map" || t[0] === "object") return "an object";
  return "a list";
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return value.length > 0 && value.every(isPlainObject) ? "an array of objects" : "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  if (typeof value === "object") return "an object";
  return `${typeof value === "number" ? "the number" : typeof value === "boolean" ? "the boolean" : typeof value} ${String(value)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function join(path: string, key: string): string {
  return path === "" ? key : key === "" ? path : `${path}.${key}`;
}

/** ` (did you mean "x"?)` for a close name, else "". */
function suggest(name: string, candidates: readonly string[]): string {
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    // The distance is at least the difference in length: most of the provider's 2,000 types are skipped.
    if (Math.abs(candidate.length - name.length) > Math.min(limit, bestDistance)) continue;
    const d = distance(name, candidate);
    if (d < bestDistance || (d === bestDistance && best !== undefined && candidate < best)) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= limit ? ` (did you mean "${best}"?)` : "";
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
