/**
 * Phase 3.5 — cache (plan sections 3, 5 and 16: "Redis introduction is non-breaking"): an opt-in
 * ElastiCache replication group (Valkey or Redis OSS) per environment, off until
 * `environments.<env>.cache.enabled` (or `defaults.cache.enabled`). Written only against the public
 * module API (`./api.js`, what `caja/module` exports), like a module of a user's own.
 *
 * Tier defaults (section 14's spirit: cost-aware below prod): dev one `cache.t4g.micro` node, no
 * replica; staging a `cache.t4g.small` primary and one replica with automatic failover; prod a
 * `cache.t4g.medium` primary and one replica in another AZ, Multi-AZ with automatic failover.
 *
 * Inputs: networking `vpc_id`, `private_subnet_ids`; security `ecs_security_group_id`.
 * Outputs: `endpoint`, `reader_endpoint`, `port`, `replication_group_id`, `replication_group_arn`,
 * `user_id`, `user_arn`, `security_group_id`.
 *
 * Security choices:
 * - Private subnets only; its own security group admits 6379 from the ECS tasks' group and nothing
 *   else, and the tasks' group gets the matching egress rule (it allows no other egress to the VPC).
 * - Encrypted at rest with a customer-managed KMS key (rotation on) and in transit (TLS required).
 * - Authentication without a password anywhere: RBAC with an IAM-authenticated user. The app signs a
 *   short-lived token with its task role (`elasticache:Connect` on this group and user only); no
 *   secret exists, so none can reach the JSON or the state. The `default` user every user group
 *   needs is switched off (`off -@all`): a client that does not authenticate can do nothing.
 * - Daily snapshots kept 1/7/7 days by tier; slow and engine logs to CloudWatch Logs kept as long as
 *   the environment's other logs by tier (30/60/90 days).
 * - Minor engine versions upgrade in the maintenance window.
 *
 * Wiring: the API container gets `CACHE_HOST`, `CACHE_READER_HOST`, `CACHE_PORT`, `CACHE_USER`,
 * `CACHE_REPLICATION_GROUP_ID` and `CACHE_TLS`/`CACHE_AUTH`; the alarm topic gets CPU, memory and
 * eviction alarms for every node.
 */
import { defineModule, jsonDocument, NETWORKING, policy, SECURITY, z, type NameRule } from "./api.js";

const PORT = 6379;
/** Replication group and cluster ids: lower case, at most 40 (the members add `-001`…, within 50). */
const GROUP_ID: NameRule = { kind: "aws_elasticache_replication_group", max: 36, lowercase: true };
const USER_ID: NameRule = { kind: "aws_elasticache_user", max: 40, lowercase: true };
const USER_GROUP_ID: NameRule = { kind: "aws_elasticache_user_group", max: 40, lowercase: true };
const SUBNET_GROUP: NameRule = { kind: "aws_elasticache_subnet_group", max: 255, lowercase: true };
const LOG_GROUP: NameRule = { kind: "aws_cloudwatch_log_group", max: 512, extra: "_/.#" };
const SECURITY_GROUP: NameRule = { kind: "aws_security_group", max: 255, extra: "_" };
const KMS_ALIAS: NameRule = { kind: "aws_kms_alias", max: 256, extra: "_/" };

