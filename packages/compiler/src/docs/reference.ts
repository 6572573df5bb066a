/**
 * `config-reference.md`: every field of the config, read from its JSON Schema (itself generated
 * from the zod schema), so nothing here is written by hand. Defaults come from the schema, or, for
 * per-environment settings and derived values, from resolving a config that sets nothing optional:
 * the defaults the compiler would apply to this project's environments.
 */
import { configSchema, type ResolvedConfig, type Tier } from "@caja/dsl/schema";
import type { ApiModule } from "@caja/modules";
import { isTodo } from "@caja/dsl";
import { code, flatten, pageHeader, prose, table } from "./markdown.js";

type JsonSchema = {
  readonly type?: string;
  readonly description?: string;
  readonly default?: unknown;
  readonly examples?: readonly unknown[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: JsonSchema | boolean;
  readonly anyOf?: readonly JsonSchema[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly items?: JsonSchema;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly maxItems?: number;
  readonly format?: string;
  readonly $ref?: string;
};

interface Row {
  readonly path: string;
  readonly type: string;
  readonly default: string;
  readonly description: string;
  readonly example: string;
}

const ENV = "environments.<env>";

interface Walk {
  readonly root: JsonSchema;
  readonly defaults: ProjectDefaults;
  readonly rows: Row[];
}

export function configReferencePage(schema: Record<string, unknown>, config: ResolvedConfig): string {
  const root = schema as JsonSchema;
  const ctx: Walk = { root, defaults: projectDefaults(config), rows: [] };
  walk(ctx, root, "", true);
  const { rows } = ctx;
  const envNames = Object.keys(config.environments);
  // One section per top-level object; top-level values share the first one.
  const TOP = "Top-level values";
  const topOf = (path: string) => path.split(/[.[]/)[0]!;
  const parents = new Set(rows.filter((r) => topOf(r.path) !== r.path).map((r) => topOf(r.path)));
  const sections = new Map<string, Row[]>([[TOP, []]]);
  for (const row of rows) {
    const key = parents.has(topOf(row.path)) ? topOf(row.path) : TOP;
    sections.set(key, [...(sections.get(key) ?? []), row]);
  }
  const lines = pageHeader(
    "config-reference.md",
    "Config reference",
    `Every field of \`caja.config.ts\`, generated from the config schema. Per-environment defaults are shown for this project's environments (${envNames.map(code).join(", ")}): settings layer as the tier's defaults, then \`defaults\`, then the environment's own block. A field marked "or \`todo()\`" may be left undecided.`,
  );
  for (const [top, members] of sections) {
    if (members.length === 0) continue;
    lines.push(`## ${top === TOP ? top : code(top)}`, "");
    lines.push(...table(["Field", "Type", "Default", "Description", "Example"], members.map((r) => [code(r.path), r.type, r.default, prose(r.description), r.example])), "");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** Depth-first over properties in schema order; `required` is whether the field must be written. */
function walk(ctx: Walk, s: JsonSchema, path: string, required: boolean): void {
  if (path) ctx.rows.push(row(ctx, s, path, required));
  const props = s.properties;
  if (props) {
    const keys = Object.keys(props);
    // Identical siblings (the escape hatch's one block per phase) are documented once. Descriptions
    // differ between most siblings, which settles it without serialising whole subtrees.
    const alike = keys.length > 2 && keys.every((k) => props[k]!.description === props[keys[0]!]!.description);
    const first = alike ? JSON.stringify(props[keys[0]!]) : undefined;
    if (first !== undefined && keys.every((k) => JSON.stringify(props[k]) === first)) {
      const placeholder = `${path}.<${path.endsWith("extend") ? "phase" : "key"}>`;
      const shared = props[keys[0]!]!;
      ctx.rows.push({ ...row(ctx, shared, placeholder, false), description: `${shared.description ?? ""} One of: ${keys.map(code).join(", ")}.`.trim() });
      for (const [key, child] of Object.entries(shared.properties ?? {})) walk(ctx, child, `${placeholder}.${key}`, (shared.required ?? []).includes(key));
      return;
    }
    for (const key of keys) {
      const child = props[key]!;
      const childPath = path ? `${path}.${key}` : key;
      if (childPath === "defaults" && sameAsEnvironment(child, ctx.root)) {
        ctx.rows.push({ ...row(ctx, child, childPath, false), description: `${child.description ?? ""} Takes every field of \`${ENV}\` except \`tier\`.`.trim() });
        continue;
      }
      walk(ctx, child, childPath, (s.required ?? []).includes(key));
    }
  }
  if (s.type === "array" && s.items?.properties) walk(ctx, s.items, `${path}[]`, false);
  const extra = s.additionalProperties;
  if (typeof extra === "object" && (extra.properties || extra.type === "string")) {
    const placeholder = path === "environments" ? ENV : `${path}.<key>`;
    if (extra.properties) walk(ctx, extra, placeholder, false);
    else ctx.rows.push({ ...row(ctx, extra, placeholder, false), description: extra.description ?? "Any other key, passed through." });
  }
}

/** `defaults` takes the environment settings: say so instead of listing them twice (only while it is true). */
function sameAsEnvironment(defaults: JsonSchema, root: JsonSchema): boolean {
  const env = root.properties?.environments?.additionalProperties;
  if (typeof env !== "object" || !env.properties || !defaults.properties) return false;
  const { tier: _tier, ...settings } = env.properties;
  return JSON.stringify(settings) === JSON.stringify(defaults.properties);
}

function row(ctx: Walk, s: JsonSchema, path: string, required: boolean): Row {
  return {
    path,
    type: `${typeOf(s)}${required ? " (required)" : ""}`,
    default: required ? "—" : defaultOf(s, path, ctx.defaults),
    description: s.description ?? "",
    example: s.examples?.length ? code(JSON.stringify(s.examples[0])) : "",
  };
}

export function typeOf(s: JsonSchema): string {
  if (s.anyOf) {
    const todo = s.anyOf.some((b) => b.$ref === "#/$defs/Todo");
    const branches = s.anyOf.filter((b) => b.$ref !== "#/$defs/Todo");
    const consts = branches.every((b) => "const" in b);
    const inner = consts ? listOf(branches.map((b) => b.const)) : [...new Set(branches.map(typeOf))].join(" or ");
    return todo ? `${inner} or \`todo()\`` : inner;
  }
  if ("const" in s) return code(JSON.stringify(s.const));
  if (s.enum) return listOf(s.enum);
  switch (s.type) {
    case "string":
      return s.format === "email" ? "e-mail address" : "string";
    case "integer":
    case "number":
      // zod bounds every int by the safe-integer range: not a constraint worth printing.
      return `${s.type}${range(s.minimum === Number.MIN_SAFE_INTEGER ? undefined : s.minimum, s.maximum === Number.MAX_SAFE_INTEGER ? undefined : s.maximum)}`;
    case "boolean":
      return "boolean";
    case "array":
      return `list of ${s.items ? typeOf(s.items) : "values"}${s.maxItems !== undefined ? ` (at most ${s.maxItems})` : ""}`;
    case "object":
      return "object";
    default:
      return s.type ?? "any";
  }
}

function range(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return ` ${min}–${max}`;
  if (min !== undefined) return ` ≥ ${min}`;
  if (max !== undefined) return ` ≤ ${max}`;
  return "";
}

/** Short lists in full; long ones (regions, instance classes) by count, the schema has them all. */
function listOf(values: readonly unknown[]): string {
  if (values.length <= 8 || values.every((v) => typeof v === "number")) return values.map((v) => code(JSON.stringify(v))).join(", ");
  return `one of ${values.length} values (${values.slice(0, 3).map((v) => code(JSON.stringify(v))).join(", ")}, …; see the JSON Schema)`;
}

interface ProjectDefaults {
  /** Environment name → its resolved settings when the config sets none of them (tier kept). */
  readonly env: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
  /** Environment name → the tier it gets without a `tier` field. */
  readonly tier: ReadonlyMap<string, unknown>;
  /** Top-level paths of the resolved config when nothing optional is set. */
  readonly top: ReadonlyMap<string, unknown>;
}

/**
 * What this project gets for fields it does not set: the config resolved with only the required
 * fields (and each environment's tier), so derived defaults (CIDRs, image tags, bucket names) are
 * exactly the compiler's.
 */
function projectDefaults(config: ResolvedConfig): ProjectDefaults {
  const bare = (environments: Record<string, object>) => ({
    project: config.project,
    region: config.region,
    tags: { Owner: "x", Confidentiality: "internal", CostCenter: "x" },
    domain: { root: config.domain.root },
    github: { repository: "owner/repo" },
    environments,
  });
  const names = Object.keys(config.environments);
  // Nothing set: each environment's default tier. Only when a config picks other tiers does it
  // take a second resolution to get those tiers' defaults.
  // jitless: a handful of parses never repay zod's compiled fast path (see validate.ts).
  const byName = configSchema.safeParse(bare(Object.fromEntries(names.map((n) => [n, {}]))), { jitless: true });
  const sameTiers = byName.success && names.every((n) => byName.data.environments[n]!.tier === config.environments[n]!.tier);
  let withTiers = sameTiers ? byName : configSchema.safeParse(bare(Object.fromEntries(names.map((n) => [n, { tier: config.environments[n]!.tier }]))), { jitless: true });
  // More environments than default VPC ranges: those beyond name their own, so give each its own.
  if (!withTiers.success) {
    withTiers = configSchema.safeParse(bare(Object.fromEntries(names.map((n) => [n, { tier: config.environments[n]!.tier, network: { cidr: config.environments[n]!.network.cidr } }]))), { jitless: true });
  }
  if (!withTiers.success) throw new Error(`internal: the default config of this project does not resolve: ${withTiers.error.message}`);
  const resolved = withTiers.data;
  // A module's section defaults to its tier defaults, through its own schema.
  const sections = (tier: Tier) =>
    Object.fromEntries(
      config.modules.flatMap((m) => {
        const spec = (m.definition as ApiModule).settings;
        if (!spec || (m.definition as ApiModule).scope !== "env") return [];
        const parsed = spec.schema.safeParse(spec.tierDefaults?.[tier] ?? {}, { jitless: true });
        return parsed.success ? [[spec.key, parsed.data]] : [];
      }),
    );
  return {
    env: new Map(names.map((n) => [n, flatten({ ...resolved.environments[n], ...sections(config.environments[n]!.tier) })])),
    // Names alone always resolve today; should a rule ever refuse them, the default tier is just not shown.
    tier: new Map(names.map((n) => [n, byName.success ? byName.data.environments[n]!.tier : undefined])),
    top: flatten({ ...resolved, environments: undefined, modules: undefined }),
  };
}

function defaultOf(s: JsonSchema, path: string, defaults: ProjectDefaults): string {
  if (path.startsWith(`${ENV}.`)) {
    const rel = path.slice(ENV.length + 1);
    const perEnv = [...defaults.env].map(([env, values]) => [env, rel === "tier" ? defaults.tier.get(env) : valueAt(values, rel)] as const);
    if (perEnv.every(([, v]) => v === undefined)) return s.default !== undefined ? literal(s.default) : "—";
    const shown = perEnv.map(([env, v]) => [env, literal(v)] as const);
    return new Set(shown.map(([, v]) => v)).size === 1 ? shown[0]![1] : shown.map(([env, v]) => `${env}: ${v}`).join("<br>");
  }
  if (s.default !== undefined && !(typeof s.default === "object" && s.default !== null && !Array.isArray(s.default) && Object.keys(s.default).length === 0)) return literal(s.default);
  if (path.startsWith("environments") || path.startsWith("defaults") || path.startsWith("extend") || path.includes("<")) return "—";
  const resolved = valueAt(defaults.top, path);
  return resolved === undefined ? "—" : literal(resolved);
}

/** A default as it would be written in the config. */
function literal(value: unknown): string {
  if (value === undefined || isTodo(value)) return "—";
  return code(JSON.stringify(value));
}

/** The resolved leaf at `path`; objects have no default of their own to show. */
function valueAt(values: ReadonlyMap<string, unknown>, path: string): unknown {
  return values.get(path);
}
