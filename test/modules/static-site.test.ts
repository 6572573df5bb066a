/**
 * The static site module: a private, encrypted, versioned bucket that only this environment's
 * CloudFront distribution can read, served on the env's app hosts with TLS 1.2+, HTTPS redirects
 * and security headers.
 */
import { describe, expect, it } from "vitest";
import { DOMAIN } from "@caja/modules";
import { validateRoot } from "../../packages/modules/src/aws/validate.js";
import { CACHING_OPTIMIZED_POLICY_ID, staticSite } from "../../packages/modules/src/static-site.js";
import { baseConfig, compileWith, resources, rootJson, testJson } from "../helpers.js";
import { phasesFor, standIn, terraformCheck } from "../modules-harness.js";

const FRONTEND_CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const domainStandIn = standIn(DOMAIN, {
  frontend_certificate_arn: FRONTEND_CERT,
  api_certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
  app_domains: ["app.caja.dbash.dev", "app.dev.caja.dbash.dev", "app.staging.caja.dbash.dev"],
  api_domains: ["api.caja.dbash.dev", "api.dev.caja.dbash.dev", "api.staging.caja.dbash.dev"],
});
const phases = phasesFor([staticSite], [domainStandIn], { number: 6, dir: "60-static-site" });
const compile = (config: unknown = baseConfig()) => compileWith(config, { phases });

const compiled = compile();
const DEV = "dev/60-static-site";
const PROD = "prod/60-static-site";
const one = <T>(map: Record<string, T>): T => {
  const values = Object.values(map);
  expect(values).toHaveLength(1);
  return values[0]!;
};
const distributionOf = (c = compiled, root = DEV) => one(resources(c, root, "aws_cloudfront_distribution"));
const policyOf = (c = compiled, root = DEV) => JSON.parse(one(resources(c, root, "aws_s3_bucket_policy")).policy);

describe("static-site bucket", () => {
  it("is named {project}-{env}-web: lowercase, at most 63 characters, no dots", () => {
    expect(one(resources(compiled, DEV, "aws_s3_bucket")).bucket).toBe("caja-dev-web");
    expect(one(resources(compiled, PROD, "aws_s3_bucket")).bucket).toBe("caja-prod-web");

    const long = compile({ ...baseConfig(), project: "caja-events-platform-web", naming: { pattern: "{project}-{env}-{component}-{project}-static-assets" } });
    const name = one(resources(long, DEV, "aws_s3_bucket")).bucket as string;
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/);
  });

  it("is never emptied by Terraform (force_destroy = false)", () => {
    expect(one(resources(compiled, DEV, "aws_s3_bucket")).force_destroy).toBe(false);
  });

  it("blocks every kind of public access", () => {
    const pab = resources(compiled, DEV, "aws_s3_bucket_public_access_block").web;
    expect(pab).toMatchObject({ block_public_acls: true, block_public_policy: true, ignore_public_acls: true, restrict_public_buckets: true });
    expect(pab.bucket).toBe("${aws_s3_bucket.web.id}");
  });

  it("disables ACLs (BucketOwnerEnforced), encrypts with SSE-S3 and keeps versions", () => {
    expect(resources(compiled, DEV, "aws_s3_bucket_ownership_controls").web.rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
    const sse = resources(compiled, DEV, "aws_s3_bucket_server_side_encryption_configuration").web;
    expect(sse.rule[0].apply_server_side_encryption_by_default).toEqual({ sse_algorithm: "AES256" });
    expect(resources(compiled, DEV, "aws_s3_bucket_versioning").web.versioning_configuration).toEqual({ status: "Enabled" });
  });

  it("writes the policy after the public-access block, and ownership controls after both", () => {
    expect(resources(compiled, DEV, "aws_s3_bucket_policy").web.depends_on).toEqual(["aws_s3_bucket_public_access_block.web"]);
    expect(resources(compiled, DEV, "aws_s3_bucket_ownership_controls").web.depends_on).toEqual([
      "aws_s3_bucket_public_access_block.web",
      "aws_s3_bucket_policy.web",
    ]);
  });

  it("lets only CloudFront read objects, and only for this distribution", () => {
    const doc = policyOf();
    const allows = doc.Statement.filter((s: any) => s.Effect === "Allow");
    expect(allows).toEqual([
      {
        Sid: "AllowCloudFrontRead",
        Effect: "Allow",
        Principal: { Service: "cloudfront.amazonaws.com" },
        Action: "s3:GetObject",
        Resource: "arn:aws:s3:::caja-dev-web/*",
        Condition: { StringEquals: { "aws:SourceArn": "${aws_cloudfront_distribution.web.arn}" } },
      },
    ]);
  });

  it("denies plain HTTP and TLS older than 1.2 on the bucket and its objects", () => {
    const denies = policyOf().Statement.filter((s: any) => s.Effect === "Deny");
    expect(denies.map((s: any) => s.Condition)).toEqual([{ Bool: { "aws:SecureTransport": "false" } }, { NumericLessThan: { "s3:TlsVersion": "1.2" } }]);
    for (const s of denies) expect(s.Resource).toEqual(["arn:aws:s3:::caja-dev-web", "arn:aws:s3:::caja-dev-web/*"]);
  });
});

