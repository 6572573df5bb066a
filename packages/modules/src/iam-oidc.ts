/**
 * Phase 0.5 — IAM OIDC (plan sections 3 and 6): the GitHub Actions OIDC provider and one
 * `<project>-terraform-deployer-<env>` role per environment, so CI plans and applies with short-lived
 * credentials and no stored AWS keys.
 *
 * Inputs: `github.repository` (may be `todo()`: becomes the `github_repository` variable),
 * `github.mainBranch`, `environments` (order and tier), `state.bucket` / `state.lockTable` /
 * `state.locking`, `naming.pattern`, `accountId`, `region`.
 *
 * Outputs:
 * - `oidc_provider_arn`: the `token.actions.githubusercontent.com` identity provider.
 * - `deployer_role_arns`: environment → role ARN (a literal when `accountId` is configured).
 * - `deployer_role_names`: environment → role name (always a literal).
 *
 * Security choices:
 * - Trust: `sts:AssumeRoleWithWebIdentity` only (no `sts:TagSession`: GitHub sends no session tags),
 *   plain `StringEquals` on `aud` and on an explicit `sub` list ({@link deployerSubjects}); never
 *   `ForAllValues` (true when the key is absent) and never a wildcard subject.
 * - Thumbprints: GitHub's two static values, so no `tls` provider; AWS no longer checks them for GitHub.
 * - Permissions ({@link deployerPolicyGroups}): the environment's own state keys, read-only global
 *   state, the lock table's items of the environment's keys, and the services caja manages, with
 *   resources scoped to the environment's name prefix wherever the service has resource-level
 *   permissions. Actions that only accept `"*"` are listed one by one (never `*` or `service:*` on
 *   `"*"`) and, for regional services, pinned to the configured region. No secret values
 *   (`GetSecretValue`/`PutSecretValue`) and no object access to environment buckets. Explicit denies
 *   keep a role from editing any deployer role, the OIDC provider or the state bucket's settings.
 */
import { isLiteral, jsonDocument } from "./core/expr.js";
import { defineModule } from "./core/module.js";
import { IAM_OIDC } from "./contracts.js";
import { fitName, NAME_RULES } from "./core/naming.js";
import { policy, type PolicyDocument, type Statement } from "./core/policies.js";
import type { ResolvedConfig, ResolvedEnvironment } from "@caja/dsl/schema";

/** The GitHub Actions token issuer. */
export const GITHUB_OIDC_URL = "https://token.actions.githubusercontent.com";
const GITHUB_OIDC_HOST = "token.actions.githubusercontent.com";
/** The audience `aws-actions/configure-aws-credentials` requests. */
export const STS_AUDIENCE = "sts.amazonaws.com";
/** GitHub's published intermediate-CA thumbprints (ignored by AWS for this issuer since 2023-07). */
export const GITHUB_THUMBPRINTS = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"] as const;
/** AWS's limit on a customer-managed policy document (characters, whitespace excluded). */
export const MANAGED_POLICY_MAX_CHARS = 6144;

/** One way a GitHub Actions job can present itself to a deployer role. */
export type DeployerTrigger =
  | { readonly kind: "pull_request" }
  | { readonly kind: "branch"; readonly branch: string }
  | { readonly kind: "environment"; readonly environment: string };

/**
 * Which GitHub Actions jobs may assume the deployer role of `envName`: the rule the generated
 * workflow must follow (it can derive its jobs from this function, so the two agree by construction).
 *
 * - A tier-prod environment: only jobs running in the GitHub environment of the same name
 *   (`environment: prod`, whose protection rules gate the apply). This wins over the rules below,
 *   so a prod environment listed first still cannot be reached from a pull request or a push.
 * - The first environment in config order (dev): pull requests (plan), pushes to
 *   `github.mainBranch` (the automatic apply) and jobs in its GitHub environment.
 * - Every other environment (staging): pull requests (plan) and jobs in its GitHub environment.
 *
 * A job that declares `environment:` presents the environment subject, not the branch one, so
 * environment-gated applies must use the environment named exactly like the caja environment.
 */
