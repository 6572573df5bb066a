/**
 * The config's JSON Schema as a project sees it: caja's own fields plus the section of every
 * registered module (`environments.<env>.<key>` and `defaults.<key>`, or `<key>` for a global
 * one), each from the module's zod schema. caja's own and its opt-in modules' are computed once,
 * by the CLI build; a config with modules of its own gets its schema computed on compile.
 */
import { z } from "zod";
import { API_MODULES, type ApiModule } from "@caja/modules";
import { configJsonSchema } from "../../../dsl/src/json-schema.js";
import { stableStringify } from "../json.js";

/** Defined by the CLI build: {@link projectJsonSchema} for caja's opt-in modules alone, as JSON and as the document. */
declare const __CAJA_PROJECT_JSON_SCHEMA__: string | undefined;
declare const __CAJA_PROJECT_JSON_SCHEMA_DOCUMENT__: string | undefined;

type Node = { properties?: Record<string, Node>; additionalProperties?: Node | boolean; description?: string } & Record<string, unknown>;

/** The schema (properties in declaration order, for the reference page) and `caja.schema.json`'s text. */
export function projectJsonSchema(modules: readonly ApiModule[]): { schema: Record<string, unknown>; document: string } {
  const bundledOnly = modules.length === API_MODULES.length && modules.every((m, i) => m === API_MODULES[i]);
  if (bundledOnly && typeof __CAJA_PROJECT_JSON_SCHEMA__ === "string" && typeof __CAJA_PROJECT_JSON_SCHEMA_DOCUMENT__ === "string") {
    return { schema: JSON.parse(__CAJA_PROJECT_JSON_SCHEMA__) as Record<string, unknown>, document: __CAJA_PROJECT_JSON_SCHEMA_DOCUMENT__ };
  }
  const schema = withModuleSections(configJsonSchema(), modules);
  return { schema, document: stableStringify(schema) };
}

export function withModuleSections(base: Record<string, unknown>, modules: readonly ApiModule[]): Record<string, unknown> {
  const sectioned = modules.filter((m) => m.settings);
  if (sectioned.length === 0) return base;
  const schema = structuredClone(base) as Node;
  const env = schema.properties?.environments?.additionalProperties;
  const targets = (m: ApiModule) =>
    m.scope === "global" ? [schema] : [schema.properties?.defaults, typeof env === "object" ? env : undefined].filter((t): t is Node => t !== undefined);
  for (const m of sectioned) {
    const section = sectionSchema(m);
    for (const target of targets(m)) target.properties = { ...target.properties, [m.settings!.key]: section };
  }
  return schema as Record<string, unknown>;
}

function sectionSchema(m: ApiModule): Node {
  const { $schema: _, ...json } = z.toJSONSchema(m.settings!.schema, { io: "input", unrepresentable: "any" }) as Node;
  return { ...json, description: `${m.settings!.description} (module \`${m.id}\`)` };
}
