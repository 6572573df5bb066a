/**
 * Modules written with the module API (`caja/module`): caja's opt-in ones and the config's own
 * `modules`. Part of the validate stage: checks each definition, splits its config section off the
 * raw value (the built-in schema is strict and knows nothing of it), validates the section with
 * the module's own schema over its tier defaults, and places the modules in the phase table.
 * Pure: the module objects come from the loader.
 */
import { configInputSchema, environmentSettingsSchema, extensionSchema, merge, type Extension, type ResolvedConfig, type ResolvedModule, type Tier } from "@caja/dsl/schema";
import { API_MODULES, isApiModule, MODULES, NAME_RULES, resourceName, SERVICE_VARIABLES, type ApiModule, type NameRule, type NewPhase, type OutputRef, type Wiring } from "@caja/modules";
import type { z } from "zod";
import { PHASES, type AnyModule, type PhaseDef } from "./phases.js";

export interface ModuleIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  /** `file:line:col` (or a bundle frame the loader maps) of the `defineModule` call at fault. */
  readonly site?: string;
}

export interface Registered {
  /** caja's opt-in modules, then the config's, in order. */
  readonly modules: readonly ApiModule[];
  /** The config value without the modules' sections, for the built-in schema. */
  readonly rest: unknown;
  readonly issues: readonly ModuleIssue[];
}

const ID = /^[a-z][a-z0-9-]{0,31}$/;
const OUTPUT = /^[a-z][a-z0-9_]{0,63}$/;
const KEY = /^[a-z][A-Za-z0-9]{0,31}$/;
const BUILT_IN_IDS = new Set(Object.values(MODULES).map((m) => m.id));
const TOP_KEYS = new Set(Object.keys(configInputSchema.shape));
const ENV_KEYS = new Set([...Object.keys(environmentSettingsSchema.shape), "tier"]);

/** The registered modules, their definitions checked, and the value with their sections split off. */
export function registerModules(value: unknown): Registered {
  const issues: ModuleIssue[] = [];
  const own = isObject(value) ? value.modules : undefined;
  const listed = Array.isArray(own) ? own : [];
  const modules: ApiModule[] = [...API_MODULES];
  const rejected: ApiModule[] = [];
  listed.forEach((m, i) => {
    // Anything else is reported by the schema, at the element.
    if (!isApiModule(m)) return;
    const problems = definitionProblems(m, modules);
    for (const message of problems) issues.push({ path: ["modules", i], message: `module "${String(m.id)}": ${message}`, ...(m.site ? { site: m.site } : {}) });
    (problems.length === 0 ? modules : rejected).push(m);
  });
  for (const m of API_MODULES) {
    const problems = definitionProblems(m, API_MODULES.filter((o) => o !== m));
    if (problems.length > 0) throw new Error(`internal: module ${m.id}: ${problems.join("; ")}`);
  }
  // A rejected module's section is split off too: its definition is the mistake, not the section.
  return { modules, rest: withoutSections(value, [...modules, ...rejected]), issues };
}