export function deployerTriggers(config: Pick<ResolvedConfig, "github" | "environments">, envName: string): DeployerTrigger[] {
  const env = config.environments[envName];
  if (!env) throw new Error(`internal: no environment "${envName}"`);
  const environment: DeployerTrigger = { kind: "environment", environment: env.name };
  if (env.tier === "prod") return [environment];
  const first = Object.values(config.environments)[0]?.name === env.name;
  return first
    ? [{ kind: "pull_request" }, { kind: "branch", branch: config.github.mainBranch }, environment]
    : [{ kind: "pull_request" }, environment];
}

/** The OIDC `sub` claim GitHub issues for `trigger` in `repository` (`OWNER/REPO`). */
export function githubSubject(repository: string, trigger: DeployerTrigger): string {
  switch (trigger.kind) {
    case "pull_request":
      return `repo:${repository}:pull_request`;
    case "branch":
      return `repo:${repository}:ref:refs/heads/${trigger.branch}`;
    case "environment":
      return `repo:${repository}:environment:${trigger.environment}`;
  }
}

/**
 * The exact `sub` values the deployer role of `envName` trusts ({@link deployerTriggers} applied to
 * the repository). `repository` defaults to `github.repository`; pass the decided value (possibly a
 * variable reference) when that is `todo()`.
 */
export function deployerSubjects(config: Pick<ResolvedConfig, "github" | "environments">, envName: string, repository?: string): string[] {
  const repo = repository ?? config.github.repository;
  if (typeof repo !== "string") throw new Error("internal: github.repository is todo(); pass the decided repository");
  return deployerTriggers(config, envName).map((t) => {
    const sub = githubSubject(repo, t);
    // The config schema already forbids `*` in every part; a wildcard here would trust other repos.
    if (sub.includes("*")) throw new Error(`internal: wildcard in OIDC subject ${sub}`);
    return sub;
  });
}

/** The role's trust policy: GitHub's OIDC provider, the STS audience and exactly `subjects`. */
export function deployerTrustPolicy(providerArn: string, subjects: readonly string[]): PolicyDocument {
  return policy({
    Sid: "GitHubActionsOidc",
    Effect: "Allow",
    Principal: { Federated: providerArn },
    Action: "sts:AssumeRoleWithWebIdentity",
    Condition: {
      StringEquals: {
        [`${GITHUB_OIDC_HOST}:aud`]: STS_AUDIENCE,
        [`${GITHUB_OIDC_HOST}:sub`]: [...subjects],
      },
    },
  });
}

/** `<project>-terraform-deployer-<env>`, shortened with a stable hash past IAM's 64 characters. */
export function deployerRoleName(project: string, envName: string): string {
  return fitName(`${project}-terraform-deployer-${envName}`, NAME_RULES.iamRole);
}

/**
 * The glob matching every name `naming.pattern` gives the environment's resources, e.g.
 * `caja-dev-*` (the component becomes `*`). Used as the ARN scope of the deployer's permissions.
 */
export function envNameGlob(config: Pick<ResolvedConfig, "project" | "naming">, envName: string): string {
  return config.naming.pattern.replaceAll("{project}", config.project).replaceAll("{env}", envName).replaceAll("{component}", "*");
}

export interface DeployerScope {
  readonly config: ResolvedConfig;
  readonly env: ResolvedEnvironment;
  /** A 12-digit id or an expression (caller identity). */
  readonly accountId: string;
  readonly region: string;
}

/** The permission groups, one managed policy each (each stays under the 6,144-character limit). */
export const DEPLOYER_POLICY_GROUPS = ["state", "network", "compute", "data", "edge"] as const;
export type DeployerPolicyGroup = (typeof DEPLOYER_POLICY_GROUPS)[number];

