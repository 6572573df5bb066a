/**
 * Phase 0.5 — IAM OIDC (plan sections 3 and 6): the GitHub Actions OIDC provider and, for every
 * scope (`global`, then each environment in config order), a deployer role
 * `<project>-terraform-deployer-<scope>` and a planner role `<project>-terraform-planner-<scope>`,
 * so CI plans and applies with short-lived credentials and no stored AWS keys.
 *
 * Inputs: `github.repository` (may be `todo()`: becomes the `github_repository` variable),
 * `github.mainBranch`, `environments` (order and tier), `domain` (the hosts certificates cover),
 * `state.bucket` / `state.lockTable` / `state.locking`, `naming.pattern`, `accountId`, `region`.
 *
 * Outputs (maps keyed by scope, `global` included):
 * - `oidc_provider_arn`: the `token.actions.githubusercontent.com` identity provider.
 * - `deployer_role_arns` / `planner_role_arns`: role ARNs (literals when `accountId` is configured).
 * - `deployer_role_names` / `planner_role_names`: role names (always literals).
 *
 * Who can assume which role:
 * - A deployer (write) only from a job running in the GitHub environment named like its scope
 *   ({@link deployerTriggers}): never from a pull request or a bare branch push, so writing to AWS
 *   always passes the environment's protection rules (deployment branches limited to the main
 *   branch, reviewers for prod), which therefore must be configured on GitHub.
 * - A planner (read-only) from pull requests and from the main branch, except for tier-prod
 *   environments, whose planner trusts only the main branch ({@link plannerTriggers}): prod is
 *   planned by manual dispatch and the daily drift check, never by a pull request.
 *
 * Security choices:
 * - Trust: `sts:AssumeRoleWithWebIdentity` only (no `sts:TagSession`: GitHub sends no session tags),
 *   plain `StringEquals` on `aud` and on an explicit `sub` list; never `ForAllValues` (true when the
 *   key is absent) and never a wildcard subject.
 * - Thumbprints: GitHub's two static values, so no `tls` provider; AWS no longer checks them for GitHub.
 * - Deployer permissions ({@link deployerPolicyGroups}, {@link globalDeployerPolicyGroups}): the
 *   scope's own state keys, read-only global state, the lock entries of the scope's keys, and the
 *   services its roots manage, with resources scoped to the environment's name prefix wherever the
 *   service has resource-level permissions. Actions that only accept `"*"` are listed one by one
 *   (never `*` or `service:*` on `"*"`) and, for regional services, pinned to the configured
 *   region. No secret values and no object access to environment buckets. The global deployer may
 *   not write the state of the roots only an administrator applies (bootstrap, iam-oidc).
 * - Planner permissions ({@link plannerPolicyGroups}): the deployer's, filtered to read verbs
 *   ({@link readOnlyStatements}) minus anything that reads secret values or data, plus reading
 *   state and taking the scope's state lock. A planner cannot write state or its digests.
 * - Every role is denied editing any pipeline role, its policies, the OIDC provider and the state
 *   bucket's settings.
 */
import { isLiteral, jsonDocument } from "./core/expr.js";
import { defineModule } from "./core/module.js";
import { BOOTSTRAP, IAM_OIDC } from "./contracts.js";
import { fitName, NAME_RULES } from "./core/naming.js";
import { policy, type PolicyDocument, type Statement } from "./core/policies.js";
import { modulesOn } from "./core/user-module.js";
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

/** What a deployer may do to its environment's network (on `"*"` in the region; see DenyEc2OtherEnvironments). */
const EC2_NETWORK_WRITES = [
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
];

/** The scope of the account-wide roots (a name environments may not take). */
export const PIPELINE_GLOBAL_SCOPE = "global";
/** The two roles every scope gets: one that applies, one that only plans. */
export const PIPELINE_ROLES = ["deployer", "planner"] as const;
export type PipelineRole = (typeof PIPELINE_ROLES)[number];
/** Global roots only an administrator applies: no pipeline role may write their state or locks. */
const ADMIN_ONLY_ROOTS = [BOOTSTRAP.id, IAM_OIDC.id] as const;

