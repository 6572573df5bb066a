/**
 * Phase 6 — static site (plan sections 3 and 7, `s3-static-site` and `cloudfront`): a private S3
 * bucket served only through CloudFront with origin access control, on the env's app host(s).
 *
 * Inputs:
 * - `env.hosts.app`: the distribution's aliases (`app.<ns>.<root>` for prod, `app.<env>.<ns>.<root>`
 *   for environments with their own subdomain).
 * - `frontend_certificate_arn`: the domain module's us-east-1 certificate (wired by the engine).
 *
 * Outputs:
 * - `bucket_name` / `bucket_arn`: known at compile time (the bucket's name is fixed).
 * - `distribution_id`, `distribution_arn`, `distribution_domain_name`: assigned by CloudFront.
 * - `distribution_hosted_zone_id`: `Z2FDTNDATAQYW2`, the one Route 53 zone of every CloudFront
 *   distribution, so the DNS phase gets it as a literal.
 *
 * Secure by default:
 * - Bucket: all four public-access blocks, BucketOwnerEnforced (ACLs off), SSE-S3, versioning,
 *   `force_destroy = false`; its policy allows only `cloudfront.amazonaws.com` `s3:GetObject`, and
 *   only on behalf of this distribution (`aws:SourceArn`), and denies non-TLS / TLS < 1.2.
 * - CloudFront: OAC (SigV4, always signing) instead of a public website endpoint or the legacy OAI;
 *   the custom certificate with `sni-only` and `TLSv1.2_2021`; viewers redirected to HTTPS; a response
 *   headers policy adding HSTS (1 year, subdomains, preload), nosniff, `X-Frame-Options: DENY`,
 *   `strict-origin-when-cross-origin` and `X-XSS-Protection: 1; mode=block`.
 *
 * An environment without hosts (env subdomains off, not prod) still gets a distribution, reachable at
 * its `*.cloudfront.net` name only. It keeps the ACM certificate and `TLSv1.2_2021` with no aliases,
 * which CloudFront accepts (it is the documented state for moving an alias between distributions):
 * falling back to `cloudfront_default_certificate` would pin the security policy to TLSv1 and fail
 * checkov CKV_AWS_174. The `*.cloudfront.net` name itself is always served with CloudFront's own
 * certificate; that is AWS behaviour no configuration changes.
 *
 * By design, not done here (scanner skips to justify): access logging (CKV_AWS_86, AWS-0010; a log
 * bucket is a cost decision), WAF (CKV_AWS_68, CKV2_AWS_47, AWS-0011; deferred by the plan), origin
 * failover and geo restriction (CKV_AWS_310, CKV_AWS_374; one origin, a worldwide audience), S3
 * replication, lifecycle and event notifications (CKV_AWS_144, CKV2_AWS_61/62). No Content-Security-Policy:
 * it depends on the application's script and API origins, so the app should own it.
 */
import { bucketPolicy, privateBucket } from "./core/buckets.js";
import { defineModule } from "./core/module.js";
import { NAME_RULES } from "./core/naming.js";
import { DOMAIN, STATIC_SITE } from "./contracts.js";

/** The Route 53 hosted zone of every CloudFront distribution (alias targets use it). */
export const CLOUDFRONT_HOSTED_ZONE_ID = "Z2FDTNDATAQYW2";
/** AWS managed cache policy "Managed-CachingOptimized": a fixed id in every account. */
export const CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6";

const ORIGIN_ID = "s3-web";
const EXAMPLE_DISTRIBUTION_ID = "E2QWRUHAPOMQZL";