/** CloudWatch Logs' retention values. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;
const ENGINE_VERSIONS = { valkey: ["7.2", "8.0", "8.1"], redis: ["7.0", "7.1"] } as const;

const settingsSchema = z
  .strictObject({
    enabled: z.boolean().default(false).meta({ description: "Create the cache in this environment." }),
    engine: z.enum(["valkey", "redis"]).default("valkey").meta({ description: "Valkey (the open-source Redis fork AWS prices lower) or Redis OSS." }),
    engineVersion: z.string().optional().meta({ description: "Engine version. Defaults to the newest caja has checked: 8.0 for Valkey, 7.1 for Redis OSS." }),
    nodeType: z
      .string()
      .regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, "must be an ElastiCache node type such as cache.t4g.micro")
      .default("cache.t4g.micro")
      .meta({ description: "Node type of every node.", examples: ["cache.t4g.small"] }),
    replicas: z.int().min(0).max(5).default(0).meta({ description: "Read replicas beside the primary; one or more turns automatic failover on." }),
    multiAz: z.boolean().default(false).meta({ description: "Place the replica in another AZ and fail over to it (needs a replica)." }),
    snapshotRetentionDays: z.int().min(1).max(35).default(1).meta({ description: "Days automatic daily snapshots are kept." }),
    snapshotWindow: z.string().regex(/^\d{2}:\d{2}-\d{2}:\d{2}$/, "must be hh:mm-hh:mm (UTC)").default("03:00-04:00").meta({ description: "Daily snapshot window (UTC)." }),
    maintenanceWindow: z
      .string()
      .regex(/^(mon|tue|wed|thu|fri|sat|sun):\d{2}:\d{2}-(mon|tue|wed|thu|fri|sat|sun):\d{2}:\d{2}$/, "must be ddd:hh:mm-ddd:hh:mm (UTC), e.g. sun:05:00-sun:06:00")
      .default("sun:05:00-sun:06:00")
      .meta({ description: "Weekly maintenance window (UTC)." }),
    logRetentionDays: z
      .literal(RETENTION_DAYS, { error: `must be a CloudWatch Logs retention: ${RETENTION_DAYS.join(", ")} days` })
      .default(30)
      .meta({ description: "Days the slow and engine logs are kept." }),
    alarms: z
      .strictObject({
        cpuPercent: z.number().min(1).max(100).default(80).meta({ description: "Alarm when a node's engine CPU stays above this (%)." }),
        memoryPercent: z.number().min(1).max(100).default(80).meta({ description: "Alarm when a node's memory use stays above this (%)." }),
        evictions: z.int().min(0).default(100).meta({ description: "Alarm when a node evicts more keys than this in five minutes." }),
      })
      .prefault({})
      .meta({ description: "Alarm thresholds, per node." }),
  })
  .superRefine((s, ctx) => {
    if (s.multiAz && s.replicas === 0) ctx.addIssue({ code: "custom", path: ["multiAz"], message: "Multi-AZ needs a replica to fail over to: set replicas to 1 or more" });
    const versions: readonly string[] = ENGINE_VERSIONS[s.engine];
    if (s.engineVersion !== undefined && !versions.includes(s.engineVersion)) {
      ctx.addIssue({ code: "custom", path: ["engineVersion"], message: `"${s.engineVersion}" is not a ${s.engine} version caja supports (${versions.join(", ")}): IAM authentication needs 7 or later` });
    }
  });

type Settings = z.output<typeof settingsSchema>;

/** The members of a cluster-mode-disabled replication group are named `<group>-001`, `-002`, … */
function memberIds(groupId: string, s: Settings): string[] {
  return Array.from({ length: 1 + s.replicas }, (_, i) => `${groupId}-${String(i + 1).padStart(3, "0")}`);
}

