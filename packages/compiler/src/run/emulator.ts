/**
 * `caja emulate`: the whole platform applied, re-planned and destroyed against an AWS emulator
 * (moto). What the emulator cannot do is handled here, explicitly and in one place, on a copy of
 * each root written under `.caja/emulate/` (never in `out/`):
 *
 * - the backend, the provider and every `terraform_remote_state` read point at the emulator
 *   (path-style S3, no credential or region checks), so state really moves between roots through
 *   the emulator's S3 and locks through its DynamoDB;
 * - resources of the types in {@link NOT_EMULATED} are left out, each with the reason, and every
 *   value read from them becomes {@link NOT_EMULATED_VALUE};
 * - what keeps a production root from being destroyed (`prevent_destroy`, deletion protection,
 *   final snapshots, non-empty buckets) is relaxed, so the run can prove it leaves nothing behind.
 *
 * A clean re-plan must show no change; differences the emulator itself causes are ignored only
 * through {@link EMULATOR_DIFFS}, by resource type and attribute, each with the reason.
 */

/** Resource types the emulator cannot create, with the reason; they are left out of the emulated copy. */
export const NOT_EMULATED: Readonly<Record<string, string>> = {
  aws_appautoscaling_target: "the emulator lacks Application Auto Scaling's tag APIs; the provider retries its tag read for many minutes",
  aws_appautoscaling_policy: "needs its aws_appautoscaling_target, which is not emulated",
  aws_ce_cost_allocation_tag: "the emulator does not implement Cost Explorer's cost allocation tag APIs; the provider retries for many minutes",
  aws_cloudfront_response_headers_policy: "the emulator does not implement CloudFront response headers policies (it answers 404)",
};

/** What a value read from a resource that is not emulated becomes. */
export const NOT_EMULATED_VALUE = "caja-not-emulated";

/** Re-plan differences that come from the emulator, not from caja: type → attribute → reason. */
export const EMULATOR_DIFFS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  aws_cloudfront_distribution: {
    origin: "the emulator drops the origin's origin_access_control_id",
    viewer_certificate: "the emulator reports its default certificate instead of the ACM one",
    default_cache_behavior: "the emulator does not return every field of the default cache behaviour it was given",
  },
  aws_db_instance: {
    performance_insights_enabled: "the emulator does not implement Performance Insights",
    performance_insights_retention_period: "the emulator does not implement Performance Insights",
    performance_insights_kms_key_id: "the emulator does not implement Performance Insights",
  },
  aws_db_parameter_group: { parameter: "the emulator omits each parameter's apply method" },
  aws_ecs_service: {
    availability_zone_rebalancing: "the emulator does not return availability_zone_rebalancing",
    enable_ecs_managed_tags: "the emulator does not return enableECSManagedTags",
    health_check_grace_period_seconds: "the emulator does not return healthCheckGracePeriodSeconds",
  },
  aws_vpc_security_group_egress_rule: { description: "the emulator drops the description of a rule that refers to another security group" },
  aws_vpc_security_group_ingress_rule: { description: "the emulator drops the description of a rule that refers to another security group" },
};

