/**
 * The security gate: the repository's config passes with zero blocking findings; every rule fires
 * on a config that breaks it, at the config field that caused it; suppressions accept exactly one
 * rule on one resource and go stale loudly; the README's rules table and the SARIF export follow
 * the rule definitions.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { fileURLToPath } from "node:url";
import { BY_DESIGN_SUPPRESSIONS } from "./helpers.js";
import { describe, expect, it } from "vitest";
import type { CajaConfigInput } from "@caja/dsl/schema";
import { fromTerraformJson } from "@caja/modules";
import { compile } from "../packages/compiler/src/compile.js";
import { ConfigIssuesError } from "../packages/compiler/src/errors.js";
import { checkPolicies, enforcePolicies, type Finding, type PolicyResult } from "../packages/compiler/src/policy/check.js";
import { formatPath, parsePath } from "../packages/compiler/src/policy/paths.js";
import { policyReport, README_BEGIN, README_END, rulesSection } from "../packages/compiler/src/policy/report.js";
import { RULES } from "../packages/compiler/src/policy/rules.js";
import { toSarif } from "../packages/compiler/src/policy/sarif.js";
import { findSecrets } from "../packages/compiler/src/policy/secrets.js";
import { baseConfig, cacheRootResources, compileWith, tempDir } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const TODAY = "2026-06-15";

/** The by-design findings of every caja platform, accepted as the repository's config accepts them. */
const BY_DESIGN = BY_DESIGN_SUPPRESSIONS.map((x) => ({ ...x }));

/** The base config without any suppression: what the gate says before anything is accepted. */
function unsuppressed(): CajaConfigInput {
  const { policy: _policy, ...rest } = baseConfig();
  return rest;
}

function gate(config: CajaConfigInput, today = TODAY): PolicyResult {
  const compiled = compileWith(config, { enforcePolicies: false });
  return checkPolicies(compiled.plan, compiled.config, { today, input: config });
}

const summary = (f: Finding) => `${f.ruleId} ${f.root} ${f.address} @ ${f.configPath}`;

// -----------------------------------------------------------------------------------------------
// ElastiCache as the cache module writes it, planted in an environment's persistence root of the
// base config (the cache off), so each case breaks exactly one thing.

type Env = "dev" | "staging" | "prod";
/** Resources as Terraform JSON writes them: type → name → body. */
type Resources = Record<string, Record<string, Record<string, unknown>>>;

const CACHE_GROUP = "aws_elasticache_replication_group.cache";
const CACHE_USERS = "aws_elasticache_user_group.cache";

/** The cache module's resources: one node in dev, a replica with failover in staging, across zones in prod. */
function cache(env: Env): Resources {
  return cacheRootResources(env);
}

/** `resources` with one resource's attributes changed (undefined removes one), or added. */
function changed(resources: Resources, address: string, change: Record<string, unknown>): Resources {
  const [type, name] = address.split(".") as [string, string];
  const body = Object.fromEntries(Object.entries({ ...resources[type]?.[name], ...change }).filter(([, v]) => v !== undefined));
  return { ...resources, [type]: { ...resources[type], [name]: body } };
}

/** The gate over the base config, with `resources` planted in each environment's persistence root. */
function gateWithCache(resources: Partial<Record<Env, Resources>>): PolicyResult {
  const config = baseConfig();
  const compiled = compileWith(config, { enforcePolicies: false });
  for (const [env, planted] of Object.entries(resources)) {
    const builder = compiled.plan.roots.find((r) => r.id === `${env}/30-persistence`)!.builder;
    for (const [type, byName] of Object.entries(planted)) {
      for (const [name, body] of Object.entries(byName)) builder.resource(type as never, name, fromTerraformJson(body) as never);
    }
  }
  return checkPolicies(compiled.plan, compiled.config, { today: TODAY, input: config });
}

interface BrokenCache {
  readonly name: string;
  readonly env: Env;
  readonly resources: Resources;
  /** The one ElastiCache rule that must report it, where, how severely and in what words. */
  readonly rule: string;
  readonly address: string;
  readonly severity: "block" | "warn";
  readonly message: string;
}

const BROKEN_CACHE: readonly BrokenCache[] = [
  {
    name: "stored unencrypted", env: "dev", resources: changed(cache("dev"), CACHE_GROUP, { at_rest_encryption_enabled: false }),
    rule: "elasticache-encrypted-at-rest", address: CACHE_GROUP, severity: "block", message: "at_rest_encryption_enabled is false: the cached data and its snapshots would be stored unencrypted",
  },
  {
    name: "encrypted without a customer-managed key", env: "prod", resources: changed(cache("prod"), CACHE_GROUP, { kms_key_id: undefined }),
    rule: "elasticache-encrypted-cmk", address: CACHE_GROUP, severity: "warn", message: "kms_key_id is not set: the data is encrypted with a key ElastiCache manages, which no key policy of the account governs",
  },
  {
    name: "without TLS", env: "dev", resources: changed(cache("dev"), CACHE_GROUP, { transit_encryption_enabled: false, transit_encryption_mode: undefined }),
    rule: "elasticache-encrypted-in-transit", address: CACHE_GROUP, severity: "block", message: "transit_encryption_enabled is false: clients and replicas would exchange data and credentials in plain text",
  },
  {
    name: "with TLS only preferred", env: "staging", resources: changed(cache("staging"), CACHE_GROUP, { transit_encryption_mode: "preferred" }),
    rule: "elasticache-encrypted-in-transit", address: CACHE_GROUP, severity: "block", message: 'transit_encryption_mode is "preferred": clients may still connect without TLS',
  },
  {
    name: "open without authentication", env: "dev", resources: changed(cache("dev"), CACHE_GROUP, { user_group_ids: undefined }),
    rule: "elasticache-authentication", address: CACHE_GROUP, severity: "block", message: "neither user_group_ids nor auth_token is set: any client that reaches the port could read and write every key",
  },
  {
    name: "with AWS's built-in default user in the group", env: "dev", resources: changed(cache("dev"), CACHE_USERS, { user_ids: ["default", "${aws_elasticache_user.app.user_id}"] }),
    rule: "elasticache-default-user-off", address: CACHE_USERS, severity: "block", message: 'the group holds AWS\'s built-in user "default": any client that reaches the port may run every command without a password',
  },
  {
    name: "with its own default user switched on", env: "staging", resources: changed(cache("staging"), "aws_elasticache_user.default", { access_string: "on ~* +@all" }),
    rule: "elasticache-default-user-off", address: CACHE_USERS, severity: "block", message: 'the default user aws_elasticache_user.default has access_string "on ~* +@all": clients that do not authenticate would get its permissions',
  },
  {
    name: "with a user group caja does not manage", env: "dev", resources: changed(cache("dev"), CACHE_GROUP, { user_group_ids: ["caja-shared-users"] }),
    rule: "elasticache-default-user-off", address: CACHE_GROUP, severity: "block", message: 'user group "caja-shared-users" is not managed by caja, so caja cannot check that its default user is off',
  },
  {
    name: "without snapshots in staging", env: "staging", resources: changed(cache("staging"), CACHE_GROUP, { snapshot_retention_limit: 0 }),
    rule: "elasticache-backups", address: CACHE_GROUP, severity: "warn", message: "snapshot_retention_limit is 0: a failed node or a bad write could not be restored",
  },
  {
    name: "without snapshots in prod", env: "prod", resources: changed(cache("prod"), CACHE_GROUP, { snapshot_retention_limit: undefined }),
    rule: "elasticache-backups", address: CACHE_GROUP, severity: "block", message: "snapshot_retention_limit is not set (no automatic snapshots): a failed node or a bad write could not be restored",
  },
  {
    name: "with a standalone Redis node without snapshots", env: "dev", resources: changed(cache("dev"), "aws_elasticache_cluster.sessions", { cluster_id: "caja-dev-sessions", engine: "redis", node_type: "cache.t4g.micro", num_cache_nodes: 1 }),
    rule: "elasticache-backups", address: "aws_elasticache_cluster.sessions", severity: "warn", message: "snapshot_retention_limit is not set (no automatic snapshots): a failed node or a bad write could not be restored",
  },
  {
    name: "without automatic failover in prod", env: "prod", resources: changed(cache("prod"), CACHE_GROUP, { automatic_failover_enabled: false }),
    rule: "elasticache-multi-az", address: CACHE_GROUP, severity: "block", message: "automatic_failover_enabled is false: a failed primary would not be replaced by a replica",
  },
  {
    name: "in one availability zone in prod", env: "prod", resources: changed(cache("prod"), CACHE_GROUP, { multi_az_enabled: undefined }),
    rule: "elasticache-multi-az", address: CACHE_GROUP, severity: "block", message: "multi_az_enabled is not set: one availability zone failure could take the production cache down",
  },
  {
    name: "without minor engine upgrades", env: "staging", resources: changed(cache("staging"), CACHE_GROUP, { auto_minor_version_upgrade: false }),
    rule: "elasticache-auto-minor-upgrade", address: CACHE_GROUP, severity: "block", message: "auto_minor_version_upgrade is false: engine security patches would wait for a manual upgrade",
  },
];

