// Writes, from the hashicorp/aws provider schema (`terraform providers schema -json`):
//   src/aws/schema.subset.json and src/aws/resources.generated.ts for the types listed in
//   src/aws/types.json (the ones caja's modules use), and
//   src/aws/schema.others.jsonl and src/aws/resources.others.generated.d.ts for every other type.
//
//   node scripts/run-ts.mjs packages/modules/scripts/gen-aws-types.ts [provider-schema.json]
//
// Default schema: ../shared/terraform/aws-provider-5.100.0.schema.json from the repo root. All four
// outputs are committed; test/aws-schema.test.ts checks the TypeScript is current for the schemas.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  OTHER_TYPES_FILE,
  canonicalJson,
  compareCodePoints,
  encodeSchemaLines,
  generateOtherTypes,
  generateTypes,
  otherTypes,
  pruneProviderSchema,
  type TypeList,
} from "../src/aws/codegen.js";
import { OTHERS_FILE, decodeSchemaLine, type BlockSchema } from "../src/aws/validate.js";

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

const rest = otherTypes(providerSchema, types);
const othersText = encodeSchemaLines(pruneProviderSchema(providerSchema, rest));
writeFileSync(resolve(awsDir, OTHERS_FILE), othersText);

// From the file as written, as the test regenerates it.
const decoded = { resource: {} as Record<string, { block: BlockSchema }>, data: {} as Record<string, { block: BlockSchema }> };
for (const line of othersText.split("\n").filter(Boolean)) {
  const { kind, type, block } = decodeSchemaLine(line);
  decoded[kind][type] = { block };
}
const othersTs = generateOtherTypes({ provider: subset.provider, resource_schemas: decoded.resource, data_source_schemas: decoded.data });
writeFileSync(resolve(awsDir, OTHER_TYPES_FILE), othersTs);

console.log(
  `gen-aws-types: ${types.resources.length} resources, ${types.data.length} data sources in the subset, ` +
    `${rest.resources.length} and ${rest.data.length} others, from ${schemaPath}\n` +
    `  schema.subset.json ${Buffer.byteLength(subsetText)} bytes, resources.generated.ts ${Buffer.byteLength(ts)} bytes, ` +
    `${OTHERS_FILE} ${Buffer.byteLength(othersText)} bytes, ${OTHER_TYPES_FILE} ${Buffer.byteLength(othersTs)} bytes`,
);