export interface EmulatedRoot {
  /** The root document as the emulator runs it. */
  readonly doc: Record<string, unknown>;
  /** Resources left out, as `type.name`, with the reason. */
  readonly notEmulated: readonly { readonly address: string; readonly reason: string }[];
  /** Resources changed for the emulator beyond teardown, with what and why. */
  readonly adjusted: readonly { readonly address: string; readonly reason: string }[];
  /** Resources that remain (what the run creates). */
  readonly resources: number;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * The root exactly as compiled, pointed at the emulator and nothing else: a plan of it against the
 * emulated state shows what caja emits with every reference resolved (what checkov reads). It is
 * planned, never applied. Pure.
 */
export function faithfulRoot(original: Record<string, unknown>, endpoint: string): Record<string, unknown> {
  return pointedAt(structuredClone(original) as { [key: string]: Json }, endpoint);
}

/** The emulated copy of one root's `main.tf.json`. Pure. */
export function emulatedRoot(original: Record<string, unknown>, endpoint: string): EmulatedRoot {
  const doc = structuredClone(original) as { [key: string]: Json };
  const resources = (doc.resource ?? {}) as { [type: string]: { [name: string]: { [key: string]: Json } } };
  const removed: { address: string; reason: string }[] = [];
  for (const [type, reason] of Object.entries(NOT_EMULATED)) {
    for (const name of Object.keys(resources[type] ?? {})) removed.push({ address: `${type}.${name}`, reason });
    delete resources[type];
  }
  if (doc.resource && Object.keys(resources).length === 0) delete doc.resource;

  const adjusted: { address: string; reason: string }[] = [];
  for (const [type, byName] of Object.entries(resources)) {
    for (const body of Object.values(byName)) teardownable(type, body);
  }
  for (const [name, body] of Object.entries(resources.aws_subnet ?? {})) {
    const ipv6 = Object.keys(body).filter((k) => IPV6_SUBNET_ATTRIBUTES.includes(k));
    if (ipv6.length === 0) continue;
    for (const k of ipv6) delete body[k];
    adjusted.push({ address: `aws_subnet.${name}`, reason: `${ipv6.join(", ")} left out: the emulator never reports a subnet's IPv6 block as associated, and the provider waits for it until it fails` });
  }
  for (const [name, body] of Object.entries(resources.aws_s3_bucket_policy ?? {})) {
    const kept = withoutConditionalDenies(body.policy);
    if (kept === undefined) continue;
    adjusted.push({ address: `aws_s3_bucket_policy.${name}`, reason: CONDITIONAL_DENY });
    if (kept === null) {
      delete resources.aws_s3_bucket_policy![name];
      removed.push({ address: `aws_s3_bucket_policy.${name}`, reason: CONDITIONAL_DENY });
    } else body.policy = kept;
  }
  if (resources.aws_s3_bucket_policy && Object.keys(resources.aws_s3_bucket_policy).length === 0) delete resources.aws_s3_bucket_policy;
  const addresses = removed.map((r) => r.address);
  const rewritten = addresses.length > 0 ? (withoutReferences(doc, addresses) as { [key: string]: Json }) : doc;

  pointedAt(rewritten, endpoint);
  const count = Object.values((rewritten.resource ?? {}) as object).reduce((n: number, byName) => n + Object.keys(byName as object).length, 0);
  return { doc: rewritten, notEmulated: removed.filter((r) => r.reason !== CONDITIONAL_DENY), adjusted, resources: count };
}

/** The backend, the provider and every remote-state read of `doc` pointed at the emulator (in place). */
function pointedAt(doc: { [key: string]: Json }, endpoint: string): { [key: string]: Json } {
  const terraform = doc.terraform as { [key: string]: Json } | undefined;
  const backend = terraform?.backend as { [key: string]: Json } | undefined;
  if (backend?.s3) backend.s3 = { ...(backend.s3 as { [key: string]: Json }), ...s3Settings(endpoint) };
  const providers = (doc.provider as { aws?: Json } | undefined)?.aws;
  for (const block of Array.isArray(providers) ? providers : providers ? [providers] : []) Object.assign(block as object, PROVIDER_SETTINGS);
  const remote = ((doc.data as { [key: string]: Json } | undefined)?.terraform_remote_state ?? {}) as { [name: string]: { backend?: Json; config?: Json } };
  for (const read of Object.values(remote)) {
    if (read.backend === "s3") read.config = { ...(read.config as { [key: string]: Json }), ...s3Settings(endpoint) };
  }
  return doc;
}

/** A subnet's IPv6 settings (the VPC keeps its IPv6 block). */
const IPV6_SUBNET_ATTRIBUTES = ["ipv6_cidr_block", "assign_ipv6_address_on_creation", "enable_dns64", "enable_resource_name_dns_aaaa_record_on_launch", "ipv6_native"];

const CONDITIONAL_DENY =
  "its Deny statements with a Condition (TLS only) are left out: the emulator ignores conditions in bucket policies, so each would deny every request";

/**
 * A bucket policy without its conditional Deny statements: the policy text, `null` when nothing
 * is left (the policy is then left out), `undefined` when it has none.
 */
function withoutConditionalDenies(policy: Json | undefined): string | null | undefined {
  if (typeof policy !== "string") return undefined;
  let doc: { Statement?: { Effect?: string; Condition?: unknown }[] };
  try {
    doc = JSON.parse(policy) as typeof doc;
  } catch {
    return undefined;
  }
  const statements = doc.Statement ?? [];
  const kept = statements.filter((st) => !(st.Effect === "Deny" && st.Condition));
  if (kept.length === statements.length) return undefined;
  return kept.length === 0 ? null : JSON.stringify({ ...doc, Statement: kept });
}

/**
 * Provider settings for the emulator (its endpoint comes from AWS_ENDPOINT_URL). The emulator
 * speaks TLS with a certificate of its own, and has to: the state bucket's policy denies every
 * request that is not over TLS, and the emulator enforces bucket policies.
 */
const PROVIDER_SETTINGS = { s3_use_path_style: true, skip_credentials_validation: true, skip_metadata_api_check: true, insecure: true } as const;

/** What the S3 backend (and a remote-state read through it) needs to use the emulator. */
function s3Settings(endpoint: string): { [key: string]: Json } {
  return {
    endpoints: { s3: endpoint, dynamodb: endpoint, sts: endpoint, iam: endpoint },
    use_path_style: true,
    skip_credentials_validation: true,
    skip_requesting_account_id: true,
    skip_metadata_api_check: true,
    skip_region_validation: true,
    insecure: true,
  };
}

/** Relax what would keep the emulated run from destroying a resource. */
function teardownable(type: string, body: { [key: string]: Json }): void {
  const lifecycle = body.lifecycle as { [key: string]: Json } | undefined;
  if (lifecycle && "prevent_destroy" in lifecycle) lifecycle.prevent_destroy = false;
  if (type === "aws_s3_bucket") body.force_destroy = true;
  if (type === "aws_db_instance") Object.assign(body, { deletion_protection: false, skip_final_snapshot: true });
  if (type === "aws_lb") body.enable_deletion_protection = false;
  if (type === "aws_dynamodb_table" && "deletion_protection_enabled" in body) body.deletion_protection_enabled = false;
}

/** Every string that refers to a removed resource becomes the placeholder; `depends_on` drops it. */
function withoutReferences(value: Json, addresses: readonly string[]): Json {
  const refers = (s: string) => addresses.some((a) => s.includes(`${a}.`) || s.includes(`${a}}`) || s.includes(`${a}[`));
  const walk = (v: Json, key?: string): Json => {
    if (typeof v === "string") return v.includes("${") && refers(v) ? NOT_EMULATED_VALUE : v;
    if (Array.isArray(v)) return key === "depends_on" ? v.filter((d) => !(typeof d === "string" && addresses.some((a) => d === a || d.startsWith(`${a}[`)))) : v.map((x) => walk(x));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    return v;
  };
  return walk(value);
}

/** One resource's change in a re-plan, as `terraform show -json` gives it. */
export interface ResourceChange {
  readonly address: string;
  readonly type: string;
  readonly change: { readonly actions: readonly string[]; readonly before?: unknown; readonly after?: unknown };
}

export interface ReplanVerdict {
  /** Changes caja is responsible for: the run fails on any. */
  readonly changes: readonly string[];
  /** Differences the emulator causes, with the reason they are ignored. */
  readonly ignored: readonly string[];
}

/**
 * Judge a re-plan: nothing may change, except in-place updates whose every changed top-level
 * attribute is listed for its type in {@link EMULATOR_DIFFS}.
 */
export function judgeReplan(changes: readonly ResourceChange[]): ReplanVerdict {
  const bad: string[] = [];
  const ignored: string[] = [];
  for (const rc of changes) {
    const actions = rc.change.actions;
    if (actions.every((a) => a === "no-op" || a === "read")) continue;
    const listed = EMULATOR_DIFFS[rc.type] ?? {};
    if (actions.length === 1 && actions[0] === "update") {
      const changed = changedAttributes(rc.change.before, rc.change.after);
      const unexplained = changed.filter((a) => !(a in listed));
      if (changed.length > 0 && unexplained.length === 0) {
        ignored.push(`${rc.address}: ${changed.map((a) => `${a} (${listed[a]})`).join(", ")}`);
        continue;
      }
      bad.push(`${rc.address}: update ${unexplained.join(", ") || "(no attribute differs)"}`);
      continue;
    }
    bad.push(`${rc.address}: ${actions.join("+")}`);
  }
  return { changes: bad, ignored };
}

/** Top-level attributes whose values differ (unknown-after-apply values count as differing). */
export function changedAttributes(before: unknown, after: unknown): string[] {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  return [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k])).sort();
}
