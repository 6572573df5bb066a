/**
 * The DNS module: A and AAAA alias records for each of the environment's hosts, app hosts to
 * CloudFront and api hosts to the ALB, in the root domain's zone.
 */
import { describe, expect, it } from "vitest";
import { ALB, BOOTSTRAP, DOMAIN, STATIC_SITE } from "@caja/modules";
import { validateRoot } from "../../packages/modules/src/aws/validate.js";
import { dns } from "../../packages/modules/src/dns.js";
import { staticSite } from "../../packages/modules/src/static-site.js";
import { baseConfig, compileWith, resources, rootJson, testJson } from "../helpers.js";
import { phasesFor, standIn, terraformCheck } from "../modules-harness.js";

const bootstrapStandIn = standIn(BOOTSTRAP, {
  state_bucket_name: "caja-terraform-state",
  dynamodb_lock_table: "caja-terraform-locks",
  hosted_zone_id: "Z0123456789ABCDEFGHIJ",
  name_servers: ["ns-1536.awsdns-00.co.uk", "ns-0.awsdns-00.com", "ns-1024.awsdns-00.org", "ns-512.awsdns-00.net"],
});
const albStandIn = standIn(ALB, {
  alb_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/caja-dev-alb/50dc6c495c0c9188",
  alb_arn_suffix: "app/caja-dev-alb/50dc6c495c0c9188",
  alb_dns_name: "caja-dev-alb-1234567890.us-east-1.elb.amazonaws.com",
  alb_zone_id: "Z35SXDOTRQ7X7K",
  target_group_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/caja-dev-api/73e2d6bc24d8a067",
  target_group_arn_suffix: "targetgroup/caja-dev-api/73e2d6bc24d8a067",
  https_listener_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/caja-dev-alb/50dc6c495c0c9188/f2f7dc8efc522ab2",
});
const staticSiteStandIn = standIn(STATIC_SITE, {
  bucket_name: "caja-dev-web",
  bucket_arn: "arn:aws:s3:::caja-dev-web",
  distribution_id: "E2QWRUHAPOMQZL",
  distribution_arn: "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL",
  distribution_domain_name: "d111111abcdef8.cloudfront.net",
  distribution_hosted_zone_id: "Z2FDTNDATAQYW2",
});
const phases = phasesFor([dns], [bootstrapStandIn, albStandIn, staticSiteStandIn], { number: 7, dir: "70-dns" });
const compile = (config: unknown = baseConfig()) => compileWith(config, { phases });
const noSubdomains = () => compile({ ...baseConfig(), domain: { root: "dbash.dev", namespace: "caja", envSubdomains: false } });

const compiled = compile();
const DEV = "dev/70-dns";
const PROD = "prod/70-dns";
const records = (c = compiled, root = DEV) => resources(c, root, "aws_route53_record");
const ENV = "data.terraform_remote_state.standins_env.outputs";

