import { z } from "zod";
import { configSchema, moduleSchema } from "./schema.js";

/**
 * Defined by the CLI build: this function's result as JSON text, computed once at build time (it
 * depends on caja alone), so a compile does not rebuild it from the zod schema.
 */
declare const __CAJA_CONFIG_JSON_SCHEMA__: string | undefined;

/**
 * JSON Schema of what users write (`io: "input"`), for docs, editors and tools. `todo()` values
 * appear as `$defs/Todo`.
 */
export function configJsonSchema(): Record<string, unknown> {
  if (typeof __CAJA_CONFIG_JSON_SCHEMA__ === "string") return JSON.parse(__CAJA_CONFIG_JSON_SCHEMA__) as Record<string, unknown>;
  return z.toJSONSchema(configSchema, {
    io: "input",
    unrepresentable: "any",
    override: (ctx) => {
      const def = (ctx.zodSchema as { _zod?: { def?: { type?: string } } })._zod?.def;
      if (ctx.zodSchema === moduleSchema) {
        ctx.jsonSchema.type = "object";
        ctx.jsonSchema.tsType = "ModuleShape";
      } else if (def?.type === "custom") {
        ctx.jsonSchema.type = "object";
        ctx.jsonSchema.tsType = "Todo";
      }
    },
  }) as Record<string, unknown>;
}
