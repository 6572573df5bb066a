/**
 * The monthly estimate: what each scope's roots run, priced from the one dated table (prices.ts).
 * Read from the plan's resources after the escape hatch and modules had their say, so it prices
 * what `terraform apply` creates, not what the config meant. Pure and deterministic.
 *
 * Three kinds of resource: priced by the hour or month (a NAT gateway), priced by use only (a log
 * group: listed without a number), and free of their own (a route). Anything else is listed as not
 * priced, never guessed, and so is every line when the config's region is not the table's.
 */
import type { ResolvedConfig } from "@caja/dsl/schema";
import { render, type Entry } from "@caja/modules";
import type { Plan, RootPlan } from "../plan.js";
import { PRICE_TABLE, type PriceTable, type UnitPrice, type UsagePriceKey } from "./prices.js";

/** A config setting behind a line, with its value in this scope: `network.nat` = `per-az`. */
export interface CostDriver {
  readonly setting: string;
  readonly value: string;
}

export interface CostLine {
  /** Stable across compiles (`nat-gateway`): what two estimates are compared by. */
  readonly key: string;
  readonly item: string;
  /** How many, in the line's own unit (gateways, vCPU, GB): what a change reports. */
  readonly count: number;
  /** `2 gateways × 730 h`. */
  readonly quantity: string;
  /** `$0.045 per gateway-hour`, or why there is none. */
  readonly unitPrice: string;
  /** US dollars a month, to the cent; null when the table has no price for it. */
  readonly monthly: number | null;
  readonly drivers: readonly CostDriver[];
  /** `prod/20-network: aws_nat_gateway.nat_0`. */
  readonly resources: readonly string[];
}

export interface UsageLine {
  readonly key: UsagePriceKey;
  readonly item: string;
  readonly price: string;
}

export interface ScopeEstimate {
  readonly scope: string;
  /** The sum of the priced lines; null when no line could be priced (another region). */
  readonly total: number | null;
  readonly lines: readonly CostLine[];
  readonly usage: readonly UsageLine[];
}

export interface Estimate {
  readonly region: string;
  readonly prices: Pick<PriceTable, "region" | "date" | "currency" | "source" | "hoursPerMonth">;
  /** `global` first, then environments, in apply order. */
  readonly scopes: readonly ScopeEstimate[];
}

/** Types with no charge of their own (their cost, if any, is another line's). */
const FREE = new Set([
  "aws_acm_certificate",
  "aws_acm_certificate_validation",
  "aws_appautoscaling_policy",
  "aws_ce_cost_allocation_tag",
  "aws_cloudfront_origin_access_control",
  "aws_cloudfront_response_headers_policy",
  "aws_db_parameter_group",
  "aws_db_subnet_group",
  "aws_default_security_group",
  "aws_ecr_lifecycle_policy",
  "aws_ecs_cluster",
  "aws_ecs_cluster_capacity_providers",
  "aws_ecs_task_definition",
  "aws_egress_only_internet_gateway",
  "aws_elasticache_subnet_group",
  "aws_elasticache_user",
  "aws_elasticache_user_group",
  "aws_iam_openid_connect_provider",
  "aws_iam_policy",
  "aws_iam_role",
  "aws_iam_role_policy",
  "aws_iam_role_policy_attachment",
  "aws_internet_gateway",
  "aws_kms_alias",
  "aws_lb_listener",
  "aws_lb_listener_rule",
  "aws_lb_target_group",
  "aws_route",
  "aws_route53_record",
  "aws_route_table",
  "aws_route_table_association",
  "aws_s3_bucket_lifecycle_configuration",
  "aws_s3_bucket_ownership_controls",
  "aws_s3_bucket_policy",
  "aws_s3_bucket_public_access_block",
  "aws_s3_bucket_server_side_encryption_configuration",
  "aws_s3_bucket_versioning",
  "aws_security_group",
  "aws_sns_topic",
  "aws_sns_topic_policy",
  "aws_subnet",
  "aws_vpc",
  "aws_vpc_security_group_egress_rule",
  "aws_vpc_security_group_ingress_rule",
]);