describe("the repository's config", () => {
  it("passes the gate with zero blocking findings; the by-design ones are suppressed with reasons", async () => {
    const result = await compile({ cwd: repo, outDir: tempDir("caja-gate-"), check: true });
    const gateResult = checkPolicies(result.plan, result.config, { today: TODAY });
    expect(gateResult.blocking.map(summary)).toEqual([]);
    expect(gateResult.problems).toEqual([]);
    expect(new Set(gateResult.suppressed.map((f) => f.ruleId))).toEqual(new Set(["alb-internal", "alb-waf", "cloudfront-waf", "sg-no-world-http", "sg-no-world-egress"]));
    for (const f of gateResult.suppressed) expect(f.suppression.reason.length).toBeGreaterThan(20);
    // What is left are the plan's optional access logs, reported as warnings.
    expect(new Set(gateResult.warnings.map((f) => f.ruleId))).toEqual(new Set(["alb-access-logs", "cloudfront-access-logs"]));
  });

  it("without suppressions, blocks exactly the by-design findings, each with a fix that says how to accept it", () => {
    const result = gate(unsuppressed());
    const rules = [...new Set(result.blocking.map((f) => f.ruleId))].sort();
    expect(rules).toEqual(["alb-internal", "alb-waf", "cloudfront-waf", "sg-no-world-egress", "sg-no-world-http"]);
    expect(result.blocking).toHaveLength(3 * 6);
    for (const f of result.blocking) expect(f.fix).toContain("policy.suppressions");
    expect(result.blocking.find((f) => f.ruleId === "alb-internal")).toMatchObject({
      checkov: [], trivy: ["AWS-0053"], severity: "block", root: "dev/50-service", address: "aws_lb.main", configPath: "environments.dev",
    });
  });
});

