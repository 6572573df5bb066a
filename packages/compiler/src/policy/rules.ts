/**
 * The security gate's rules, as data: each has an id (what suppressions name), the checkov and
 * trivy checks it stands for (so a reviewer can map caja's report onto the scanner they know), a
 * severity, the resource types it reads, the config field that controls it (when one does), the
 * fix, and a check over one planned resource. The README's rules table is generated from this list.
 *
 * Rules read the Terraform JSON caja will write, not the module code, so an escape-hatch override
 * or raw resource is judged exactly like a generated one. Security-relevant attributes must be
 * literals: `${var.x}` cannot be proven true at compile time, so it does not pass a "must be true".
 */
import type { ResolvedEnvironment } from "@caja/dsl/schema";
import { expr } from "@caja/modules";
import { anyonePrincipal, asList, block, blocks, isObject, shown, soleReference, type PlanView, type PlannedResource, type PolicyStatement } from "./engine.js";
import { findSecrets, redactSecrets } from "./secrets.js";

export type Severity = "block" | "warn";

export interface RuleContext {
  readonly view: PlanView;
  /** The root's environment; undefined in global roots. */
  readonly env: ResolvedEnvironment | undefined;
}

export interface Violation {
  readonly message: string;
  /** The attribute at fault: when an escape-hatch override set it, the finding points there. */
  readonly attribute?: string;
  /** The resource the attribute belongs to, when it is not the one checked (a parameter group, a key). */
  readonly at?: PlannedResource;
}

export type CheckResult = string | Violation | readonly (string | Violation)[] | undefined;

export interface Rule {
  /** Stable id, named by suppressions: `alb-internal`. */
  readonly id: string;
  /** What must hold, as a sentence. */
  readonly title: string;
  readonly severity: Severity;
  readonly checkov: readonly string[];
  readonly trivy: readonly string[];
  /** Resource types the check runs on (`*`: every resource). */
  readonly types: readonly string[];
  /** Only in environments of tier prod. */
  readonly prodOnly?: boolean;
  /** The severity in environments of tier prod, when it is stricter there. */
  readonly prodSeverity?: Severity;
  /** The environment setting that controls it, relative to `environments.<env>` (e.g. `db.deletionProtection`). */
  readonly setting?: string;
  readonly fix: string;
  readonly check: (resource: PlannedResource, ctx: RuleContext) => CheckResult;
}

const SUPPRESS_IF_INTENDED = "If it is intended, suppress the finding under policy.suppressions in caja.config.ts with the reason.";

/** Resources that carry identity policies (what a principal may do), as opposed to resource policies. */
const IDENTITY_POLICY_TYPES = ["aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy", "aws_iam_role"];

/**
 * Actions AWS authorizes only on `"*"` (its service authorization reference lists no resource type
 * for them), so an Allow of them on `"*"` scopes nothing away. Lower case; only exact names: a
 * wildcard such as `ec2:Describe*` also covers actions that do take resources.
 */
const STAR_ONLY_ACTIONS: ReadonlySet<string> = new Set([
  "acm:listcertificates",
  "ce:listcostallocationtags", "ce:updatecostallocationtagsstatus",
  "cloudfront:createoriginaccesscontrol", "cloudfront:listcachepolicies", "cloudfront:listdistributions",
  "cloudfront:listoriginaccesscontrols", "cloudfront:listresponseheaderspolicies",
  "ecr:getauthorizationtoken",
  "route53:listhostedzones", "route53:listhostedzonesbyname", "route53:listhostedzonesbyvpc",
  "sts:getcalleridentity",
]);