/** Every permission of one environment's deployer role, as one document (for inspection and tests). */
export function deployerPolicy(scope: DeployerScope): PolicyDocument {
  return policy(...Object.values(deployerPolicyGroups(scope)).flatMap((doc) => doc.Statement));
}

/**
 * The deployer role's permissions for `scope.env`, split by area. Names are scoped with
 * {@link envNameGlob}; `<project>/<env>/*` is accepted too for ECR repositories and secrets.
 */
export function deployerPolicyGroups(scope: DeployerScope): Record<DeployerPolicyGroup, PolicyDocument> {
  const { config, env, accountId: acct, region } = scope;
  const glob = envNameGlob(config, env.name);
  const slashed = `${config.project}/${env.name}/*`;
  const bucket = `arn:aws:s3:::${config.state.bucket}`;
  const iam = (path: string) => `arn:aws:iam::${acct}:${path}`;
  const regional = (service: string, path: string) => `arn:aws:${service}:${region}:${acct}:${path}`;
  // Actions that only accept Resource "*" stay in the configured region.
  const inRegion = { StringEquals: { "aws:RequestedRegion": region } };
  const deployerGlob = `${config.project}-terraform-deployer-*`;

  const state: Statement[] = [
    { Sid: "StateList", Effect: "Allow", Action: "s3:ListBucket", Resource: bucket },
    { Sid: "StateReadWriteOwnEnv", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: `${bucket}/env/${env.name}/*` },
    { Sid: "StateReadGlobal", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucket}/global/*` },
  ];
  if (config.state.locking === "dynamodb") {
    state.push({
      Sid: "StateLockOwnEnv",
      Effect: "Allow",
      Action: ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
      Resource: regional("dynamodb", `table/${config.state.lockTable}`),
      // Lock ids are `<bucket>/<state key>` (and `…-md5` digests): only this environment's keys.
      Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${config.state.bucket}/env/${env.name}/*`] } },
    });
  }
  state.push(
    {
      Sid: "DenyDeployerAndProviderChanges",
      Effect: "Deny",
      Action: "iam:*",
      Resource: [iam(`role/${deployerGlob}`), iam(`policy/${deployerGlob}`), iam(`oidc-provider/${GITHUB_OIDC_HOST}`)],
    },
    {
      Sid: "DenyStateBucketSettings",
      Effect: "Deny",
      Action: ["s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucket*", "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration"],
      Resource: bucket,
    },
  );

  const network: Statement[] = [
    { Sid: "Ec2Read", Effect: "Allow", Action: "ec2:Describe*", Resource: "*" },
    {
      Sid: "Ec2Network",
      Effect: "Allow",
      Action: [
        "ec2:CreateVpc", "ec2:DeleteVpc", "ec2:ModifyVpcAttribute", "ec2:AssociateVpcCidrBlock", "ec2:DisassociateVpcCidrBlock",
        "ec2:CreateSubnet", "ec2:DeleteSubnet", "ec2:ModifySubnetAttribute", "ec2:AssociateSubnetCidrBlock", "ec2:DisassociateSubnetCidrBlock",
        "ec2:CreateInternetGateway", "ec2:DeleteInternetGateway", "ec2:AttachInternetGateway", "ec2:DetachInternetGateway",
        "ec2:CreateEgressOnlyInternetGateway", "ec2:DeleteEgressOnlyInternetGateway",
        "ec2:AllocateAddress", "ec2:ReleaseAddress", "ec2:AssociateAddress", "ec2:DisassociateAddress",
        "ec2:CreateNatGateway", "ec2:DeleteNatGateway",
        "ec2:CreateRouteTable", "ec2:DeleteRouteTable", "ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute",
        "ec2:AssociateRouteTable", "ec2:DisassociateRouteTable", "ec2:ReplaceRouteTableAssociation",
        "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress", "ec2:ModifySecurityGroupRules",
        "ec2:UpdateSecurityGroupRuleDescriptionsIngress", "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
        "ec2:CreateNetworkAclEntry", "ec2:ReplaceNetworkAclEntry", "ec2:DeleteNetworkAclEntry",
        "ec2:CreateFlowLogs", "ec2:DeleteFlowLogs",
        "ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint", "ec2:DeleteVpcEndpoints",
        "ec2:CreateTags", "ec2:DeleteTags",
      ],
      Resource: "*",
      Condition: inRegion,
    },
    { Sid: "ElbRead", Effect: "Allow", Action: "elasticloadbalancing:Describe*", Resource: "*" },
    {
      Sid: "ElbOwnEnv",
      Effect: "Allow",
      Action: [
        "elasticloadbalancing:Create*", "elasticloadbalancing:Modify*", "elasticloadbalancing:Delete*", "elasticloadbalancing:Set*",
        "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags",
        "elasticloadbalancing:AddListenerCertificates", "elasticloadbalancing:RemoveListenerCertificates",
      ],
      Resource: [
        regional("elasticloadbalancing", `loadbalancer/app/${glob}`),
        regional("elasticloadbalancing", `targetgroup/${glob}`),
        regional("elasticloadbalancing", `listener/app/${glob}`),
        regional("elasticloadbalancing", `listener-rule/app/${glob}`),
      ],
    },
  ];

  const ownRoles = iam(`role/${glob}`);
  const compute: Statement[] = [
    {
      Sid: "EcsUnscoped",
      Effect: "Allow",
      Action: ["ecs:CreateCluster", "ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:List*"],
      Resource: "*",
      Condition: inRegion,
    },
    {
      Sid: "EcsOwnEnv",
      Effect: "Allow",
      Action: [
        "ecs:Describe*", "ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:DeleteCluster", "ecs:UpdateCluster",
        "ecs:UpdateClusterSettings", "ecs:PutClusterCapacityProviders", "ecs:TagResource", "ecs:UntagResource", "ecs:ListTagsForResource",
      ],
      Resource: [regional("ecs", `cluster/${glob}`), regional("ecs", `service/${glob}`), regional("ecs", `task-definition/${glob}`)],
    },
    {
      Sid: "EcrRead",
      Effect: "Allow",
      Action: ["ecr:DescribeRegistry", "ecr:GetRegistryScanningConfiguration", "ecr:GetRegistryPolicy"],
      Resource: "*",
      Condition: inRegion,
    },
    {
      Sid: "EcrOwnEnv",
      Effect: "Allow",
      Action: [
        "ecr:CreateRepository", "ecr:DeleteRepository", "ecr:DescribeRepositories", "ecr:ListTagsForResource", "ecr:TagResource",
        "ecr:UntagResource", "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability", "ecr:GetLifecyclePolicy",
        "ecr:PutLifecyclePolicy", "ecr:DeleteLifecyclePolicy", "ecr:GetRepositoryPolicy", "ecr:SetRepositoryPolicy", "ecr:DeleteRepositoryPolicy",
      ],
      Resource: [regional("ecr", `repository/${glob}`), regional("ecr", `repository/${slashed}`)],
    },
    {
      Sid: "AutoScaling",
      Effect: "Allow",
      Action: [
        "application-autoscaling:Describe*", "application-autoscaling:RegisterScalableTarget", "application-autoscaling:DeregisterScalableTarget",
        "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy", "application-autoscaling:TagResource",
        "application-autoscaling:UntagResource", "application-autoscaling:ListTagsForResource",
      ],
      Resource: "*",
      Condition: inRegion,
    },
    { Sid: "LogsRead", Effect: "Allow", Action: "logs:DescribeLogGroups", Resource: "*", Condition: inRegion },
    {
      Sid: "LogsOwnEnv",
      Effect: "Allow",
      Action: [
        "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:AssociateKmsKey",
        "logs:DisassociateKmsKey", "logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource", "logs:TagLogGroup",
        "logs:UntagLogGroup", "logs:ListTagsLogGroup",
      ],
      // Log groups carry the prefix after a path (`/ecs/caja-dev-api`, `/aws/rds/instance/caja-dev-db/...`).
      Resource: regional("logs", `log-group:*${glob}`),
    },
    {
      Sid: "IamOwnEnvRoles",
      Effect: "Allow",
      Action: [
        "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy",
        "iam:TagRole", "iam:UntagRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole",
        "iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
        "iam:CreatePolicy", "iam:DeletePolicy", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions",
        "iam:CreatePolicyVersion", "iam:DeletePolicyVersion", "iam:TagPolicy", "iam:UntagPolicy",
      ],
      Resource: [ownRoles, iam(`policy/${glob}`)],
    },
    {
      Sid: "IamAttachOwnOrServicePolicies",
      Effect: "Allow",
      Action: ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
      Resource: ownRoles,
      // Only the environment's own policies and AWS service-role policies (ECS execution, RDS monitoring).
      Condition: { ArnLike: { "iam:PolicyARN": [iam(`policy/${glob}`), "arn:aws:iam::aws:policy/service-role/*"] } },
    },
    {
      Sid: "IamPassOwnRolesToServices",
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: ownRoles,
      Condition: { StringEquals: { "iam:PassedToService": ["ecs-tasks.amazonaws.com", "vpc-flow-logs.amazonaws.com", "monitoring.rds.amazonaws.com"] } },
    },
    {
      Sid: "IamServiceLinkedRoles",
      Effect: "Allow",
      Action: "iam:CreateServiceLinkedRole",
      Resource: iam("role/aws-service-role/*"),
      Condition: {
        StringEquals: {
          "iam:AWSServiceName": ["ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com", "rds.amazonaws.com", "ecs.application-autoscaling.amazonaws.com"],
        },
      },
    },
  ];

  const data: Statement[] = [
    { Sid: "RdsRead", Effect: "Allow", Action: ["rds:Describe*", "rds:ListTagsForResource"], Resource: "*", Condition: inRegion },
    {
      Sid: "RdsOwnEnv",
      Effect: "Allow",
      Action: [
        "rds:CreateDBInstance", "rds:ModifyDBInstance", "rds:DeleteDBInstance", "rds:RebootDBInstance", "rds:CreateDBSnapshot",
        "rds:AddTagsToResource", "rds:RemoveTagsFromResource",
        "rds:CreateDBSubnetGroup", "rds:ModifyDBSubnetGroup", "rds:DeleteDBSubnetGroup",
        "rds:CreateDBParameterGroup", "rds:ModifyDBParameterGroup", "rds:ResetDBParameterGroup", "rds:DeleteDBParameterGroup",
      ],
      // CreateDBInstance is also authorised against the default option group it lands in.
      Resource: [
        regional("rds", `db:${glob}`), regional("rds", `subgrp:${glob}`), regional("rds", `pg:${glob}`),
        regional("rds", `snapshot:${glob}`), regional("rds", `og:${glob}`), regional("rds", "og:default:*"),
      ],
    },
    {
      Sid: "RdsManagedMasterSecret",
      Effect: "Allow",
      Action: [
        "secretsmanager:CreateSecret", "secretsmanager:DescribeSecret", "secretsmanager:UpdateSecret", "secretsmanager:RotateSecret",
        "secretsmanager:DeleteSecret", "secretsmanager:TagResource",
      ],
      // RDS names the secret it manages `rds!db-<uuid>` under the caller's credentials.
      Resource: regional("secretsmanager", "secret:rds!*"),
    },
    { Sid: "SecretsList", Effect: "Allow", Action: ["secretsmanager:ListSecrets", "secretsmanager:GetRandomPassword"], Resource: "*", Condition: inRegion },
    {
      Sid: "SecretsOwnEnvNoValues",
      Effect: "Allow",
      Action: [
        "secretsmanager:CreateSecret", "secretsmanager:DeleteSecret", "secretsmanager:DescribeSecret", "secretsmanager:UpdateSecret",
        "secretsmanager:RestoreSecret", "secretsmanager:TagResource", "secretsmanager:UntagResource", "secretsmanager:GetResourcePolicy",
        "secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy", "secretsmanager:ValidateResourcePolicy",
      ],
      Resource: [regional("secretsmanager", `secret:${glob}`), regional("secretsmanager", `secret:${slashed}`)],
    },
    { Sid: "KmsUnscoped", Effect: "Allow", Action: ["kms:CreateKey", "kms:ListAliases", "kms:ListKeys"], Resource: "*", Condition: inRegion },
    {
      Sid: "KmsKeys",
      Effect: "Allow",
      Action: [
        "kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags", "kms:EnableKeyRotation",
        "kms:UpdateKeyDescription", "kms:TagResource", "kms:UntagResource",
      ],
      Resource: regional("kms", "key/*"),
    },
    {
      Sid: "KmsOwnEnvKeysOnly",
      Effect: "Allow",
      Action: ["kms:PutKeyPolicy", "kms:DisableKey", "kms:ScheduleKeyDeletion"],
      Resource: regional("kms", "key/*"),
      // Key ids are random: the Environment tag (from the provider's default_tags) names the owner.
      Condition: { StringEquals: { "aws:ResourceTag/Environment": env.name } },
    },
    {
      Sid: "KmsOwnEnvAliases",
      Effect: "Allow",
      Action: ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"],
      Resource: [regional("kms", `alias/${glob}`), regional("kms", "key/*")],
    },
    {
      Sid: "KmsGrantsForServices",
      Effect: "Allow",
      Action: ["kms:CreateGrant", "kms:RetireGrant"],
      Resource: regional("kms", "key/*"),
      Condition: { Bool: { "kms:GrantIsForAWSResource": true } },
    },
  ];

  const ownBuckets = `arn:aws:s3:::${glob}`;
  const hosts = [...env.hosts.app, ...env.hosts.api];
  const edge: Statement[] = [
    {
      Sid: "S3OwnEnvBucketsNoObjects",
      Effect: "Allow",
      Action: [
        "s3:CreateBucket", "s3:ListBucket", "s3:GetBucket*", "s3:GetAccelerateConfiguration", "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration", "s3:GetEncryptionConfiguration", "s3:PutBucket*", "s3:PutEncryptionConfiguration",
        "s3:PutLifecycleConfiguration", "s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:DeleteBucketOwnershipControls",
      ],
      Resource: ownBuckets,
    },
    { Sid: "CloudFrontRead", Effect: "Allow", Action: ["cloudfront:Get*", "cloudfront:List*"], Resource: "*" },
    {
      Sid: "CloudFrontCreate",
      Effect: "Allow",
      Action: ["cloudfront:CreateOriginAccessControl", "cloudfront:CreateResponseHeadersPolicy"],
      Resource: "*",
    },
    {
      Sid: "CloudFrontAccount",
      Effect: "Allow",
      Action: [
        "cloudfront:CreateDistribution", "cloudfront:CreateDistributionWithTags", "cloudfront:UpdateDistribution", "cloudfront:DeleteDistribution",
        "cloudfront:TagResource", "cloudfront:UntagResource", "cloudfront:UpdateOriginAccessControl", "cloudfront:DeleteOriginAccessControl",
        "cloudfront:UpdateResponseHeadersPolicy", "cloudfront:DeleteResponseHeadersPolicy",
      ],
      Resource: [
        `arn:aws:cloudfront::${acct}:distribution/*`,
        `arn:aws:cloudfront::${acct}:origin-access-control/*`,
        `arn:aws:cloudfront::${acct}:response-headers-policy/*`,
      ],
    },
    { Sid: "Route53List", Effect: "Allow", Action: ["route53:ListHostedZones", "route53:ListHostedZonesByName"], Resource: "*" },
    {
      Sid: "Route53Read",
      Effect: "Allow",
      Action: ["route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ListTagsForResource", "route53:GetChange"],
      Resource: ["arn:aws:route53:::hostedzone/*", "arn:aws:route53:::change/*"],
    },
    ...(hosts.length > 0
      ? [
          {
            Sid: "Route53OwnEnvRecords",
            Effect: "Allow",
            Action: "route53:ChangeResourceRecordSets",
            Resource: "arn:aws:route53:::hostedzone/*",
            // Only this environment's hosts: dev cannot repoint prod's names.
            Condition: { "ForAllValues:StringEquals": { "route53:ChangeResourceRecordSetsNormalizedRecordNames": hosts } },
          } satisfies Statement,
        ]
      : []),
    { Sid: "AcmList", Effect: "Allow", Action: "acm:ListCertificates", Resource: "*" },
    {
      Sid: "AcmRead",
      Effect: "Allow",
      Action: ["acm:DescribeCertificate", "acm:GetCertificate", "acm:ListTagsForCertificate"],
      // The API certificate's region and us-east-1, where CloudFront's certificate lives.
      Resource: [...new Set([region, "us-east-1"])].map((r) => `arn:aws:acm:${r}:${acct}:certificate/*`),
    },
    { Sid: "CloudWatchRead", Effect: "Allow", Action: ["cloudwatch:Describe*", "cloudwatch:List*", "cloudwatch:Get*"], Resource: "*", Condition: inRegion },
    {
      Sid: "CloudWatchOwnEnv",
      Effect: "Allow",
      Action: [
        "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:EnableAlarmActions", "cloudwatch:DisableAlarmActions",
        "cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards",
      ],
      // Target-tracking policies create `TargetTracking-service/<cluster>/<service>-Alarm…` alarms.
      Resource: [regional("cloudwatch", `alarm:${glob}`), regional("cloudwatch", `alarm:TargetTracking-service/${glob}`), `arn:aws:cloudwatch::${acct}:dashboard/${glob}`],
    },
    { Sid: "SnsList", Effect: "Allow", Action: "sns:ListTopics", Resource: "*", Condition: inRegion },
    {
      Sid: "SnsOwnEnv",
      Effect: "Allow",
      Action: [
        "sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:Subscribe", "sns:Unsubscribe",
        "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:ListSubscriptionsByTopic", "sns:TagResource",
        "sns:UntagResource", "sns:ListTagsForResource",
      ],
      Resource: regional("sns", glob),
    },
    { Sid: "CostAllocationTags", Effect: "Allow", Action: ["ce:ListCostAllocationTags", "ce:UpdateCostAllocationTagsStatus"], Resource: "*" },
  ];

  return { state: policy(...state), network: policy(...network), compute: policy(...compute), data: policy(...data), edge: policy(...edge) };
}

/**
 * The length IAM counts for a rendered policy: whitespace-free JSON, with each expression (the
 * account id read from the caller identity) counted as the 12 digits it becomes.
 */
export function policyLength(doc: PolicyDocument): number {
  return jsonDocument(doc).replace(/\uE000[^\uE001]*\uE001/g, "123456789012").length;
}

export const iamOidc = defineModule(IAM_OIDC, (ctx) => {
  const { root, config } = ctx;
  const account = ctx.accountId;

  const provider = root.resource("aws_iam_openid_connect_provider", "github", {
    url: GITHUB_OIDC_URL,
    client_id_list: [STS_AUDIENCE],
    thumbprint_list: [...GITHUB_THUMBPRINTS],
  });
  const providerArn = `arn:aws:iam::${account}:oidc-provider/${GITHUB_OIDC_HOST}`;

  const repository = ctx.decide(config.github.repository, {
    name: "github_repository",
    path: "github.repository",
    type: "string",
    example: "dbash/caja",
    validation: [
      {
        condition: 'can(regex("^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", var.github_repository))',
        error_message: "github_repository must be OWNER/REPO, such as dbash/caja (no wildcards: it is the only repository the deployer roles trust).",
      },
    ],
  });

  root.mockResource("aws_iam_openid_connect_provider", { arn: `arn:aws:iam::123456789012:oidc-provider/${GITHUB_OIDC_HOST}` });
  root.mockResource("aws_iam_role", { arn: `arn:aws:iam::123456789012:role/${config.project}-terraform-deployer` });
  root.mockResource("aws_iam_policy", { arn: `arn:aws:iam::123456789012:policy/${config.project}-terraform-deployer` });

  const arns: Record<string, string> = {};
  const names: Record<string, string> = {};
  for (const env of Object.values(config.environments)) {
    const label = `deployer_${env.name.replaceAll("-", "_")}`;
    const roleName = ctx.claimName(deployerRoleName(config.project, env.name), NAME_RULES.iamRole);
    const role = root.resource("aws_iam_role", label, {
      name: roleName,
      description: `Assumed by GitHub Actions through OIDC to plan and apply the ${env.name} roots of ${config.project}.`,
      assume_role_policy: jsonDocument(deployerTrustPolicy(provider.attr("arn"), deployerSubjects(config, env.name, repository))),
      max_session_duration: 3600,
    });

    const groups = deployerPolicyGroups({ config, env, accountId: account, region: ctx.region });
    for (const group of DEPLOYER_POLICY_GROUPS) {
      const doc = groups[group];
      if (policyLength(doc) > MANAGED_POLICY_MAX_CHARS) throw new Error(`internal: deployer policy ${env.name}/${group} exceeds ${MANAGED_POLICY_MAX_CHARS} characters`);
      const policyName = ctx.claimName(fitName(`${roleName}-${group}`, NAME_RULES.iamPolicy), NAME_RULES.iamPolicy);
      const managed = root.resource("aws_iam_policy", `${label}_${group}`, {
        name: policyName,
        description: `Terraform deployer permissions (${group}) for the ${env.name} environment of ${config.project}.`,
        policy: jsonDocument(doc),
      });
      root.resource("aws_iam_role_policy_attachment", `${label}_${group}`, { role: role.attr("name"), policy_arn: managed.attr("arn") });
    }

    arns[env.name] = isLiteral(account) ? `arn:aws:iam::${account}:role/${roleName}` : role.attr("arn");
    names[env.name] = roleName;

    const trust = `aws_iam_role.${label}.assume_role_policy`;
    root.assert(`strcontains(${trust}, "${GITHUB_OIDC_HOST}:aud") && strcontains(${trust}, "${STS_AUDIENCE}")`, `the ${env.name} deployer role requires the STS audience`);
    root.assert(`strcontains(${trust}, ":environment:${env.name}\\"")`, `the ${env.name} deployer role trusts its GitHub environment`);
    root.assert(`!strcontains(${trust}, "ForAllValues")`, `the ${env.name} deployer role's trust uses plain StringEquals`);
  }

  root.output("oidc_provider_arn", {
    value: isLiteral(account) ? providerArn : provider.attr("arn"),
    description: "ARN of the GitHub Actions OIDC identity provider.",
    example: `arn:aws:iam::123456789012:oidc-provider/${GITHUB_OIDC_HOST}`,
  });
  root.output("deployer_role_arns", {
    value: arns,
    description: "Deployer role ARN per environment, for `aws-actions/configure-aws-credentials` (`role-to-assume`).",
    example: Object.fromEntries(Object.entries(names).map(([env, name]) => [env, `arn:aws:iam::123456789012:role/${name}`])),
  });
  root.output("deployer_role_names", { value: names, description: "Deployer role name per environment.", example: names });

  root.assert(`aws_iam_openid_connect_provider.github.url == "${GITHUB_OIDC_URL}"`, "the OIDC provider is GitHub Actions' token issuer");
  root.assert(
    `length(aws_iam_openid_connect_provider.github.client_id_list) == 1 && contains(aws_iam_openid_connect_provider.github.client_id_list, "${STS_AUDIENCE}")`,
    "the OIDC provider accepts only the STS audience",
  );
});