function definitionProblems(m: ApiModule, others: readonly ApiModule[]): string[] {
  const problems: string[] = [];
  if (typeof m.id !== "string" || !ID.test(m.id)) problems.push("id must be lower-case letters, digits and - (at most 32), starting with a letter");
  else if (BUILT_IN_IDS.has(m.id)) problems.push(`id "${m.id}" is one of caja's own modules; choose another`);
  else if (others.some((o) => o.id === m.id)) problems.push(`id "${m.id}" is taken by another module`);
  if (m.scope !== "env" && m.scope !== "global") problems.push(`scope must be "env" or "global"`);
  if (typeof m.build !== "function") problems.push("build must be a function");
  if (!Array.isArray(m.outputs)) problems.push("outputs must be a list of names");
  else {
    for (const o of m.outputs) if (typeof o !== "string" || !OUTPUT.test(o)) problems.push(`output ${JSON.stringify(o)} must be a Terraform name (lower-case letters, digits, _)`);
    if (new Set(m.outputs).size !== m.outputs.length) problems.push("outputs lists a name twice");
  }
  problems.push(...phaseProblems(m, others));
  const s = m.settings;
  if (s !== undefined) {
    const taken = m.scope === "global" ? TOP_KEYS : ENV_KEYS;
    const where = m.scope === "global" ? "the config" : "an environment";
    if (typeof s.key !== "string" || !KEY.test(s.key)) problems.push("settings.key must be a camelCase name such as cache");
    else if (taken.has(s.key)) problems.push(`settings.key "${s.key}" is already a setting of ${where}; choose another`);
    else if (others.some((o) => o.settings?.key === s.key && o.scope === m.scope)) problems.push(`settings.key "${s.key}" is taken by module ${others.find((o) => o.settings?.key === s.key)!.id}`);
    if (!isZodSchema(s.schema)) problems.push("settings.schema must be a zod schema (import { z } from \"caja/module\")");
    if (s.tierDefaults !== undefined && m.scope === "global") problems.push("settings.tierDefaults applies per environment: a global module has none");
  }
  return problems;
}

function phaseProblems(m: ApiModule, others: readonly ApiModule[]): string[] {
  const { phase } = m;
  if (typeof phase === "string") {
    const existing = PHASES.find((p) => p.id === phase);
    if (!existing) return [`phase "${phase}" is not a phase of the plan (${PHASES.map((p) => p.id).join(", ")}); or give a new phase { number, id, title }`];
    if (existing.scope !== m.scope) return [`phase "${phase}" has ${existing.scope === "env" ? "one root per environment" : "one global root"}, but the module's scope is ${m.scope}`];
    return [];
  }
  if (typeof phase !== "object" || phase === null) return ["phase must be a phase id or { number, id, title }"];
  const problems: string[] = [];
  const n = phase.number;
  if (typeof n !== "number" || !Number.isFinite(n) || n <= 0 || n >= 9 || Math.abs(Math.round(n * 10) - n * 10) > 1e-9) {
    problems.push(`phase.number ${JSON.stringify(n)} must lie between the plan's phases: above 0, below 9, with at most one decimal place (e.g. 3.5)`);
  } else {
    const same = PHASES.find((p) => p.number === n);
    if (same) problems.push(`phase ${n} is the plan's "${same.id}" phase: join it with phase: "${same.id}", or pick a number between two phases (e.g. ${n + 0.5})`);
  }
  if (typeof phase.id !== "string" || !ID.test(phase.id)) problems.push("phase.id must be lower-case letters, digits and -, starting with a letter");
  else if (PHASES.some((p) => p.id === phase.id)) problems.push(`phase.id "${phase.id}" is the plan's own phase: join it with phase: "${phase.id}" instead`);
  if (typeof phase.title !== "string" || phase.title.trim() === "") problems.push("phase.title must be a sentence naming what the phase applies");
  const sibling = others.find((o) => typeof o.phase === "object" && o.phase !== null && o.phase.id === phase.id);
  if (sibling) {
    const p = sibling.phase as NewPhase;
    if (p.number !== phase.number || sibling.scope !== m.scope) problems.push(`phase "${phase.id}" is also module ${sibling.id}'s, with number ${p.number} and scope ${sibling.scope}: both must agree`);
  }
  return problems;
}

function isZodSchema(value: unknown): value is z.ZodType {
  return typeof value === "object" && value !== null && "_zod" in value && typeof (value as { safeParse?: unknown }).safeParse === "function";
}

/** The ids of the phases modules add, by scope: their roots take `extend.<id>` like the plan's own. */
function newPhases(modules: readonly ApiModule[], scope: "global" | "env"): Set<string> {
  return new Set(modules.flatMap((m) => (m.scope === scope && typeof m.phase === "object" && m.phase !== null && typeof m.phase.id === "string" ? [m.phase.id] : [])));
}

/** The section keys of `modules` in `scope`. */
function sectionKeys(modules: readonly ApiModule[], scope: "global" | "env"): Set<string> {
  return new Set(modules.flatMap((m) => (m.scope === scope && typeof m.settings?.key === "string" ? [m.settings.key] : [])));
}

