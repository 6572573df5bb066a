import { serialize } from "node:v8";
import { describe, expect, it } from "vitest";
import { escapeLiteral, expr, render } from "@caja/modules";
import { byCodePoint, stableStringify } from "../packages/compiler/src/json.js";
import { baseConfig, compileWith, configWith, rootJson, testJson } from "./helpers.js";

describe("output is deterministic", () => {
  it("compiles the same config to the same bytes twice", () => {
    const a = compileWith().files;
    const b = compileWith().files;
    expect(b.map((f) => f.path)).toEqual(a.map((f) => f.path));
    for (let i = 0; i < a.length; i++) expect(b[i]!.content).toBe(a[i]!.content);
  });

  it("sorts keys by code point at every level, indents by two spaces and ends with a newline", () => {
    const text = stableStringify({ b: 1, a: { "443": true, "80": false, Z: 0, a: [3, 1] }, "é": null, B: "x" });
    expect(text).toBe('{\n  "B": "x",\n  "a": {\n    "443": true,\n    "80": false,\n    "Z": 0,\n    "a": [\n      3,\n      1\n    ]\n  },\n  "b": 1,\n  "é": null\n}\n');
    expect(["b", "é", "B", "😀", "ｚ"].sort(byCodePoint)).toEqual(["B", "b", "é", "ｚ", "😀"]);
  });

  it("holds a generated root one byte a character, though its expressions came out of two-byte tokens", () => {
    // V8's serializer tags a string held one byte a character with '"', two bytes with 'c'.
    const held = (text: string) => String.fromCharCode(serialize(text).find((b, i) => i >= 2 && b !== 0)!);
    const roots = compileWith().files.filter((f) => f.path.endsWith("/main.tf.json"));
    expect(roots.length).toBeGreaterThan(0);
    for (const f of roots) expect([f.path, held(f.content)]).toEqual([f.path, '"']);
    expect(held(stableStringify({ a: "é", b: expr("x").slice(1, -1) }))).toBe('"');
    expect(stableStringify({ a: "é" })).toBe('{\n  "a": "é"\n}\n');
    expect(held(stableStringify({ a: "→" }))).toBe("c");
    expect(stableStringify({ a: "→" })).toBe('{\n  "a": "→"\n}\n');
  });

  it("writes every generated root with sorted keys", () => {
    for (const f of compileWith().files.filter((f) => f.path.endsWith(".json"))) expect(stableStringify(JSON.parse(f.content))).toBe(f.content);
  });
});

describe("Terraform JSON syntax", () => {
  it("escapes literal ${ and %{ but not references", () => {
    expect(escapeLiteral("arn:aws:s3:::b/${aws:username}/%{x}")).toBe("arn:aws:s3:::b/$${aws:username}/%%{x}");
    expect(render({ a: `${expr("aws_vpc.main.id")}`, b: `x-${expr("var.env")}-\${literal}` })).toEqual({ a: "${aws_vpc.main.id}", b: "x-${var.env}-$${literal}" });
  });

  it("pins Terraform and the AWS provider and configures the S3 backend per root", () => {
    const c = compileWith(configWith({ state: { bootstrapped: true, locking: "s3" } }));
    const tf = rootJson(c, "global/10-domain").terraform;
    // S3-native lockfiles (use_lockfile) exist from Terraform 1.10: an older one would ignore the lock.
    expect(tf.required_version).toBe(">= 1.10");
    expect(tf.required_providers.aws).toEqual({ source: "hashicorp/aws", version: "~> 5.0" });
    expect(tf.backend.s3).toEqual({ bucket: "caja-terraform-state", key: "global/domain/terraform.tfstate", region: "us-east-1", encrypt: true, use_lockfile: true });
  });

  it("requires Terraform 1.7 (mock_provider tests) with the plan's DynamoDB locking, in every root", () => {
    const c = compileWith();
    for (const root of c.plan.roots) expect(rootJson(c, root.id).terraform.required_version).toBe(">= 1.7");
    const s3 = compileWith(configWith({ state: { bootstrapped: true, locking: "s3" } }));
    for (const root of s3.plan.roots) expect(rootJson(s3, root.id).terraform.required_version).toBe(">= 1.10");
  });

  it("keeps the bootstrap root's state local until the bucket exists", () => {
    expect(rootJson(compileWith(), "global/00-bootstrap").terraform.backend).toEqual({ local: { path: "terraform.tfstate" } });
  });

  it("sets default tags with the scope as Environment", () => {
    const provider = rootJson(compileWith(), "global/10-domain").provider.aws[0];
    expect(provider.region).toBe("us-east-1");
    expect(provider.default_tags.tags).toEqual({
      Project: "caja", Environment: "global", ManagedBy: "terraform", Owner: "platform-engineering", Confidentiality: "internal", CostCenter: "events-eng",
    });
  });

  it("creates the CloudFront certificate in us-east-1 through a provider alias when the region is another", () => {
    const c = compileWith(configWith({ region: "eu-west-1" }));
    const doc = rootJson(c, "global/10-domain");
    expect(doc.provider.aws).toHaveLength(2);
    expect(doc.provider.aws[1]).toMatchObject({ alias: "us_east_1", region: "us-east-1" });
    expect(doc.resource.aws_acm_certificate.frontend.provider).toBe("aws.us_east_1");
    expect(doc.resource.aws_acm_certificate_validation.frontend.provider).toBe("aws.us_east_1");
    expect(doc.resource.aws_acm_certificate.api.provider).toBeUndefined();
    // Every aliased provider needs its own mock in the generated test.
    expect(testJson(c, "global/10-domain").mock_provider.aws.map((p: any) => p.alias)).toEqual([undefined, "us_east_1"]);
  });

  it("uses no provider alias when the region is us-east-1", () => {
    const doc = rootJson(compileWith(), "global/10-domain");
    expect(doc.provider.aws).toHaveLength(1);
    expect(doc.resource.aws_acm_certificate.frontend.provider).toBeUndefined();
  });

  it("pins the account when one is configured", () => {
    expect(rootJson(compileWith(configWith({ accountId: "123456789012" })), "global/00-bootstrap").provider.aws[0].allowed_account_ids).toEqual(["123456789012"]);
  });
});