/** Types whose price is all usage: listed once per scope that has one, in this order. */
const USAGE: readonly (readonly [string, UsagePriceKey, string])[] = [
  ["aws_nat_gateway", "natData", "NAT gateway data processed"],
  ["aws_lb", "albLcu", "Load balancer capacity units (LCU)"],
  ["aws_appautoscaling_target", "fargateScaling", "Fargate tasks added by autoscaling"],
  ["aws_db_instance", "rdsBackup", "RDS backup storage"],
  ["aws_cloudwatch_log_group", "logs", "CloudWatch Logs ingestion and storage"],
  ["aws_flow_log", "flowLogs", "VPC flow logs"],
  ["aws_cloudfront_distribution", "cloudfront", "CloudFront data out and requests"],
  ["aws_s3_bucket", "s3", "S3 storage and requests"],
  ["aws_dynamodb_table", "dynamodb", "DynamoDB requests and backups"],
  ["aws_ecr_repository", "ecr", "ECR image storage"],
  ["aws_route53_zone", "route53Queries", "Route 53 queries"],
  ["aws_sns_topic_subscription", "sns", "SNS notifications"],
  ["aws_secretsmanager_secret", "secretsApi", "Secrets Manager API calls"],
  ["aws_kms_key", "kmsRequests", "KMS requests"],
];
const USAGE_TYPES = new Set(USAGE.map(([type]) => type));

/** What one line accumulates while the scope's resources are read. */
interface Tally {
  item: string;
  count: number;
  /** Unit-hours or unit-months the price applies to. */
  amount: number;
  price: UnitPrice | undefined;
  /** Simple lines count one noun (`gateway`); others describe each resource's share in `parts`. */
  unit?: readonly [string, string];
  parts: string[];
  resources: string[];
  drivers: readonly string[];
  /** Why the line has no price although the table covers the region. */
  missing?: string;
}

export function estimateCost(config: Pick<ResolvedConfig, "region" | "environments">, plan: Pick<Plan, "roots">, table: PriceTable = PRICE_TABLE): Estimate {
  const byScope = new Map<string, RootPlan[]>();
  for (const r of plan.roots) byScope.set(r.scope, [...(byScope.get(r.scope) ?? []), r]);
  const scopes = [...byScope].map(([scope, roots]) => scopeEstimate(scope, roots, config, table));
  const { region, date, currency, source, hoursPerMonth } = table;
  return { region: config.region, prices: { region, date, currency, source, hoursPerMonth }, scopes };
}