/**
 * The raw value minus every module section (top level for global modules, defaults and
 * environments for the others) and minus the escape hatch of the modules' new phases.
 */
function withoutSections(value: unknown, modules: readonly ApiModule[]): unknown {
  if (!isObject(value)) return value;
  const [top, env] = [sectionKeys(modules, "global"), sectionKeys(modules, "env")];
  const [globalPhases, envPhases] = [newPhases(modules, "global"), newPhases(modules, "env")];
  if (top.size + env.size + globalPhases.size + envPhases.size === 0) return value;
  const strip = (o: unknown, keys: ReadonlySet<string>, phases: ReadonlySet<string>) => {
    if (!isObject(o)) return o;
    const kept: Record<string, unknown> = Object.fromEntries(Object.entries(o).filter(([k]) => !keys.has(k)));
    if (isObject(kept.extend) && phases.size > 0) kept.extend = Object.fromEntries(Object.entries(kept.extend).filter(([k]) => !phases.has(k)));
    return kept;
  };
  const out = strip(value, top, globalPhases) as Record<string, unknown>;
  if ("defaults" in out) out.defaults = strip(out.defaults, env, envPhases);
  if (isObject(out.environments)) out.environments = Object.fromEntries(Object.entries(out.environments).map(([k, v]) => [k, strip(v, env, envPhases)]));
  return out;
}

/** The escape hatch of the modules' new phases, validated and layered (`defaults` under the environment's), into the resolved config. */
export function resolveModuleExtends(value: unknown, config: ResolvedConfig, modules: readonly ApiModule[]): { config: ResolvedConfig; issues: ModuleIssue[] } {
  const issues: ModuleIssue[] = [];
  const raw = value as { extend?: Record<string, unknown>; defaults?: { extend?: Record<string, unknown> }; environments?: Record<string, { extend?: Record<string, unknown> } | undefined> };
  const parse = (layers: unknown[], paths: (readonly PropertyKey[])[]): Extension | undefined => {
    if (layers.every((l) => l === undefined)) return undefined;
    const parsed = extensionSchema.safeParse(merge(...layers), { jitless: true });
    if (parsed.success) return parsed.data as Extension;
    for (const issue of parsed.error.issues) issues.push({ path: [...pathOf(issue.path, layers, paths), ...issue.path], message: issue.message });
    return undefined;
  };
  const globalExtend: Record<string, Extension> = { ...config.extend };
  for (const id of newPhases(modules, "global")) {
    const x = parse([raw.extend?.[id]], [["extend", id]]);
    if (x) globalExtend[id] = x;
  }
  const environments = Object.fromEntries(
    Object.entries(config.environments).map(([name, env]) => {
      const extend: Record<string, Extension> = { ...env.extend };
      for (const id of newPhases(modules, "env")) {
        const x = parse([raw.defaults?.extend?.[id], raw.environments?.[name]?.extend?.[id]], [["defaults", "extend", id], ["environments", name, "extend", id]]);
        if (x) extend[id] = x;
      }
      return [name, { ...env, extend }];
    }),
  );
  return { config: { ...config, extend: globalExtend, environments }, issues };
}

