/**
 * Phase 1 — domain (plan section 5): the frontend and API certificates with DNS validation.
 * No alias records: those wait for phase 7, once CloudFront and the ALB exist.
 *
 * Inputs:
 * - `root_domain`: `domain.root`.
 * - `zone_id`: the bootstrap module's `hosted_zone_id` (wired by the engine).
 * - `enable_env_subdomains`: `domain.envSubdomains` (default true).
 * - `environments`: `domain.environments` (default: every environment that is not tier prod).
 *
 * Outputs:
 * - `frontend_certificate_arn`: us-east-1 certificate for CloudFront, once issued.
 * - `api_certificate_arn`: certificate in the configured region for the ALB, once issued.
 * - `app_domains` / `api_domains`: the hosts each certificate covers, index 0 the prod primary.
 *
 * The frontend certificate is always created in us-east-1 (CloudFront only reads certificates
 * there), through a provider alias when the configured region is another.
 */
import { expr } from "./core/expr.js";
import { defineModule, type GlobalContext } from "./core/module.js";
import type { Handle } from "./core/root.js";
import { BOOTSTRAP, DOMAIN } from "./contracts.js";

export const domain = defineModule(DOMAIN, (ctx) => {
  const { root, config } = ctx;
  const zoneId = ctx.read(BOOTSTRAP, "hosted_zone_id") as string;
  const { appDomains, apiDomains } = config.domain;
  const cloudFrontProvider = config.region === "us-east-1" ? undefined : root.useProviderAlias("us_east_1", "us-east-1");

  const frontend = certificate(ctx, "frontend", appDomains, zoneId, cloudFrontProvider);
  const api = certificate(ctx, "api", apiDomains, zoneId, undefined);

  root.output("frontend_certificate_arn", {
    value: frontend.attr("certificate_arn"),
    description: "ARN of the issued us-east-1 certificate for CloudFront (app hosts).",
    example: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
  });
  root.output("api_certificate_arn", {
    value: api.attr("certificate_arn"),
    description: `ARN of the issued ${config.region} certificate for the ALB (api hosts).`,
    example: `arn:aws:acm:${config.region}:123456789012:certificate/1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e`,
  });
  root.output("app_domains", { value: appDomains, description: "Frontend hosts; index 0 is the prod primary.", example: appDomains });
  root.output("api_domains", { value: apiDomains, description: "API hosts; index 0 is the prod primary.", example: apiDomains });
});

/** A DNS-validated certificate for `domains` (first is the subject, the rest SANs), and its validation. */
function certificate(ctx: GlobalContext, name: string, domains: readonly string[], zoneId: string, provider: string | undefined): Handle {
  const { root } = ctx;
  const region = provider ? "us-east-1" : ctx.region;
  const onProvider = provider ? { provider } : {};
  const [subject, ...sans] = domains;
  if (!subject) throw new Error(`internal: certificate ${name} has no domains`);

  const cert = root.resource(
    "aws_acm_certificate",
    name,
    {
      domain_name: subject,
      ...(sans.length > 0 ? { subject_alternative_names: sans } : {}),
      validation_method: "DNS",
      key_algorithm: "RSA_2048",
      options: { certificate_transparency_logging_preference: "ENABLED" },
    },
    // A replacement certificate must be issued before the old one is released from listeners.
    { ...onProvider, lifecycle: { create_before_destroy: true } },
  );

  // One record per host, keyed by the host (known now), so the plan never depends on a computed
  // for_each key; each looks its record up in the certificate's validation options.
  const lookup = (field: string) => expr(`one([for o in ${cert.address}.domain_validation_options : o.${field} if o.domain_name == each.key])`);
  const records = root.resource(
    "aws_route53_record",
    `${name}_validation`,
    {
      zone_id: zoneId,
      name: lookup("resource_record_name"),
      type: lookup("resource_record_type"),
      records: [lookup("resource_record_value")],
      ttl: 60,
      allow_overwrite: true,
    },
    { forEach: Object.fromEntries(domains.map((d) => [d, d])) },
  );

  const validation = root.resource(
    "aws_acm_certificate_validation",
    name,
    { certificate_arn: cert.attr("arn"), validation_record_fqdns: expr(`[for r in ${records.address} : r.fqdn]`) },
    onProvider,
  );

  const arn = `arn:aws:acm:${region}:123456789012:certificate/${name === "frontend" ? "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d" : "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e"}`;
  root.overrideInTest(cert, {
    arn,
    domain_validation_options: domains.map((d) => ({
      domain_name: d,
      resource_record_name: `_3f2e1d0c.${d}.`,
      resource_record_type: "CNAME",
      resource_record_value: `_9a8b7c6d.acm-validations.aws.`,
    })),
  });
  root.assert(`${cert.address}.domain_name == "${subject}"`, `the ${name} certificate's subject is ${subject}`);
  if (sans.length > 0) {
    root.assert(`toset(${cert.address}.subject_alternative_names) == toset(${JSON.stringify(sans)})`, `the ${name} certificate covers every listed host`);
  }
  root.assert(`${cert.address}.validation_method == "DNS"`, `the ${name} certificate is DNS-validated`);
  root.assert(`length(${records.address}) == ${domains.length}`, `one validation record per ${name} host`);
  return validation;
}
