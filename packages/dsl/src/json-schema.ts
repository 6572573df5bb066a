import { z } from "zod";
import { configSchema } from "./schema.js";

/**
 * JSON Schema of what users write (`io: "input"`), for docs, editors and tools. `todo()` values
 * appear as `$defs/Todo`.
 */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, {
    io: "input",
    unrepresentable: "any",
    override: (ctx) => {
      const def = (ctx.zodSchema as { _zod?: { def?: { type?: string } } })._zod?.def;
      if (def?.type === "custom") {
        ctx.jsonSchema.type = "object";
        ctx.jsonSchema.tsType = "Todo";
      }
    },
  }) as Record<string, unknown>;
}