/** Each module's section per scope: validated with its schema over its tier defaults; `enabled` decided. */
export function resolveSections(
  value: unknown,
  environments: readonly { readonly name: string; readonly tier: Tier }[],
  modules: readonly ApiModule[],
  /** How names are made; absent when the rest of the config is wrong (wiring is then not checked). */
  naming?: { readonly pattern: string; readonly project: string },
): { modules: ResolvedModule[]; issues: ModuleIssue[] } {
  const issues: ModuleIssue[] = [];
  /** Per scope: the service's environment variable names already given, and by whom. */
  const taken = new Map<string, Map<string, string>>();
  // Anything but an object is the schema's to report.
  const raw = (isObject(value) ? value : {}) as { defaults?: Record<string, unknown>; environments?: Record<string, Record<string, unknown> | undefined> } & Record<string, unknown>;
  const resolved: ResolvedModule[] = modules.map((m) => {
    const instances: Record<string, { enabled: boolean; settings: unknown }> = {};
    const key = m.settings?.key;
    const scopes =
      m.scope === "global"
        ? [{ scope: "global", layers: [key ? raw[key] : undefined], paths: [key ? [key] : []] }]
        : environments.map((e) => {
            const tier = e.tier;
            return {
              scope: e.name,
              layers: [m.settings?.tierDefaults?.[tier], key ? raw.defaults?.[key] : undefined, key ? raw.environments?.[e.name]?.[key] : undefined],
              paths: [undefined, key ? ["defaults", key] : [], key ? ["environments", e.name, key] : []],
            };
          });
    for (const { scope, layers, paths } of scopes) {
      let settings: unknown = {};
      if (m.settings) {
        const parsed = m.settings.schema.safeParse(merge(...layers), { reportInput: true, jitless: true });
        if (!parsed.success) {
          for (const issue of parsed.error.issues) issues.push({ path: [...pathOf(issue.path, layers, paths), ...issue.path], message: issue.message });
          continue;
        }
        settings = parsed.data;
      }
      const call = <T>(what: string, fn: () => T): T | undefined => {
        try {
          return fn();
        } catch (e) {
          issues.push({ path: [], message: `module ${m.id}: ${what} threw in ${scope}: ${(e as Error).message}`, ...(m.site ? { site: m.site } : {}) });
          return undefined;
        }
      };
      const enabled = m.enabled ? call("enabled()", () => m.enabled!(settings)) === true : true;
      const names = naming && { scope, name: (component: string, rule: NameRule = NAME_RULES.generic) => resourceName({ ...naming, env: scope }, component, rule) };
      const wiring = enabled && m.wiring && names ? call("wiring()", () => m.wiring!(settings, names)) : undefined;
      if (wiring) for (const message of wiringProblems(m, wiring, taken.get(scope) ?? taken.set(scope, new Map()).get(scope)!)) issues.push({ path: [], message: `module ${m.id} in ${scope}: ${message}`, ...(m.site ? { site: m.site } : {}) });
      instances[scope] = { enabled, settings, ...(wiring ? { wiring } : {}) };
    }
    return { id: m.id, definition: m, instances };
  });
  return { modules: resolved, issues };
}

const VARIABLE = /^[A-Z_][A-Z0-9_]{0,127}$/;
const SID = /^[A-Za-z0-9]{1,64}$/;
const COMPARISONS = new Set([">", ">=", "<", "<="]);
const STATISTICS = new Set(["Average", "Maximum", "Minimum", "Sum", "SampleCount"]);

