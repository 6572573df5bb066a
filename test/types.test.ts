/**
 * What users see in their editor: `tsc --noEmit` over a caja.config.ts accepts a good config and
 * rejects misspelt fields and wrong types, and the editor types are generated from the schema.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_TYPES_FILE, generateConfigTypes } from "../packages/dsl/scripts/config-types.js";
import { typecheck } from "./helpers.js";



const config = (environments: string, extra = "") => `import { defineConfig, todo } from "caja";

export default defineConfig({
  project: "caja",
  tags: { Owner: "platform-engineering", Confidentiality: "internal", CostCenter: "events-eng" },
  domain: { root: "dbash.dev", namespace: "caja" },
  github: { repository: todo("not named yet") },${extra}
  environments: ${environments},
});
`;

describe("editor type checking of caja.config.ts", () => {
  it("accepts a valid config, todo() included", () => {
    const r = typecheck(config(`{ dev: {}, prod: { db: { instanceClass: "db.t4g.large", multiAz: true }, alarms: { emails: todo("tbd") } } }`));
    expect(r.output).toBe("");
    expect(r.code).toBe(0);
  });

  it("rejects a misspelt field", () => {
    const r = typecheck(config(`{ dev: { servce: { desiredCount: 2 } } }`));
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/caja\.config\.ts\(\d+,\d+\): error TS2\d+: .*'servce'/);
  });

  it("rejects a wrong type", () => {
    const r = typecheck(config(`{ dev: { service: { desiredCount: "2" } } }`));
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/error TS2322: Type 'string' is not assignable to type 'number/);
  });

  it("rejects a value outside a closed set", () => {
    const r = typecheck(config(`{ dev: { network: { nat: "double" } } }`, `\n  region: "us-east-7",`));
    expect(r.code).not.toBe(0);
    expect(r.output).toContain(`'"us-east-7"'`);
    expect(r.output).toContain(`'"double"'`);
  });

  it("rejects todo() where a value must be decided now", () => {
    const r = typecheck(config(`{ dev: {} }`).replace('project: "caja"', 'project: todo("later")'));
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/Type 'Todo' is not assignable to type 'string'/);
  });
});

describe("generated editor types", () => {
  it("are what the schema generates now (run npm run gen after changing the schema)", async () => {
    expect(readFileSync(CONFIG_TYPES_FILE, "utf8")).toBe(await generateConfigTypes());
  });
});