describe("static-site CloudFront", () => {
  it("reads the bucket through an origin access control that signs every request with SigV4", () => {
    const oac = resources(compiled, DEV, "aws_cloudfront_origin_access_control").web;
    expect(oac).toMatchObject({ name: "caja-dev-web", origin_access_control_origin_type: "s3", signing_behavior: "always", signing_protocol: "sigv4" });
    const origin = distributionOf().origin;
    expect(origin).toEqual([
      { origin_id: "s3-web", domain_name: "${aws_s3_bucket.web.bucket_regional_domain_name}", origin_access_control_id: "${aws_cloudfront_origin_access_control.web.id}" },
    ]);
  });

  it("is enabled, dual-stack, HTTP/2 and 3, serves index.html at the root, PriceClass_100, no geo restriction, waits for deployment", () => {
    expect(distributionOf()).toMatchObject({
      enabled: true,
      is_ipv6_enabled: true,
      http_version: "http2and3",
      default_root_object: "index.html",
      price_class: "PriceClass_100",
      wait_for_deployment: true,
      restrictions: { geo_restriction: { restriction_type: "none" } },
    });
  });

  it("answers for the env's app host: the primary host in prod, app.dev.* in dev", () => {
    expect(distributionOf(compiled, PROD).aliases).toEqual(["app.caja.dbash.dev"]);
    expect(distributionOf(compiled, DEV).aliases).toEqual(["app.dev.caja.dbash.dev"]);
    expect(distributionOf(compiled, "staging/60-static-site").aliases).toEqual(["app.staging.caja.dbash.dev"]);
  });

  it("serves the domain module's us-east-1 certificate over SNI with TLS 1.2 (2021 policy) as the minimum", () => {
    const cert = distributionOf().viewer_certificate;
    expect(cert).toEqual({
      acm_certificate_arn: "${data.terraform_remote_state.standins_global.outputs.frontend_certificate_arn}",
      ssl_support_method: "sni-only",
      minimum_protocol_version: "TLSv1.2_2021",
    });
    expect(cert.cloudfront_default_certificate).toBeUndefined();
    const override = testJson(compiled, DEV).override_data.find((o: any) => o.target === "data.terraform_remote_state.standins_global");
    expect(override.values.outputs.frontend_certificate_arn).toBe(FRONTEND_CERT);
  });

  it("keeps the custom certificate and TLS 1.2 when the environment has no hosts (no aliases, never the TLSv1 default certificate)", () => {
    const noSubdomains = compile({ ...baseConfig(), domain: { root: "dbash.dev", namespace: "caja", envSubdomains: false } });
    const dev = distributionOf(noSubdomains, DEV);
    expect(dev.aliases).toBeUndefined();
    expect(dev.viewer_certificate).toMatchObject({ ssl_support_method: "sni-only", minimum_protocol_version: "TLSv1.2_2021" });
    expect(dev.viewer_certificate.acm_certificate_arn).toContain("frontend_certificate_arn");
    expect(distributionOf(noSubdomains, PROD).aliases).toEqual(["app.caja.dbash.dev"]);
  });

  it("redirects viewers to HTTPS and caches GET/HEAD with the managed CachingOptimized policy, compressed", () => {
    const behavior = distributionOf().default_cache_behavior;
    expect(behavior).toMatchObject({
      target_origin_id: "s3-web",
      viewer_protocol_policy: "redirect-to-https",
      allowed_methods: ["GET", "HEAD", "OPTIONS"],
      cached_methods: ["GET", "HEAD"],
      compress: true,
      cache_policy_id: "658327ea-f89d-4fab-a63d-7e88639e58f6",
    });
    expect(CACHING_OPTIMIZED_POLICY_ID).toBe("658327ea-f89d-4fab-a63d-7e88639e58f6");
    // A literal id: no data source lookup, no forwarded_values (which conflicts with a cache policy).
    expect(rootJson(compiled, DEV).data?.aws_cloudfront_cache_policy).toBeUndefined();
    expect(behavior.forwarded_values).toBeUndefined();
    expect(JSON.stringify(rootJson(compiled, DEV))).not.toContain("allow-all");
  });

  it("adds HSTS (1 year, subdomains, preload), nosniff, DENY framing, a strict referrer policy and XSS protection", () => {
    const policy = resources(compiled, DEV, "aws_cloudfront_response_headers_policy").web;
    expect(policy.name).toBe("caja-dev-web-security-headers");
    expect(policy.security_headers_config).toEqual({
      strict_transport_security: { access_control_max_age_sec: 31536000, include_subdomains: true, preload: true, override: true },
      content_type_options: { override: true },
      frame_options: { frame_option: "DENY", override: true },
      referrer_policy: { referrer_policy: "strict-origin-when-cross-origin", override: true },
      xss_protection: { protection: true, mode_block: true, override: true },
    });
    expect(distributionOf().default_cache_behavior.response_headers_policy_id).toBe("${aws_cloudfront_response_headers_policy.web.id}");
  });

  it("falls back to /index.html with 200 for 403 and 404, so client-side routes load", () => {
    expect(distributionOf().custom_error_response).toEqual([
      { error_code: 403, response_code: 200, response_page_path: "/index.html", error_caching_min_ttl: 10 },
      { error_code: 404, response_code: 200, response_page_path: "/index.html", error_caching_min_ttl: 10 },
    ]);
  });
});