/** One way a GitHub Actions job can present itself to a deployer or planner role. */
export type DeployerTrigger =
  | { readonly kind: "pull_request" }
  | { readonly kind: "branch"; readonly branch: string }
  | { readonly kind: "environment"; readonly environment: string };

type TriggerConfig = Pick<ResolvedConfig, "github" | "environments">;

/** `global`, then every environment in config order: the scopes that get a deployer and a planner. */
export function roleScopes(config: Pick<ResolvedConfig, "environments">): string[] {
  return [PIPELINE_GLOBAL_SCOPE, ...Object.values(config.environments).map((e) => e.name)];
}

/** The environment `scope` names, or undefined for the global scope. */
function scopeEnvironment(config: Pick<ResolvedConfig, "environments">, scope: string): ResolvedEnvironment | undefined {
  if (scope === PIPELINE_GLOBAL_SCOPE) return undefined;
  const env = config.environments[scope];
  if (!env) throw new Error(`internal: no scope "${scope}"`);
  return env;
}

/**
 * Which GitHub Actions jobs may assume the deployer role of `scope` (`global` or an environment):
 * only jobs running in the GitHub environment of the same name. A job that declares `environment:`
 * presents the environment subject, not the branch one, so the generated workflow's apply jobs must
 * use the environment named exactly like the scope (it can derive its jobs from this function, so
 * the two agree by construction).
 */
export function deployerTriggers(config: TriggerConfig, scope: string): DeployerTrigger[] {
  scopeEnvironment(config, scope);
  return [{ kind: "environment", environment: scope }];
}

/**
 * Which GitHub Actions jobs may assume the planner role of `scope`: pull requests and the main
 * branch, except for tier-prod environments, which are planned only from the main branch (manual
 * dispatch and the daily drift check). A pull request's code is anyone's with push access to a
 * branch, and prod's resources are not theirs to read.
 */
