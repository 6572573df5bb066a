/**
 * Phase 7 — DNS (plan section 6): alias records for the environment's hosts, created only once
 * their targets exist.
 *
 * Inputs:
 * - `env.hosts.app` → `A` and `AAAA` aliases to the CloudFront distribution (static-site
 *   `distribution_domain_name`, `distribution_hosted_zone_id`).
 * - `env.hosts.api` → `A` and `AAAA` aliases to the ALB (alb `alb_dns_name`, `alb_zone_id`).
 * - `hosted_zone_id`: the bootstrap module's zone of the root domain.
 * The prod (primary) environment owns `app.<ns>.<root>` / `api.<ns>.<root>`; with env subdomains on,
 * the others own `app.<env>.<ns>.<root>` / `api.<env>.<ns>.<root>` (resolved in `env.hosts`).
 *
 * Outputs: `app_fqdns`, `api_fqdns` — the hosts given records here (compile-time lists).
 *
 * Records are keyed by host (known at compile time), so adding an environment's host never
 * reshuffles the others. Alias records to both IP families: CloudFront and the ALB are dual-stack.
 * CloudFront targets do not support `evaluate_target_health`; the ALB's does, so an ALB without
 * healthy targets drops out of DNS answers. `allow_overwrite = false`: an existing record of the
 * same name (made by hand or another tool) fails the apply instead of being silently taken over.
 *
 * An environment without hosts (env subdomains off, not prod) still gets this root, with no records
 * and empty outputs: the phase table stays the same for every environment, so CI applies the same
 * roots everywhere and consumers of `app_fqdns` need no special case.
 */
import { expr, soleExpression } from "./core/expr.js";
import { defineModule, type EnvContext } from "./core/module.js";
import { ALB, BOOTSTRAP, DNS, STATIC_SITE } from "./contracts.js";

interface AliasTarget {
  readonly name: string;
  readonly zoneId: string;
  readonly evaluateTargetHealth: boolean;
}

export const dns = defineModule(DNS, (ctx) => {
  const { root, env } = ctx;
  const app = [...env.hosts.app];
  const api = [...env.hosts.api];

  // Read only what is used: an environment without hosts does not depend on the other phases' state.
  if (app.length > 0 || api.length > 0) {
    const zoneId = ctx.read(BOOTSTRAP, "hosted_zone_id") as string;
    if (app.length > 0) {
      aliasRecords(ctx, "app", app, zoneId, {
        name: ctx.read(STATIC_SITE, "distribution_domain_name") as string,
        zoneId: ctx.read(STATIC_SITE, "distribution_hosted_zone_id") as string,
        evaluateTargetHealth: false,
      });
    }
    if (api.length > 0) {
      aliasRecords(ctx, "api", api, zoneId, {
        name: ctx.read(ALB, "alb_dns_name") as string,
        zoneId: ctx.read(ALB, "alb_zone_id") as string,
        evaluateTargetHealth: true,
      });
    }
  }

  root.output("app_fqdns", { value: app, description: "Frontend hosts with alias records to CloudFront in this environment.", example: app });
  root.output("api_fqdns", { value: api, description: "API hosts with alias records to the ALB in this environment.", example: api });
});

/** `A` and `AAAA` alias records for each of `hosts`, as `<label>_a` / `<label>_aaaa` keyed by host. */
function aliasRecords(ctx: EnvContext, label: string, hosts: readonly string[], zoneId: string, target: AliasTarget): void {
  const { root } = ctx;
  const forEach = Object.fromEntries(hosts.map((h) => [h, h]));
  for (const type of ["A", "AAAA"] as const) {
    const records = root.resource(
      "aws_route53_record",
      `${label}_${type.toLowerCase()}`,
      {
        zone_id: zoneId,
        name: expr("each.key"),
        type,
        allow_overwrite: false,
        alias: { name: target.name, zone_id: target.zoneId, evaluate_target_health: target.evaluateTargetHealth },
      },
      { forEach },
    );
    const all = (cond: string) => `alltrue([for r in values(${records.address}) : ${cond}])`;
    root.assert(`length(${records.address}) == ${hosts.length} && ${all(`r.type == "${type}"`)}`, `one ${type} record per ${label} host`);
    root.assert(
      all(`r.alias[0].name == ${hcl(target.name)} && r.alias[0].zone_id == ${hcl(target.zoneId)} && r.alias[0].evaluate_target_health == ${target.evaluateTargetHealth}`),
      `the ${label} ${type} records alias ${label === "app" ? "the CloudFront distribution" : "the ALB"}`,
    );
    root.assert(all(`r.zone_id == ${hcl(zoneId)}`), `the ${label} ${type} records are in the root domain's zone`);
  }
}

/** A value as plain HCL for an assertion: the expression it holds, or its literal. */
function hcl(value: string): string {
  return soleExpression(value) ?? JSON.stringify(value);
}