describe("static-site outputs and checks", () => {
  it("exports the bucket as literals, the distribution's cloud-assigned values, and CloudFront's fixed zone id", () => {
    const outputs = rootJson(compiled, DEV).output;
    expect(outputs.bucket_name.value).toBe("caja-dev-web");
    expect(outputs.bucket_arn.value).toBe("arn:aws:s3:::caja-dev-web");
    expect(outputs.distribution_id.value).toBe("${aws_cloudfront_distribution.web.id}");
    expect(outputs.distribution_arn.value).toBe("${aws_cloudfront_distribution.web.arn}");
    expect(outputs.distribution_domain_name.value).toBe("${aws_cloudfront_distribution.web.domain_name}");
    expect(outputs.distribution_hosted_zone_id.value).toBe("Z2FDTNDATAQYW2");

    const specs = compiled.plan.roots.find((r) => r.id === DEV)!.builder.outputs;
    expect(specs.get("distribution_id")!.example).toBe("E2QWRUHAPOMQZL");
    expect(specs.get("distribution_arn")!.example).toBe("arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL");
    expect(specs.get("distribution_domain_name")!.example).toBe("d111111abcdef8.cloudfront.net");
  });

  it("mock-applies with realistic distribution and bucket values, asserting the security controls", () => {
    const test = testJson(compiled, DEV);
    const mocks = test.mock_provider.aws[0].mock_resource;
    expect(mocks.aws_cloudfront_distribution.defaults.arn).toMatch(/^arn:aws:cloudfront::\d{12}:distribution\/E[A-Z0-9]+$/);
    expect(mocks.aws_s3_bucket.defaults.arn).toBe("arn:aws:s3:::caja-dev-web");
    const messages = test.run[0].mock_apply.assert.map((a: any) => a.error_message);
    expect(messages).toEqual(
      expect.arrayContaining([
        "every public-access block of the site bucket is on",
        "the site bucket admits only CloudFront, on behalf of this distribution",
        "viewers are redirected to HTTPS",
        "CloudFront serves the custom certificate with TLS 1.2 or newer",
        "the distribution answers for app.dev.caja.dbash.dev",
      ]),
    );
  });

  it("passes the provider schema check for dev and prod", () => {
    expect(validateRoot(rootJson(compiled, DEV))).toEqual([]);
    expect(validateRoot(rootJson(compiled, PROD))).toEqual([]);
  });

  it("validates and mock-applies with terraform (dev, prod, and an env without hosts)", { timeout: 300_000 }, async () => {
    const noSubdomains = compile({ ...baseConfig(), domain: { root: "dbash.dev", namespace: "caja", envSubdomains: false } });
    for (const [c, root] of [[compiled, DEV], [compiled, PROD], [noSubdomains, DEV]] as const) {
      const check = await terraformCheck(c, root);
      if (!check) return;
      expect(check.ok ? "" : `${root} failed at ${check.failedStep}:\n${check.detail}`).toBe("");
      expect(check.runsPassed, root).toBeGreaterThan(0);
    }
  });
});