function scopeEstimate(scope: string, roots: readonly RootPlan[], config: Pick<ResolvedConfig, "region" | "environments">, table: PriceTable): ScopeEstimate {
  const tallies = new Map<string, Tally>();
  const env = config.environments[scope];
  const hours = table.hoursPerMonth;
  const add: Add = (key, init, count, amount, resource, part) => {
    const t = tallies.get(key) ?? { ...init, count: 0, amount: 0, parts: [], resources: [] };
    t.count += count;
    t.amount += amount;
    if (part) t.parts.push(part);
    t.resources.push(resource);
    tallies.set(key, t);
  };
  const usage = new Set<string>();
  for (const root of roots) {
    const resources = root.builder.entries.filter((e) => e.handle.kind === "resource");
    for (const entry of resources) {
      const type = entry.handle.type;
      const where = `${root.id}: ${entry.handle.address}`;
      if (USAGE_TYPES.has(type)) usage.add(type);
      if (FREE.has(type) || (USAGE_TYPES.has(type) && !PRICED.has(type))) continue;
      const n = instances(entry);
      if (n === undefined) {
        add(`unknown:${type}`, { item: `${type} (instances known only at apply)`, price: undefined, drivers: [], missing: "its count or for_each is known only at apply" }, 0, 0, where);
        continue;
      }
      // Only the types priced by their settings read the body (rendered: its values as written).
      const body = () => render(entry.body) as Record<string, unknown>;
      const f = table.fixed;
      switch (type) {
        case "aws_nat_gateway":
          add("nat-gateway", { item: "NAT gateway", unit: ["gateway", "gateways"], price: f.natGatewayHour, drivers: ["network.nat", "network.azCount"] }, n, n * hours, where);
          break;
        case "aws_eip":
          add("public-ipv4-eip", { item: "Public IPv4 address (Elastic IP)", unit: ["address", "addresses"], price: f.publicIpv4Hour, drivers: ["network.nat", "network.azCount"] }, n, n * hours, where);
          break;
        case "aws_lb":
          priceLoadBalancer(body(), n, where, env, add, table);
          break;
        case "aws_ecs_service":
          priceService(body(), n, where, root, add, table);
          break;
        case "aws_db_instance":
          priceDatabase(body(), n, where, add, table);
          break;
        case "aws_cloudwatch_metric_alarm":
          add("alarms", { item: "CloudWatch alarm", unit: ["alarm", "alarms"], price: f.alarmMonth, drivers: [] }, n, n, where);
          break;
        case "aws_secretsmanager_secret":
          add("secrets", { item: "Secrets Manager secret", unit: ["secret", "secrets"], price: f.secretMonth, drivers: [] }, n, n, where);
          break;
        case "aws_kms_key":
          add("kms-keys", { item: "KMS customer managed key", unit: ["key", "keys"], price: f.kmsKeyMonth, drivers: [] }, n, n, where);
          break;
        case "aws_route53_zone":
          add("hosted-zones", { item: "Route 53 hosted zone", unit: ["zone", "zones"], price: f.hostedZoneMonth, drivers: [] }, n, n, where);
          break;
        default:
          add(`unpriced:${type}`, { item: type, unit: ["resource", "resources"], price: undefined, drivers: [], missing: "no price in caja's table" }, n, 0, where);
      }
    }
  }
  const otherRegion = config.region !== table.region;
  const lines = [...tallies].sort(([a], [b]) => lineOrder(a) - lineOrder(b) || (a < b ? -1 : a > b ? 1 : 0)).map(([key, t]) => toLine(key, t, env, otherRegion ? `no ${config.region} prices in caja's table (it has ${table.region})` : undefined, hours));
  const priced = lines.filter((l) => l.monthly !== null);
  const total = priced.length === 0 ? null : cents(priced.reduce((s, l) => s + Math.round(l.monthly! * 100), 0) / 100);
  return { scope, total, lines, usage: USAGE.filter(([type]) => usage.has(type)).map(([, key, item]) => ({ key, item, price: table.usage[key].price })) };
}

type Add = (key: string, init: Omit<Tally, "count" | "amount" | "parts" | "resources">, count: number, amount: number, resource: string, part?: string) => void;

/** Lines read in the order a bill would group them; anything unpriced last. */
const ORDER = ["nat-gateway", "public-ipv4-eip", "alb", "public-ipv4-alb", "fargate-vcpu", "fargate-memory", "rds-instance", "rds-storage", "secrets", "kms-keys", "alarms", "hosted-zones"];
const PRICED = new Set(["aws_nat_gateway", "aws_eip", "aws_lb", "aws_ecs_service", "aws_db_instance", "aws_cloudwatch_metric_alarm", "aws_secretsmanager_secret", "aws_kms_key", "aws_route53_zone"]);

function lineOrder(key: string): number {
  const i = ORDER.indexOf(key);
  return i < 0 ? ORDER.length : i;
}

