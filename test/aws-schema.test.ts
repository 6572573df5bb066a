import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { OTHER_TYPES_FILE, canonicalJson, encodeSchemaLines, generateOtherTypes, generateTypes } from "../packages/modules/src/aws/codegen.js";
import {
  OTHERS_FILE,
  blockSchema,
  dataSourceTypes,
  decodeSchemaLine,
  providerTypes,
  resourceTypes,
  validateResourceBody,
  validateRoot,
  type BlockSchema,
  type SchemaSubset,
} from "../packages/modules/src/aws/validate.js";

const awsDir = new URL("../packages/modules/src/aws/", import.meta.url);
const read = (name: string) => readFileSync(new URL(name, awsDir), "utf8");

const messages = (issues: { path: string; message: string }[]) => issues.map((i) => `${i.path}: ${i.message}`);

describe("validateResourceBody", () => {
  it("accepts a correct aws_s3_bucket_versioning body, block as an object or a one-element array", () => {
    expect(validateResourceBody("resource", "aws_s3_bucket_versioning", { bucket: "caja-state", versioning_configuration: { status: "Enabled" } })).toEqual([]);
    expect(validateResourceBody("resource", "aws_s3_bucket_versioning", { bucket: "caja-state", versioning_configuration: [{ status: "Enabled" }] })).toEqual([]);
  });

  it("rejects an argument the schema does not have, suggesting a close name", () => {
    const issues = validateResourceBody("resource", "aws_s3_bucket_versioning", {
      bucket: "b",
      buckett: "b",
      versioning_configuration: { status: "Enabled", colour: "blue" },
    });
    expect(issues.map((i) => i.path)).toEqual(["buckett", "versioning_configuration.colour"]);
    expect(issues[0]!.message).toContain('unsupported argument "buckett"');
    expect(issues[0]!.message).toContain('did you mean "bucket"?');
  });

  it("rejects a missing required argument and a missing required block", () => {
    expect(messages(validateResourceBody("resource", "aws_s3_bucket_versioning", {}))).toEqual([
      'bucket: missing required argument "bucket" in aws_s3_bucket_versioning',
      'versioning_configuration: missing required block "versioning_configuration" in aws_s3_bucket_versioning',
    ]);
    const nested = validateResourceBody("resource", "aws_s3_bucket_versioning", { bucket: "b", versioning_configuration: {} });
    expect(messages(nested)).toEqual(['versioning_configuration.status: missing required argument "status" in aws_s3_bucket_versioning.versioning_configuration']);
  });

  it("rejects setting a computed-only attribute but accepts optional+computed ones", () => {
    const issues = validateResourceBody("resource", "aws_s3_bucket", { bucket: "b", arn: "arn:aws:s3:::b", bucket_domain_name: "x" });
    expect(issues.map((i) => i.path)).toEqual(["arn", "bucket_domain_name"]);
    expect(issues[0]!.message).toContain("computed by the provider");
    // thumbprint_list is optional+computed in 5.x: settable.
    expect(validateResourceBody("resource", "aws_iam_openid_connect_provider", { url: "https://token.actions.githubusercontent.com", client_id_list: ["sts.amazonaws.com"], thumbprint_list: ["a".repeat(40)] })).toEqual([]);
  });

  it("rejects a block written as an attribute, and an attribute written as a block", () => {
    const asString = validateResourceBody("resource", "aws_s3_bucket_versioning", { bucket: "b", versioning_configuration: "x" });
    expect(messages(asString)).toEqual([expect.stringMatching(/^versioning_configuration: "versioning_configuration" is a nested block, not an attribute/)]);

    const asExpression = validateResourceBody("resource", "aws_s3_bucket_versioning", { bucket: "b", versioning_configuration: "${var.versioning}" });
    expect(messages(asExpression)).toEqual([expect.stringMatching(/cannot be an expression/)]);

    const tagsAsBlocks = validateResourceBody("resource", "aws_s3_bucket", { bucket: "b", tags: [{ key: "team", value: "platform" }] });
    expect(messages(tagsAsBlocks)).toEqual([expect.stringMatching(/^tags: "tags" is an attribute of type map\(string\), not a nested block: write an object/)]);

    const numberAsObject = validateResourceBody("resource", "aws_cloudwatch_log_group", { name: "x", retention_in_days: { days: 30 } });
    expect(messages(numberAsObject)).toEqual(["retention_in_days: expected number, got an object"]);
  });

  it("accepts Terraform expression strings for attributes of any type", () => {
    const body = {
      identifier: "db",
      instance_class: "${var.instance_class}",
      allocated_storage: "${var.storage_gb}",
      multi_az: "${var.env == \"prod\"}",
      vpc_security_group_ids: "${aws_security_group.db[*].id}",
      tags: { Name: "db-${var.env}" },
    };
    expect(validateResourceBody("resource", "aws_db_instance", body)).toEqual([]);
    // Escaped templates are literals, so they are type-checked.
    expect(messages(validateResourceBody("resource", "aws_db_instance", { instance_class: "x", allocated_storage: "$${var.x}" }))).toEqual([
      'allocated_storage: expected number, got the string "$${var.x}"',
    ]);
    // Terraform's own conversions of literals are allowed.
    expect(validateResourceBody("resource", "aws_db_instance", { instance_class: "x", allocated_storage: "20", multi_az: "false" })).toEqual([]);
  });

  it("recurses into nested blocks (lists of blocks, blocks in blocks) with indexed paths", () => {
    const body = {
      bucket: "b",
      rule: [
        { id: "expire", status: "Enabled", filter: { prefix: "logs/" }, expiration: { days: 30 } },
        { id: "bad", status: "Enabled", expiration: { days: "soon", months: 1 } },
      ],
    };
    expect(messages(validateResourceBody("resource", "aws_s3_bucket_lifecycle_configuration", body))).toEqual([
      'rule[1].expiration.days: expected number, got the string "soon"',
      'rule[1].expiration.months: unsupported argument "months" in aws_s3_bucket_lifecycle_configuration.rule.expiration',
    ]);
  });

  it("reports max_items exceeded for a literal array of blocks", () => {
    const issues = validateResourceBody("resource", "aws_s3_bucket_versioning", { bucket: "b", versioning_configuration: [{ status: "Enabled" }, { status: "Suspended" }] });
    expect(messages(issues)).toEqual(['versioning_configuration: at most 1 "versioning_configuration" block allowed, got 2']);
  });

  it("accepts meta-arguments, the comment key and dynamic blocks", () => {
    const body = {
      "//": "state bucket versioning",
      count: "${var.enabled ? 1 : 0}",
      depends_on: ["aws_s3_bucket.state"],
      provider: "aws.us_east_1",
      lifecycle: { prevent_destroy: true, ignore_changes: ["mfa"] },
      bucket: "b",
      dynamic: { versioning_configuration: { for_each: "${var.v}", content: { status: "${versioning_configuration.value}" } } },
    };
    expect(validateResourceBody("resource", "aws_s3_bucket_versioning", body)).toEqual([]);
    expect(validateResourceBody("data", "aws_region", { provider: "aws.us_east_1", "//": "x" })).toEqual([]);
    expect(messages(validateResourceBody("data", "aws_region", { provisioner: [] }))[0]).toMatch(/unsupported argument "provisioner"/);
  });

  it("rejects types the provider does not have, suggesting one of any type of the provider", () => {
    expect(messages(validateResourceBody("resource", "aws_s3_bukket", {}))).toEqual([
      ': unknown resource type "aws_s3_bukket" (did you mean "aws_s3_bucket"?): the hashicorp/aws provider has no such resource type',
    ]);
    expect(messages(validateResourceBody("resource", "aws_sqs_queu", {}))).toEqual([
      ': unknown resource type "aws_sqs_queu" (did you mean "aws_sqs_queue"?): the hashicorp/aws provider has no such resource type',
    ]);
    expect(messages(validateResourceBody("data", "aws_vpcc", {}))).toEqual([': unknown data source type "aws_vpcc" (did you mean "aws_vpc"?): the hashicorp/aws provider has no such data source type']);
    // A resource type is no data source type.
    expect(validateResourceBody("data", "aws_sqs_queue_policy", {})[0]!.message).toMatch(/^unknown data source type "aws_sqs_queue_policy"/);
    expect(validateResourceBody("resource", "no_such_thing_at_all", {})[0]!.message).toBe('unknown resource type "no_such_thing_at_all": the hashicorp/aws provider has no such resource type');
  });
});