describe("phase 0: bootstrap (plan section 4)", () => {
  const doc = () => rootJson(compileWith(), "global/00-bootstrap");

  it("makes a versioned, SSE-S3 encrypted, private state bucket that refuses plain HTTP", () => {
    const r = doc().resource;
    expect(r.aws_s3_bucket.state).toMatchObject({ bucket: "caja-terraform-state", force_destroy: false, lifecycle: { prevent_destroy: true } });
    expect(r.aws_s3_bucket_versioning.state.versioning_configuration).toEqual({ status: "Enabled" });
    expect(r.aws_s3_bucket_server_side_encryption_configuration.state.rule[0].apply_server_side_encryption_by_default).toEqual({ sse_algorithm: "AES256" });
    expect(r.aws_s3_bucket_public_access_block.state).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    expect(r.aws_s3_bucket_ownership_controls.state.rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
    const policy = JSON.parse(r.aws_s3_bucket_policy.state.policy);
    expect(policy.Statement).toContainEqual(expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }));
    expect(policy.Statement).toContainEqual(expect.objectContaining({ Effect: "Deny", Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } } }));
    expect(r.aws_s3_bucket_policy.state.depends_on).toEqual(["aws_s3_bucket_public_access_block.state"]);
  });

  it("makes the LockID lock table with point-in-time recovery, only for dynamodb locking", () => {
    expect(doc().resource.aws_dynamodb_table.locks).toMatchObject({
      name: "caja-terraform-locks", hash_key: "LockID", attribute: [{ name: "LockID", type: "S" }], billing_mode: "PAY_PER_REQUEST",
      point_in_time_recovery: { enabled: true }, server_side_encryption: { enabled: true },
    });
    const s3 = rootJson(compileWith(configWith({ state: { locking: "s3" } })), "global/00-bootstrap");
    expect(s3.resource.aws_dynamodb_table).toBeUndefined();
    expect(s3.output.dynamodb_lock_table.value).toBeNull();
  });

  it("creates the hosted zone, or imports an existing one", () => {
    expect(doc().resource.aws_route53_zone.root.name).toBe("dbash.dev");
    expect(doc().import).toBeUndefined();
    const adopted = compileWith(configWith({ domain: { root: "dbash.dev", hostedZoneId: "Z0ABCDEF12345" } }));
    expect(rootJson(adopted, "global/00-bootstrap").import).toEqual([{ to: "aws_route53_zone.root", id: "Z0ABCDEF12345" }]);
    expect(testJson(adopted, "global/00-bootstrap").override_resource[0].target).toBe("aws_route53_zone.root");
  });

  it("exports the four outputs later roots and the registrar need", () => {
    const o = doc().output;
    expect(o.state_bucket_name.value).toBe("caja-terraform-state");
    expect(o.dynamodb_lock_table.value).toBe("caja-terraform-locks");
    expect(o.hosted_zone_id.value).toBe("${aws_route53_zone.root.zone_id}");
    expect(o.name_servers.value).toBe("${aws_route53_zone.root.name_servers}");
  });
});

describe("phase 1: domain (plan section 5)", () => {
  it("issues the frontend and api certificates with every host as SAN and DNS validation", () => {
    const r = rootJson(compileWith(), "global/10-domain").resource;
    expect(r.aws_acm_certificate.frontend).toMatchObject({
      domain_name: "app.caja.dbash.dev", subject_alternative_names: ["app.dev.caja.dbash.dev", "app.staging.caja.dbash.dev"], validation_method: "DNS",
      lifecycle: { create_before_destroy: true }, options: { certificate_transparency_logging_preference: "ENABLED" },
    });
    expect(r.aws_acm_certificate.api.domain_name).toBe("api.caja.dbash.dev");
    expect(Object.keys(r.aws_route53_record.api_validation.for_each)).toEqual(["api.caja.dbash.dev", "api.dev.caja.dbash.dev", "api.staging.caja.dbash.dev"]);
    expect(r.aws_acm_certificate_validation.api.certificate_arn).toBe("${aws_acm_certificate.api.arn}");
  });

  it("exports certificate ARNs after issuance and the ordered host lists", () => {
    const o = rootJson(compileWith(), "global/10-domain").output;
    expect(o.frontend_certificate_arn.value).toBe("${aws_acm_certificate_validation.frontend.certificate_arn}");
    expect(o.app_domains.value[0]).toBe("app.caja.dbash.dev");
    expect(o.api_domains.value).toEqual(["api.caja.dbash.dev", "api.dev.caja.dbash.dev", "api.staging.caja.dbash.dev"]);
  });

  it("covers only the listed environments, and only the primary host when env subdomains are off", () => {
    const only = rootJson(compileWith(configWith({ domain: { root: "dbash.dev", namespace: "caja", environments: ["staging"] } })), "global/10-domain");
    expect(only.resource.aws_acm_certificate.api.subject_alternative_names).toEqual(["api.staging.caja.dbash.dev"]);
    const off = rootJson(compileWith(configWith({ domain: { root: "dbash.dev", namespace: "caja", envSubdomains: false } })), "global/10-domain");
    expect(off.resource.aws_acm_certificate.api.subject_alternative_names).toBeUndefined();
    expect(off.output.api_domains.value).toEqual(["api.caja.dbash.dev"]);
  });
});

void baseConfig;