/** What is wrong with a module's wiring in one scope; `taken`: the scope's variable names so far. */
function wiringProblems(m: ApiModule, wiring: Wiring, taken: Map<string, string>): string[] {
  const problems: string[] = [];
  const outputs = new Set(m.outputs);
  const refs = (values: readonly unknown[], where: string) => {
    for (const v of values) {
      if (typeof v === "object" && v !== null && !outputs.has((v as OutputRef).output)) problems.push(`${where} refers to output "${String((v as OutputRef).output)}", which the module does not declare (${m.outputs.join(", ")})`);
    }
  };
  const service = wiring.service ?? {};
  const names = [...Object.keys(service.environment ?? {}), ...Object.keys(service.secrets ?? {})];
  for (const name of names) {
    if (!VARIABLE.test(name)) problems.push(`service variable "${name}" must be upper-case letters, digits and _`);
    else if (SERVICE_VARIABLES.includes(name)) problems.push(`service variable "${name}" is one the service already sets; choose another name`);
    else if (taken.has(name)) problems.push(`service variable "${name}" is also set by module ${taken.get(name)}`);
    else taken.set(name, m.id);
  }
  refs(Object.values(service.environment ?? {}), "service.environment");
  for (const [name, ref] of Object.entries(service.secrets ?? {})) {
    if (typeof ref !== "object" || ref === null) problems.push(`service.secrets.${name} must be { output } naming the secret's ARN`);
  }
  refs(Object.values(service.secrets ?? {}), "service.secrets");
  for (const p of service.permissions ?? []) {
    if (!SID.test(p.sid)) problems.push(`service permission sid "${p.sid}" must be letters and digits`);
    if (p.actions.length === 0 || p.actions.some((a) => !/^[a-z0-9-]+:[A-Za-z0-9*]+$/.test(a))) problems.push(`service permission ${p.sid}: actions must be service:Action names`);
    if (p.actions.some((a) => a.endsWith(":*") || a === "*")) problems.push(`service permission ${p.sid}: name the actions; a service-wide wildcard grants more than the application needs`);
    if (p.resources.length === 0 || p.resources.includes("*")) problems.push(`service permission ${p.sid}: name the resources (no "*")`);
    refs(p.resources, `service permission ${p.sid}`);
  }
  const ids = new Set<string>();
  for (const a of wiring.alarms ?? []) {
    if (!ID.test(a.id) || ids.has(a.id)) problems.push(`alarm id "${a.id}" must be lower-case letters, digits and -, unique in the module`);
    ids.add(a.id);
    if (!COMPARISONS.has(a.comparison)) problems.push(`alarm ${a.id}: comparison must be one of > >= < <=`);
    if (!STATISTICS.has(a.statistic)) problems.push(`alarm ${a.id}: statistic must be one of ${[...STATISTICS].join(", ")}`);
    if (!Number.isFinite(a.threshold)) problems.push(`alarm ${a.id}: threshold must be a number`);
    if (a.periodSeconds !== undefined && !(a.periodSeconds >= 10 && (a.periodSeconds % 60 === 0 || [10, 20, 30].includes(a.periodSeconds)))) problems.push(`alarm ${a.id}: periodSeconds must be 10, 20, 30 or a multiple of 60`);
    refs(Object.values(a.dimensions ?? {}), `alarm ${a.id}`);
  }
  return problems;
}

/** The layer a bad value came from: the environment's own section, else `defaults`, else the environment's (tier default). */
function pathOf(at: readonly PropertyKey[], layers: readonly unknown[], paths: readonly (readonly PropertyKey[] | undefined)[]): readonly PropertyKey[] {
  for (let i = layers.length - 1; i >= 0; i--) {
    const path = paths[i];
    if (path === undefined || !isObject(layers[i])) continue;
    let node: unknown = layers[i];
    let found = true;
    for (const seg of at) {
      if (!isObject(node) && !Array.isArray(node)) { found = false; break; }
      node = (node as Record<PropertyKey, unknown>)[seg as string];
      if (node === undefined) { found = false; break; }
    }
    if (found) return path;
  }
  return paths.at(-1) ?? [];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The plan's phase table with the modules placed: joined to a phase, or in new phases ordered by number. */
export function phaseTable(modules: readonly ApiModule[]): readonly PhaseDef[] {
  if (modules.length === 0) return PHASES;
  const phases = PHASES.map((p) => ({ ...p, modules: [...p.modules] as AnyModule[] }));
  for (const m of modules) {
    const { phase } = m;
    if (typeof phase === "string") {
      phases.find((p) => p.id === phase && p.scope === m.scope)!.modules.push(m);
      continue;
    }
    const existing = phases.find((p) => p.id === phase.id);
    if (existing) existing.modules.push(m);
    else {
      phases.push({
        id: phase.id,
        number: phase.number,
        dir: `${String(Math.round(phase.number * 10)).padStart(2, "0")}-${phase.id}`,
        title: phase.title,
        scope: m.scope,
        modules: [m],
        manualSteps: [...(phase.manualSteps ?? [])],
        exitCriteria: phase.exitCriteria ?? `\`terraform plan\` of ${phase.id} is clean.`,
      });
    }
  }
  return phases.sort((a, b) => a.number - b.number);
}
