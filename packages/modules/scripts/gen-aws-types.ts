// Writes src/aws/schema.subset.json and src/aws/resources.generated.ts from the hashicorp/aws
// provider schema (`terraform providers schema -json`), for the types listed in src/aws/types.json.
//
//   node scripts/run-ts.mjs packages/modules/scripts/gen-aws-types.ts [provider-schema.json]
//
// Default schema: ../shared/terraform/aws-provider-5.100.0.schema.json from the repo root. Both
// outputs are committed; test/aws-schema.test.ts checks the TypeScript is current for the subset.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { canonicalJson, compareCodePoints, generateTypes, pruneProviderSchema, type TypeList } from "../src/aws/codegen.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const awsDir = fileURLToPath(new URL("../src/aws/", import.meta.url));
const schemaPath = process.argv[2] ? resolve(process.argv[2]) : resolve(repoRoot, "../shared/terraform/aws-provider-5.100.0.schema.json");

const types = JSON.parse(readFileSync(resolve(awsDir, "types.json"), "utf8")) as TypeList;
for (const key of ["resources", "data"] as const) {
  const list = types[key];
  if (!Array.isArray(list) || list.some((t) => typeof t !== "string")) throw new Error(`types.json: "${key}" must be a list of type names`);
  const sorted = [...new Set(list)].sort(compareCodePoints);
  if (sorted.join("\n") !== list.join("\n")) throw new Error(`types.json: "${key}" must be sorted and without duplicates`);
}

const providerSchema = JSON.parse(readFileSync(schemaPath, "utf8")) as unknown;
const subset = pruneProviderSchema(providerSchema, types);
const subsetText = canonicalJson(subset);
writeFileSync(resolve(awsDir, "schema.subset.json"), subsetText);

const ts = await generateTypes(JSON.parse(subsetText));
writeFileSync(resolve(awsDir, "resources.generated.ts"), ts);

console.log(
  `gen-aws-types: ${types.resources.length} resources, ${types.data.length} data sources from ${schemaPath}\n` +
    `  schema.subset.json ${subsetText.length} bytes, resources.generated.ts ${ts.length} bytes`,
);