export const RULES: readonly Rule[] = [
  // ---------------------------------------------------------------------------------------------
  // RDS
  {
    id: "rds-storage-encrypted",
    title: "RDS storage is encrypted at rest",
    severity: "block", checkov: ["CKV_AWS_16"], trivy: ["AWS-0080"], types: ["aws_db_instance"],
    fix: "Set storage_encrypted = true (caja's database module does; remove the override that turns it off).",
    check: (r) => mustBe(r, "storage_encrypted", true, "the database and its snapshots would be stored unencrypted"),
  },
  {
    id: "rds-not-public",
    title: "RDS instance is not publicly accessible",
    severity: "block", checkov: ["CKV_AWS_17"], trivy: ["AWS-0180"], types: ["aws_db_instance"],
    fix: "Leave publicly_accessible unset or false; reach the database from the ECS tasks' security group only.",
    check: (r) => (r.body.publicly_accessible === false || r.body.publicly_accessible === undefined ? undefined : violation("publicly_accessible", `publicly_accessible is ${shown(r.body.publicly_accessible)}: the instance would get a public DNS name and address`)),
  },
  {
    id: "rds-deletion-protection",
    title: "RDS deletion protection is on in prod",
    severity: "block", checkov: ["CKV_AWS_293"], trivy: ["AWS-0177"], types: ["aws_db_instance"], prodOnly: true, setting: "db.deletionProtection",
    fix: "Set db.deletionProtection to true for the prod environment (its tier default).",
    check: (r) => mustBe(r, "deletion_protection", true, "a destroy or replacement would delete the production database"),
  },
  {
    id: "rds-multi-az",
    title: "RDS runs Multi-AZ in prod",
    severity: "block", checkov: ["CKV_AWS_157"], trivy: [], types: ["aws_db_instance"], prodOnly: true, setting: "db.multiAz",
    fix: "Set db.multiAz to true for the prod environment (its tier default).",
    check: (r) => mustBe(r, "multi_az", true, "one availability zone failure would take the production database down"),
  },
  {
    id: "rds-log-exports",
    title: "RDS exports its logs to CloudWatch",
    severity: "block", checkov: ["CKV_AWS_129"], trivy: [], types: ["aws_db_instance"],
    fix: 'Set enabled_cloudwatch_logs_exports = ["postgresql", "upgrade"] (caja does, with a log group per export).',
    check: (r) => {
      const exports = asList(r.body.enabled_cloudwatch_logs_exports);
      if (exports.length === 0) return violation("enabled_cloudwatch_logs_exports", "no logs are exported to CloudWatch");
      if (String(r.body.engine ?? "").startsWith("postgres") && !exports.includes("postgresql")) {
        return violation("enabled_cloudwatch_logs_exports", `the postgresql log is not exported (exports: ${shown(exports)})`);
      }
      return undefined;
    },
  },
  {
    id: "rds-backup-retention",
    title: "RDS keeps automated backups for at least 2 days",
    severity: "block", checkov: ["CKV_AWS_133"], trivy: ["AWS-0077"], types: ["aws_db_instance"], setting: "db.backupRetentionDays",
    fix: "Set db.backupRetentionDays to 2 or more (the tier defaults are 7 and 14).",
    check: (r) => {
      const days = r.body.backup_retention_period;
      return typeof days === "number" && days >= 2 ? undefined : violation("backup_retention_period", `backup_retention_period is ${shown(days)}${days === undefined ? " (AWS keeps 1 day)" : ""}`);
    },
  },
  {
    id: "rds-copy-tags-to-snapshot",
    title: "RDS copies tags to snapshots",
    severity: "block", checkov: ["CKV2_AWS_60"], trivy: [], types: ["aws_db_instance"],
    fix: "Set copy_tags_to_snapshot = true, so snapshots keep the owner and cost tags.",
    check: (r) => mustBe(r, "copy_tags_to_snapshot", true, "snapshots would lose the owner, environment and cost tags"),
  },
  {
    id: "rds-force-ssl",
    title: "RDS PostgreSQL accepts TLS connections only",
    severity: "block", checkov: ["CKV2_AWS_69"], trivy: [], types: ["aws_db_instance"],
    fix: 'Use a parameter group managed in the same root with rds.force_ssl = "1" (caja\'s database module has one).',
    check: (r, ctx) => parameterCheck(r, ctx, (params) => (params.get("rds.force_ssl") === "1" ? undefined : `rds.force_ssl is ${shown(params.get("rds.force_ssl"))}`)),
  },
  {
    id: "rds-query-logging",
    title: "RDS PostgreSQL logs statements (log_statement, log_min_duration_statement)",
    severity: "block", checkov: ["CKV2_AWS_30"], trivy: [], types: ["aws_db_instance"],
    fix: "Set log_statement and log_min_duration_statement in the instance's parameter group (caja logs DDL and statements over 1 s).",
    check: (r, ctx) =>
      parameterCheck(r, ctx, (params) => {
        const missing = ["log_statement", "log_min_duration_statement"].filter((p) => !params.has(p));
        return missing.length > 0 ? `the parameter group does not set ${missing.join(" and ")}` : undefined;
      }),
  },
  {
    id: "rds-auto-minor-upgrade",
    title: "RDS applies minor engine upgrades",
    severity: "block", checkov: ["CKV_AWS_226"], trivy: [], types: ["aws_db_instance"],
    fix: "Leave auto_minor_version_upgrade unset or true, so security patches are applied in the maintenance window.",
    check: (r) => (r.body.auto_minor_version_upgrade === false ? violation("auto_minor_version_upgrade", "auto_minor_version_upgrade is false: engine security patches would wait for a manual upgrade") : undefined),
  },
  {
    id: "rds-ca-certificate",
    title: "RDS uses a current certificate authority",
    severity: "block", checkov: ["CKV_AWS_211"], trivy: [], types: ["aws_db_instance"],
    fix: 'Set ca_cert_identifier to "rds-ca-rsa2048-g1" (caja\'s choice), "rds-ca-rsa4096-g1" or "rds-ca-ecc384-g1".',
    check: (r) => {
      const ca = r.body.ca_cert_identifier;
      return ca === undefined || ["rds-ca-rsa2048-g1", "rds-ca-rsa4096-g1", "rds-ca-ecc384-g1"].includes(ca as string)
        ? undefined
        : violation("ca_cert_identifier", `ca_cert_identifier is ${shown(ca)}, an expired or retiring authority`);
    },
  },
  {
    id: "rds-enhanced-monitoring",
    title: "RDS has enhanced monitoring",
    severity: "warn", checkov: ["CKV_AWS_118"], trivy: [], types: ["aws_db_instance"],
    fix: "Set monitoring_interval (caja uses 60 s) with a monitoring role.",
    check: (r) => (typeof r.body.monitoring_interval === "number" && r.body.monitoring_interval > 0 ? undefined : violation("monitoring_interval", `monitoring_interval is ${shown(r.body.monitoring_interval)}`)),
  },
  {
    id: "rds-performance-insights",
    title: "RDS has Performance Insights",
    severity: "warn", checkov: ["CKV_AWS_353"], trivy: ["AWS-0133"], types: ["aws_db_instance"],
    fix: "Set performance_insights_enabled = true (7 days of retention are free).",
    check: (r) => mustBe(r, "performance_insights_enabled", true, "slow queries cannot be diagnosed after the fact"),
  },
  {
    id: "rds-iam-authentication",
    title: "RDS accepts IAM database authentication",
    severity: "warn", checkov: ["CKV_AWS_161"], trivy: ["AWS-0176"], types: ["aws_db_instance"],
    fix: "Set iam_database_authentication_enabled = true.",
    check: (r) => mustBe(r, "iam_database_authentication_enabled", true, "database users can only use passwords"),
  },

  // ---------------------------------------------------------------------------------------------
  // ElastiCache (Redis OSS, Valkey)
  {
    id: "elasticache-encrypted-at-rest",
    title: "ElastiCache replication groups are encrypted at rest",
    severity: "block", checkov: ["CKV_AWS_29"], trivy: ["AWS-0045"], types: ["aws_elasticache_replication_group"],
    fix: "Set at_rest_encryption_enabled = true (caja's cache module does). It is chosen when the group is created: turning it on replaces the group.",
    check: (r) => (isOn(r.body.at_rest_encryption_enabled) ? undefined : violation("at_rest_encryption_enabled", `at_rest_encryption_enabled is ${shown(r.body.at_rest_encryption_enabled)}: the cached data and its snapshots would be stored unencrypted`)),
  },
  {
    // A warning: the plan leaves customer-managed keys a cost decision elsewhere (checkov CKV_AWS_136
    // and CKV_AWS_354 are not followed). Encryption at rest itself is the block above; the key only
    // decides whose policy governs reading the data and its snapshots.
    id: "elasticache-encrypted-cmk",
    title: "ElastiCache replication groups are encrypted with a customer-managed KMS key",
    severity: "warn", checkov: ["CKV_AWS_191"], trivy: [], types: ["aws_elasticache_replication_group"],
    fix: "Set kms_key_id to the ARN of a customer-managed aws_kms_key with rotation (caja's cache module creates one per environment).",
    check: (r) => {
      const key = r.body.kms_key_id;
      if (typeof key !== "string" || key === "") return violation("kms_key_id", "kms_key_id is not set: the data is encrypted with a key ElastiCache manages, which no key policy of the account governs");
      return /(?:^|\/|:)alias\/aws\//.test(key) ? violation("kms_key_id", `kms_key_id is ${shown(key)}, an AWS-managed key`) : undefined;
    },
  },
  {
    id: "elasticache-encrypted-in-transit",
    title: "ElastiCache replication groups accept TLS connections only",
    severity: "block", checkov: ["CKV_AWS_30", "CKV_AWS_31"], trivy: ["AWS-0051"], types: ["aws_elasticache_replication_group"],
    fix: 'Set transit_encryption_enabled = true and leave transit_encryption_mode unset or "required" ("preferred" is for moving clients to TLS, and lets them stay without it).',
    check: (r) => {
      if (!isOn(r.body.transit_encryption_enabled)) {
        return violation("transit_encryption_enabled", `transit_encryption_enabled is ${shown(r.body.transit_encryption_enabled)}: clients and replicas would exchange data and credentials in plain text`);
      }
      return r.body.transit_encryption_mode === "preferred" ? violation("transit_encryption_mode", 'transit_encryption_mode is "preferred": clients may still connect without TLS') : undefined;
    },
  },
  {
    id: "elasticache-authentication",
    title: "ElastiCache replication groups require authentication (an RBAC user group, or an AUTH token)",
    severity: "block", checkov: ["CKV_AWS_31"], trivy: [], types: ["aws_elasticache_replication_group"],
    fix: "Set user_group_ids to a user group whose users authenticate with IAM (caja's cache module does), or auth_token from a secret, never a literal.",
    check: (r) => {
      const groups = asList(r.body.user_group_ids).filter((g) => g !== "");
      const token = typeof r.body.auth_token === "string" && r.body.auth_token !== "";
      return groups.length > 0 || token ? undefined : violation("user_group_ids", "neither user_group_ids nor auth_token is set: any client that reaches the port could read and write every key");
    },
  },
  {
    // Every user group holds a user named "default", and a client that does not authenticate gets
    // its permissions: AWS's own "default" user is on, needs no password and may run every command.
    id: "elasticache-default-user-off",
    title: "ElastiCache user groups switch their default user off",
    severity: "block", checkov: [], trivy: [], types: ["aws_elasticache_user_group", "aws_elasticache_replication_group"],
    fix: `Put an aws_elasticache_user with user_name = "default" and an access_string starting with "off" in the group (caja's cache module does), instead of AWS's built-in user "default". A user group managed outside caja cannot be checked: ${SUPPRESS_IF_INTENDED}`,
    check: (r, { view }) => {
      if (r.type === "aws_elasticache_replication_group") {
        return asList(r.body.user_group_ids)
          .filter((g) => view.resolve(r.root, g)?.type !== "aws_elasticache_user_group")
          .map((g) => violation("user_group_ids", `user group ${shown(g)} is not managed by caja, so caja cannot check that its default user is off`));
      }
      const members = [...asList(r.body.user_ids), ...view.referencing(r, "aws_elasticache_user_group_association", "user_group_id").map((a) => a.body.user_id)];
      if (members.includes("default")) return violation("user_ids", 'the group holds AWS\'s built-in user "default": any client that reaches the port may run every command without a password');
      const user = members.map((m) => view.resolve(r.root, m)).find((u) => u?.type === "aws_elasticache_user" && u.body.user_name === "default");
      if (!user) return violation("user_ids", 'no user named "default" in the group is managed in this root, so caja cannot check that it is off');
      const access = user.body.access_string;
      return typeof access === "string" && /^off(?:\s|$)/.test(access)
        ? undefined
        : violation("access_string", `the default user ${user.address} has access_string ${shown(access)}: clients that do not authenticate would get its permissions`, user);
    },
  },
  {
    // Outside prod a lost cache is refilled from the database; in prod it may hold state kept
    // nowhere else, so snapshots are required there.
    id: "elasticache-backups",
    title: "ElastiCache (Redis OSS, Valkey) takes automatic snapshots",
    severity: "warn", prodSeverity: "block", checkov: ["CKV_AWS_134"], trivy: ["AWS-0050"], types: ["aws_elasticache_replication_group", "aws_elasticache_cluster"],
    fix: "Set snapshot_retention_limit to 1 or more days (caja's cache module does).",
    check: (r) => {
      // A member of a replication group takes the group's snapshots; Memcached has none.
      if (r.type === "aws_elasticache_cluster" && (r.body.replication_group_id !== undefined || r.body.engine === "memcached")) return undefined;
      const days = r.body.snapshot_retention_limit;
      return typeof days === "number" && days >= 1 ? undefined : violation("snapshot_retention_limit", `snapshot_retention_limit is ${shown(days)}${days === undefined ? " (no automatic snapshots)" : ""}: a failed node or a bad write could not be restored`);
    },
  },
  {
    id: "elasticache-multi-az",
    title: "ElastiCache fails over automatically to another availability zone in prod",
    severity: "block", checkov: ["CKV2_AWS_50"], trivy: [], types: ["aws_elasticache_replication_group"], prodOnly: true,
    fix: "Run 2 or more nodes with automatic_failover_enabled = true and multi_az_enabled = true in the prod environment (caja's cache module does in prod).",
    check: (r) =>
      (
        [
          ["automatic_failover_enabled", "a failed primary would not be replaced by a replica"],
          ["multi_az_enabled", "one availability zone failure could take the production cache down"],
        ] as const
      )
        .filter(([attribute]) => !isOn(r.body[attribute]))
        .map(([attribute, consequence]) => violation(attribute, `${attribute} is ${shown(r.body[attribute])}: ${consequence}`)),
  },
  {
    id: "elasticache-auto-minor-upgrade",
    title: "ElastiCache applies minor engine upgrades",
    severity: "block", checkov: ["CKV_AWS_322"], trivy: [], types: ["aws_elasticache_replication_group", "aws_elasticache_cluster"],
    fix: "Leave auto_minor_version_upgrade unset or true, so engine security patches are applied in the maintenance window.",
    check: (r) =>
      r.body.engine !== "memcached" && (r.body.auto_minor_version_upgrade === false || r.body.auto_minor_version_upgrade === "false")
        ? violation("auto_minor_version_upgrade", "auto_minor_version_upgrade is false: engine security patches would wait for a manual upgrade")
        : undefined,
  },

  // ---------------------------------------------------------------------------------------------
  // Load balancer
  {
    id: "alb-drop-invalid-headers",
    title: "ALB drops invalid HTTP headers",
    severity: "block", checkov: ["CKV_AWS_131"], trivy: ["AWS-0052"], types: ["aws_lb"],
    fix: "Set drop_invalid_header_fields = true (the provider's default is false; caja sets it).",
    check: (r) => (isApplication(r) ? mustBe(r, "drop_invalid_header_fields", true, "malformed headers would reach the application (request smuggling)") : undefined),
  },
  {
    id: "alb-deletion-protection",
    title: "ALB deletion protection is on in prod",
    severity: "block", checkov: ["CKV_AWS_150"], trivy: [], types: ["aws_lb"], prodOnly: true, setting: "alb.deletionProtection",
    fix: "Set alb.deletionProtection to true for the prod environment (its tier default).",
    check: (r) => mustBe(r, "enable_deletion_protection", true, "a destroy would take the production API offline and free its DNS name"),
  },
  {
    id: "alb-desync-mitigation",
    title: "ALB mitigates HTTP desync (defensive or strictest)",
    severity: "block", checkov: ["CKV_AWS_328"], trivy: [], types: ["aws_lb"],
    fix: 'Set desync_mitigation_mode to "defensive" (caja\'s value) or "strictest".',
    check: (r) => {
      const mode = r.body.desync_mitigation_mode;
      return !isApplication(r) || mode === undefined || mode === "defensive" || mode === "strictest" ? undefined : violation("desync_mitigation_mode", `desync_mitigation_mode is ${shown(mode)}`);
    },
  },
  {
    id: "alb-internal",
    title: "Load balancer is internal",
    severity: "block", checkov: [], trivy: ["AWS-0053"], types: ["aws_lb"],
    fix: `Set internal = true for a load balancer nothing outside the VPC calls. caja's ALB is the API's public entry point by design. ${SUPPRESS_IF_INTENDED}`,
    check: (r) => (r.body.internal === true ? undefined : violation("internal", "the load balancer is internet-facing")),
  },
  {
    id: "alb-waf",
    title: "Internet-facing ALB is protected by a WAF web ACL",
    severity: "block", checkov: ["CKV2_AWS_28"], trivy: [], types: ["aws_lb"],
    fix: `Associate an aws_wafv2_web_acl with the load balancer (aws_wafv2_web_acl_association). ${SUPPRESS_IF_INTENDED}`,
    check: (r, { view }) => {
      if (r.body.internal === true || !isApplication(r)) return undefined;
      const protectedBy = view.ofType("aws_wafv2_web_acl_association").filter((a) => view.resolve(a.root, a.body.resource_arn) === r);
      return protectedBy.length > 0 ? undefined : "no aws_wafv2_web_acl_association points at this internet-facing load balancer";
    },
  },
  {
    id: "alb-http-redirects-only",
    title: "HTTP listeners only redirect to HTTPS",
    severity: "block", checkov: ["CKV_AWS_2", "CKV2_AWS_20"], trivy: ["AWS-0054"], types: ["aws_lb_listener", "aws_lb_listener_rule"],
    fix: 'Give port 80 one default_action { type = "redirect", redirect { protocol = "HTTPS", port = "443", status_code = "HTTP_301" } } and nothing else.',
    check: (r, { view }) => {
      if (r.type === "aws_lb_listener") {
        if (r.body.protocol !== "HTTP") return undefined;
        const bad = blocks(r.body.default_action).filter((a) => !redirectsToHttps(a));
        return bad.length > 0 || blocks(r.body.default_action).length === 0 ? violation("default_action", `plain HTTP listener on port ${shown(r.body.port)} serves traffic instead of redirecting to HTTPS`) : undefined;
      }
      const listener = view.resolve(r.root, r.body.listener_arn);
      if (!listener || listener.body.protocol !== "HTTP") return undefined;
      return blocks(r.body.action).every(redirectsToHttps) ? undefined : violation("action", `rule on the plain HTTP listener ${listener.address} serves traffic instead of redirecting to HTTPS`);
    },
  },
  {
    id: "alb-tls-policy",
    title: "HTTPS listeners use a TLS 1.2+ security policy",
    severity: "block", checkov: ["CKV_AWS_103", "CKV2_AWS_74"], trivy: ["AWS-0047"], types: ["aws_lb_listener"],
    fix: 'Set ssl_policy = "ELBSecurityPolicy-TLS13-1-2-2021-06" (caja\'s choice: TLS 1.2 minimum, TLS 1.3 preferred).',
    check: (r) => {
      if (r.body.protocol !== "HTTPS" && r.body.protocol !== "TLS") return undefined;
      const policy = r.body.ssl_policy;
      if (typeof policy === "string" && /^ELBSecurityPolicy-(?:TLS13-1-[23]-|TLS-1-2-|FS-1-2-)/.test(policy)) return undefined;
      return violation("ssl_policy", `ssl_policy is ${shown(policy)}${policy === undefined ? " (the provider default, ELBSecurityPolicy-2016-08, allows TLS 1.0)" : ", which allows TLS older than 1.2"}`);
    },
  },
  {
    id: "lb-target-group-health-check",
    title: "Target groups have a health check",
    severity: "block", checkov: ["CKV_AWS_261"], trivy: [], types: ["aws_lb_target_group"],
    fix: "Give the target group a health_check block with a path (caja checks the service's healthCheckPath).",
    check: (r) => {
      if (r.body.target_type === "lambda") return undefined;
      const hc = blocks(r.body.health_check);
      if (hc.length === 0) return violation("health_check", "no health_check block: unhealthy tasks would keep receiving traffic");
      return hc[0]!.enabled === false ? violation("health_check", "health_check is disabled") : undefined;
    },
  },
  {
    id: "alb-access-logs",
    title: "ALB writes access logs",
    severity: "warn", checkov: ["CKV_AWS_91"], trivy: [], types: ["aws_lb"],
    fix: "Add an access_logs block pointing at an SSE-S3 bucket with the ELB delivery policy (no caja module owns one yet).",
    check: (r) => {
      const logs = block(r.body.access_logs);
      return isApplication(r) && (logs.enabled === false || typeof logs.bucket !== "string") ? violation("access_logs", "requests to the load balancer are not logged") : undefined;
    },
  },

  // ---------------------------------------------------------------------------------------------
  // S3
  {
    id: "s3-public-access-block",
    title: "S3 buckets block every form of public access",
    severity: "block", checkov: ["CKV2_AWS_6", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"], trivy: ["AWS-0086", "AWS-0087", "AWS-0091", "AWS-0093", "AWS-0094"],
    types: ["aws_s3_bucket", "aws_s3_bucket_public_access_block"],
    fix: "Give the bucket an aws_s3_bucket_public_access_block with all four flags true (caja does for its buckets).",
    check: (r, { view }) => {
      if (r.type === "aws_s3_bucket") {
        return view.referencing(r, "aws_s3_bucket_public_access_block", "bucket").length > 0 ? undefined : "the bucket has no aws_s3_bucket_public_access_block";
      }
      const off = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"].filter((f) => r.body[f] !== true);
      return off.length > 0 ? violation(off[0]!, `${off.join(", ")} ${off.length === 1 ? "is" : "are"} not true`) : undefined;
    },
  },
  {
    id: "s3-encryption",
    title: "S3 buckets have default encryption",
    severity: "block", checkov: ["CKV_AWS_19"], trivy: ["AWS-0088"], types: ["aws_s3_bucket"],
    fix: 'Add aws_s3_bucket_server_side_encryption_configuration with sse_algorithm "AES256" or "aws:kms".',
    check: (r, { view }) => {
      const configs = view.referencing(r, "aws_s3_bucket_server_side_encryption_configuration", "bucket");
      const ok = configs.some((c) => blocks(c.body.rule).some((rule) => ["AES256", "aws:kms", "aws:kms:dsse"].includes(block(rule.apply_server_side_encryption_by_default).sse_algorithm as string)));
      return ok ? undefined : "the bucket has no server-side encryption configuration";
    },
  },
  {
    id: "s3-versioning",
    title: "S3 buckets are versioned",
    severity: "block", checkov: ["CKV_AWS_21"], trivy: ["AWS-0090"], types: ["aws_s3_bucket"],
    fix: 'Add aws_s3_bucket_versioning with versioning_configuration { status = "Enabled" }.',
    check: (r, { view }) => {
      const ok = view.referencing(r, "aws_s3_bucket_versioning", "bucket").some((v) => block(v.body.versioning_configuration).status === "Enabled");
      return ok ? undefined : "versioning is not enabled: an overwrite or delete cannot be undone";
    },
  },
  {
    id: "s3-ownership-enforced",
    title: "S3 buckets enforce bucket-owner ownership (ACLs off)",
    severity: "block", checkov: ["CKV2_AWS_65"], trivy: [], types: ["aws_s3_bucket"],
    fix: 'Add aws_s3_bucket_ownership_controls with rule { object_ownership = "BucketOwnerEnforced" }.',
    check: (r, { view }) => {
      const ok = view.referencing(r, "aws_s3_bucket_ownership_controls", "bucket").some((o) => block(o.body.rule).object_ownership === "BucketOwnerEnforced");
      return ok ? undefined : "ACLs are not disabled (no BucketOwnerEnforced ownership controls)";
    },
  },
  {
    id: "s3-tls-only",
    title: "S3 bucket policies deny requests without TLS",
    severity: "block", checkov: [], trivy: [], types: ["aws_s3_bucket"],
    fix: 'Add a bucket policy statement denying s3:* when aws:SecureTransport is "false" (caja\'s buckets have one, and deny TLS < 1.2).',
    check: (r, { view }) => {
      const ok = view.referencing(r, "aws_s3_bucket_policy", "bucket").some((p) =>
        (view.statements(p.root, p.body.policy) ?? []).some(
          (s) => s.effect === "Deny" && anyonePrincipal(s) && s.actions.some((a) => a === "s3:*" || a === "*") && conditionValues(s, "Bool", "aws:SecureTransport").some((v) => String(v) === "false"),
        ),
      );
      return ok ? undefined : "no bucket policy denies plain-HTTP requests (aws:SecureTransport = false)";
    },
  },
  {
    id: "s3-no-public-grants",
    title: "S3 buckets grant nothing to everyone (no public ACL or policy)",
    severity: "block", checkov: ["CKV_AWS_20", "CKV_AWS_57", "CKV_AWS_70"], trivy: ["AWS-0092"], types: ["aws_s3_bucket", "aws_s3_bucket_acl", "aws_s3_bucket_policy"],
    fix: "Remove the public ACL, and grant access to named principals (CloudFront through OAC, with aws:SourceArn) instead of Principal \"*\".",
    check: (r, { view }) => {
      const publicAcl = (acl: unknown) => ["public-read", "public-read-write", "authenticated-read"].includes(acl as string);
      if (r.type === "aws_s3_bucket" || r.type === "aws_s3_bucket_acl") return publicAcl(r.body.acl) ? violation("acl", `acl is ${shown(r.body.acl)}`) : undefined;
      const open = (view.statements(r.root, r.body.policy) ?? []).filter((s) => s.effect === "Allow" && anyonePrincipal(s) && Object.keys(s.condition).length === 0);
      return open.length > 0 ? violation("policy", `statement ${open.map((s) => s.sid ?? "(no Sid)").join(", ")} allows anyone, unconditionally`) : undefined;
    },
  },

  // ---------------------------------------------------------------------------------------------
  // CloudFront
  {
    id: "cloudfront-https-only",
    title: "CloudFront serves viewers over HTTPS only",
    severity: "block", checkov: ["CKV_AWS_34"], trivy: ["AWS-0012"], types: ["aws_cloudfront_distribution"],
    fix: 'Set viewer_protocol_policy = "redirect-to-https" (or "https-only") on every cache behavior.',
    check: (r) => {
      const behaviors = [...blocks(r.body.default_cache_behavior), ...blocks(r.body.ordered_cache_behavior)];
      const bad = behaviors.filter((b) => b.viewer_protocol_policy !== "redirect-to-https" && b.viewer_protocol_policy !== "https-only");
      return bad.length > 0 ? violation("default_cache_behavior", `viewer_protocol_policy ${shown(bad[0]!.viewer_protocol_policy)} lets viewers use plain HTTP`) : undefined;
    },
  },
  {
    id: "cloudfront-tls",
    title: "CloudFront uses its own certificate with TLS 1.2+",
    severity: "block", checkov: ["CKV_AWS_174", "CKV2_AWS_42"], trivy: ["AWS-0013"], types: ["aws_cloudfront_distribution"],
    fix: 'Use the ACM certificate with ssl_support_method = "sni-only" and minimum_protocol_version = "TLSv1.2_2021" (caja\'s values).',
    check: (r) => {
      const cert = block(r.body.viewer_certificate);
      if (cert.cloudfront_default_certificate === true || (cert.acm_certificate_arn === undefined && cert.iam_certificate_id === undefined)) {
        return violation("viewer_certificate", "the default CloudFront certificate pins the minimum protocol to TLSv1");
      }
      const min = cert.minimum_protocol_version;
      return ["TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"].includes(min as string) ? undefined : violation("viewer_certificate", `minimum_protocol_version is ${shown(min)}`);
    },
  },
  {
    id: "cloudfront-origin-access-control",
    title: "CloudFront reaches S3 origins through origin access control",
    severity: "block", checkov: ["CKV2_AWS_46"], trivy: [], types: ["aws_cloudfront_distribution"],
    fix: "Give each S3 origin an origin_access_control_id (an aws_cloudfront_origin_access_control with SigV4), and keep the bucket private.",
    check: (r, { view }) => {
      const bad = blocks(r.body.origin).filter((o) => {
        const s3 = view.resolve(r.root, o.domain_name)?.type === "aws_s3_bucket" || /\.s3[.-][a-z0-9.-]*amazonaws\.com$|\.s3\.amazonaws\.com$/.test(String(o.domain_name ?? ""));
        const viaOai = typeof block(o.s3_origin_config).origin_access_identity === "string";
        return s3 && blocks(o.custom_origin_config).length === 0 && !o.origin_access_control_id && !viaOai;
      });
      return bad.length > 0 ? violation("origin", `S3 origin ${shown(bad[0]!.origin_id)} has no origin access control: the bucket would have to be public`) : undefined;
    },
  },
  {
    id: "cloudfront-default-root-object",
    title: "CloudFront has a default root object",
    severity: "block", checkov: ["CKV_AWS_305"], trivy: [], types: ["aws_cloudfront_distribution"],
    fix: 'Set default_root_object = "index.html".',
    check: (r) => (typeof r.body.default_root_object === "string" && r.body.default_root_object !== "" ? undefined : violation("default_root_object", "a request for / would list or expose the origin's root")),
  },
  {
    id: "cloudfront-security-headers",
    title: "CloudFront adds security headers (HSTS) through a response headers policy",
    severity: "block", checkov: ["CKV2_AWS_32", "CKV_AWS_259"], trivy: [], types: ["aws_cloudfront_distribution"],
    fix: "Attach an aws_cloudfront_response_headers_policy with strict_transport_security to every cache behavior (caja's static site does).",
    check: (r, { view }) => {
      for (const b of [...blocks(r.body.default_cache_behavior), ...blocks(r.body.ordered_cache_behavior)]) {
        if (!b.response_headers_policy_id) return violation("default_cache_behavior", `cache behavior ${shown(b.path_pattern ?? "default")} has no response headers policy`);
        const policy = view.resolve(r.root, b.response_headers_policy_id);
        if (policy && blocks(block(policy.body.security_headers_config).strict_transport_security).length === 0) {
          return violation("security_headers_config", `response headers policy ${policy.address} sets no Strict-Transport-Security`, policy);
        }
      }
      return undefined;
    },
  },
  {
    id: "cloudfront-waf",
    title: "CloudFront is protected by a WAF web ACL",
    severity: "block", checkov: ["CKV_AWS_68", "CKV2_AWS_47"], trivy: ["AWS-0011"], types: ["aws_cloudfront_distribution"],
    fix: `Set web_acl_id to a global (us-east-1) aws_wafv2_web_acl. ${SUPPRESS_IF_INTENDED}`,
    check: (r) => (typeof r.body.web_acl_id === "string" && r.body.web_acl_id !== "" ? undefined : violation("web_acl_id", "no WAF web ACL filters requests before they reach the distribution")),
  },
  {
    id: "cloudfront-access-logs",
    title: "CloudFront writes access logs",
    severity: "warn", checkov: ["CKV_AWS_86"], trivy: ["AWS-0010"], types: ["aws_cloudfront_distribution"],
    fix: "Add a logging_config pointing at a log bucket (a cost decision the plan leaves open).",
    check: (r) => (blocks(r.body.logging_config).length > 0 ? undefined : violation("logging_config", "viewer requests are not logged")),
  },

  // ---------------------------------------------------------------------------------------------
  // ECR and ECS
  {
    id: "ecr-immutable-tags",
    title: "ECR image tags are immutable",
    severity: "block", checkov: ["CKV_AWS_51"], trivy: ["AWS-0031"], types: ["aws_ecr_repository"],
    fix: 'Set image_tag_mutability = "IMMUTABLE", so a deployed tag can never be repointed.',
    check: (r) => (r.body.image_tag_mutability === "IMMUTABLE" ? undefined : violation("image_tag_mutability", `image_tag_mutability is ${shown(r.body.image_tag_mutability)}${r.body.image_tag_mutability === undefined ? " (MUTABLE)" : ""}`)),
  },
  {
    id: "ecr-scan-on-push",
    title: "ECR scans images on push",
    severity: "block", checkov: ["CKV_AWS_163"], trivy: ["AWS-0030"], types: ["aws_ecr_repository"],
    fix: "Set image_scanning_configuration { scan_on_push = true }.",
    check: (r) => (block(r.body.image_scanning_configuration).scan_on_push === true ? undefined : violation("image_scanning_configuration", "pushed images are not scanned for vulnerabilities")),
  },
  {
    id: "ecs-container-insights",
    title: "ECS clusters have Container Insights",
    severity: "block", checkov: ["CKV_AWS_65"], trivy: ["AWS-0034"], types: ["aws_ecs_cluster"],
    fix: 'Add setting { name = "containerInsights", value = "enabled" }.',
    check: (r) => (blocks(r.body.setting).some((s) => s.name === "containerInsights" && (s.value === "enabled" || s.value === "enhanced")) ? undefined : violation("setting", "Container Insights is off")),
  },
  {
    id: "ecs-exec-logging",
    title: "ECS Exec sessions are logged",
    severity: "block", checkov: ["CKV_AWS_223"], trivy: [], types: ["aws_ecs_cluster"],
    fix: 'Set configuration.execute_command_configuration { logging = "OVERRIDE", log_configuration { cloud_watch_log_group_name = ... } } (caja does).',
    check: (r) => {
      const exec = block(block(r.body.configuration).execute_command_configuration);
      if (exec.logging === undefined || exec.logging === "NONE") return violation("configuration", `ECS Exec logging is ${shown(exec.logging)}`);
      const log = block(exec.log_configuration);
      return exec.logging === "OVERRIDE" && !log.cloud_watch_log_group_name && !log.s3_bucket_name ? violation("configuration", "ECS Exec logging is OVERRIDE without a log group or bucket") : undefined;
    },
  },
  {
    id: "ecs-no-public-ip",
    title: "ECS services get no public IP",
    severity: "block", checkov: ["CKV_AWS_333"], trivy: [], types: ["aws_ecs_service"],
    fix: "Set network_configuration { assign_public_ip = false } and run the tasks in private subnets behind NAT.",
    check: (r) => (block(r.body.network_configuration).assign_public_ip === true ? violation("network_configuration", "tasks would get public IP addresses") : undefined),
  },
  {
    id: "ecs-platform-version",
    title: "Fargate services run the LATEST platform version",
    severity: "block", checkov: ["CKV_AWS_332"], trivy: [], types: ["aws_ecs_service"],
    fix: 'Leave platform_version unset or "LATEST", so tasks get the patched platform.',
    check: (r) => (r.body.platform_version === undefined || r.body.platform_version === "LATEST" ? undefined : violation("platform_version", `platform_version is pinned to ${shown(r.body.platform_version)}`)),
  },
  {
    id: "ecs-read-only-root",
    title: "ECS containers have a read-only root filesystem",
    severity: "block", checkov: ["CKV_AWS_336"], trivy: [], types: ["aws_ecs_task_definition"],
    fix: "Set readonlyRootFilesystem = true on every container and mount a task volume where the app writes (caja mounts /tmp).",
    check: (r) => containers(r, (c) => (c.readonlyRootFilesystem === true ? undefined : `container ${shown(c.name)} can write to its root filesystem`)),
  },
  {
    id: "ecs-not-privileged",
    title: "ECS containers are not privileged",
    severity: "block", checkov: ["CKV_AWS_334"], trivy: [], types: ["aws_ecs_task_definition"],
    fix: "Remove privileged = true from the container definition.",
    check: (r) => containers(r, (c) => (c.privileged === true ? `container ${shown(c.name)} is privileged` : undefined)),
  },
  {
    id: "ecs-no-host-pid",
    title: "ECS tasks do not share the host's process namespace",
    severity: "block", checkov: ["CKV_AWS_335"], trivy: [], types: ["aws_ecs_task_definition"],
    fix: 'Remove pid_mode = "host".',
    check: (r) => (r.body.pid_mode === "host" ? violation("pid_mode", 'pid_mode is "host"') : undefined),
  },
  {
    id: "ecs-separate-task-roles",
    title: "ECS execution role and task role are different roles",
    severity: "block", checkov: ["CKV_AWS_249"], trivy: [], types: ["aws_ecs_task_definition"],
    fix: "Give the task its own role: the execution role pulls images and reads secrets, the task role is what the application's code may do.",
    check: (r) => {
      const { execution_role_arn: exec, task_role_arn: task } = r.body;
      return exec !== undefined && task !== undefined && exec === task ? violation("task_role_arn", "the application's code would run with the execution role's access to every secret") : undefined;
    },
  },
  {
    id: "ecs-no-plaintext-secrets",
    title: "ECS containers take secrets from Secrets Manager, not plain environment variables",
    severity: "block", checkov: [], trivy: ["AWS-0036"], types: ["aws_ecs_task_definition"],
    fix: "Move the value to a Secrets Manager secret and pass it with secrets = [{ name, valueFrom = <secret ARN> }] (caja does for the database password, JWT key and session salt).",
    check: (r) =>
      containers(r, (c) => {
        const named = asList(c.environment).filter(isObject).filter((e) => SECRET_NAME.test(String(e.name ?? "")));
        return named.length > 0 ? `container ${shown(c.name)} passes ${named.map((e) => e.name).join(", ")} as plain environment` : undefined;
      }),
  },

  // ---------------------------------------------------------------------------------------------
  // Network
  {
    id: "sg-rule-descriptions",
    title: "Security groups and their rules are described",
    severity: "block", checkov: ["CKV_AWS_23"], trivy: ["AWS-0099", "AWS-0124"],
    types: ["aws_security_group", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule", "aws_security_group_rule"],
    fix: "Give every security group and rule a description saying what it lets through and why.",
    check: (r) => {
      const described = (d: unknown) => typeof d === "string" && d.trim() !== "" && d !== "Managed by Terraform";
      if (r.type === "aws_security_group") {
        if (!described(r.body.description)) return violation("description", `description is ${shown(r.body.description)}`);
        const rules = [...blocks(r.body.ingress), ...blocks(r.body.egress)];
        return rules.some((x) => !described(x.description)) ? violation("ingress", "an inline rule has no description") : undefined;
      }
      return described(r.body.description) ? undefined : violation("description", "the rule has no description");
    },
  },
  {
    id: "sg-no-world-admin-ports",
    title: "No security group opens SSH or RDP to the internet",
    severity: "block", checkov: ["CKV_AWS_24", "CKV_AWS_25"], trivy: [],
    types: ["aws_security_group", "aws_vpc_security_group_ingress_rule", "aws_security_group_rule"],
    fix: "Remove the rule; reach hosts with SSM Session Manager or ECS Exec instead.",
    check: (r) => worldIngress(r).filter((x) => covers(x, 22) || covers(x, 3389)).map((x) => violation(x.attribute, `${x.describe} opens port ${covers(x, 22) ? 22 : 3389} to the internet`)),
  },
  {
    id: "sg-world-ingress-alb-only",
    title: "Only an internet-facing load balancer accepts traffic from the internet, on 80 and 443",
    severity: "block", checkov: ["CKV_AWS_277"], trivy: ["AWS-0107"],
    types: ["aws_security_group", "aws_vpc_security_group_ingress_rule", "aws_security_group_rule"],
    fix: "Restrict the source to a security group or a known CIDR; only the public ALB's group may take 0.0.0.0/0 and ::/0, on ports 80 and 443.",
    check: (r, { view }) =>
      worldIngress(r)
        .filter((x) => !(x.protocol === "tcp" && x.from === x.to && (x.from === 80 || x.from === 443) && isPublicLoadBalancerGroup(view, r, x.group)))
        .map((x) => violation(x.attribute, `${x.describe} accepts ${portsOf(x)} from the internet${isPublicLoadBalancerGroup(view, r, x.group) ? "" : " on a group no internet-facing load balancer uses"}`)),
  },
  {
    id: "sg-no-world-http",
    title: "No security group accepts plain HTTP (port 80) from the internet",
    severity: "block", checkov: ["CKV_AWS_260"], trivy: [],
    types: ["aws_security_group", "aws_vpc_security_group_ingress_rule", "aws_security_group_rule"],
    fix: `Remove port 80. caja's ALB keeps it open only to answer with a redirect to HTTPS. ${SUPPRESS_IF_INTENDED}`,
    check: (r) => worldIngress(r).filter((x) => covers(x, 80)).map((x) => violation(x.attribute, `${x.describe} accepts plain HTTP from the internet`)),
  },
  {
    id: "sg-no-world-egress",
    title: "No security group sends traffic to the whole internet",
    severity: "block", checkov: ["CKV_AWS_382"], trivy: ["AWS-0104"],
    types: ["aws_security_group", "aws_vpc_security_group_egress_rule", "aws_security_group_rule"],
    fix: `Send to a security group, a prefix list or VPC endpoints instead of 0.0.0.0/0. ${SUPPRESS_IF_INTENDED}`,
    check: (r) => worldRules(r, "egress").map((x) => violation(x.attribute, `${x.describe} allows ${portsOf(x)} to the internet`)),
  },
  {
    id: "default-sg-closed",
    title: "Each VPC's default security group allows nothing",
    severity: "block", checkov: ["CKV2_AWS_12"], trivy: ["AWS-0173"], types: ["aws_vpc", "aws_default_security_group"],
    fix: "Manage the default security group with aws_default_security_group and no ingress or egress (caja does).",
    check: (r, { view }) => {
      if (r.type === "aws_vpc") return view.referencing(r, "aws_default_security_group", "vpc_id").length > 0 ? undefined : "the VPC's default security group is not managed, so it keeps AWS's allow-all rules";
      return blocks(r.body.ingress).length + blocks(r.body.egress).length > 0 ? violation(blocks(r.body.ingress).length > 0 ? "ingress" : "egress", "the default security group has rules") : undefined;
    },
  },
  {
    id: "vpc-flow-logs",
    title: "VPCs have flow logs",
    severity: "block", checkov: ["CKV2_AWS_11"], trivy: ["AWS-0178"], types: ["aws_vpc"],
    fix: "Add an aws_flow_log for the VPC to a log group with retention (caja does).",
    check: (r, { view }) => (view.referencing(r, "aws_flow_log", "vpc_id").length > 0 ? undefined : "the VPC has no flow log"),
  },
  {
    id: "subnet-no-public-ip-on-launch",
    title: "Subnets do not give instances public IPs automatically",
    severity: "block", checkov: ["CKV_AWS_130"], trivy: ["AWS-0164"], types: ["aws_subnet"],
    fix: "Set map_public_ip_on_launch = false; the ALB and NAT gateways do not need it.",
    check: (r) => (r.body.map_public_ip_on_launch === true ? violation("map_public_ip_on_launch", "anything launched here gets a public IP address") : undefined),
  },

  // ---------------------------------------------------------------------------------------------
  // IAM
  {
    id: "iam-no-wildcard-admin",
    title: "No IAM policy allows every action, or every action of a service on every resource",
    severity: "block", checkov: ["CKV_AWS_62", "CKV_AWS_63", "CKV2_AWS_40"], trivy: ["AWS-0057"],
    types: IDENTITY_POLICY_TYPES,
    fix: "List the actions the role needs, on the resources it needs them on (the deployer policies are scoped per environment).",
    check: (r, { view }) => {
      const out: Violation[] = [];
      for (const [attribute, s] of identityAllows(view, r)) {
        const everything = s.actions.find((a) => a === "*" || a === "*:*");
        const serviceWide = s.resources.includes("*") ? s.actions.find((a) => /^[a-z0-9-]+:\*$/.test(a)) : undefined;
        if (everything || serviceWide || (s.notActions.length > 0 && s.resources.includes("*"))) {
          out.push(violation(attribute, `statement ${shown(s.sid ?? "(no Sid)")} allows ${everything ? '"*"' : serviceWide ? `"${serviceWide}" on "*"` : 'NotAction on "*"'}`));
        }
      }
      return out;
    },
  },
  {
    id: "iam-star-resource-scoped",
    title: "IAM policies allow on \"*\" only what AWS accepts on \"*\" alone, or under a condition",
    severity: "block", checkov: ["CKV_AWS_355", "CKV_AWS_290", "CKV_AWS_289", "CKV_AWS_288"], trivy: [],
    types: IDENTITY_POLICY_TYPES,
    fix: 'Name the ARNs the actions act on (the deployer policies use the environment\'s name prefix), or narrow the statement with a Condition such as aws:RequestedRegion or aws:ResourceTag. Actions that take no resource (route53:ListHostedZones, acm:ListCertificates, ...) may stay on "*".',
    check: (r, { view }) => {
      const out: Violation[] = [];
      for (const [attribute, s] of identityAllows(view, r)) {
        if (!s.resources.includes("*") || Object.keys(s.condition).length > 0) continue;
        const scopable = s.actions.filter((a) => !STAR_ONLY_ACTIONS.has(a.toLowerCase()) && a !== "*" && a !== "*:*");
        if (scopable.length === 0) continue;
        const named = scopable.slice(0, 3).map((a) => `"${a}"`).join(", ") + (scopable.length > 3 ? ` and ${scopable.length - 3} more` : "");
        out.push(violation(attribute, `statement ${shown(s.sid ?? "(no Sid)")} allows ${named} on "*" with no condition, though ${scopable.length === 1 ? "it is not an action" : "they are not actions"} AWS accepts only on "*"`));
      }
      return out;
    },
  },
  {
    id: "iam-no-admin-managed-policy",
    title: "No role, user or group gets AdministratorAccess or IAMFullAccess",
    severity: "block", checkov: ["CKV_AWS_274", "CKV2_AWS_56"], trivy: [],
    types: ["aws_iam_role_policy_attachment", "aws_iam_policy_attachment", "aws_iam_user_policy_attachment", "aws_iam_group_policy_attachment", "aws_iam_role"],
    fix: "Attach a policy scoped to what the principal does instead of an AWS-managed admin policy.",
    check: (r) => {
      const admin = (arn: unknown) => typeof arn === "string" && /:policy\/(?:AdministratorAccess|IAMFullAccess)$/.test(arn);
      const arns = r.type === "aws_iam_role" ? asList(r.body.managed_policy_arns) : [r.body.policy_arn];
      const found = arns.find(admin);
      return found ? violation(r.type === "aws_iam_role" ? "managed_policy_arns" : "policy_arn", `attaches ${String(found)}`) : undefined;
    },
  },
  {
    id: "iam-trust-no-wildcard-principal",
    title: "No role can be assumed by anyone",
    severity: "block", checkov: ["CKV_AWS_60"], trivy: [],
    types: ["aws_iam_role"],
    fix: "Name the service, account or identity provider allowed to assume the role in assume_role_policy.",
    check: (r, { view }) => {
      const open = (view.statements(r.root, r.body.assume_role_policy) ?? []).filter((s) => s.effect === "Allow" && anyonePrincipal(s));
      return open.length > 0 ? violation("assume_role_policy", `statement ${shown(open[0]!.sid ?? "(no Sid)")} lets any principal assume the role`) : undefined;
    },
  },
  {
    id: "iam-oidc-subject",
    title: "Roles trusted by GitHub OIDC are pinned to one repository (aud and sub)",
    severity: "block", checkov: ["CKV_AWS_358", "CKV_AWS_393"], trivy: [],
    types: ["aws_iam_role"],
    fix: 'Trust only StringEquals { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com", "token.actions.githubusercontent.com:sub" = ["repo:OWNER/REPO:environment:NAME", ...] } (caja\'s deployer roles do).',
    check: (r, { view }) => {
      const out: Violation[] = [];
      for (const s of view.statements(r.root, r.body.assume_role_policy) ?? []) {
        if (s.effect !== "Allow" || !trustsGitHubOidc(view, r, s)) continue;
        const sid = shown(s.sid ?? "(no Sid)");
        const aud = conditionEntries(s, GITHUB_OIDC_AUD);
        if (!aud.some((c) => c.operator === "StringEquals" && c.values.length > 0 && c.values.every((v) => v === "sts.amazonaws.com"))) {
          out.push(violation("assume_role_policy", `statement ${sid} does not require StringEquals aud = "sts.amazonaws.com"`));
        }
        const sub = conditionEntries(s, GITHUB_OIDC_SUB);
        if (sub.length === 0) {
          out.push(violation("assume_role_policy", `statement ${sid} has no condition on the token's sub: any GitHub repository could assume the role`));
          continue;
        }
        for (const c of sub) {
          if (!["StringEquals", "StringLike"].includes(c.operator)) out.push(violation("assume_role_policy", `statement ${sid} tests sub with ${c.operator} (use StringEquals, or StringLike for a deliberate wildcard)`));
          for (const value of c.values) {
            const problem = unsafeSubject(String(value), r);
            if (problem) out.push(violation("assume_role_policy", `statement ${sid}: sub ${shown(value)} ${problem}`));
          }
        }
      }
      return out;
    },
  },

  // ---------------------------------------------------------------------------------------------
  // Logs, alarms, keys, topics, tables, certificates
  {
    id: "log-group-retention",
    title: "Log groups expire their logs",
    severity: "block", checkov: ["CKV_AWS_66"], trivy: [], types: ["aws_cloudwatch_log_group"], setting: "logs.retentionDays",
    fix: "Set retention_in_days (caja uses logs.retentionDays: 30/60/90 days by tier).",
    check: (r) => (typeof r.body.retention_in_days === "number" && r.body.retention_in_days > 0 ? undefined : violation("retention_in_days", `retention_in_days is ${shown(r.body.retention_in_days)}: logs would be kept (and billed) forever`)),
  },
  {
    id: "alarm-actions-enabled",
    title: "CloudWatch alarms notify someone",
    severity: "block", checkov: ["CKV_AWS_319"], trivy: [], types: ["aws_cloudwatch_metric_alarm"],
    fix: "Leave actions_enabled true and set alarm_actions to the alarm topic (caja does).",
    check: (r) => {
      if (r.body.actions_enabled === false) return violation("actions_enabled", "actions_enabled is false: the alarm changes state silently");
      return asList(r.body.alarm_actions).length === 0 ? violation("alarm_actions", "the alarm has no alarm_actions") : undefined;
    },
  },
  {
    id: "alarm-topic-subscribed",
    title: "Alarm topics have a subscriber",
    severity: "warn", prodSeverity: "block", checkov: [], trivy: [], types: ["aws_sns_topic"], setting: "alarms.emails",
    fix: "List who is paged under alarms.emails (or leave it todo() until it is decided, so terraform plan asks for the addresses).",
    check: (r, { view }) => {
      const publishes = (v: unknown) => view.resolve(r.root, v) === r;
      const alarms = view.inRoot(r.root, "aws_cloudwatch_metric_alarm").filter((a) => [...asList(a.body.alarm_actions), ...asList(a.body.ok_actions)].some(publishes));
      if (alarms.length === 0 || view.inRoot(r.root, "aws_sns_topic_subscription").some((sub) => publishes(sub.body.topic_arn))) return undefined;
      return `${alarms.length} alarm${alarms.length === 1 ? "" : "s"} publish to this topic and no one is subscribed: they would notify nobody`;
    },
  },
  {
    id: "sns-encrypted-cmk",
    title: "SNS topics are encrypted with a customer-managed KMS key",
    severity: "block", checkov: ["CKV_AWS_26"], trivy: ["AWS-0095", "AWS-0136"], types: ["aws_sns_topic"],
    fix: "Set kms_master_key_id to a customer-managed aws_kms_key (CloudWatch alarms cannot publish to a topic under alias/aws/sns).",
    check: (r) => {
      const key = r.body.kms_master_key_id;
      if (typeof key !== "string" || key === "") return violation("kms_master_key_id", "the topic is not encrypted");
      return /(?:^|\/|:)alias\/aws\/sns$/.test(key) ? violation("kms_master_key_id", "the topic uses the AWS-managed alias/aws/sns key") : undefined;
    },
  },
  {
    id: "sns-alarm-key-usable",
    title: "An alarm topic's KMS key lets CloudWatch use it",
    severity: "block", checkov: [], trivy: [], types: ["aws_sns_topic"],
    fix: 'Allow Principal { Service = "cloudwatch.amazonaws.com" } kms:Decrypt and kms:GenerateDataKey* in the key policy (caja\'s alarm key does).',
    check: (r, { view }) => {
      const alarms = view.inRoot(r.root, "aws_cloudwatch_metric_alarm").filter((a) => [...asList(a.body.alarm_actions), ...asList(a.body.ok_actions)].some((v) => view.resolve(a.root, v) === r));
      if (alarms.length === 0 || typeof r.body.kms_master_key_id !== "string") return undefined;
      const key = view.resolve(r.root, r.body.kms_master_key_id);
      if (!key || key.type !== "aws_kms_key") return violation("kms_master_key_id", "the topic receives alarms but its key is not managed in this root, so caja cannot check that CloudWatch may use it");
      const grants = (view.statements(key.root, key.body.policy) ?? []).filter((s) => s.effect === "Allow" && principalIncludes(s, "Service", "cloudwatch.amazonaws.com"));
      const allows = (action: string) => grants.some((s) => s.actions.some((a) => a === "kms:*" || a === action || (a.endsWith("*") && action.startsWith(a.slice(0, -1)))));
      const missing = ["kms:Decrypt", "kms:GenerateDataKey"].filter((a) => !allows(a));
      return missing.length > 0 ? violation("policy", `${key.address}'s policy does not let cloudwatch.amazonaws.com ${missing.join(" or ")}: alarm notifications would be dropped`, key) : undefined;
    },
  },
  {
    id: "kms-key-rotation",
    title: "Symmetric KMS keys rotate",
    severity: "block", checkov: ["CKV_AWS_7"], trivy: ["AWS-0065"], types: ["aws_kms_key"],
    fix: "Set enable_key_rotation = true.",
    check: (r) => {
      const spec = r.body.customer_master_key_spec;
      return spec !== undefined && spec !== "SYMMETRIC_DEFAULT" ? undefined : mustBe(r, "enable_key_rotation", true, "the key material would never rotate");
    },
  },
  {
    id: "kms-key-policy",
    title: "KMS keys have a policy that names who may use them",
    severity: "block", checkov: ["CKV_AWS_33", "CKV2_AWS_64"], trivy: [], types: ["aws_kms_key"],
    fix: "Write the key policy: the account for administration, and each service that uses the key with aws:SourceAccount.",
    check: (r, { view }) => {
      if (typeof r.body.policy !== "string") return violation("policy", "the key has no policy of its own (the default grants the whole account)");
      const open = (view.statements(r.root, r.body.policy) ?? []).filter((s) => s.effect === "Allow" && anyonePrincipal(s) && Object.keys(s.condition).length === 0);
      return open.length > 0 ? violation("policy", `statement ${shown(open[0]!.sid ?? "(no Sid)")} lets anyone use the key`) : undefined;
    },
  },
  {
    id: "dynamodb-pitr",
    title: "DynamoDB tables have point-in-time recovery",
    severity: "block", checkov: ["CKV_AWS_28"], trivy: ["AWS-0024"], types: ["aws_dynamodb_table"],
    fix: "Set point_in_time_recovery { enabled = true }.",
    check: (r) => (block(r.body.point_in_time_recovery).enabled === true ? undefined : violation("point_in_time_recovery", "a bad write or delete cannot be rolled back")),
  },
  {
    id: "acm-create-before-destroy",
    title: "ACM certificates are replaced create-before-destroy",
    severity: "block", checkov: ["CKV_AWS_233"], trivy: [], types: ["aws_acm_certificate"],
    fix: "Set lifecycle { create_before_destroy = true } (caja does), so listeners and distributions are never left without a certificate.",
    check: (r) => (block(r.body.lifecycle).create_before_destroy === true ? undefined : violation("lifecycle", "a replacement would delete the certificate while the ALB or CloudFront still uses it")),
  },
  {
    id: "acm-transparency-logging",
    title: "ACM certificates are logged to Certificate Transparency",
    severity: "block", checkov: ["CKV_AWS_234"], trivy: [], types: ["aws_acm_certificate"],
    fix: 'Remove certificate_transparency_logging_preference = "DISABLED".',
    check: (r) => (block(r.body.options).certificate_transparency_logging_preference === "DISABLED" ? violation("options", "Certificate Transparency logging is disabled") : undefined),
  },
  {
    id: "acm-no-wildcard",
    title: "ACM certificates name their hosts (no wildcard)",
    severity: "warn", checkov: ["CKV2_AWS_71"], trivy: [], types: ["aws_acm_certificate"],
    fix: "List each host the certificate serves instead of *.<domain>.",
    check: (r) => {
      const wild = [r.body.domain_name, ...asList(r.body.subject_alternative_names)].filter((d) => typeof d === "string" && d.startsWith("*."));
      return wild.length > 0 ? violation("domain_name", `covers ${wild.join(", ")}`) : undefined;
    },
  },

  {
    id: "bootstrap-protected",
    title: "Terraform cannot delete the state bucket, the lock table or the hosted zone (prevent_destroy, no force_destroy, deletion protection)",
    severity: "block", checkov: [], trivy: [], types: ["aws_s3_bucket", "aws_dynamodb_table", "aws_route53_zone"],
    fix: "Remove the override under extend.bootstrap.overrides. To really delete one of them, do it by hand, outside Terraform, once nothing depends on it.",
    check: (r) => {
      const what = BOOTSTRAP_PROTECTED.get(r.address);
      if (!what || r.root.phase.id !== "bootstrap") return undefined;
      const found: Violation[] = [];
      const prevent = block(r.body.lifecycle).prevent_destroy;
      if (prevent !== true) found.push(violation("lifecycle", `lifecycle.prevent_destroy is ${shown(prevent)}: a destroy or a replacement would delete ${what}`));
      if (r.type === "aws_dynamodb_table") {
        if (r.body.deletion_protection_enabled !== true) found.push(violation("deletion_protection_enabled", `deletion_protection_enabled is ${shown(r.body.deletion_protection_enabled)}: one API call outside Terraform could delete ${what}`));
      } else if (r.body.force_destroy !== false && r.body.force_destroy !== undefined) {
        found.push(violation("force_destroy", `force_destroy is ${shown(r.body.force_destroy)}: a destroy would delete ${r.type === "aws_s3_bucket" ? "every object in the bucket" : "every record in the zone"} instead of stopping`));
      }
      return found;
    },
  },

  // ---------------------------------------------------------------------------------------------
  // Everything
  {
    id: "no-secret-values",
    title: "No secret value is written: not in a resource, nor in tags, variables, outputs, tests, docs or the workflow",
    severity: "block", checkov: ["CKV_AWS_41"], trivy: [], types: ["*"],
    fix: "Take the value out of caja.config.ts: keep it in Secrets Manager and pass its ARN (RDS manages the master password; set application secrets with aws secretsmanager put-secret-value).",
    check: (r) => findSecrets(r.body).map((hit) => violation(hit.path.split(/[.[]/)[0]!, `${redactSecrets(hit.path)} holds ${hit.kind}`)),
  },
];

/** The bootstrap root's resources every other root's state and names depend on, and what losing each loses. */
const BOOTSTRAP_PROTECTED: ReadonlyMap<string, string> = new Map([
  ["aws_s3_bucket.state", "the state bucket, and with it every root's Terraform state"],
  ["aws_dynamodb_table.locks", "the state lock table, which every root's backend names"],
  ["aws_route53_zone.root", "the root domain's hosted zone, every record in it and the name servers the registrar points at"],
]);

/** Rules by id. */
export const RULES_BY_ID: ReadonlyMap<string, Rule> = new Map(RULES.map((r) => [r.id, r]));

// -----------------------------------------------------------------------------------------------
// Helpers the checks share

/** Environment variable names that hold a secret (trivy AWS-0036's idea, with caja's own names). */
const SECRET_NAME = /(?:PASS(?:WORD|WD)?|SECRET|TOKEN|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY|SIGNING_?KEY|CREDENTIALS?|SALT)(?:$|_)/i;
const GITHUB_OIDC_AUD = "token.actions.githubusercontent.com:aud";
const GITHUB_OIDC_SUB = "token.actions.githubusercontent.com:sub";

function violation(attribute: string, message: string, at?: PlannedResource): Violation {
  return { attribute, message, ...(at ? { at } : {}) };
}

function mustBe(r: PlannedResource, attribute: string, expected: unknown, consequence: string): Violation | undefined {
  const value = r.body[attribute];
  return value === expected ? undefined : violation(attribute, `${attribute} is ${shown(value)}: ${consequence}`);
}

/**
 * A flag the provider may take as a boolean or, where it keeps "unset" apart from false (a
 * nullable bool such as at_rest_encryption_enabled in newer providers), as the string "true".
 */
function isOn(value: unknown): boolean {
  return value === true || value === "true";
}

function isApplication(r: PlannedResource): boolean {
  return r.body.load_balancer_type === undefined || r.body.load_balancer_type === "application";
}

function redirectsToHttps(action: Record<string, unknown>): boolean {
  return action.type === "redirect" && block(action.redirect).protocol === "HTTPS";
}

/** Runs `check` over the instance's parameter group (resolved in the same root). */
function parameterCheck(r: PlannedResource, ctx: RuleContext, check: (params: Map<string, string>) => string | undefined): CheckResult {
  const group = ctx.view.resolve(r.root, r.body.parameter_group_name) ?? ctx.view.inRoot(r.root, "aws_db_parameter_group").find((g) => g.body.name === r.body.parameter_group_name);
  if (!group) {
    return violation("parameter_group_name", r.body.parameter_group_name === undefined ? "the instance uses the engine's default parameter group" : `parameter group ${shown(r.body.parameter_group_name)} is not managed in this root`);
  }
  const params = new Map(blocks(group.body.parameter).map((p) => [String(p.name), String(p.value)]));
  const problem = check(params);
  return problem ? violation("parameter", `${problem} (${group.address})`, group) : undefined;
}

/** Runs `check` over each container of a task definition's `container_definitions`. */
function containers(r: PlannedResource, check: (container: Record<string, unknown>) => string | undefined): CheckResult {
  let defs: unknown;
  try {
    defs = typeof r.body.container_definitions === "string" ? JSON.parse(r.body.container_definitions) : undefined;
  } catch {
    defs = undefined;
  }
  if (!Array.isArray(defs)) return violation("container_definitions", "container_definitions is not a JSON document caja can read, so it cannot be checked");
  return defs.filter(isObject).flatMap((c) => {
    const problem = check(c);
    return problem ? [violation("container_definitions", problem)] : [];
  });
}

interface NetRule {
  readonly attribute: string;
  readonly describe: string;
  /** False for "all protocols" (`-1`), whose ports are all of them. */
  readonly tcp: boolean;
  readonly protocol: string;
  readonly from: number;
  readonly to: number;
  /** The security group the rule belongs to (for standalone rules: its `security_group_id`). */
  readonly group: unknown;
}

const WORLD_V4 = "0.0.0.0/0";
const WORLD_V6 = "::/0";

/** The rules of `r` open to or from anywhere, whichever form they are written in. */
function worldRules(r: PlannedResource, direction: "ingress" | "egress"): NetRule[] {
  const world = (cidrs: unknown) => asList(cidrs).some((c) => c === WORLD_V4 || c === WORLD_V6);
  const ports = (x: Record<string, unknown>, protocolKey: string) => {
    const protocol = String(x[protocolKey] ?? "");
    const all = protocol === "-1" || protocol === "all";
    return { tcp: !all, protocol: protocol === "6" ? "tcp" : protocol.toLowerCase(), from: all ? 0 : Number(x.from_port ?? 0), to: all ? 65535 : Number(x.to_port ?? 65535) };
  };
  if (r.type === "aws_security_group") {
    return blocks(r.body[direction])
      .filter((x) => world(x.cidr_blocks) || world(x.ipv6_cidr_blocks))
      .map((x) => ({ attribute: direction, describe: `an inline ${direction} rule of ${r.address}`, group: expr(`${r.address}.id`), ...ports(x, "protocol") }));
  }
  if (r.type === "aws_security_group_rule") {
    if (r.body.type !== direction || !(world(r.body.cidr_blocks) || world(r.body.ipv6_cidr_blocks))) return [];
    return [{ attribute: "cidr_blocks", describe: "the rule", group: r.body.security_group_id, ...ports(r.body, "protocol") }];
  }
  const wanted = direction === "ingress" ? "aws_vpc_security_group_ingress_rule" : "aws_vpc_security_group_egress_rule";
  if (r.type !== wanted || !(r.body.cidr_ipv4 === WORLD_V4 || r.body.cidr_ipv6 === WORLD_V6)) return [];
  return [{ attribute: r.body.cidr_ipv4 === WORLD_V4 ? "cidr_ipv4" : "cidr_ipv6", describe: "the rule", group: r.body.security_group_id, ...ports(r.body, "ip_protocol") }];
}

function worldIngress(r: PlannedResource): NetRule[] {
  return worldRules(r, "ingress");
}

function portsOf(rule: NetRule): string {
  if (!rule.tcp) return "all traffic";
  return rule.from === rule.to ? `port ${rule.from}` : `ports ${rule.from}-${rule.to}`;
}

function covers(rule: NetRule, port: number): boolean {
  return rule.from <= port && port <= rule.to;
}

/** Whether `group` (a security group reference in `r`'s root) is used by an internet-facing load balancer in any root. */
function isPublicLoadBalancerGroup(view: PlanView, r: PlannedResource, group: unknown): boolean {
  const sg = view.resolve(r.root, group);
  return sg !== undefined && publicLoadBalancerGroups(view).has(sg);
}

/** Per plan, once: asked per rule and per load balancer, it made the gate quadratic in environments. */
const publicGroups = new WeakMap<PlanView, ReadonlySet<PlannedResource>>();

/** The security groups internet-facing load balancers use. */
function publicLoadBalancerGroups(view: PlanView): ReadonlySet<PlannedResource> {
  let groups = publicGroups.get(view);
  if (!groups) {
    const found = new Set<PlannedResource>();
    for (const lb of view.ofType("aws_lb")) {
      if (lb.body.internal === true) continue;
      for (const g of asList(lb.body.security_groups)) {
        const sg = view.resolve(lb.root, g);
        if (sg) found.add(sg);
      }
    }
    publicGroups.set(view, (groups = found));
  }
  return groups;
}

function conditionValues(s: PolicyStatement, operator: string, key: string): readonly unknown[] {
  return s.condition[operator]?.[key] ?? [];
}

/** Every condition on `key`, with its operator (qualifiers such as `ForAllValues:` kept in the operator). */
function conditionEntries(s: PolicyStatement, key: string): { operator: string; values: readonly unknown[] }[] {
  return Object.entries(s.condition).flatMap(([operator, keys]) => (keys[key] ? [{ operator, values: keys[key]! }] : []));
}

function principalIncludes(s: PolicyStatement, type: string, id: string): boolean {
  return s.principal !== undefined && s.principal !== "*" && (s.principal[type] ?? []).includes(id);
}

/** The statement trusts GitHub's OIDC provider (by reference to an aws_iam_openid_connect_provider, or by ARN). */
function trustsGitHubOidc(view: PlanView, r: PlannedResource, s: PolicyStatement): boolean {
  if (s.principal === undefined || s.principal === "*") return false;
  return (s.principal.Federated ?? []).some((id) => {
    if (id.includes("oidc-provider/token.actions.githubusercontent.com")) return true;
    const provider = view.resolve(r.root, id);
    return provider?.type === "aws_iam_openid_connect_provider" && String(provider.body.url ?? "").includes("token.actions.githubusercontent.com");
  });
}

/**
 * Why a `sub` value would let the wrong workflows in (checkov CKV_AWS_358's idea): it must start
 * with `repo:OWNER/REPO:` without wildcards in the owner or repository. A `${var.x}` standing for
 * the repository is accepted only when the root validates that variable.
 */
function unsafeSubject(sub: string, r: PlannedResource): string | undefined {
  const m = /^repo:([^:]*)(?::(.*))?$/.exec(sub);
  if (!m) return "does not start with repo:OWNER/REPO: (a custom claim or a wildcard lets other repositories in)";
  const repository = m[1]!;
  const variable = /^var\.([A-Za-z0-9_-]+)$/.exec(soleReference(repository) ?? /^\$\{([^}]*)\}$/.exec(repository)?.[1] ?? "");
  if (variable) {
    const spec = r.root.builder.variables.get(variable[1]!);
    if (!spec?.validation?.length) return `takes the repository from var.${variable[1]}, which has no validation pinning it to OWNER/REPO`;
  } else if (/[*?]/.test(repository) || !/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(repository)) {
    return `names ${shown(repository)} rather than one OWNER/REPO`;
  }
  return m[2] ? undefined : "does not say which branch, environment or event may assume the role (repo:OWNER/REPO:<...>)";
}

/** Each Allow statement of an identity policy, with the attribute that holds its document. */
function identityAllows(view: PlanView, r: PlannedResource): [attribute: string, statement: PolicyStatement][] {
  const docs = r.type === "aws_iam_role" ? blocks(r.body.inline_policy).map((p) => ["inline_policy", p.policy] as const) : [["policy", r.body.policy] as const];
  return docs.flatMap(([attribute, doc]) => (view.statements(r.root, doc) ?? []).filter((s) => s.effect === "Allow").map((s): [string, PolicyStatement] => [attribute, s]));
}