/** An internet-facing ALB holds one public IPv4 address per availability zone it spans. */
function priceLoadBalancer(body: Record<string, unknown>, n: number, where: string, env: ResolvedConfig["environments"][string] | undefined, add: Add, table: PriceTable): void {
  const hours = table.hoursPerMonth;
  const kind = body.load_balancer_type ?? "application";
  if (kind !== "application") {
    add(`unpriced:lb-${String(kind)}`, { item: `Load balancer (${String(kind)})`, unit: ["load balancer", "load balancers"], price: undefined, drivers: [], missing: "no price in caja's table" }, n, 0, where);
    return;
  }
  add("alb", { item: "Application Load Balancer", unit: ["load balancer", "load balancers"], price: table.fixed.albHour, drivers: [] }, n, n * hours, where);
  if (body.internal === true) return;
  const subnets = Array.isArray(body.subnets) ? body.subnets.length : env?.network.azCount;
  if (subnets === undefined) {
    add("public-ipv4-alb", { item: "Public IPv4 addresses of the ALB", price: undefined, drivers: [], missing: "the number of availability zones it spans is known only at apply" }, 0, 0, where);
    return;
  }
  add("public-ipv4-alb", { item: "Public IPv4 addresses of the ALB (one per availability zone)", unit: ["address", "addresses"], price: table.fixed.publicIpv4Hour, drivers: Array.isArray(body.subnets) ? [] : ["network.azCount"] }, n * subnets, n * subnets * hours, where);
}

/** Fargate bills the task size (vCPU and memory) of every running task: at the desired count. */
function priceService(body: Record<string, unknown>, n: number, where: string, root: RootPlan, add: Add, table: PriceTable): void {
  const launch = body.launch_type ?? (Array.isArray(body.capacity_provider_strategy) ? "capacity providers" : "EC2");
  const taskDef = /aws_ecs_task_definition\.([A-Za-z0-9_-]+)\./.exec(String(body.task_definition ?? ""))?.[1];
  const def = taskDef === undefined ? undefined : (render(root.builder.find(`aws_ecs_task_definition.${taskDef}`)?.body ?? {}) as Record<string, unknown>);
  const tasks = body.desired_count;
  const vcpu = Number(def?.cpu) / 1024;
  const gb = Number(def?.memory) / 1024;
  const missing =
    launch !== "FARGATE" ? `launch type ${String(launch)}: only Fargate is priced`
    : typeof tasks !== "number" ? "its desired count is known only at apply"
    : !(vcpu > 0 && gb > 0) ? "its task size is known only at apply"
    : undefined;
  if (missing) {
    add(`unpriced:ecs-service`, { item: "ECS service", unit: ["service", "services"], price: undefined, drivers: [], missing }, n, 0, where);
    return;
  }
  const arm = (def?.runtime_platform as { cpu_architecture?: unknown } | undefined)?.cpu_architecture === "ARM64";
  const f = table.fixed;
  const count = n * (tasks as number);
  const arch = arm ? "ARM" : "x86";
  add("fargate-vcpu", { item: `Fargate vCPU (Linux/${arch})`, price: arm ? f.fargateVcpuHourArm : f.fargateVcpuHourX86, drivers: ["service.desiredCount", "service.cpu"] }, count * vcpu, count * vcpu * table.hoursPerMonth, where, `${plural(count, "task")} × ${vcpu} vCPU`);
  add("fargate-memory", { item: `Fargate memory (Linux/${arch})`, price: arm ? f.fargateGbHourArm : f.fargateGbHourX86, drivers: ["service.desiredCount", "service.memory"] }, count * gb, count * gb * table.hoursPerMonth, where, `${plural(count, "task")} × ${gb} GB`);
}