describe("validateResourceBody, types outside the modules' subset", () => {
  it("accepts a correct body of a resource or data source type no module uses", () => {
    expect(resourceTypes()).not.toContain("aws_sqs_queue");
    expect(validateResourceBody("resource", "aws_sqs_queue", { name: "jobs", visibility_timeout_seconds: 60, sqs_managed_sse_enabled: true, tags: { Team: "x" } })).toEqual([]);
    const cache = { replication_group_id: "caja-prod", description: "sessions", num_cache_clusters: 2, log_delivery_configuration: [{ destination: "x", destination_type: "cloudwatch-logs", log_format: "json", log_type: "slow-log" }] };
    expect(validateResourceBody("resource", "aws_elasticache_replication_group", cache)).toEqual([]);
    expect(validateResourceBody("data", "aws_vpc", { default: true, filter: [{ name: "tag:Name", values: ["main"] }] })).toEqual([]);
  });

  it("reports what it reports for the subset: unknown arguments with a suggestion, missing ones, wrong values, max_items", () => {
    expect(messages(validateResourceBody("resource", "aws_sqs_queue", { visibility_timeout_secs: 60, fifo_queue: "maybe", delay_seconds: { s: 1 }, arn: "x" }))).toEqual([
      'visibility_timeout_secs: unsupported argument "visibility_timeout_secs" in aws_sqs_queue (did you mean "visibility_timeout_seconds"?)',
      'fifo_queue: expected bool, got the string "maybe"',
      "delay_seconds: expected number, got an object",
      'arn: "arn" is computed by the provider and cannot be set',
    ]);
    expect(messages(validateResourceBody("resource", "aws_elasticache_replication_group", { description: "d", log_delivery_configuration: [{}, {}, {}] }))).toEqual([
      'log_delivery_configuration: at most 2 "log_delivery_configuration" blocks allowed, got 3',
      ...[0, 1, 2].flatMap((i) =>
        ["destination", "destination_type", "log_format", "log_type"].map(
          (a) => `log_delivery_configuration[${i}].${a}: missing required argument "${a}" in aws_elasticache_replication_group.log_delivery_configuration`,
        ),
      ),
      'replication_group_id: missing required argument "replication_group_id" in aws_elasticache_replication_group',
    ]);
    expect(messages(validateResourceBody("data", "aws_vpc", { cidr_blok: "10.0.0.0/16" }))).toEqual(['cidr_blok: unsupported argument "cidr_blok" in aws_vpc (did you mean "cidr_block"?)']);
  });

  it("locates issues deep in the subtrees the file shares (wafv2 statements nested in statements)", () => {
    const visibility = { cloudwatch_metrics_enabled: true, metric_name: "m", sampled_requests_enabled: true };
    const byteMatch = { positional_constraint: "EXACTLY", search_string: "x", field_to_match: { uri_path: {} }, text_transformation: [{ priority: 0, type: "NONE" }] };
    const acl = (geo: Record<string, unknown>) => ({
      name: "edge",
      scope: "REGIONAL",
      default_action: { allow: {} },
      visibility_config: visibility,
      rule: [{ name: "r", priority: 1, action: { block: {} }, visibility_config: visibility, statement: { and_statement: { statement: [{ byte_match_statement: byteMatch }, { not_statement: { statement: { geo_match_statement: geo } } }] } } }],
    });
    expect(validateResourceBody("resource", "aws_wafv2_web_acl", acl({ country_codes: ["FR"] }))).toEqual([]);
    const at = "rule[0].statement.and_statement.statement[1].not_statement.statement.geo_match_statement";
    const owner = "aws_wafv2_web_acl.rule.statement.and_statement.statement.not_statement.statement.geo_match_statement";
    expect(messages(validateResourceBody("resource", "aws_wafv2_web_acl", acl({ country_code: ["FR"] })))).toEqual([
      `${at}.country_code: unsupported argument "country_code" in ${owner} (did you mean "country_codes"?)`,
      `${at}.country_codes: missing required argument "country_codes" in ${owner}`,
    ]);
  });

  it("knows every type of the provider, the subset's included", () => {
    const resources = providerTypes("resource");
    expect(resources.length).toBeGreaterThan(1500);
    expect(resources).toEqual(expect.arrayContaining([...resourceTypes(), "aws_sqs_queue", "aws_elasticache_replication_group"]));
    expect(new Set(resources).size).toBe(resources.length);
    expect(providerTypes("data")).toEqual(expect.arrayContaining([...dataSourceTypes(), "aws_vpc"]));
    expect(blockSchema("resource", "aws_s3_bucket")).toBe(blockSchema("resource", "aws_s3_bucket"));
    expect(blockSchema("resource", "aws_sqs_queue")).toBe(blockSchema("resource", "aws_sqs_queue"));
    expect(blockSchema("resource", "aws_vpc\",")).toBeUndefined();
  });
});