export function plannerTriggers(config: TriggerConfig, scope: string): DeployerTrigger[] {
  const main: DeployerTrigger = { kind: "branch", branch: config.github.mainBranch };
  return scopeEnvironment(config, scope)?.tier === "prod" ? [main] : [{ kind: "pull_request" }, main];
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

function subjectsOf(config: TriggerConfig, triggers: readonly DeployerTrigger[], repository: string | undefined): string[] {
  const repo = repository ?? config.github.repository;
  if (typeof repo !== "string") throw new Error("internal: github.repository is todo(); pass the decided repository");
  return triggers.map((t) => {
    const sub = githubSubject(repo, t);
    // The config schema already forbids `*` in every part; a wildcard here would trust other repos.
    if (sub.includes("*")) throw new Error(`internal: wildcard in OIDC subject ${sub}`);
    return sub;
  });
}

/**
 * The exact `sub` values the deployer role of `scope` trusts ({@link deployerTriggers} applied to
 * the repository). `repository` defaults to `github.repository`; pass the decided value (possibly a
 * variable reference) when that is `todo()`.
 */
export function deployerSubjects(config: TriggerConfig, scope: string, repository?: string): string[] {
  return subjectsOf(config, deployerTriggers(config, scope), repository);
}

/** The exact `sub` values the planner role of `scope` trusts ({@link plannerTriggers}); as {@link deployerSubjects}. */
export function plannerSubjects(config: TriggerConfig, scope: string, repository?: string): string[] {
  return subjectsOf(config, plannerTriggers(config, scope), repository);
}

/** A pipeline role's trust policy: GitHub's OIDC provider, the STS audience and exactly `subjects`. */
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

/** What every name of a pipeline role of `project` starts with (names are shortened at the end only). */
function pipelineRolePrefix(project: string, role: PipelineRole): string {
  return `${project}-terraform-${role}-`;
}

/** `<project>-terraform-deployer-<scope>`, shortened with a stable hash past IAM's 64 characters. */
export function deployerRoleName(project: string, scope: string): string {
  return fitName(`${pipelineRolePrefix(project, "deployer")}${scope}`, NAME_RULES.iamRole);
}

/** `<project>-terraform-planner-<scope>`, shortened like {@link deployerRoleName}. */
export function plannerRoleName(project: string, scope: string): string {
  return fitName(`${pipelineRolePrefix(project, "planner")}${scope}`, NAME_RULES.iamRole);
}

/**
 * The glob matching every name `naming.pattern` gives the environment's resources, e.g.
 * `caja-dev-*` (the component becomes `*`). Used as the ARN scope of the deployer's permissions.
 */
export function envNameGlob(config: Pick<ResolvedConfig, "project" | "naming">, envName: string): string {
  return config.naming.pattern.replaceAll("{project}", config.project).replaceAll("{env}", envName).replaceAll("{component}", "*");
}

/** Where a role's permissions apply: the account (a 12-digit id or an expression) and region. */
export interface AccountScope {
  readonly config: ResolvedConfig;
  /** A 12-digit id or an expression (caller identity). */
  readonly accountId: string;
  readonly region: string;
}

/** An environment deployer's scope. */
export interface DeployerScope extends AccountScope {
  readonly env: ResolvedEnvironment;
}

/** Any pipeline role's scope: `global` or an environment's name. */
export interface PipelineScope extends AccountScope {
  readonly scope: string;
}

/** An environment deployer's permission groups, one managed policy each (each under the 6,144-character limit). */
export const DEPLOYER_POLICY_GROUPS = ["state", "network", "compute", "data", "edge"] as const;
export type DeployerPolicyGroup = (typeof DEPLOYER_POLICY_GROUPS)[number];
/** The global deployer's permission groups. */
export const GLOBAL_DEPLOYER_POLICY_GROUPS = ["state", "edge"] as const;
export type GlobalDeployerPolicyGroup = (typeof GLOBAL_DEPLOYER_POLICY_GROUPS)[number];

const S3_OBJECT_WRITES = ["s3:PutObject", "s3:DeleteObject"];
const LOCK_ITEM_WRITES = ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem"];

/**
 * A Deny on everything but `except`. `NotResource` is the only way IAM can say "every object but
 * these" (no condition key carries an object's key); the shared Statement type models `Resource` only.
 */
function denyAllBut(sid: string, action: string[], except: string): Statement {
  const statement: Omit<Statement, "Resource"> & { NotResource: string } = { Sid: sid, Effect: "Deny", Action: action, NotResource: except };
  return statement;
}

/** The explicit denies every pipeline role carries. */
function pipelineDenies(config: ResolvedConfig, acct: string): Statement[] {
  const iam = (path: string) => `arn:aws:iam::${acct}:${path}`;
  const globs = PIPELINE_ROLES.map((role) => `${pipelineRolePrefix(config.project, role)}*`);
  return [
    {
      Sid: "DenyDeployerAndProviderChanges",
      Effect: "Deny",
      Action: "iam:*",
      Resource: [...globs.map((g) => iam(`role/${g}`)), ...globs.map((g) => iam(`policy/${g}`)), iam(`oidc-provider/${GITHUB_OIDC_HOST}`)],
    },
    {
      Sid: "DenyStateBucketSettings",
      Effect: "Deny",
      Action: ["s3:DeleteBucket", "s3:DeleteBucketPolicy", "s3:PutBucket*", "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration"],
      Resource: `arn:aws:s3:::${config.state.bucket}`,
    },
  ];
}

/**
 * A pipeline role's state permissions: list the bucket, read (and, for a deployer, write) the
 * scope's keys, read global state, take the scope's state lock, and the explicit denies.
 */
function stateStatements(role: PipelineRole, s: PipelineScope): Statement[] {
  const { config, scope, accountId: acct, region } = s;
  const global = scope === PIPELINE_GLOBAL_SCOPE;
  const bucket = `arn:aws:s3:::${config.state.bucket}`;
  const own = global ? "global/" : `env/${scope}/`;
  const sidScope = global ? "Global" : "OwnEnv";
  const table = `arn:aws:dynamodb:${region}:${acct}:table/${config.state.lockTable}`;
  const adminRoots = global ? ADMIN_ONLY_ROOTS.map((id) => `global/${id}/`) : [];

  const out: Statement[] = [
    { Sid: "StateList", Effect: "Allow", Action: "s3:ListBucket", Resource: bucket },
    role === "deployer"
      ? { Sid: `StateReadWrite${sidScope}`, Effect: "Allow", Action: ["s3:GetObject", ...S3_OBJECT_WRITES], Resource: `${bucket}/${own}*` }
      : { Sid: `StateRead${sidScope}`, Effect: "Allow", Action: "s3:GetObject", Resource: `${bucket}/${own}*` },
  ];
  if (!global) out.push({ Sid: "StateReadGlobal", Effect: "Allow", Action: "s3:GetObject", Resource: `${bucket}/global/*` });

  if (config.state.locking === "dynamodb") {
    out.push({
      Sid: `StateLock${sidScope}`,
      Effect: "Allow",
      Action: ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
      Resource: table,
      // Lock ids are `<bucket>/<state key>` (and `…-md5` digests): only this scope's keys.
      // DescribeTable carries no leading key, which ForAllValues lets through, as it must.
      Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${config.state.bucket}/${own}*`] } },
    });
    if (role === "planner") {
      out.push({
        Sid: "DenyStateDigestWrites",
        Effect: "Deny",
        Action: LOCK_ITEM_WRITES,
        Resource: table,
        // Terraform writes a state's `-md5` digest only when it saves that state, which a planner
        // never does; one that could rewrite it could make every later run reject the genuine
        // state as corrupt. ForAnyValue: the deny holds when any leading key matches.
        Condition: { "ForAnyValue:StringLike": { "dynamodb:LeadingKeys": ["*-md5"] } },
      });
    }
    if (global) {
      out.push({
        Sid: "DenyAdminRootLocks",
        Effect: "Deny",
        Action: LOCK_ITEM_WRITES,
        Resource: table,
        Condition: { "ForAnyValue:StringLike": { "dynamodb:LeadingKeys": adminRoots.map((k) => `${config.state.bucket}/${k}*`) } },
      });
    }
  }

  if (role === "planner") {
    if (config.state.locking === "s3") {
      const lockFiles = `${bucket}/${own}*.tflock`;
      out.push(
        { Sid: `StateLockFiles${sidScope}`, Effect: "Allow", Action: S3_OBJECT_WRITES, Resource: lockFiles },
        denyAllBut("DenyStateWritesButLockFiles", S3_OBJECT_WRITES, lockFiles),
      );
    } else {
      out.push({ Sid: "DenyStateWrites", Effect: "Deny", Action: S3_OBJECT_WRITES, Resource: `${bucket}/*` });
    }
  }
  if (global) out.push({ Sid: "DenyAdminRootState", Effect: "Deny", Action: S3_OBJECT_WRITES, Resource: adminRoots.map((k) => `${bucket}/${k}*`) });
  out.push(...pipelineDenies(config, acct));
  return out;
}

/** Every permission of one environment's deployer role, as one document (for inspection and tests). */
export function deployerPolicy(scope: DeployerScope): PolicyDocument {
  return policy(...Object.values(deployerPolicyGroups(scope)).flatMap((doc) => doc.Statement));
}

/**
 * The deployer role's permissions for `scope.env`, split by area. Names are scoped with
 * {@link envNameGlob}; `<project>/<env>/*` is accepted too for ECR repositories and secrets.
 */
export function deployerPolicyGroups(scope: DeployerScope): Record<DeployerPolicyGroup, PolicyDocument> & { modules?: PolicyDocument } {
  const { config, env, accountId: acct, region } = scope;
  const glob = envNameGlob(config, env.name);
  const slashed = `${config.project}/${env.name}/*`;
  const iam = (path: string) => `arn:aws:iam::${acct}:${path}`;
  const regional = (service: string, path: string) => `arn:aws:${service}:${region}:${acct}:${path}`;
  // Actions that only accept Resource "*" stay in the configured region.
  const inRegion = { StringEquals: { "aws:RequestedRegion": region } };
  const state = stateStatements("deployer", { ...scope, scope: env.name });

  const network: Statement[] = [
    { Sid: "Ec2Read", Effect: "Allow", Action: "ec2:Describe*", Resource: "*", Condition: inRegion },
    { Sid: "Ec2Network", Effect: "Allow", Action: EC2_NETWORK_WRITES, Resource: "*", Condition: inRegion },
    // EC2 write actions take ids, not names, so the Allow above cannot name this environment's
    // objects: whatever carries another environment's tag is denied (creates carry none yet).
    {
      Sid: "DenyEc2OtherEnvironments",
      Effect: "Deny",
      Action: EC2_NETWORK_WRITES,
      Resource: "*",
      Condition: { StringNotEquals: { "aws:ResourceTag/Environment": env.name }, Null: { "aws:ResourceTag/Environment": "false" } },
    },
    { Sid: "ElbRead", Effect: "Allow", Action: "elasticloadbalancing:Describe*", Resource: "*", Condition: inRegion },
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
      Action: ["ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:List*"],
      Resource: "*",
      Condition: inRegion,
    },
    {
      Sid: "EcsOwnEnv",
      Effect: "Allow",
      Action: [
        "ecs:Describe*", "ecs:CreateCluster", "ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:DeleteCluster", "ecs:UpdateCluster",
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
    // CloudFront is global, so aws:RequestedRegion cannot narrow it: reads name the account's ARNs.
    { Sid: "CloudFrontRead", Effect: "Allow", Action: ["cloudfront:Get*", "cloudfront:ListTagsForResource"], Resource: `arn:aws:cloudfront::${acct}:*` },
    // The one action here that AWS authorizes only on "*".
    { Sid: "CloudFrontCreateOac", Effect: "Allow", Action: "cloudfront:CreateOriginAccessControl", Resource: "*" },
    {
      Sid: "CloudFrontAccount",
      Effect: "Allow",
      Action: [
        "cloudfront:CreateDistribution", "cloudfront:CreateDistributionWithTags", "cloudfront:UpdateDistribution", "cloudfront:DeleteDistribution",
        "cloudfront:TagResource", "cloudfront:UntagResource", "cloudfront:UpdateOriginAccessControl", "cloudfront:DeleteOriginAccessControl",
        "cloudfront:CreateResponseHeadersPolicy", "cloudfront:UpdateResponseHeadersPolicy", "cloudfront:DeleteResponseHeadersPolicy",
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
  ];

  // What the modules on in this environment create, as each module scopes it.
  const names = { account: acct, region, scope: env.name, names: glob };
  const modules = modulesOn(config, env.name).flatMap(({ module, settings }) =>
    (module.permissions?.(names, settings) ?? []).map((st) => ({ ...st, Effect: "Allow" as const, Action: st.Action as string | string[], Resource: st.Resource as string | string[] }) as Statement),
  );
  const groups = { state: policy(...state), network: policy(...network), compute: policy(...compute), data: policy(...data), edge: policy(...edge) };
  return modules.length > 0 ? { ...groups, modules: policy(...modules) } : groups;
}

/**
 * The global deployer's permissions: what the account-wide roots the pipeline applies manage.
 * `domain`: ACM certificates (configured region and us-east-1) and their DNS validation records;
 * `cost-allocation`: the cost allocation tags' status.
 */
export function globalDeployerPolicyGroups(scope: AccountScope): Record<GlobalDeployerPolicyGroup, PolicyDocument> {
  const { config, accountId: acct, region } = scope;
  const certRegions = [...new Set([region, "us-east-1"])];
  const inCertRegions = { "aws:RequestedRegion": certRegions.length === 1 ? certRegions[0]! : certRegions };
  const edge: Statement[] = [
    { Sid: "AcmList", Effect: "Allow", Action: "acm:ListCertificates", Resource: "*", Condition: { StringEquals: inCertRegions } },
    {
      Sid: "AcmRequestDnsValidated",
      Effect: "Allow",
      Action: "acm:RequestCertificate",
      Resource: "*",
      Condition: { StringEquals: { ...inCertRegions, "acm:ValidationMethod": "DNS" } },
    },
    {
      Sid: "AcmCertificates",
      Effect: "Allow",
      Action: [
        "acm:DescribeCertificate", "acm:GetCertificate", "acm:ListTagsForCertificate", "acm:AddTagsToCertificate",
        "acm:RemoveTagsFromCertificate", "acm:UpdateCertificateOptions", "acm:DeleteCertificate",
      ],
      Resource: certRegions.map((r) => `arn:aws:acm:${r}:${acct}:certificate/*`),
    },
    { Sid: "Route53List", Effect: "Allow", Action: ["route53:ListHostedZones", "route53:ListHostedZonesByName"], Resource: "*" },
    {
      Sid: "Route53Read",
      Effect: "Allow",
      Action: ["route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ListTagsForResource", "route53:GetChange"],
      Resource: ["arn:aws:route53:::hostedzone/*", "arn:aws:route53:::change/*"],
    },
    {
      Sid: "Route53CertificateValidationRecords",
      Effect: "Allow",
      Action: "route53:ChangeResourceRecordSets",
      Resource: "arn:aws:route53:::hostedzone/*",
      // ForAllValues is true when a key is absent, but Route 53 sets both keys on every
      // ChangeResourceRecordSets request, one value per change: so every change must be a CNAME
      // named like ACM's validation records, `_<token>.<host>`, never a host itself. Every
      // certificate host is under domain.base; one pattern keeps the policy's size independent
      // of the number of environments.
      Condition: {
        "ForAllValues:StringEquals": { "route53:ChangeResourceRecordSetsRecordTypes": ["CNAME"] },
        "ForAllValues:StringLike": { "route53:ChangeResourceRecordSetsNormalizedRecordNames": [`_*.${config.domain.base}`] },
      },
    },
    { Sid: "CostAllocationTags", Effect: "Allow", Action: ["ce:ListCostAllocationTags", "ce:UpdateCostAllocationTagsStatus"], Resource: "*" },
  ];
  return { state: policy(...stateStatements("deployer", { ...scope, scope: PIPELINE_GLOBAL_SCOPE })), edge: policy(...edge) };
}

/**
 * Actions a read verb would let through that read secret values or data. Matched both ways as IAM
 * globs, so a wildcard such as `secretsmanager:Get*` that covers one of them is dropped too.
 */
export const SECRET_READ_ACTIONS = [
  "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue", "secretsmanager:GetRandomPassword", "kms:Decrypt",
  "s3:GetObject", "s3:GetObjectVersion", "ssm:GetParameter*", "ecr:GetAuthorizationToken", "ecr:GetDownloadUrlForLayer",
  "ecr:BatchGetImage", "logs:GetLogEvents", "logs:GetLogRecord", "logs:GetQueryResults", "ec2:GetPasswordData", "ec2:GetConsoleOutput",
] as const;

/** IAM's glob match, case-insensitive like action names (`*` spans any characters, `?` one). */
/** Compiled once per pattern: the same few dozen actions recur in every environment's policies. */
const globs = new Map<string, RegExp>();
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function globMatches(pattern: string, text: string): boolean {
  // Most patterns are whole action names: no regular expression to make for them.
  if (!/[*?]/.test(pattern) && PRINTABLE_ASCII.test(pattern) && PRINTABLE_ASCII.test(text)) return pattern.length === text.length && pattern.toLowerCase() === text.toLowerCase();
  let re = globs.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i");
    globs.set(pattern, re);
  }
  return re.test(text);
}

/** True for an action whose verb starts with Describe, List or Get and that reads no secret value or data. */
const readOnly = new Map<string, boolean>();

export function isReadOnlyAction(action: string): boolean {
  let known = readOnly.get(action);
  if (known === undefined) {
    const verb = action.slice(action.indexOf(":") + 1);
    known = action.includes(":") && /^(?:Describe|List|Get)/i.test(verb) && !SECRET_READ_ACTIONS.some((secret) => globMatches(action, secret) || globMatches(secret, action));
    readOnly.set(action, known);
  }
  return known;
}

/**
 * The read-only part of `statements`: each Allow keeps only its {@link isReadOnlyAction} actions
 * (its Resource and Condition unchanged) and is dropped when none is left; a Deny only narrows,
 * so it is kept as it is, unless it names only actions no read-only statement holds (no read, no
 * wildcard), where it narrows nothing.
 */
export function readOnlyStatements(statements: readonly Statement[]): Statement[] {
  return statements.flatMap((s): Statement[] => {
    const all = Array.isArray(s.Action) ? s.Action : [s.Action];
    if (s.Effect !== "Allow") return all.some((a) => a.includes("*") || isReadOnlyAction(a)) ? [s] : [];
    const actions = all.filter(isReadOnlyAction);
    if (actions.length === 0) return [];
    return [{ ...s, Action: Array.isArray(s.Action) ? actions : actions[0]! }];
  });
}

/** The deployer's permission groups for `s.scope`, whether `global` or an environment. */
function scopeDeployerGroups(s: PipelineScope): Record<string, PolicyDocument> {
  const env = scopeEnvironment(s.config, s.scope);
  return env ? deployerPolicyGroups({ ...s, env }) : globalDeployerPolicyGroups(s);
}

/**
 * The planner role's permissions for `s.scope`: the deployer's groups made read-only
 * ({@link readOnlyStatements}), so the two cannot drift apart, except `state`, which reads the
 * scope's and global state and takes the scope's lock but cannot write state.
 */
export function plannerPolicyGroups(s: PipelineScope): Record<string, PolicyDocument> {
  const groups = Object.entries(scopeDeployerGroups(s)).map(([group, doc]) =>
    [group, policy(...(group === "state" ? stateStatements("planner", s) : readOnlyStatements(doc.Statement)))] as const,
  );
  return Object.fromEntries(groups.filter(([, doc]) => doc.Statement.length > 0));
}

/** A pipeline role's permission groups for `s.scope`, one managed policy each. */
export function pipelinePolicyGroups(role: PipelineRole, s: PipelineScope): Record<string, PolicyDocument> {
  return role === "deployer" ? scopeDeployerGroups(s) : plannerPolicyGroups(s);
}

/** Every permission of a pipeline role, as one document (for inspection and tests). */
export function pipelinePolicy(role: PipelineRole, s: PipelineScope): PolicyDocument {
  return policy(...Object.values(pipelinePolicyGroups(role, s)).flatMap((doc) => doc.Statement));
}

/**
 * The length IAM counts for a rendered policy: whitespace-free JSON, with each expression (the
 * account id read from the caller identity) counted as the 12 digits it becomes.
 */
export function policyLength(doc: PolicyDocument): number {
  return renderedLength(jsonDocument(doc));
}

/** {@link policyLength} of a policy already written as JSON. */
function renderedLength(json: string): number {
  // Counted, not rendered: a large plan measures megabytes of policies.
  let length = json.length;
  for (const token of json.matchAll(/\uE000[^\uE001]*\uE001/g)) length += 12 - token[0].length;
  return length;
}

const ROLE_NAMES: Record<PipelineRole, (project: string, scope: string) => string> = { deployer: deployerRoleName, planner: plannerRoleName };
const ROLE_SUBJECTS: Record<PipelineRole, typeof deployerSubjects> = { deployer: deployerSubjects, planner: plannerSubjects };

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
        error_message: "github_repository must be OWNER/REPO, such as dbash/caja (no wildcards: it is the only repository the pipeline roles trust).",
      },
    ],
  });

  root.mockResource("aws_iam_openid_connect_provider", { arn: `arn:aws:iam::123456789012:oidc-provider/${GITHUB_OIDC_HOST}` });
  root.mockResource("aws_iam_role", { arn: `arn:aws:iam::123456789012:role/${config.project}-terraform-deployer` });
  root.mockResource("aws_iam_policy", { arn: `arn:aws:iam::123456789012:policy/${config.project}-terraform-deployer` });

  const arns: Record<PipelineRole, Record<string, string>> = { deployer: {}, planner: {} };
  const names: Record<PipelineRole, Record<string, string>> = { deployer: {}, planner: {} };
  for (const scope of roleScopes(config)) {
    const what = scope === PIPELINE_GLOBAL_SCOPE ? "account-wide roots" : `${scope} roots`;
    for (const role of PIPELINE_ROLES) {
      const label = `${role}_${scope.replaceAll("-", "_")}`;
      const roleName = ctx.claimName(ROLE_NAMES[role](config.project, scope), NAME_RULES.iamRole);
      const r = root.resource("aws_iam_role", label, {
        name: roleName,
        description:
          role === "deployer"
            ? `Assumed by GitHub Actions through OIDC, only from jobs in the ${scope} GitHub environment, to apply the ${what} of ${config.project}.`
            : `Assumed by GitHub Actions through OIDC to plan the ${what} of ${config.project}: read-only but for the state lock.`,
        assume_role_policy: jsonDocument(deployerTrustPolicy(provider.attr("arn"), ROLE_SUBJECTS[role](config, scope, repository))),
        max_session_duration: 3600,
      });

      for (const [group, doc] of Object.entries(pipelinePolicyGroups(role, { config, scope, accountId: account, region: ctx.region }))) {
        const policy = jsonDocument(doc);
        if (renderedLength(policy) > MANAGED_POLICY_MAX_CHARS) throw new Error(`internal: ${role} policy ${scope}/${group} exceeds ${MANAGED_POLICY_MAX_CHARS} characters`);
        const policyName = ctx.claimName(fitName(`${roleName}-${group}`, NAME_RULES.iamPolicy), NAME_RULES.iamPolicy);
        const managed = root.resource("aws_iam_policy", `${label}_${group}`, {
          name: policyName,
          description: `Terraform ${role} permissions (${group}) for the ${what} of ${config.project}.`,
          policy,
        });
        root.resource("aws_iam_role_policy_attachment", `${label}_${group}`, { role: r.attr("name"), policy_arn: managed.attr("arn") });
      }

      arns[role][scope] = isLiteral(account) ? `arn:aws:iam::${account}:role/${roleName}` : r.attr("arn");
      names[role][scope] = roleName;

      const trust = `aws_iam_role.${label}.assume_role_policy`;
      const who = `the ${scope} ${role} role`;
      root.assert(`strcontains(${trust}, "${GITHUB_OIDC_HOST}:aud") && strcontains(${trust}, "${STS_AUDIENCE}")`, `${who} requires the STS audience`);
      root.assert(`!strcontains(${trust}, "ForAllValues")`, `${who}'s trust uses plain StringEquals`);
      if (role === "deployer") {
        root.assert(`strcontains(${trust}, ":environment:${scope}\\"")`, `${who} trusts its GitHub environment`);
        root.assert(`!strcontains(${trust}, ":pull_request") && !strcontains(${trust}, ":ref:")`, `${who} trusts no pull request and no bare branch`);
      } else {
        root.assert(`!strcontains(${trust}, ":environment:")`, `${who} trusts no GitHub environment`);
        if (scopeEnvironment(config, scope)?.tier === "prod") root.assert(`!strcontains(${trust}, ":pull_request")`, `${who} trusts no pull request`);
      }
    }
  }

  root.output("oidc_provider_arn", {
    value: isLiteral(account) ? providerArn : provider.attr("arn"),
    description: "ARN of the GitHub Actions OIDC identity provider.",
    example: `arn:aws:iam::123456789012:oidc-provider/${GITHUB_OIDC_HOST}`,
  });
  for (const role of PIPELINE_ROLES) {
    const use = role === "deployer" ? "apply jobs, in the scope's GitHub environment" : "plan and drift jobs";
    root.output(`${role}_role_arns`, {
      value: arns[role],
      description: `${role === "deployer" ? "Deployer" : "Planner"} role ARN per scope (global and each environment), for \`aws-actions/configure-aws-credentials\` (\`role-to-assume\`) in ${use}.`,
      example: Object.fromEntries(Object.entries(names[role]).map(([scope, name]) => [scope, `arn:aws:iam::123456789012:role/${name}`])),
    });
    root.output(`${role}_role_names`, { value: names[role], description: `${role === "deployer" ? "Deployer" : "Planner"} role name per scope.`, example: names[role] });
  }

  root.assert(`aws_iam_openid_connect_provider.github.url == "${GITHUB_OIDC_URL}"`, "the OIDC provider is GitHub Actions' token issuer");
  root.assert(
    `length(aws_iam_openid_connect_provider.github.client_id_list) == 1 && contains(aws_iam_openid_connect_provider.github.client_id_list, "${STS_AUDIENCE}")`,
    "the OIDC provider accepts only the STS audience",
  );
});