/** Multi-AZ runs a standby of the same class with its own storage: both are billed. */
function priceDatabase(body: Record<string, unknown>, n: number, where: string, add: Add, table: PriceTable): void {
  const engine = String(body.engine ?? "");
  const cls = String(body.instance_class ?? "");
  const copies = body.multi_az === true ? 2 : 1;
  const instances = n * copies;
  const standby = copies === 2 ? " (Multi-AZ: a standby)" : "";
  const hourly = engine === "postgres" ? table.rdsPostgres[cls] : undefined;
  add(
    "rds-instance",
    {
      item: `RDS ${engine === "postgres" ? "PostgreSQL" : engine} instance`,
      price: hourly === undefined ? undefined : { usd: hourly, unit: "instance-hour", page: table.fixed.rdsGp3GbMonth.page },
      drivers: ["db.instanceClass", "db.multiAz"],
      ...(hourly === undefined ? { missing: `no price for ${engine} ${cls} in caja's table` } : {}),
    },
    instances,
    instances * table.hoursPerMonth,
    where,
    `${instances} ${cls}${standby}`,
  );
  // RDS keeps the master password in a secret of its own, billed like any other.
  if (body.manage_master_user_password === true) add("secrets", { item: "Secrets Manager secret", unit: ["secret", "secrets"], price: table.fixed.secretMonth, drivers: [] }, n, n, `${where} (its master password)`);
  const gb = body.allocated_storage;
  const storage = body.storage_type ?? "gp2";
  const priced = storage === "gp3" && typeof gb === "number";
  add(
    "rds-storage",
    {
      item: `RDS ${String(storage)} storage`,
      price: priced ? table.fixed.rdsGp3GbMonth : undefined,
      drivers: ["db.allocatedStorage", "db.multiAz"],
      ...(priced ? {} : { missing: typeof gb === "number" ? `no price for ${String(storage)} storage in caja's table` : "its size is known only at apply" }),
    },
    priced ? (gb as number) * instances : 0,
    priced ? (gb as number) * instances : 0,
    where,
    priced ? `${gb} GB × ${plural(instances, "instance")}` : undefined,
  );
}

function toLine(key: string, t: Tally, env: ResolvedConfig["environments"][string] | undefined, regionNote: string | undefined, hours: number): CostLine {
  const hourly = t.price?.unit.endsWith("-hour") ?? false;
  const counted = t.unit ? plural(t.count, ...t.unit) : t.parts.length === 1 ? t.parts[0]! : t.parts.length > 1 ? `${t.parts.join(" + ")}` : undefined;
  const quantity = counted === undefined || t.count === 0 ? "—" : `${counted}${hourly ? ` × ${hours} h` : ""}`;
  const missing = regionNote ?? (t.price ? undefined : t.missing);
  return {
    key,
    item: t.item,
    count: round(t.count),
    quantity,
    unitPrice: missing ?? `${money(t.price!.usd)} per ${t.price!.unit}`,
    monthly: missing ? null : cents(t.amount * t.price!.usd),
    drivers: env ? t.drivers.map((setting) => ({ setting, value: settingValue(env, setting) })) : [],
    resources: t.resources,
  };
}

/** Instances of a resource block: 1, its literal `count`, its `for_each` keys; undefined when only apply knows. */
function instances(entry: Entry): number | undefined {
  const each = entry.options.forEach;
  if (typeof each === "string") return undefined;
  if (each !== undefined) return Object.keys(each).length;
  const count = entry.body.count;
  if (count === undefined) return 1;
  return typeof count === "number" ? count : undefined;
}

function settingValue(env: object, path: string): string {
  let value: unknown = env;
  for (const key of path.split(".")) value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
  return typeof value === "string" ? value : JSON.stringify(value) ?? "unset";
}

function plural(n: number, one: string, many: string = `${one}s`): string {
  return `${round(n)} ${n === 1 ? one : many}`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function cents(usd: number): number {
  return Math.round(usd * 100) / 100;
}

/** `$1,234.56`; prices below a cent keep their digits (`$0.004445`). */
export function money(usd: number): string {
  const sign = usd < 0 ? "-" : "";
  const abs = Math.abs(usd);
  // A unit price finer than a cent keeps every digit: rounding it would misstate the table.
  if (Math.abs(Math.round(abs * 100) / 100 - abs) > 1e-9) return `${sign}$${String(abs)}`;
  const [whole, frac] = abs.toFixed(2).split(".");
  return `${sign}$${whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${frac}`;
}