export const cache = defineModule({
  id: "cache",
  title: "ElastiCache (Valkey or Redis OSS)",
  scope: "env",
  phase: { number: 3.5, id: "cache", title: "Cache", exitCriteria: "The replication group is available and the service connects with IAM authentication." },
  outputs: ["endpoint", "reader_endpoint", "port", "replication_group_id", "replication_group_arn", "user_id", "user_arn", "security_group_id"],
  settings: {
    key: "cache",
    description: "An ElastiCache cache (Valkey or Redis OSS) for the API, off unless enabled",
    schema: settingsSchema,
    tierDefaults: {
      dev: { nodeType: "cache.t4g.micro", replicas: 0, multiAz: false, snapshotRetentionDays: 1, logRetentionDays: 30 },
      staging: { nodeType: "cache.t4g.small", replicas: 1, multiAz: false, snapshotRetentionDays: 7, logRetentionDays: 60 },
      prod: { nodeType: "cache.t4g.medium", replicas: 1, multiAz: true, snapshotRetentionDays: 7, logRetentionDays: 90 },
    },
  },
  enabled: (s) => s.enabled,

  wiring: (s, names) => {
    const nodes = memberIds(names.name("cache", GROUP_ID), s);
    const perNode = (id: string, metric: string, statistic: "Average" | "Sum", threshold: number, what: string) =>
      nodes.map((node) => ({
        id: `${id}-${node.slice(-3)}`,
        description: `${what} on ${node}.`,
        namespace: "AWS/ElastiCache",
        metric,
        statistic,
        comparison: ">" as const,
        threshold,
        periodSeconds: 300,
        evaluationPeriods: 3,
        dimensions: { CacheClusterId: node },
      }));
    return {
      service: {
        environment: {
          CACHE_AUTH: "iam",
          CACHE_HOST: { output: "endpoint" },
          CACHE_PORT: PORT,
          CACHE_READER_HOST: { output: "reader_endpoint" },
          CACHE_REPLICATION_GROUP_ID: { output: "replication_group_id" },
          CACHE_TLS: "true",
          CACHE_USER: { output: "user_id" },
        },
        permissions: [{ sid: "CacheConnect", actions: ["elasticache:Connect"], resources: [{ output: "replication_group_arn" }, { output: "user_arn" }] }],
      },
      alarms: [
        ...perNode("cpu", "EngineCPUUtilization", "Average", s.alarms.cpuPercent, `Engine CPU above ${s.alarms.cpuPercent}% for 15 minutes`),
        ...perNode("memory", "DatabaseMemoryUsagePercentage", "Average", s.alarms.memoryPercent, `Memory use above ${s.alarms.memoryPercent}% for 15 minutes`),
        ...perNode("evictions", "Evictions", "Sum", s.alarms.evictions, `More than ${s.alarms.evictions} evictions in each of three 5-minute periods`),
      ],
    };
  },

  permissions: ({ account, region, names }) => {
    const arn = (type: string, name = names) => `arn:aws:elasticache:${region}:${account}:${type}:${name}`;
    return [
      {
        Sid: "ElastiCacheOwnEnv",
        Action: [
          "elasticache:CreateReplicationGroup", "elasticache:DeleteReplicationGroup", "elasticache:ModifyReplicationGroup",
          "elasticache:DescribeReplicationGroups", "elasticache:CreateCacheSubnetGroup", "elasticache:DeleteCacheSubnetGroup",
          "elasticache:ModifyCacheSubnetGroup", "elasticache:DescribeCacheSubnetGroups", "elasticache:CreateUser", "elasticache:DeleteUser",
          "elasticache:ModifyUser", "elasticache:DescribeUsers", "elasticache:CreateUserGroup", "elasticache:DeleteUserGroup",
          "elasticache:ModifyUserGroup", "elasticache:DescribeUserGroups", "elasticache:DescribeCacheClusters", "elasticache:AddTagsToResource",
          "elasticache:RemoveTagsFromResource", "elasticache:ListTagsForResource", "elasticache:CreateSnapshot", "elasticache:DescribeSnapshots",
        ],
        // Creating a group also touches its members, its default parameter group and its snapshots.
        Resource: [arn("replicationgroup"), arn("cluster"), arn("subnetgroup"), arn("user"), arn("usergroup"), arn("snapshot"), arn("parametergroup", "default.*")],
      },
      {
        // Log delivery is configured through CloudWatch Logs actions that take no resource; the
        // first delivery to a log group adds the account's log-delivery resource policy.
        Sid: "ElastiCacheLogDelivery",
        Action: [
          "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries",
          "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
        ],
        Resource: "*",
        Condition: { StringEquals: { "aws:RequestedRegion": region } },
      },
      {
        // The first cache in an account creates ElastiCache's service-linked role.
        Sid: "ElastiCacheServiceLinkedRole",
        Action: "iam:CreateServiceLinkedRole",
        Resource: `arn:aws:iam::${account}:role/aws-service-role/elasticache.amazonaws.com/AWSServiceRoleForElastiCache`,
        Condition: { StringEquals: { "iam:AWSServiceName": "elasticache.amazonaws.com" } },
      },
    ];
  },

  build(ctx) {
    const { root, settings: s, env } = ctx;
    const account = ctx.accountId;
    const vpcId = String(ctx.read(NETWORKING, "vpc_id"));
    const subnets = ctx.read(NETWORKING, "private_subnet_ids") as string[] | string;
    const ecsGroup = String(ctx.read(SECURITY, "ecs_security_group_id"));
    const engineVersion = s.engineVersion ?? (s.engine === "valkey" ? "8.0" : "7.1");
    const groupId = ctx.name("cache", GROUP_ID);

    // Network -------------------------------------------------------------------------------------
    const subnetGroup = root.resource("aws_elasticache_subnet_group", "cache", {
      name: ctx.name("cache", SUBNET_GROUP),
      description: `Private subnets of the ${groupId} cache`,
      subnet_ids: subnets,
    });
    const groupName = ctx.name("cache", SECURITY_GROUP);
    const group = root.resource("aws_security_group", "cache", {
      name: groupName,
      description: "ElastiCache: 6379 from the ECS tasks only",
      vpc_id: vpcId,
      tags: { Name: groupName },
    });
    root.resource("aws_vpc_security_group_ingress_rule", "cache_from_ecs", {
      security_group_id: group.attr("id"),
      referenced_security_group_id: ecsGroup,
      ip_protocol: "tcp",
      from_port: PORT,
      to_port: PORT,
      description: "Cache clients: the ECS tasks",
      tags: { Name: ctx.name("cache-from-ecs") },
    });
    // The tasks' group allows no egress into the VPC but what it needs: add the cache.
    root.resource("aws_vpc_security_group_egress_rule", "ecs_to_cache", {
      security_group_id: ecsGroup,
      referenced_security_group_id: group.attr("id"),
      ip_protocol: "tcp",
      from_port: PORT,
      to_port: PORT,
      description: "To the cache",
      tags: { Name: ctx.name("ecs-to-cache") },
    });

    // Encryption key ------------------------------------------------------------------------------
    const key = root.resource("aws_kms_key", "cache", {
      description: `Encrypts the ${groupId} cache's data and snapshots.`,
      key_usage: "ENCRYPT_DECRYPT",
      customer_master_key_spec: "SYMMETRIC_DEFAULT",
      enable_key_rotation: true,
      deletion_window_in_days: 30,
      policy: jsonDocument(
        // IAM policies apply to a key only when its policy delegates to the account; ElastiCache
        // uses the key on the caller's behalf through grants, which that delegation covers.
        policy({ Sid: "AccountAdministration", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: "kms:*", Resource: "*" }),
      ),
    });
    root.resource("aws_kms_alias", "cache", { name: `alias/${ctx.name("cache", KMS_ALIAS)}`, target_key_id: key.attr("key_id") });

    // Users: an IAM-authenticated one for the app, the mandatory `default` switched off --------------
    const userEngine = s.engine;
    const appUserId = ctx.name("cache-app", USER_ID);
    const appUser = root.resource("aws_elasticache_user", "app", {
      user_id: appUserId,
      user_name: appUserId,
      engine: userEngine,
      // Every command but the ones that reconfigure or wipe the server.
      access_string: "on ~* &* +@all -@dangerous",
      authentication_mode: { type: "iam" },
    });
    const defaultUser = root.resource("aws_elasticache_user", "default", {
      user_id: ctx.name("cache-default", USER_ID),
      user_name: "default",
      engine: userEngine,
      access_string: "off -@all",
      authentication_mode: { type: "no-password-required" },
    });
    const userGroup = root.resource("aws_elasticache_user_group", "cache", {
      user_group_id: ctx.name("cache", USER_GROUP_ID),
      engine: userEngine,
      user_ids: [defaultUser.attr("user_id"), appUser.attr("user_id")],
    });

    // Logs ----------------------------------------------------------------------------------------
    const logGroup = (kind: "slow" | "engine") =>
      root.resource("aws_cloudwatch_log_group", kind, { name: ctx.name(`cache-${kind}-log`, LOG_GROUP), retention_in_days: s.logRetentionDays });
    const slowLog = logGroup("slow");
    const engineLog = logGroup("engine");

    // Replication group -----------------------------------------------------------------------------
    const failover = s.replicas > 0;
    const replicationGroup = root.resource("aws_elasticache_replication_group", "cache", {
      replication_group_id: groupId,
      description: `${ctx.config.project} ${env.name} cache (${s.engine})`,
      engine: s.engine,
      engine_version: engineVersion,
      node_type: s.nodeType,
      num_cache_clusters: 1 + s.replicas,
      port: PORT,
      automatic_failover_enabled: failover,
      multi_az_enabled: s.multiAz,
      subnet_group_name: subnetGroup.attr("name"),
      security_group_ids: [group.attr("id")],
      at_rest_encryption_enabled: "true",
      kms_key_id: key.attr("arn"),
      transit_encryption_enabled: true,
      transit_encryption_mode: "required",
      user_group_ids: [userGroup.attr("user_group_id")],
      snapshot_retention_limit: s.snapshotRetentionDays,
      snapshot_window: s.snapshotWindow,
      maintenance_window: s.maintenanceWindow,
      auto_minor_version_upgrade: "true",
      apply_immediately: false,
      log_delivery_configuration: [
        { destination: slowLog.attr("name"), destination_type: "cloudwatch-logs", log_format: "json", log_type: "slow-log" },
        { destination: engineLog.attr("name"), destination_type: "cloudwatch-logs", log_format: "json", log_type: "engine-log" },
      ],
      tags: { Name: groupId },
    });

    // Outputs -------------------------------------------------------------------------------------
    const region = ctx.region;
    const host = `${groupId}.abc123.ng.0001.use1.cache.amazonaws.com`;
    root.mockResource("aws_kms_key", { arn: `arn:aws:kms:${region}:123456789012:key/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d`, key_id: "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d" });
    root.mockResource("aws_elasticache_replication_group", { arn: `arn:aws:elasticache:${region}:123456789012:replicationgroup:${groupId}`, primary_endpoint_address: `master.${host}`, reader_endpoint_address: `replica.${host}` });
    root.mockResource("aws_elasticache_user", { arn: `arn:aws:elasticache:${region}:123456789012:user:${appUserId}` });

    root.output("endpoint", { value: replicationGroup.attr("primary_endpoint_address"), description: "Primary endpoint (reads and writes).", example: `master.${host}` });
    root.output("reader_endpoint", { value: replicationGroup.attr("reader_endpoint_address"), description: "Reader endpoint (the replicas; the primary when there is none).", example: `replica.${host}` });
    root.output("port", { value: PORT, description: "Port the cache listens on (TLS).", example: PORT });
    root.output("replication_group_id", { value: groupId, description: "Replication group id (also the IAM token's resource).", example: groupId });
    root.output("replication_group_arn", { value: replicationGroup.attr("arn"), description: "ARN of the replication group.", example: `arn:aws:elasticache:${region}:123456789012:replicationgroup:${groupId}` });
    root.output("user_id", { value: appUserId, description: "The app's cache user (IAM authentication: user id = user name).", example: appUserId });
    root.output("user_arn", { value: appUser.attr("arn"), description: "ARN of the app's cache user.", example: `arn:aws:elasticache:${region}:123456789012:user:${appUserId}` });
    root.output("security_group_id", { value: group.attr("id"), description: "Security group of the cache.", example: "sg-0a1b2c3d4e5f60009" });

    root.assert(`aws_elasticache_replication_group.cache.transit_encryption_enabled == true`, "the cache requires TLS");
    root.assert(`aws_elasticache_replication_group.cache.kms_key_id == aws_kms_key.cache.arn`, "the cache is encrypted at rest with its own key");
    root.assert(`aws_elasticache_user.default.access_string == "off -@all"`, "the default user is switched off");
    root.assert(`one(aws_elasticache_user.app.authentication_mode).type == "iam"`, "the app authenticates with IAM, not a password");
    root.assert(`aws_vpc_security_group_ingress_rule.cache_from_ecs.from_port == ${PORT} && aws_vpc_security_group_ingress_rule.cache_from_ecs.cidr_ipv4 == null`, "the cache admits its port from a security group, never from an address range");
  },
});