describe("every rule fires on a config that breaks it, at the field that caused it", () => {
  const overrides = (phase: string, byAddress: Record<string, Record<string, unknown>>) => ({ [phase]: { overrides: byAddress } });
  const json = (v: unknown) => JSON.stringify(v);
  const broken: CajaConfigInput = {
    ...baseConfig(),
    policy: { suppressions: BY_DESIGN },
    extend: {
      bootstrap: { overrides: { "aws_dynamodb_table.locks": { point_in_time_recovery: { enabled: false } }, "aws_s3_bucket.state": { force_destroy: true } } },
      domain: {
        overrides: {
          "aws_acm_certificate.api": { lifecycle: { create_before_destroy: false }, options: { certificate_transparency_logging_preference: "DISABLED" }, domain_name: "*.caja.dbash.dev" },
        },
      },
      "iam-oidc": {
        resources: {
          aws_iam_policy: {
            admin: { name: "caja-admin", policy: json({ Version: "2012-10-17", Statement: [{ Sid: "All", Effect: "Allow", Action: "*", Resource: "*" }] }) },
            buckets: {
              name: "caja-buckets",
              policy: json({
                Version: "2012-10-17",
                Statement: [
                  { Sid: "Zones", Effect: "Allow", Action: ["route53:ListHostedZones", "ACM:ListCertificates"], Resource: "*" },
                  { Sid: "InRegion", Effect: "Allow", Action: "ec2:Describe*", Resource: "*", Condition: { StringEquals: { "aws:RequestedRegion": "eu-west-1" } } },
                  { Sid: "Named", Effect: "Allow", Action: "s3:PutObject", Resource: "arn:aws:s3:::caja-dev-web/*" },
                  { Sid: "NotScopable", Effect: "Deny", Action: "s3:*", Resource: "*" },
                  { Sid: "Writes", Effect: "Allow", Action: ["route53:ListHostedZones", "s3:PutObject", "s3:DeleteObject", "s3:GetObject", "s3:PutBucketPolicy"], Resource: "*" },
                ],
              }),
            },
          },
          aws_iam_role_policy_attachment: { admin: { role: "${aws_iam_role.deployer_dev.name}", policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess" } },
          aws_iam_role: { open: { name: "caja-open", assume_role_policy: json({ Version: "2012-10-17", Statement: [{ Sid: "Anyone", Effect: "Allow", Principal: { AWS: "*" }, Action: "sts:AssumeRole" }] }) } },
        },
        overrides: {
          "aws_iam_role.deployer_staging": {
            assume_role_policy: json({
              Version: "2012-10-17",
              Statement: [{ Sid: "Org", Effect: "Allow", Principal: { Federated: "${aws_iam_openid_connect_provider.github.arn}" }, Action: "sts:AssumeRoleWithWebIdentity", Condition: { StringLike: { "token.actions.githubusercontent.com:sub": "repo:dbash/*" } } }],
            }),
          },
        },
      },
    },
    defaults: { alarms: { emails: ["oncall@dbash.dev"] }, db: { backupRetentionDays: 1 } },
    environments: {
      dev: {
        extend: {
          ...overrides("persistence", {
            "aws_db_instance.main": {
              storage_encrypted: false, publicly_accessible: true, enabled_cloudwatch_logs_exports: [], copy_tags_to_snapshot: false, auto_minor_version_upgrade: false,
              ca_cert_identifier: "rds-ca-2019", monitoring_interval: 0, performance_insights_enabled: false, iam_database_authentication_enabled: false,
            },
            "aws_db_parameter_group.main": { parameter: [{ name: "log_statement", value: "ddl" }] },
          }),
          ...overrides("service", {
            "aws_lb_listener.http": { default_action: [{ type: "forward", target_group_arn: "${aws_lb_target_group.api.arn}" }] },
            "aws_ecs_task_definition.api": {
              container_definitions: json([{ name: "api", image: "nginx", essential: true, privileged: true, environment: [{ name: "API_TOKEN", value: "tok-0123456789abcdef" }] }]),
              pid_mode: "host",
              task_role_arn: "${aws_iam_role.task_execution.arn}",
            },
          }),
          "static-site": {
            resources: {
              aws_s3_bucket: { audit: { bucket: "caja-dev-audit" } },
              aws_s3_bucket_acl: { audit: { bucket: "${aws_s3_bucket.audit.id}", acl: "public-read" } },
            },
            overrides: { "aws_s3_bucket_public_access_block.web": { restrict_public_buckets: false } },
          },
        },
      },
      staging: {
        extend: {
          network: {
            resources: {
              aws_vpc: { extra: { cidr_block: "10.99.0.0/16" } },
              aws_vpc_security_group_ingress_rule: { ssh: { security_group_id: "${aws_security_group.ecs.id}", cidr_ipv4: "0.0.0.0/0", ip_protocol: "tcp", from_port: 22, to_port: 22, description: "SSH for debugging" } },
            },
            overrides: {
              "aws_subnet.public_0": { map_public_ip_on_launch: true },
              "aws_vpc_security_group_ingress_rule.ecs_from_alb": { description: "" },
              "aws_default_security_group.default": {
                ingress: [{ protocol: "-1", from_port: 0, to_port: 0, cidr_blocks: ["10.0.0.0/8"], description: "VPN", ipv6_cidr_blocks: [], prefix_list_ids: [], security_groups: [], self: false }],
              },
            },
          },
          ...overrides("platform", {
            "aws_ecr_repository.api": { image_tag_mutability: "MUTABLE", image_scanning_configuration: { scan_on_push: false } },
            "aws_ecs_cluster.main": { setting: [{ name: "containerInsights", value: "disabled" }], configuration: { execute_command_configuration: { logging: "NONE" } } },
            "aws_cloudwatch_log_group.app": { retention_in_days: 0 },
          }),
          ...overrides("service", {
            "aws_ecs_service.api": { network_configuration: { assign_public_ip: true }, platform_version: "1.3.0" },
            "aws_lb.main": { drop_invalid_header_fields: false, desync_mitigation_mode: "monitor" },
            "aws_lb_listener.https": { ssl_policy: "ELBSecurityPolicy-2016-08" },
            "aws_lb_target_group.api": { health_check: { enabled: false } },
          }),
          ...overrides("static-site", {
            "aws_cloudfront_distribution.web": {
              default_cache_behavior: { viewer_protocol_policy: "allow-all" },
              viewer_certificate: { minimum_protocol_version: "TLSv1" },
              default_root_object: "",
              origin: [{ domain_name: "${aws_s3_bucket.web.bucket_regional_domain_name}", origin_id: "s3-web" }],
            },
            "aws_cloudfront_response_headers_policy.web": { security_headers_config: { strict_transport_security: null } },
          }),
          ...overrides("observability", { "aws_sns_topic.alarms": { kms_master_key_id: "alias/aws/sns" } }),
        },
      },
      prod: {
        db: { deletionProtection: false, multiAz: false },
        alarms: { emails: [] },
        alb: { deletionProtection: false },
        extend: overrides("observability", {
          "aws_kms_key.alarms": { enable_key_rotation: false, policy: json({ Version: "2012-10-17", Statement: [{ Sid: "Open", Effect: "Allow", Principal: "*", Action: "kms:*", Resource: "*" }] }) },
          "aws_cloudwatch_metric_alarm.ecs_cpu": { actions_enabled: false },
        }),
      },
    },
  };

  const dev = (phase: string, address: string, attribute?: string) =>
    `environments.dev.extend.${phase}.overrides["${address}"]${attribute ? `.${attribute}` : ""}`;
  const staging = (phase: string, address: string, attribute?: string) =>
    `environments.staging.extend.${phase}.overrides["${address}"]${attribute ? `.${attribute}` : ""}`;
  const EXPECTED: readonly (readonly [rule: string, root: string, address: string, path: string])[] = [
    ["rds-storage-encrypted", "dev/30-persistence", "aws_db_instance.main", dev("persistence", "aws_db_instance.main", "storage_encrypted")],
    ["rds-not-public", "dev/30-persistence", "aws_db_instance.main", dev("persistence", "aws_db_instance.main", "publicly_accessible")],
    ["rds-deletion-protection", "prod/30-persistence", "aws_db_instance.main", "environments.prod.db.deletionProtection"],
    ["rds-multi-az", "prod/30-persistence", "aws_db_instance.main", "environments.prod.db.multiAz"],
    ["rds-log-exports", "dev/30-persistence", "aws_db_instance.main", dev("persistence", "aws_db_instance.main", "enabled_cloudwatch_logs_exports")],
    ["rds-backup-retention", "staging/30-persistence", "aws_db_instance.main", "defaults.db.backupRetentionDays"],
    ["rds-copy-tags-to-snapshot", "dev/30-persistence", "aws_db_instance.main", dev("persistence", "aws_db_instance.main", "copy_tags_to_snapshot")],
    ["rds-force-ssl", "dev/30-persistence", "aws_db_instance.main", dev("persistence", "aws_db_parameter_group.main", "parameter")],
    ["rds-query-logging", "dev/30-persistence", "aws_db_instance.main", dev("persistence", "aws_db_parameter_group.main", "parameter")],
    ["rds-auto-minor-upgrade", "dev/30-persistence", "aws_db_instance.main", dev("persistence", "aws_db_instance.main", "auto_minor_version_upgrade")],
    ["rds-ca-certificate", "dev/30-persistence", "aws_db_instance.main", dev("persistence", "aws_db_instance.main", "ca_cert_identifier")],
    ["rds-enhanced-monitoring", "dev/30-persistence", "aws_db_instance.main", dev("persistence", "aws_db_instance.main", "monitoring_interval")],
    ["rds-performance-insights", "dev/30-persistence", "aws_db_instance.main", dev("persistence", "aws_db_instance.main", "performance_insights_enabled")],
    ["rds-iam-authentication", "dev/30-persistence", "aws_db_instance.main", dev("persistence", "aws_db_instance.main", "iam_database_authentication_enabled")],
    ["alb-drop-invalid-headers", "staging/50-service", "aws_lb.main", staging("service", "aws_lb.main", "drop_invalid_header_fields")],
    ["alb-deletion-protection", "prod/50-service", "aws_lb.main", "environments.prod.alb.deletionProtection"],
    ["alb-desync-mitigation", "staging/50-service", "aws_lb.main", staging("service", "aws_lb.main", "desync_mitigation_mode")],
    ["alb-http-redirects-only", "dev/50-service", "aws_lb_listener.http", dev("service", "aws_lb_listener.http", "default_action")],
    ["alb-tls-policy", "staging/50-service", "aws_lb_listener.https", staging("service", "aws_lb_listener.https", "ssl_policy")],
    ["lb-target-group-health-check", "staging/50-service", "aws_lb_target_group.api", staging("service", "aws_lb_target_group.api", "health_check")],
    ["alb-access-logs", "dev/50-service", "aws_lb.main", "environments.dev"],
    ["s3-public-access-block", "dev/60-static-site", "aws_s3_bucket.audit", "environments.dev.extend.static-site.resources.aws_s3_bucket.audit"],
    ["s3-public-access-block", "dev/60-static-site", "aws_s3_bucket_public_access_block.web", dev("static-site", "aws_s3_bucket_public_access_block.web", "restrict_public_buckets")],
    ["s3-encryption", "dev/60-static-site", "aws_s3_bucket.audit", "environments.dev.extend.static-site.resources.aws_s3_bucket.audit"],
    ["s3-versioning", "dev/60-static-site", "aws_s3_bucket.audit", "environments.dev.extend.static-site.resources.aws_s3_bucket.audit"],
    ["s3-ownership-enforced", "dev/60-static-site", "aws_s3_bucket.audit", "environments.dev.extend.static-site.resources.aws_s3_bucket.audit"],
    ["s3-tls-only", "dev/60-static-site", "aws_s3_bucket.audit", "environments.dev.extend.static-site.resources.aws_s3_bucket.audit"],
    ["s3-no-public-grants", "dev/60-static-site", "aws_s3_bucket_acl.audit", "environments.dev.extend.static-site.resources.aws_s3_bucket_acl.audit.acl"],
    ["cloudfront-https-only", "staging/60-static-site", "aws_cloudfront_distribution.web", staging("static-site", "aws_cloudfront_distribution.web", "default_cache_behavior")],
    ["cloudfront-tls", "staging/60-static-site", "aws_cloudfront_distribution.web", staging("static-site", "aws_cloudfront_distribution.web", "viewer_certificate")],
    ["cloudfront-origin-access-control", "staging/60-static-site", "aws_cloudfront_distribution.web", staging("static-site", "aws_cloudfront_distribution.web", "origin")],
    ["cloudfront-default-root-object", "staging/60-static-site", "aws_cloudfront_distribution.web", staging("static-site", "aws_cloudfront_distribution.web", "default_root_object")],
    ["cloudfront-security-headers", "staging/60-static-site", "aws_cloudfront_distribution.web", staging("static-site", "aws_cloudfront_response_headers_policy.web", "security_headers_config")],
    ["cloudfront-access-logs", "dev/60-static-site", "aws_cloudfront_distribution.web", "environments.dev"],
    ["ecr-immutable-tags", "staging/40-platform", "aws_ecr_repository.api", staging("platform", "aws_ecr_repository.api", "image_tag_mutability")],
    ["ecr-scan-on-push", "staging/40-platform", "aws_ecr_repository.api", staging("platform", "aws_ecr_repository.api", "image_scanning_configuration")],
    ["ecs-container-insights", "staging/40-platform", "aws_ecs_cluster.main", staging("platform", "aws_ecs_cluster.main", "setting")],
    ["ecs-exec-logging", "staging/40-platform", "aws_ecs_cluster.main", staging("platform", "aws_ecs_cluster.main", "configuration")],
    ["ecs-no-public-ip", "staging/50-service", "aws_ecs_service.api", staging("service", "aws_ecs_service.api", "network_configuration")],
    ["ecs-platform-version", "staging/50-service", "aws_ecs_service.api", staging("service", "aws_ecs_service.api", "platform_version")],
    ["ecs-read-only-root", "dev/50-service", "aws_ecs_task_definition.api", dev("service", "aws_ecs_task_definition.api", "container_definitions")],
    ["ecs-not-privileged", "dev/50-service", "aws_ecs_task_definition.api", dev("service", "aws_ecs_task_definition.api", "container_definitions")],
    ["ecs-no-host-pid", "dev/50-service", "aws_ecs_task_definition.api", dev("service", "aws_ecs_task_definition.api", "pid_mode")],
    ["ecs-separate-task-roles", "dev/50-service", "aws_ecs_task_definition.api", dev("service", "aws_ecs_task_definition.api", "task_role_arn")],
    ["ecs-no-plaintext-secrets", "dev/50-service", "aws_ecs_task_definition.api", dev("service", "aws_ecs_task_definition.api", "container_definitions")],
    ["sg-rule-descriptions", "staging/20-network", "aws_vpc_security_group_ingress_rule.ecs_from_alb", staging("network", "aws_vpc_security_group_ingress_rule.ecs_from_alb", "description")],
    ["sg-no-world-admin-ports", "staging/20-network", "aws_vpc_security_group_ingress_rule.ssh", "environments.staging.extend.network.resources.aws_vpc_security_group_ingress_rule.ssh.cidr_ipv4"],
    ["sg-world-ingress-alb-only", "staging/20-network", "aws_vpc_security_group_ingress_rule.ssh", "environments.staging.extend.network.resources.aws_vpc_security_group_ingress_rule.ssh.cidr_ipv4"],
    ["default-sg-closed", "staging/20-network", "aws_vpc.extra", "environments.staging.extend.network.resources.aws_vpc.extra"],
    ["default-sg-closed", "staging/20-network", "aws_default_security_group.default", staging("network", "aws_default_security_group.default", "ingress")],
    ["vpc-flow-logs", "staging/20-network", "aws_vpc.extra", "environments.staging.extend.network.resources.aws_vpc.extra"],
    ["subnet-no-public-ip-on-launch", "staging/20-network", "aws_subnet.public_0", staging("network", "aws_subnet.public_0", "map_public_ip_on_launch")],
    ["iam-no-wildcard-admin", "global/05-iam-oidc", "aws_iam_policy.admin", "extend.iam-oidc.resources.aws_iam_policy.admin.policy"],
    ["iam-star-resource-scoped", "global/05-iam-oidc", "aws_iam_policy.buckets", "extend.iam-oidc.resources.aws_iam_policy.buckets.policy"],
    ["iam-no-admin-managed-policy", "global/05-iam-oidc", "aws_iam_role_policy_attachment.admin", "extend.iam-oidc.resources.aws_iam_role_policy_attachment.admin.policy_arn"],
    ["iam-trust-no-wildcard-principal", "global/05-iam-oidc", "aws_iam_role.open", "extend.iam-oidc.resources.aws_iam_role.open.assume_role_policy"],
    ["iam-oidc-subject", "global/05-iam-oidc", "aws_iam_role.deployer_staging", 'extend.iam-oidc.overrides["aws_iam_role.deployer_staging"].assume_role_policy'],
    ["log-group-retention", "staging/40-platform", "aws_cloudwatch_log_group.app", staging("platform", "aws_cloudwatch_log_group.app", "retention_in_days")],
    ["alarm-actions-enabled", "prod/80-observability", "aws_cloudwatch_metric_alarm.ecs_cpu", 'environments.prod.extend.observability.overrides["aws_cloudwatch_metric_alarm.ecs_cpu"].actions_enabled'],
    ["alarm-topic-subscribed", "prod/80-observability", "aws_sns_topic.alarms", "environments.prod.alarms.emails"],
    ["sns-encrypted-cmk", "staging/80-observability", "aws_sns_topic.alarms", staging("observability", "aws_sns_topic.alarms", "kms_master_key_id")],
    ["sns-alarm-key-usable", "prod/80-observability", "aws_sns_topic.alarms", 'environments.prod.extend.observability.overrides["aws_kms_key.alarms"].policy'],
    ["kms-key-rotation", "prod/80-observability", "aws_kms_key.alarms", 'environments.prod.extend.observability.overrides["aws_kms_key.alarms"].enable_key_rotation'],
    ["kms-key-policy", "prod/80-observability", "aws_kms_key.alarms", 'environments.prod.extend.observability.overrides["aws_kms_key.alarms"].policy'],
    ["dynamodb-pitr", "global/00-bootstrap", "aws_dynamodb_table.locks", 'extend.bootstrap.overrides["aws_dynamodb_table.locks"].point_in_time_recovery'],
    ["acm-create-before-destroy", "global/10-domain", "aws_acm_certificate.api", 'extend.domain.overrides["aws_acm_certificate.api"].lifecycle'],
    ["acm-transparency-logging", "global/10-domain", "aws_acm_certificate.api", 'extend.domain.overrides["aws_acm_certificate.api"].options'],
    ["acm-no-wildcard", "global/10-domain", "aws_acm_certificate.api", 'extend.domain.overrides["aws_acm_certificate.api"].domain_name'],
    ["bootstrap-protected", "global/00-bootstrap", "aws_s3_bucket.state", 'extend.bootstrap.overrides["aws_s3_bucket.state"].force_destroy'],
    ["no-secret-values", "dev/50-service", "aws_ecs_task_definition.api", dev("service", "aws_ecs_task_definition.api", "container_definitions")],
  ];

  const result = gate(broken);
  const all = [...result.blocking, ...result.warnings, ...result.suppressed];

  it.each(EXPECTED)("%s on %s %s, at %s", (rule, root, address, path) => {
    const hits = all.filter((f) => f.ruleId === rule && f.root === root && f.address === address);
    expect(hits.map((f) => f.configPath), `findings of ${rule}: ${all.filter((f) => f.ruleId === rule).map(summary).join("; ")}`).toContain(path);
    const defined = RULES.find((r) => r.id === rule)!;
    const expectedSeverity = root.startsWith("prod/") && defined.prodSeverity ? defined.prodSeverity : defined.severity;
    for (const f of hits) expect(f.severity).toBe(expectedSeverity);
  });

  it("covers every rule, including the by-design ones (which the suppressions accept) and the ElastiCache ones (below)", () => {
    const covered = new Set([...EXPECTED.map(([rule]) => rule), ...BY_DESIGN.map((s) => s.rule), ...BROKEN_CACHE.map((c) => c.rule)]);
    expect(RULES.map((r) => r.id).filter((id) => !covered.has(id))).toEqual([]);
    expect(result.suppressed.map((f) => f.ruleId)).toEqual(expect.arrayContaining(BY_DESIGN.map((s) => s.rule)));
    expect(result.problems).toEqual([]);
  });

  it("says what is wrong in words a reviewer can act on", () => {
    const byRule = (rule: string) => all.find((f) => f.ruleId === rule)!;
    expect(byRule("alb-tls-policy").message).toBe('ssl_policy is "ELBSecurityPolicy-2016-08", which allows TLS older than 1.2');
    expect(all.filter((f) => f.ruleId === "iam-oidc-subject").map((f) => f.message)).toEqual([
      'statement "Org" does not require StringEquals aud = "sts.amazonaws.com"',
      'statement "Org": sub "repo:dbash/*" names "dbash/*" rather than one OWNER/REPO',
    ]);
    // Only the unconditioned Allow on "*" of actions that take resources; the admin policy is iam-no-wildcard-admin's.
    expect(all.filter((f) => f.ruleId === "iam-star-resource-scoped").map((f) => `${f.address}: ${f.message}`)).toEqual([
      'aws_iam_policy.buckets: statement "Writes" allows "s3:PutObject", "s3:DeleteObject", "s3:GetObject" and 1 more on "*" with no condition, though they are not actions AWS accepts only on "*"',
    ]);
    expect(byRule("ecs-no-plaintext-secrets").message).toBe('container "api" passes API_TOKEN as plain environment');
    expect(all.filter((f) => f.ruleId === "sns-alarm-key-usable").map((f) => `${f.root}: ${f.message}`)).toEqual([
      "staging/80-observability: the topic receives alarms but its key is not managed in this root, so caja cannot check that CloudWatch may use it",
      expect.stringMatching(/^prod\/80-observability: aws_kms_key\.alarms's policy does not let cloudwatch\.amazonaws\.com kms:Decrypt or kms:GenerateDataKey/),
    ]);
    expect(all.find((f) => f.ruleId === "sns-alarm-key-usable" && f.root.startsWith("prod"))!.message).toMatch(/aws_kms_key\.alarms's policy does not let cloudwatch\.amazonaws\.com kms:Decrypt or kms:GenerateDataKey/);
    expect(byRule("rds-backup-retention")).toMatchObject({ checkov: ["CKV_AWS_133"], trivy: ["AWS-0077"], message: "backup_retention_period is 1" });
  });

  it("fails the compile like a config error, with every blocking finding at its config path", () => {
    let error: unknown;
    try {
      compileWith(broken);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigIssuesError);
    const issues = (error as ConfigIssuesError).issues;
    expect(issues.length).toBe(result.blocking.length);
    expect(issues).toContainEqual({
      path: "environments.prod.db.deletionProtection",
      message: "[rds-deletion-protection] prod/30-persistence aws_db_instance.main: deletion_protection is false: a destroy or replacement would delete the production database. Fix: Set db.deletionProtection to true for the prod environment (its tier default).",
    });
  });
});

describe("ElastiCache: the cache module's shape passes, and each way of breaking it is reported by its rule", () => {
  const cacheFindings = (result: PolicyResult) => [...result.blocking, ...result.warnings, ...result.suppressed].filter((f) => f.ruleId.startsWith("elasticache-"));

  it("passes in every environment: one node in dev, failover in staging, across zones in prod", () => {
    const result = gateWithCache({ dev: cache("dev"), staging: cache("staging"), prod: cache("prod") });
    expect(cacheFindings(result).map(summary)).toEqual([]);
    expect(result.blocking.map(summary)).toEqual([]);
  });

  it.each([
    ["with an AUTH token from a secret instead of a user group", changed(cache("prod"), CACHE_GROUP, { user_group_ids: undefined, auth_token: "${aws_secretsmanager_secret_version.cache_auth.secret_string}" })],
    ["with its flags written as the provider's nullable booleans", changed(cache("prod"), CACHE_GROUP, { at_rest_encryption_enabled: "true", transit_encryption_enabled: "true", automatic_failover_enabled: "true", multi_az_enabled: "true" })],
    ["with a Memcached node, which keeps no snapshots", changed(cache("prod"), "aws_elasticache_cluster.pages", { cluster_id: "caja-prod-pages", engine: "memcached", node_type: "cache.t4g.micro", num_cache_nodes: 1 })],
  ])("passes %s", (_name, resources) => {
    expect(cacheFindings(gateWithCache({ prod: resources })).map(summary)).toEqual([]);
  });

  it.each(BROKEN_CACHE.map((c) => [c.name, c] as const))("reports a cache %s, by its rule alone", (_name, c) => {
    const found = cacheFindings(gateWithCache({ [c.env]: c.resources }));
    expect(found.map((f) => `${f.ruleId} ${f.root} ${f.address}`)).toEqual([`${c.rule} ${c.env}/30-persistence ${c.address}`]);
    const defined = RULES.find((r) => r.id === c.rule)!;
    expect(found[0]).toMatchObject({ severity: c.severity, message: c.message, configPath: `environments.${c.env}`, checkov: defined.checkov, trivy: defined.trivy });
  });
});

describe("rules judge the whole plan, not one resource at a time", () => {
  it("a WAF association in another root protects the load balancer it points at", () => {
    const compiled = compileWith(unsuppressed(), { enforcePolicies: false });
    const service = compiled.plan.roots.find((r) => r.id === "prod/50-service")!;
    service.builder.resource("aws_wafv2_web_acl_association" as never, "api", { resource_arn: "\uE000aws_lb.main.arn\uE001", web_acl_arn: "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/api/1" } as never);
    const result = checkPolicies(compiled.plan, compiled.config, { today: TODAY });
    expect(result.blocking.filter((f) => f.ruleId === "alb-waf").map((f) => f.root)).toEqual(["dev/50-service", "staging/50-service"]);
  });

  it("world ingress on 443 passes only on a group an internet-facing load balancer uses", () => {
    const config = { ...baseConfig(), policy: { suppressions: BY_DESIGN } };
    const ok = gate(config);
    expect(ok.blocking.filter((f) => f.ruleId === "sg-world-ingress-alb-only")).toEqual([]);
    const internal = gate({ ...config, environments: { ...config.environments, dev: { extend: { service: { overrides: { "aws_lb.main": { internal: true } } } } } } } as CajaConfigInput);
    // An internal ALB: its group's 80/443 from the internet is no longer justified (and alb-internal is now unused).
    expect(internal.blocking.filter((f) => f.ruleId === "sg-world-ingress-alb-only").map((f) => `${f.root} ${f.address}`).sort()).toEqual(
      ["alb_http_ipv4", "alb_http_ipv6", "alb_https_ipv4", "alb_https_ipv6"].map((n) => `dev/20-network aws_vpc_security_group_ingress_rule.${n}`),
    );
  });
});

describe("suppressions", () => {
  const suppressing = (suppressions: unknown[]) => ({ ...baseConfig(), policy: { suppressions: [...BY_DESIGN, ...suppressions] } }) as CajaConfigInput;
  const withProdDbOff = (suppressions: unknown[]) => ({ ...suppressing(suppressions), environments: { dev: {}, staging: {}, prod: { db: { deletionProtection: false } } } }) as CajaConfigInput;

  it("accept one rule on one resource, in every root or in the root named", () => {
    const everywhere = gate(withProdDbOff([{ rule: "rds-deletion-protection", resource: "aws_db_instance.main", reason: "prod is not live yet" }]));
    expect(everywhere.blocking).toEqual([]);
    expect(everywhere.suppressed.filter((f) => f.ruleId === "rds-deletion-protection")).toHaveLength(1);
    const oneRoot = gate(suppressing([{ rule: "alb-access-logs", resource: "prod/50-service/aws_lb.main", reason: "logs bucket pending" }]));
    expect(oneRoot.warnings.filter((f) => f.ruleId === "alb-access-logs").map((f) => f.root)).toEqual(["dev/50-service", "staging/50-service"]);
  });

  it("hold until their expiry day, then fail the compile at the expiry", () => {
    const config = withProdDbOff([{ rule: "rds-deletion-protection", resource: "aws_db_instance.main", reason: "prod is not live yet", expires: "2026-06-15" }]);
    expect(gate(config, "2026-06-15").blocking).toEqual([]);
    const expired = gate(config, "2026-06-16");
    expect(expired.problems).toEqual([
      { path: "policy.suppressions[6].expires", message: "the suppression of rds-deletion-protection on aws_db_instance.main expired on 2026-06-15: fix the finding, or renew the suppression with a new expiry and reason" },
    ]);
    expect(expired.blocking.map((f) => f.ruleId)).toEqual(["rds-deletion-protection"]);
  });

  it("that are unused, unknown, misspelt or repeated are errors at their place in the config", () => {
    const result = gate(
      suppressing([
        { rule: "rds-multi-az", resource: "aws_db_instance.main", reason: "passes everywhere" },
        { rule: "alb-internl", resource: "aws_lb.main", reason: "typo" },
        { rule: "alb-access-logs", resource: "aws_lb.mian", reason: "typo" },
        { rule: "alb-internal", resource: "aws_lb.main", reason: "again" },
      ]),
    );
    expect(result.problems).toEqual([
      { path: "policy.suppressions[7].rule", message: 'no security rule "alb-internl". Did you mean "alb-internal"?' },
      { path: "policy.suppressions[9]", message: "suppresses alb-internal on aws_lb.main again (already policy.suppressions[0]); remove one" },
      { path: "policy.suppressions[6]", message: "rds-multi-az passes on aws_db_instance.main, so the suppression is unused: remove it" },
      { path: "policy.suppressions[8].resource", message: 'no resource aws_lb.mian in any root. Did you mean "aws_lb.main"? Remove the suppression or fix the address' },
    ]);
  });

  it("need a reason, a rule-shaped id, an address and a real date (schema)", () => {
    const bad = suppressing([{ rule: "Alb Internal", resource: "lb", reason: "  ", expires: "2026-02-30" }]);
    let error: unknown;
    try {
      compileWith(bad);
    } catch (e) {
      error = e;
    }
    expect((error as ConfigIssuesError).issues.map((i) => i.path).sort()).toEqual(
      ["policy.suppressions[6].expires", "policy.suppressions[6].reason", "policy.suppressions[6].resource", "policy.suppressions[6].rule"],
    );
  });
});

describe("reports", () => {
  const result = gate({ ...baseConfig(), policy: { suppressions: BY_DESIGN } });

  it("the README's rules table is generated from the rule definitions and current", () => {
    const readme = readFileSync(`${repo}README.md`, "utf8");
    const section = readme.slice(readme.indexOf(README_BEGIN), readme.indexOf(README_END) + README_END.length);
    expect(section, "run npm run gen:rules").toBe(rulesSection());
    for (const rule of RULES) expect(section).toContain(`| \`${rule.id}\` |`);
    expect(RULES.filter((r) => r.severity === "block").length).toBeGreaterThanOrEqual(40);
    expect(new Set(RULES.map((r) => r.id)).size).toBe(RULES.length);
  });

  it("the findings report lists every warning and accepted finding with its reason", () => {
    const report = policyReport(result);
    expect(report).toContain("0 blocking, 6 warnings, 18 accepted by suppressions in the config.");
    expect(report).toContain("- `aws_lb.main` in `dev/50-service`, config field `environments.dev`: requests to the load balancer are not logged.\n");
    expect(report).toContain(
      "- `aws_vpc_security_group_egress_rule.ecs_https_ipv4` in `dev/20-network`, `staging/20-network`, `prod/20-network`: the rule allows port 443 to the internet.\n\n" +
        "  Reason: Tasks reach ECR, Secrets Manager and CloudWatch over HTTPS through NAT; there are no VPC endpoints.\n",
    );
    for (const f of [...result.warnings, ...result.suppressed]) expect(report, `${f.ruleId} ${f.root}`).toContain(`\`${f.root}\``);
  });

  it("the findings report groups them by rule, with the rule's title and scanner checks, and the reason below as a sentence", () => {
    const report = policyReport(result);
    const section = (heading: string) => {
      const start = report.indexOf(heading);
      expect(start, heading).toBeGreaterThan(0);
      const next = report.slice(start + 1).search(/\n##+ /);
      return report.slice(start, start + 1 + next);
    };
    expect(section("### `alb-access-logs`: ALB writes access logs (3 warnings)\n")).toBe(
      [
        "### `alb-access-logs`: ALB writes access logs (3 warnings)",
        "",
        "Stands for checkov `CKV_AWS_91`.",
        "",
        "- `aws_lb.main` in `dev/50-service`, config field `environments.dev`: requests to the load balancer are not logged.",
        "- `aws_lb.main` in `staging/50-service`, config field `environments.staging`: requests to the load balancer are not logged.",
        "- `aws_lb.main` in `prod/50-service`, config field `environments.prod`: requests to the load balancer are not logged.",
        "",
        "Fix: Add an access_logs block pointing at an SSE-S3 bucket with the ELB delivery policy (no caja module owns one yet).",
        "",
      ].join("\n"),
    );
    expect(section("### `cloudfront-waf`: CloudFront is protected by a WAF web ACL (3 accepted)\n")).toBe(
      [
        "### `cloudfront-waf`: CloudFront is protected by a WAF web ACL (3 accepted)",
        "",
        "Stands for checkov `CKV_AWS_68`, `CKV2_AWS_47` and trivy `AWS-0011`.",
        "",
        "- `aws_cloudfront_distribution.web` in `dev/60-static-site`, `staging/60-static-site`, `prod/60-static-site`: no WAF web ACL filters requests before they reach the distribution.",
        "",
        "  Reason: WAF is deferred; the distribution serves a static site from a private bucket.",
        "",
      ].join("\n"),
    );
    // No column of dashes for expiries nobody set.
    expect(report).not.toContain("Until");
    expect(report).not.toContain("Accepted until");
  });

  it("the findings report gives a suppression's expiry when it has one", () => {
    const expiring = BY_DESIGN.map((x) => (x.rule === "alb-waf" ? { ...x, expires: "2026-12-31" } : x));
    const report = policyReport(gate({ ...baseConfig(), policy: { suppressions: expiring } }));
    expect(report).toContain("  Reason: WAF is deferred (a cost decision). Accepted until 2026-12-31.\n");
    expect(report.match(/Accepted until/g)).toHaveLength(1);
  });

  it("the findings report has the title and navigation line of the other reviewer pages", () => {
    const report = policyReport(result);
    const environments = compileWith().files.find((f) => f.path === "docs/environments.md")!.content;
    const nav = (page: string) => page.split("\n")[3]!;
    expect(report.split("\n").slice(0, 2)).toEqual([environments.split("\n")[0], "# Security"]);
    expect(nav(report)).toBe(nav(environments).replace("**Environments**", "[Environments](environments.md)").replace("[Security](security.md)", "**Security**"));
  });

  it("SARIF 2.1.0 declares every rule and places each result in the config and the generated root", () => {
    const sarif = toSarif(result, {
      rules: RULES,
      version: "0.1.0",
      configUri: "caja.config.ts",
      positions: new Map([["environments.dev", { line: 12, column: 5 }]]),
      outUri: "out",
      resourceLines: new Map([["dev/50-service/aws_lb.main", 40]]),
    }) as any;
    expect(sarif.version).toBe("2.1.0");
    const run = sarif.runs[0];
    expect(run.tool.driver.rules.map((r: any) => r.id)).toEqual([...RULES.map((r) => r.id), "policy-suppression"]);
    const warning = run.results.find((r: any) => r.ruleId === "alb-access-logs" && r.properties.root === "dev/50-service");
    expect(warning).toMatchObject({
      level: "warning",
      locations: [{ physicalLocation: { artifactLocation: { uri: "caja.config.ts" }, region: { startLine: 12, startColumn: 5 } } }],
      relatedLocations: [{ physicalLocation: { artifactLocation: { uri: "out/dev/50-service/main.tf.json" }, region: { startLine: 40 } } }],
      partialFingerprints: { "cajaFinding/v1": "alb-access-logs:dev/50-service/aws_lb.main" },
    });
    expect(run.tool.driver.rules[warning.ruleIndex].id).toBe("alb-access-logs");
    const suppressed = run.results.filter((r: any) => r.suppressions);
    expect(suppressed).toHaveLength(18);
    expect(suppressed[0].suppressions[0]).toMatchObject({ kind: "inSource", justification: expect.any(String) });
    for (const r of run.results) expect(r.message.text.length).toBeGreaterThan(10);
  });
});

describe("secret-looking values", () => {
  it("appear nowhere in what the repository's config compiles to (every root, test and report)", async () => {
    const result = await compile({ cwd: repo, outDir: tempDir("caja-secrets-"), check: true });
    expect(result.files.filter((f) => f.path.endsWith("/main.tf.json")).length).toBe(result.plan.roots.length);
    const hits = result.files.flatMap((f) => findSecrets(f.path.endsWith(".json") ? JSON.parse(f.content) : f.content).map((h) => `${f.path} ${h.path}: ${h.kind}`));
    expect(hits).toEqual([]);
  });

  it.each([
    ["a PEM key anywhere", { user_data: "-----BEGIN RSA PRIVATE KEY-----\nMIIE..." }, "a PEM private key"],
    ["an access key id", { tags: { Note: "AKIAIOSFODNN7EXAMPLE" } }, "an AWS access key id"],
    ["a GitHub token", { value: "ghp_abcdefghijklmnopqrstuvwxyz0123456789" }, "a GitHub token"],
    ["a literal password", { password: "correct-horse-battery" }, 'a literal value under "password"'],
    ["a secret env var in a JSON document", { container_definitions: JSON.stringify([{ environment: [{ name: "SESSION_SALT", value: "pepper" }] }]) }, 'a literal value under "SESSION_SALT"'],
    ["a URL with credentials", { endpoint: "postgres://app:hunter2@db.internal:5432/app" }, "a URL with a password"],
    ["an access key id on its own line", { user_data: "#!/bin/sh\nAKIAIOSFODNN7EXAMPLE\nexit 0" }, "an AWS access key id"],
    ["a Slack token in a JSON document", { policy: JSON.stringify({ Statement: [{ Sid: "xoxb-1234567890-abcdefghij" }] }) }, "a Slack token"],
    ["a JWT in a list", { args: ["--token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"] }, "a JSON Web Token"],
    ["a mixed-case secret name", { ClientSecret: "s3cr3t-value-here" }, 'a literal value under "ClientSecret"'],
    ["a key spelled with an escape in a JSON document", { container_definitions: '[{"pass\\u0077ord":"hunter2hunter2"}]' }, 'a literal value under "password"'],
    ["a URL with escaped slashes in a JSON document", { policy: '{"Resource":"https:\\/\\/app:pw@db.internal"}' }, "a URL with a password"],
  ])("are found: %s", (_name, body, kind) => {
    expect(findSecrets(body).map((h) => h.kind)).toContain(kind);
  });

  it.each([
    ["a reference to a secret", { valueFrom: "${aws_secretsmanager_secret.jwt.arn}" }],
    ["RDS-managed passwords", { manage_master_user_password: true, master_user_secret_kms_key_id: "${aws_kms_key.db.arn}" }],
    ["an ECS secret by ARN", { container_definitions: JSON.stringify([{ secrets: [{ name: "DB_PASSWORD", valueFrom: "arn:aws:secretsmanager:us-east-1:1:secret:x:password::" }] }]) }],
    ["OIDC condition keys", { assume_role_policy: JSON.stringify({ Statement: [{ Condition: { StringEquals: { "token.actions.githubusercontent.com:sub": "repo:a/b:pull_request" } } }] }) }],
    ["a thumbprint", { thumbprint_list: ["6938fd4d98bab03faadb97b34396831e3780aea1"] }],
  ])("are not confused with %s", (_name, body) => {
    expect(findSecrets(body)).toEqual([]);
  });

  it("are found with the hints exactly as without them (fuzzed bodies, fixed seed)", () => {
    const samples = [
      "-----BEGIN EC PRIVATE KEY-----\nMHcC",
      "AKIAIOSFODNN7EXAMPLE",
      "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
      "xoxp-1234567890-abc",
      "sk_live_abcdefghijklmnop1234",
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijkl",
      "https://user:pa55@example.org/x",
      "password=hunter2hunter2",
      "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "secret=${var.x}",
      "${aws_secretsmanager_secret.x.arn}",
      "arn:aws:secretsmanager:us-east-1:1:secret:x",
      "plain text",
      "",
    ];
    const keys = ["password", "DB_PASSWORD", "api_key", "Token", "salt", "name", "value", "description", "secret_arn", "user_data", "tags", "hash_key", "secret_string", 'pass"word', "x\\", "PASSPHRASE", "SecretAccessKey"];
    // Documents as other tools write them: escapes that decode into a secret key or a shape.
    const rawDocuments = [
      '{"pass\\u0077ord":"hunter2hunter2"}',
      '{"endpoint":"https:\\/\\/app:pw@db.internal"}',
      '[{"name":"DB_\\u0050ASSWORD","value":"plain"}]',
      '{"note":"\\u0041KIAIOSFODNN7EXAMPLE"}',
      '{"note":"pass\\u0077ord=hunter2hunter2"}',
      '{"inner":"{\\"token\\":\\"abc\\"}"}',
    ];
    const text = fc.oneof(
      fc.constantFrom(...samples),
      fc.tuple(fc.constantFrom("", "x ", "a\n", "\t", '"q" '), fc.constantFrom(...samples)).map(([a, b]) => a + b),
    );
    const body: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: "small" }, text, fc.boolean(), fc.integer(), fc.constantFrom(...rawDocuments), tie("list"), tie("record"), tie("document"), tie("envVar")),
      list: fc.array(tie("value"), { maxLength: 3 }),
      record: fc.dictionary(fc.constantFrom(...keys), tie("value"), { maxKeys: 4 }),
      document: tie("record").map((r) => JSON.stringify(r)),
      envVar: fc.tuple(fc.constantFrom(...keys), text).map(([name, value]) => ({ name, value })),
    })).value;
    fc.assert(
      fc.property(body, (b) => {
        expect(findSecrets(b)).toEqual(findSecrets(b, "", { hints: false }));
      }),
      { seed: 20261125, numRuns: 3000 },
    );
  });
});

describe("config paths", () => {
  it("round-trip, with addresses quoted", () => {
    const segments = ["environments", "prod", "extend", "service", "overrides", "aws_lb.main", "internal"];
    expect(formatPath(segments)).toBe('environments.prod.extend.service.overrides["aws_lb.main"].internal');
    expect(parsePath(formatPath(segments))).toEqual(segments);
    expect(parsePath("policy.suppressions[3].expires")).toEqual(["policy", "suppressions", 3, "expires"]);
  });
});