export const staticSite = defineModule(STATIC_SITE, (ctx) => {
  const { root, env, config } = ctx;
  const bucketName = ctx.name("web", NAME_RULES.s3Bucket);
  const bucketArn = `arn:aws:s3:::${bucketName}`;
  const aliases = [...env.hosts.app];

  // --- bucket -----------------------------------------------------------------------------------
  // No prevent_destroy: the content is a build artifact CI republishes; force_destroy stays false so
  // a bucket with objects is never emptied by Terraform.
  // SSE-S3, not KMS: an OAC reading SSE-KMS objects needs a key policy for CloudFront, for no gain here.
  const site = privateBucket(root, "web", bucketName);
  const { bucket } = site;

  // --- CloudFront -------------------------------------------------------------------------------
  const oac = root.resource("aws_cloudfront_origin_access_control", "web", {
    name: ctx.name("web", NAME_RULES.oac),
    description: `CloudFront access to ${bucketName}`,
    origin_access_control_origin_type: "s3",
    signing_behavior: "always",
    signing_protocol: "sigv4",
  });

  const headers = root.resource("aws_cloudfront_response_headers_policy", "web", {
    name: ctx.name("web-security-headers", NAME_RULES.responseHeadersPolicy),
    comment: `Security headers for the ${env.name} static site`,
    security_headers_config: {
      strict_transport_security: { access_control_max_age_sec: 31536000, include_subdomains: true, preload: true, override: true },
      content_type_options: { override: true },
      frame_options: { frame_option: "DENY", override: true },
      referrer_policy: { referrer_policy: "strict-origin-when-cross-origin", override: true },
      xss_protection: { protection: true, mode_block: true, override: true },
    },
  });

  const distribution = root.resource("aws_cloudfront_distribution", "web", {
    comment: `${config.project} ${env.name} static site`,
    enabled: true,
    is_ipv6_enabled: true,
    http_version: "http2and3",
    default_root_object: "index.html",
    price_class: "PriceClass_100",
    wait_for_deployment: true,
    ...(aliases.length > 0 ? { aliases } : {}),
    origin: [
      {
        origin_id: ORIGIN_ID,
        domain_name: bucket.attr("bucket_regional_domain_name"),
        origin_access_control_id: oac.attr("id"),
      },
    ],
    default_cache_behavior: {
      target_origin_id: ORIGIN_ID,
      viewer_protocol_policy: "redirect-to-https",
      allowed_methods: ["GET", "HEAD", "OPTIONS"],
      cached_methods: ["GET", "HEAD"],
      compress: true,
      cache_policy_id: CACHING_OPTIMIZED_POLICY_ID,
      response_headers_policy_id: headers.attr("id"),
    },
    // Single-page app: client-side routes are not objects, so S3 answers 404 — or 403, since the OAC
    // may not list the bucket — and the app's index.html serves them. The cost: a genuinely missing
    // asset also gets index.html with 200; short error caching keeps a fixed deploy visible quickly.
    custom_error_response: [403, 404].map((code) => ({
      error_code: code,
      response_code: 200,
      response_page_path: "/index.html",
      error_caching_min_ttl: 10,
    })),
    restrictions: { geo_restriction: { restriction_type: "none" } },
    viewer_certificate: {
      acm_certificate_arn: ctx.read(DOMAIN, "frontend_certificate_arn") as string,
      ssl_support_method: "sni-only",
      minimum_protocol_version: "TLSv1.2_2021",
    },
  });

  const allowCloudFront = {
    Sid: "AllowCloudFrontRead",
    Effect: "Allow" as const,
    Principal: { Service: "cloudfront.amazonaws.com" },
    Action: "s3:GetObject",
    Resource: `${bucketArn}/*`,
    // Only requests CloudFront signs for this distribution: another account's distribution pointed
    // at the bucket is refused (the confused-deputy guard).
    Condition: { StringEquals: { "aws:SourceArn": distribution.attr("arn") } },
  };
  const policy = bucketPolicy(root, "web", site, bucketArn, allowCloudFront);

  // Mock values shaped like the real ones, so the policy and outputs carry believable ARNs and names.
  const exampleArn = `arn:aws:cloudfront::123456789012:distribution/${EXAMPLE_DISTRIBUTION_ID}`;
  root.mockResource("aws_s3_bucket", { id: bucketName, arn: bucketArn, bucket_regional_domain_name: `${bucketName}.s3.${ctx.region}.amazonaws.com` });
  root.mockResource("aws_cloudfront_distribution", {
    id: EXAMPLE_DISTRIBUTION_ID,
    arn: exampleArn,
    domain_name: "d111111abcdef8.cloudfront.net",
    hosted_zone_id: CLOUDFRONT_HOSTED_ZONE_ID,
  });

  root.output("bucket_name", { value: bucketName, description: "Private S3 bucket holding the static site (upload here; CloudFront serves it).", example: bucketName });
  root.output("bucket_arn", { value: bucketArn, description: "ARN of the static site bucket.", example: bucketArn });
  root.output("distribution_id", {
    value: distribution.attr("id"),
    description: "CloudFront distribution id (for cache invalidations after a deploy).",
    example: EXAMPLE_DISTRIBUTION_ID,
  });
  root.output("distribution_arn", { value: distribution.attr("arn"), description: "CloudFront distribution ARN.", example: exampleArn });
  root.output("distribution_domain_name", {
    value: distribution.attr("domain_name"),
    description: "The distribution's *.cloudfront.net name: the target of the app hosts' alias records.",
    example: "d111111abcdef8.cloudfront.net",
  });
  root.output("distribution_hosted_zone_id", {
    value: CLOUDFRONT_HOSTED_ZONE_ID,
    description: "Route 53 zone id of CloudFront distributions, for alias records.",
    example: CLOUDFRONT_HOSTED_ZONE_ID,
  });

  const d = distribution.address;
  const p = site.publicAccessBlock.address;
  root.assert(`${p}.block_public_acls && ${p}.block_public_policy && ${p}.ignore_public_acls && ${p}.restrict_public_buckets`, "every public-access block of the site bucket is on");
  root.assert(`aws_s3_bucket.web.force_destroy == false`, "Terraform never empties the site bucket");
  root.assert(`aws_s3_bucket_versioning.web.versioning_configuration[0].status == "Enabled"`, "the site bucket is versioned");
  root.assert(
    `one(aws_s3_bucket_server_side_encryption_configuration.web.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "AES256"`,
    "the site bucket is encrypted with SSE-S3",
  );
  root.assert(`aws_s3_bucket_ownership_controls.web.rule[0].object_ownership == "BucketOwnerEnforced"`, "ACLs are disabled on the site bucket");
  root.assert(
    `jsondecode(${policy.address}.policy).Statement[0].Principal.Service == "cloudfront.amazonaws.com" && jsondecode(${policy.address}.policy).Statement[0].Condition.StringEquals["aws:SourceArn"] == ${d}.arn`,
    "the site bucket admits only CloudFront, on behalf of this distribution",
  );
  root.assert(`strcontains(${policy.address}.policy, "aws:SecureTransport")`, "the site bucket policy denies non-TLS access");
  root.assert(`one(${d}.origin).origin_access_control_id == ${oac.address}.id`, "CloudFront reads the bucket through the origin access control");
  root.assert(`${oac.address}.signing_behavior == "always" && ${oac.address}.signing_protocol == "sigv4"`, "the origin access control signs every request");
  root.assert(`${d}.default_cache_behavior[0].viewer_protocol_policy == "redirect-to-https"`, "viewers are redirected to HTTPS");
  root.assert(`${d}.viewer_certificate[0].minimum_protocol_version == "TLSv1.2_2021" && ${d}.viewer_certificate[0].ssl_support_method == "sni-only"`, "CloudFront serves the custom certificate with TLS 1.2 or newer");
  root.assert(`${d}.default_cache_behavior[0].response_headers_policy_id == ${headers.address}.id`, "the security headers policy is attached");
  root.assert(
    `${headers.address}.security_headers_config[0].strict_transport_security[0].access_control_max_age_sec == 31536000`,
    "HSTS is sent for one year",
  );
  if (aliases.length > 0) root.assert(`${d}.aliases == toset(${JSON.stringify(aliases)})`, `the distribution answers for ${aliases.join(", ")}`);
});