describe("dns records", () => {
  it("gives prod the primary hosts, A and AAAA each", () => {
    const r = records(compiled, PROD);
    expect(Object.keys(r).sort()).toEqual(["api_a", "api_aaaa", "app_a", "app_aaaa"]);
    expect(r.app_a.for_each).toEqual({ "app.caja.dbash.dev": "app.caja.dbash.dev" });
    expect(r.api_a.for_each).toEqual({ "api.caja.dbash.dev": "api.caja.dbash.dev" });
    expect(r.app_aaaa.for_each).toEqual(r.app_a.for_each);
    expect(r.api_aaaa.for_each).toEqual(r.api_a.for_each);
    expect([r.app_a.type, r.app_aaaa.type, r.api_a.type, r.api_aaaa.type]).toEqual(["A", "AAAA", "A", "AAAA"]);
    for (const rec of Object.values(r)) expect(rec.name).toBe("${each.key}");
  });

  it("gives dev its own app.dev.* and api.dev.* hosts, and nothing of prod's", () => {
    const r = records(compiled, DEV);
    expect(r.app_a.for_each).toEqual({ "app.dev.caja.dbash.dev": "app.dev.caja.dbash.dev" });
    expect(r.app_aaaa.for_each).toEqual({ "app.dev.caja.dbash.dev": "app.dev.caja.dbash.dev" });
    expect(r.api_a.for_each).toEqual({ "api.dev.caja.dbash.dev": "api.dev.caja.dbash.dev" });
    expect(r.api_aaaa.for_each).toEqual({ "api.dev.caja.dbash.dev": "api.dev.caja.dbash.dev" });
    expect(JSON.stringify(rootJson(compiled, DEV))).not.toContain('"app.caja.dbash.dev"');
  });

  it("aliases app hosts to the CloudFront distribution, without target health", () => {
    for (const label of ["app_a", "app_aaaa"]) {
      expect(records()[label].alias).toEqual({
        name: `\${${ENV}.distribution_domain_name}`,
        zone_id: `\${${ENV}.distribution_hosted_zone_id}`,
        evaluate_target_health: false,
      });
    }
  });

  it("aliases api hosts to the ALB, evaluating target health", () => {
    for (const label of ["api_a", "api_aaaa"]) {
      expect(records()[label].alias).toEqual({ name: `\${${ENV}.alb_dns_name}`, zone_id: `\${${ENV}.alb_zone_id}`, evaluate_target_health: true });
    }
  });

  it("puts every record in the root domain's zone and never takes over an existing record", () => {
    for (const rec of Object.values(records())) {
      expect(rec.zone_id).toBe("${data.terraform_remote_state.standins_global.outputs.hosted_zone_id}");
      expect(rec.allow_overwrite).toBe(false);
    }
  });

  it("receives CloudFront's zone id as a literal from the real static-site module", () => {
    const domainStandIn = standIn(DOMAIN, {
      frontend_certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
      api_certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
      app_domains: ["app.caja.dbash.dev"],
      api_domains: ["api.caja.dbash.dev"],
    });
    const real = compileWith(baseConfig(), { phases: phasesFor([dns], [bootstrapStandIn, domainStandIn, albStandIn, staticSite], { number: 7, dir: "70-dns" }) });
    const alias = resources(real, PROD, "aws_route53_record").app_a.alias;
    expect(alias.zone_id).toBe("Z2FDTNDATAQYW2");
    expect(alias.name).toBe(`\${${ENV}.distribution_domain_name}`);
  });

  it("exports the hosts it covers as literal lists", () => {
    expect(rootJson(compiled, PROD).output.app_fqdns.value).toEqual(["app.caja.dbash.dev"]);
    expect(rootJson(compiled, PROD).output.api_fqdns.value).toEqual(["api.caja.dbash.dev"]);
    expect(rootJson(compiled, DEV).output.app_fqdns.value).toEqual(["app.dev.caja.dbash.dev"]);
    expect(rootJson(compiled, DEV).output.api_fqdns.value).toEqual(["api.dev.caja.dbash.dev"]);
  });

  it("still compiles a root for an environment without hosts: no records, no remote reads, empty outputs", () => {
    const c = noSubdomains();
    const dev = rootJson(c, DEV);
    expect(dev.resource).toBeUndefined();
    expect(dev.data).toBeUndefined();
    expect(dev.output.app_fqdns.value).toEqual([]);
    expect(dev.output.api_fqdns.value).toEqual([]);
    expect(Object.keys(records(c, PROD)).sort()).toEqual(["api_a", "api_aaaa", "app_a", "app_aaaa"]);
    expect(validateRoot(dev)).toEqual([]);
  });

  it("asserts record types, counts and targets in the mock apply", () => {
    const messages = testJson(compiled, DEV).run[0].mock_apply.assert.map((a: any) => a.error_message);
    expect(messages).toEqual(
      expect.arrayContaining([
        "one A record per app host",
        "one AAAA record per app host",
        "one A record per api host",
        "one AAAA record per api host",
        "the app A records alias the CloudFront distribution",
        "the api AAAA records alias the ALB",
      ]),
    );
  });

  it("passes the provider schema check for dev and prod", () => {
    expect(validateRoot(rootJson(compiled, DEV))).toEqual([]);
    expect(validateRoot(rootJson(compiled, PROD))).toEqual([]);
  });

  it("validates and mock-applies with terraform (dev, prod, and an env without hosts)", { timeout: 300_000 }, async () => {
    for (const [c, root] of [[compiled, DEV], [compiled, PROD], [noSubdomains(), DEV]] as const) {
      const check = await terraformCheck(c, root);
      if (!check) return;
      expect(check.ok ? "" : `${root} failed at ${check.failedStep}:\n${check.detail}`).toBe("");
      expect(check.runsPassed, root).toBeGreaterThan(0);
    }
  });
});