describe("validateRoot", () => {
  it("walks resource and data sections, prefixes paths, and skips terraform_remote_state", () => {
    const root = {
      resource: {
        aws_s3_bucket: { state: { bucket: "b", versioning: "on" } },
        aws_s3_bucket_versioning: { state: { bucket: "b", versioning_configuration: { status: "Enabled" } } },
      },
      data: {
        aws_caller_identity: { current: {} },
        aws_region: { current: { name: 1, bogus: true } },
        terraform_remote_state: { bootstrap: { backend: "s3", config: { bucket: "b" } } },
      },
    };
    expect(validateRoot(root).map((i) => i.path)).toEqual(["resource.aws_s3_bucket.state.versioning", "data.aws_region.current.bogus"]);
  });
});

describe("generated AWS schema files", () => {
  const subsetText = read("schema.subset.json");
  const subset = JSON.parse(subsetText) as SchemaSubset;
  const types = JSON.parse(read("types.json")) as { resources: string[]; data: string[] };

  it("schema.subset.json holds exactly the types in types.json, in canonical form", () => {
    expect(Object.keys(subset.resource_schemas)).toEqual(types.resources);
    expect(Object.keys(subset.data_source_schemas)).toEqual(types.data);
    expect(resourceTypes()).toEqual(types.resources);
    expect(dataSourceTypes()).toEqual(types.data);
    expect(canonicalJson(subset)).toBe(subsetText);
  });

  it("resources.generated.ts is current for the committed subset", async () => {
    expect(await generateTypes(subset)).toBe(read("resources.generated.ts"));
  }, 60_000);

  const othersText = read(OTHERS_FILE);
  const others = { resource_schemas: {} as Record<string, { block: BlockSchema }>, data_source_schemas: {} as Record<string, { block: BlockSchema }> };
  for (const line of othersText.split("\n").filter(Boolean)) {
    const { kind, type, block } = decodeSchemaLine(line);
    (kind === "resource" ? others.resource_schemas : others.data_source_schemas)[type] = { block };
  }
  const othersSchema: SchemaSubset = { provider: subset.provider, ...others };

  it(`${OTHERS_FILE} holds every other type once, not the subset's, one canonical line each`, () => {
    const listed = { resource: new Set(types.resources), data: new Set(types.data) };
    expect(Object.keys(others.resource_schemas).filter((t) => listed.resource.has(t))).toEqual([]);
    expect(Object.keys(others.data_source_schemas).filter((t) => listed.data.has(t))).toEqual([]);
    expect(othersText.split("\n").filter(Boolean)).toHaveLength(Object.keys(others.resource_schemas).length + Object.keys(others.data_source_schemas).length);
    expect(encodeSchemaLines(othersSchema)).toBe(othersText);
  });

  it(`${OTHER_TYPES_FILE} is current for ${OTHERS_FILE}`, () => {
    expect(generateOtherTypes(othersSchema)).toBe(read(OTHER_TYPES_FILE));
  }, 60_000);
});
