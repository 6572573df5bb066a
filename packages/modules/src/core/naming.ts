/**
 * Resource names: `{project}-{env}-{component}` by default, shortened deterministically where an
 * AWS limit applies. A shortened name keeps its readable head and gains a hash of the full name,
 * so it is stable across compiles and two long names rarely collide; when they do, the engine
 * reports the collision instead of letting AWS reject the second apply.
 */
import { fnv1a } from "../../../dsl/src/hash.js";

/** Name rules of one kind of AWS resource (provider validators and API limits). */
export interface NameRule {
  /** What the name belongs to, for collision reports: names collide only within a kind. */
  readonly kind: string;
  readonly max: number;
  /** Lowercase only (S3, RDS). */
  readonly lowercase?: boolean;
  /** Characters allowed besides letters and digits. */
  readonly extra?: string;
  /** The kind's names are unique per account (IAM) or globally (S3), not only per environment. */
  readonly global?: boolean;
}

export const NAME_RULES = {
  alb: { kind: "aws_lb", max: 32 },
  targetGroup: { kind: "aws_lb_target_group", max: 32 },
  rds: { kind: "aws_db_instance", max: 63, lowercase: true },
  dbSubnetGroup: { kind: "aws_db_subnet_group", max: 255, lowercase: true },
  dbParameterGroup: { kind: "aws_db_parameter_group", max: 255, lowercase: true },
  iamRole: { kind: "aws_iam_role", max: 64, extra: "_+=,.@", global: true },
  iamPolicy: { kind: "aws_iam_policy", max: 128, extra: "_+=,.@", global: true },
  s3Bucket: { kind: "aws_s3_bucket", max: 63, lowercase: true, global: true },
  ecrRepository: { kind: "aws_ecr_repository", max: 256, lowercase: true, extra: "_./" },
  ecsCluster: { kind: "aws_ecs_cluster", max: 255, extra: "_" },
  ecsService: { kind: "aws_ecs_service", max: 255, extra: "_" },
  ecsFamily: { kind: "aws_ecs_task_definition", max: 255, extra: "_" },
  securityGroup: { kind: "aws_security_group", max: 255, extra: "_" },
  snsTopic: { kind: "aws_sns_topic", max: 256, extra: "_" },
  logGroup: { kind: "aws_cloudwatch_log_group", max: 512, extra: "_/.#" },
  alarm: { kind: "aws_cloudwatch_metric_alarm", max: 255, extra: "_/.#" },
  secret: { kind: "aws_secretsmanager_secret", max: 512, extra: "_/+=.@" },
  kmsAlias: { kind: "aws_kms_alias", max: 256, extra: "_/" },
  dynamodbTable: { kind: "aws_dynamodb_table", max: 255, extra: "_." },
  oac: { kind: "aws_cloudfront_origin_access_control", max: 64, extra: "_" },
  responseHeadersPolicy: { kind: "aws_cloudfront_response_headers_policy", max: 128, extra: "_" },
  scalingPolicy: { kind: "aws_appautoscaling_policy", max: 255, extra: "_" },
  generic: { kind: "name", max: 255, extra: "_" },
} as const satisfies Record<string, NameRule>;

export interface NameParts {
  readonly pattern: string;
  readonly project: string;
  readonly env: string;
}

/** The name of `component` under `rule`, shortened with a stable hash suffix when over the limit. */
export function resourceName(parts: NameParts, component: string, rule: NameRule): string {
  const full = parts.pattern
    .replaceAll("{project}", parts.project)
    .replaceAll("{env}", parts.env)
    .replaceAll("{component}", component);
  return fitName(full, rule);
}

/** `name` made to fit `rule`: illegal characters dropped, case folded, shortened with a hash. */
export function fitName(name: string, rule: NameRule): string {
  const allowed = new RegExp(`[^A-Za-z0-9${escapeClass(rule.extra ?? "")}-]`, "g");
  let clean = name.replace(allowed, "-");
  if (rule.lowercase) clean = clean.toLowerCase();
  clean = clean.replace(/-{2,}/g, "-").replace(/^-+|-+$/g, "");
  if (clean.length <= rule.max) return clean;
  const hash = shortHash(name);
  const head = clean.slice(0, rule.max - hash.length - 1).replace(/[-_.]+$/, "");
  return `${head}-${hash}`;
}

/** Six base-36 characters of FNV-1a: stable, short, lowercase-safe. */
export function shortHash(text: string): string {
  return fnv1a(text).toString(36).padStart(7, "0").slice(-6);
}

function escapeClass(chars: string): string {
  return chars.replace(/[\\\]^/-]/g, (c) => `\\${c}`);
}
