/**
 * Phase 0.5 — the GitHub OIDC provider and, per scope (global and each environment), a deployer
 * role and a planner role: who may assume each role (trust policy), and what each role may do.
 */
import { describe, expect, it } from "vitest";
import { todo } from "@caja/dsl";
import type { CajaConfigInput, ResolvedConfig } from "@caja/dsl/schema";
import { validateRoot } from "../../packages/modules/src/aws/validate.js";
import type { Statement } from "../../packages/modules/src/core/policies.js";
import {
  deployerPolicy,
  deployerRoleName,
  deployerSubjects,
  deployerTriggers,
  globalDeployerPolicyGroups,
  iamOidc,
  isReadOnlyAction,
  MANAGED_POLICY_MAX_CHARS,
  PIPELINE_GLOBAL_SCOPE,
  PIPELINE_ROLES,
  pipelinePolicy,
  pipelinePolicyGroups,
  plannerPolicyGroups,
  plannerRoleName,
  plannerSubjects,
  plannerTriggers,
  policyLength,
  readOnlyStatements,
  roleScopes,
  type PipelineRole,
} from "../../packages/modules/src/iam-oidc.js";
import { baseConfig, compileWith, configWith, resources, rootJson, testJson } from "../helpers.js";
import { phasesFor, terraformCheck } from "../modules-harness.js";

const ROOT = "global/05-iam-oidc";
const phases = phasesFor([iamOidc], [], { number: 0.5, dir: "05-iam-oidc", scope: "global" });
const compile = (config: unknown = baseConfig()) => compileWith(config, { phases });
const SUB = "token.actions.githubusercontent.com:sub";
const AUD = "token.actions.githubusercontent.com:aud";
const SCOPES = ["global", "dev", "staging", "prod"] as const;
const ACCOUNT = "123456789012";
const BUCKET = "arn:aws:s3:::caja-terraform-state";
const TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/caja-terraform-locks";

/** A rendered JSON document with `${...}` references, parsed. */
const parse = (doc: string): any => JSON.parse(doc);
const label = (role: PipelineRole, scope: string) => `${role}_${scope.replaceAll("-", "_")}`;
const trustOf = (compiled: ReturnType<typeof compile>, role: PipelineRole, scope: string) =>
  parse(resources(compiled, ROOT, "aws_iam_role")[label(role, scope)].assume_role_policy);
const subsOf = (compiled: ReturnType<typeof compile>, role: PipelineRole, scope: string): string[] =>
  trustOf(compiled, role, scope).Statement[0].Condition.StringEquals[SUB];
const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function resolved(input: CajaConfigInput = baseConfig()): ResolvedConfig {
  return compile(input).config;
}

function envScope(input: CajaConfigInput, env: string, accountId = ACCOUNT) {
  const config = resolved(input);
  return { config, env: config.environments[env]!, accountId, region: config.region };
}

function pipelineScope(input: CajaConfigInput, scope: string, accountId = ACCOUNT) {
  const config = resolved(input);
  return { config, scope, accountId, region: config.region };
}

const statementsOf = (role: PipelineRole, scope: string, input: CajaConfigInput = baseConfig()) => pipelinePolicy(role, pipelineScope(input, scope)).Statement;

/** Role names in the order the module declared them (the emitted JSON sorts its keys). */
function roleNamesInOrder(compiled: ReturnType<typeof compile>): string[] {
  const root = compiled.plan.roots.find((r) => r.id === ROOT)!;
  return root.builder.entries.filter((e) => e.handle.type === "aws_iam_role").map((e) => e.body.name as string);
}

/** IAM's glob match (`*` spans any characters, `?` one). */
function arnMatches(pattern: string, arn: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return re.test(arn);
}

/** Whether `s` names `action` on `arn` (Resource, or NotResource's complement), ignoring conditions. */
function covers(s: Statement, action: string, arn: string): boolean {
  if (!asList(s.Action).some((a) => arnMatches(a, action))) return false;
  const notResource = (s as { NotResource?: string | string[] }).NotResource;
  if (notResource !== undefined) return !asList(notResource).some((r) => arnMatches(r, arn));
  return asList(s.Resource).some((r) => arnMatches(r, arn));
}

const allowsOn = (statements: Statement[], action: string, arn: string) => statements.some((s) => s.Effect === "Allow" && covers(s, action, arn));
const deniesOn = (statements: Statement[], action: string, arn: string) => statements.some((s) => s.Effect === "Deny" && covers(s, action, arn));
/** Allowed and not denied by an unconditional Deny. */
const grants = (statements: Statement[], action: string, arn: string) =>
  allowsOn(statements, action, arn) && !statements.some((s) => s.Effect === "Deny" && !s.Condition && covers(s, action, arn));

describe("iam-oidc: the GitHub OIDC provider", () => {
  it("is GitHub's token issuer for the STS audience, with the two static thumbprints and no tls provider", () => {
    const compiled = compile();
    const provider = resources(compiled, ROOT, "aws_iam_openid_connect_provider").github;
    expect(provider.url).toBe("https://token.actions.githubusercontent.com");
    expect(provider.client_id_list).toEqual(["sts.amazonaws.com"]);
    expect(provider.thumbprint_list).toEqual(["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]);
    const json = rootJson(compiled, ROOT);
    expect(Object.keys(json.terraform.required_providers ?? {})).not.toContain("tls");
    expect(JSON.stringify(json.data ?? {})).not.toContain("tls_certificate");
  });

  it("passes the provider schema check", () => {
    expect(validateRoot(rootJson(compile(), ROOT))).toEqual([]);
    expect(validateRoot(rootJson(compile({ ...baseConfig(), accountId: ACCOUNT }), ROOT))).toEqual([]);
    expect(validateRoot(rootJson(compile(configWith({ state: { locking: "s3" } })), ROOT))).toEqual([]);
  });

  it("has a generated test asserting the provider, each role's audience and who each role trusts", () => {
    const conditions = testJson(compile(), ROOT).run[0].mock_apply.assert.map((a: { condition: string }) => a.condition).join("\n");
    expect(conditions).toContain('aws_iam_openid_connect_provider.github.url == "https://token.actions.githubusercontent.com"');
    expect(conditions).toContain('contains(aws_iam_openid_connect_provider.github.client_id_list, "sts.amazonaws.com")');
    for (const scope of SCOPES) {
      for (const role of PIPELINE_ROLES) {
        expect(conditions).toContain(`strcontains(aws_iam_role.${role}_${scope}.assume_role_policy, "token.actions.githubusercontent.com:aud")`);
      }
      const deployer = `aws_iam_role.deployer_${scope}.assume_role_policy`;
      expect(conditions).toContain(`strcontains(${deployer}, ":environment:${scope}\\"")`);
      expect(conditions).toContain(`!strcontains(${deployer}, ":pull_request") && !strcontains(${deployer}, ":ref:")`);
      expect(conditions).toContain(`!strcontains(aws_iam_role.planner_${scope}.assume_role_policy, ":environment:")`);
    }
    expect(conditions).toContain('!strcontains(aws_iam_role.planner_prod.assume_role_policy, ":pull_request")');
    expect(conditions).not.toContain('!strcontains(aws_iam_role.planner_dev.assume_role_policy, ":pull_request")');
  });
});

describe("iam-oidc: a deployer and a planner role per scope", () => {
  it("has the global scope first, then the environments in config order", () => {
    expect(PIPELINE_GLOBAL_SCOPE).toBe("global");
    expect(roleScopes(resolved())).toEqual(["global", "dev", "staging", "prod"]);
    expect(roleScopes(resolved(configWith({ environments: { qa: {}, live: { tier: "prod" } } })))).toEqual(["global", "qa", "live"]);
  });

  it("names the roles <project>-terraform-<deployer|planner>-<scope>", () => {
    const compiled = compile();
    expect(roleNamesInOrder(compiled)).toEqual(
      SCOPES.flatMap((s) => [`caja-terraform-deployer-${s}`, `caja-terraform-planner-${s}`]),
    );
    expect(Object.keys(resources(compiled, ROOT, "aws_iam_role")).sort()).toEqual(
      ["deployer_dev", "deployer_global", "deployer_prod", "deployer_staging", "planner_dev", "planner_global", "planner_prod", "planner_staging"],
    );
    expect(plannerRoleName("caja", "global")).toBe("caja-terraform-planner-global");
    expect(deployerRoleName("caja", "global")).toBe("caja-terraform-deployer-global");
  });

  it("follows a custom environment order and project name, with dashes in labels made underscores", () => {
    const compiled = compile(configWith({ project: "tienda", environments: { "qa-east": {}, live: { tier: "prod" } } }));
    expect(roleNamesInOrder(compiled)).toEqual([
      "tienda-terraform-deployer-global", "tienda-terraform-planner-global",
      "tienda-terraform-deployer-qa-east", "tienda-terraform-planner-qa-east",
      "tienda-terraform-deployer-live", "tienda-terraform-planner-live",
    ]);
    expect(resources(compiled, ROOT, "aws_iam_role").planner_qa_east.name).toBe("tienda-terraform-planner-qa-east");
  });

  it("shortens long role names to IAM's 64 characters, deterministically, without collisions and inside the deny globs", () => {
    const project = "a-very-long-project-name"; // 24 characters, the schema's maximum
    const envs = { "integration-testing-east": {}, "integration-testing-west": {}, prod: {} };
    const compiled = compile(configWith({ project, environments: envs }));
    const roles = resources(compiled, ROOT, "aws_iam_role");
    const names = Object.values(roles).map((r) => r.name as string);
    expect(names).toHaveLength(8);
    for (const n of names) expect(n.length).toBeLessThanOrEqual(64);
    expect(new Set(names).size).toBe(8);
    expect(roles.planner_prod.name).toBe(`${project}-terraform-planner-prod`);
    expect(roles.deployer_integration_testing_east.name).toBe(deployerRoleName(project, "integration-testing-east"));
    expect(roles.planner_integration_testing_east.name).toBe(plannerRoleName(project, "integration-testing-east"));
    expect(roles.planner_integration_testing_east.name).not.toBe(`${project}-terraform-planner-integration-testing-east`);
    expect(plannerRoleName(project, "integration-testing-east")).toHaveLength(64);

    // Every shortened name stays inside the globs every role is denied editing.
    const deny = statementsOf("planner", "global", configWith({ project, environments: envs })).find((s) => s.Sid === "DenyDeployerAndProviderChanges")!;
    for (const n of names) expect(asList(deny.Resource).some((r) => arnMatches(r, `arn:aws:iam::${ACCOUNT}:role/${n}`)), n).toBe(true);

    const policies = Object.values(resources(compiled, ROOT, "aws_iam_policy")).map((p) => p.name as string);
    for (const n of policies) {
      expect(n.length).toBeLessThanOrEqual(128);
      expect(asList(deny.Resource).some((r) => arnMatches(r, `arn:aws:iam::${ACCOUNT}:policy/${n}`)), n).toBe(true);
    }
    expect(new Set(policies).size).toBe(policies.length);
  });

  it("attaches each role's permission policies to that role only", () => {
    const compiled = compile();
    const attachments = resources(compiled, ROOT, "aws_iam_role_policy_attachment");
    for (const [l, a] of Object.entries(attachments)) {
      expect(a.role).toBe(`\${aws_iam_role.${l.slice(0, l.lastIndexOf("_"))}.name}`);
      expect(a.policy_arn).toBe(`\${aws_iam_policy.${l}.arn}`);
    }
    const groups = (prefix: string) => Object.keys(attachments).filter((l) => l.startsWith(`${prefix}_`)).map((l) => l.slice(prefix.length + 1)).sort();
    expect(groups("deployer_prod")).toEqual(["compute", "data", "edge", "network", "state"]);
    expect(groups("planner_prod")).toEqual(["compute", "data", "edge", "network", "state"]);
    expect(groups("deployer_global")).toEqual(["edge", "state"]);
    expect(groups("planner_global")).toEqual(["edge", "state"]);
  });
});

describe("iam-oidc: trust policies", () => {
  it("trust GitHub's provider for web identity, with plain StringEquals on aud and sub", () => {
    const compiled = compile();
    for (const scope of SCOPES) {
      for (const role of PIPELINE_ROLES) {
        const [statement, ...rest] = trustOf(compiled, role, scope).Statement;
        expect(rest).toEqual([]);
        expect(statement.Effect).toBe("Allow");
        expect(statement.Principal).toEqual({ Federated: "${aws_iam_openid_connect_provider.github.arn}" });
        expect(asList(statement.Action)).toEqual(["sts:AssumeRoleWithWebIdentity"]);
        expect(Object.keys(statement.Condition)).toEqual(["StringEquals"]);
        expect(statement.Condition.StringEquals[AUD]).toBe("sts.amazonaws.com");
        expect(Array.isArray(statement.Condition.StringEquals[SUB])).toBe(true);
      }
    }
  });

  it("let each deployer be assumed only from its GitHub environment: no pull request, no branch", () => {
    const compiled = compile();
    expect(subsOf(compiled, "deployer", "dev")).toEqual(["repo:dbash/caja:environment:dev"]);
    expect(subsOf(compiled, "deployer", "staging")).toEqual(["repo:dbash/caja:environment:staging"]);
    expect(subsOf(compiled, "deployer", "prod")).toEqual(["repo:dbash/caja:environment:prod"]);
    expect(subsOf(compiled, "deployer", "global")).toEqual(["repo:dbash/caja:environment:global"]);
  });

  it("let planners be assumed from pull requests and the main branch, prod's from the main branch only", () => {
    const compiled = compile();
    for (const scope of ["global", "dev", "staging"]) {
      expect(subsOf(compiled, "planner", scope), scope).toEqual(["repo:dbash/caja:pull_request", "repo:dbash/caja:ref:refs/heads/main"]);
    }
    expect(subsOf(compiled, "planner", "prod")).toEqual(["repo:dbash/caja:ref:refs/heads/main"]);
  });

  it("use the configured repository and main branch", () => {
    const compiled = compile(configWith({ github: { repository: "acme/shop", mainBranch: "trunk" } }));
    expect(subsOf(compiled, "planner", "dev")).toEqual(["repo:acme/shop:pull_request", "repo:acme/shop:ref:refs/heads/trunk"]);
    expect(subsOf(compiled, "planner", "prod")).toEqual(["repo:acme/shop:ref:refs/heads/trunk"]);
    expect(subsOf(compiled, "deployer", "dev")).toEqual(["repo:acme/shop:environment:dev"]);
  });

  it("keep a tier-prod environment's planner off pull requests whatever its name and position", () => {
    const config = resolved(configWith({ environments: { live: { tier: "prod" }, dev: {} } }));
    expect(plannerSubjects(config, "live")).toEqual(["repo:dbash/caja:ref:refs/heads/main"]);
    expect(plannerSubjects(config, "dev")).toEqual(["repo:dbash/caja:pull_request", "repo:dbash/caja:ref:refs/heads/main"]);
    expect(deployerSubjects(config, "live")).toEqual(["repo:dbash/caja:environment:live"]);
  });

  it("never trust a wildcard subject", () => {
    const compiled = compile();
    for (const scope of SCOPES) {
      for (const role of PIPELINE_ROLES) {
        for (const sub of subsOf(compiled, role, scope)) {
          expect(sub).not.toContain("*");
          expect(sub).toMatch(/^repo:dbash\/caja:/);
        }
      }
    }
  });

  it("are built from the exported rules, so the workflow can follow them by construction", () => {
    const config = resolved();
    expect(deployerTriggers(config, "dev")).toEqual([{ kind: "environment", environment: "dev" }]);
    expect(deployerTriggers(config, "global")).toEqual([{ kind: "environment", environment: "global" }]);
    expect(plannerTriggers(config, "staging")).toEqual([{ kind: "pull_request" }, { kind: "branch", branch: "main" }]);
    expect(plannerTriggers(config, "global")).toEqual([{ kind: "pull_request" }, { kind: "branch", branch: "main" }]);
    expect(plannerTriggers(config, "prod")).toEqual([{ kind: "branch", branch: "main" }]);
    expect(() => deployerTriggers(config, "qa")).toThrow(/no scope "qa"/);
    expect(() => plannerTriggers(config, "qa")).toThrow(/no scope "qa"/);
    const compiled = compile();
    for (const scope of SCOPES) {
      expect(subsOf(compiled, "deployer", scope)).toEqual(deployerSubjects(config, scope));
      expect(subsOf(compiled, "planner", scope)).toEqual(plannerSubjects(config, scope));
    }
  });

  it("take the repository from a variable (no default, validated) when github.repository is todo()", () => {
    const compiled = compile(configWith({ github: { repository: todo("create the GitHub repository") } }));
    const variable = rootJson(compiled, ROOT).variable.github_repository;
    expect(variable.default).toBeUndefined();
    expect(variable.type).toBe("string");
    expect(variable.description).toContain("create the GitHub repository");
    expect(JSON.stringify(variable.validation)).toContain("var.github_repository");
    expect(subsOf(compiled, "deployer", "prod")).toEqual(["repo:${var.github_repository}:environment:prod"]);
    expect(subsOf(compiled, "planner", "dev")).toEqual(["repo:${var.github_repository}:pull_request", "repo:${var.github_repository}:ref:refs/heads/main"]);
    expect(testJson(compiled, ROOT).variables).toEqual({ github_repository: "dbash/caja" });
    expect(compiled.todos.map((t) => t.path)).toContain("github.repository");
    expect(validateRoot(rootJson(compiled, ROOT))).toEqual([]);
    expect(() => plannerSubjects(compiled.config, "dev")).toThrow(/todo/);
  });
});

describe("iam-oidc: every role's explicit denies", () => {
  it("keep every role from editing any pipeline role, its policies, the OIDC provider or the state bucket", () => {
    const iam = (path: string) => `arn:aws:iam::${ACCOUNT}:${path}`;
    for (const scope of SCOPES) {
      for (const role of PIPELINE_ROLES) {
        const statements = statementsOf(role, scope);
        for (const target of SCOPES) {
          for (const other of PIPELINE_ROLES) {
            const name = `caja-terraform-${other}-${target}`;
            expect(deniesOn(statements, "iam:UpdateAssumeRolePolicy", iam(`role/${name}`)), `${role} ${scope} → ${name}`).toBe(true);
            expect(deniesOn(statements, "iam:CreatePolicyVersion", iam(`policy/${name}-state`))).toBe(true);
            expect(grants(statements, "iam:AttachRolePolicy", iam(`role/${name}`))).toBe(false);
          }
        }
        expect(deniesOn(statements, "iam:UpdateOpenIDConnectProviderThumbprint", iam("oidc-provider/token.actions.githubusercontent.com"))).toBe(true);
        expect(deniesOn(statements, "s3:PutBucketPolicy", BUCKET)).toBe(true);
        expect(deniesOn(statements, "s3:DeleteBucket", BUCKET)).toBe(true);
      }
    }
  });
});

describe("iam-oidc: environment deployer permissions", () => {
  const envs = ["dev", "staging", "prod"] as const;

  it("never allow every action, or a whole service, on every resource", () => {
    for (const scope of SCOPES) {
      for (const role of PIPELINE_ROLES) {
        for (const s of statementsOf(role, scope)) {
          if (s.Effect !== "Allow") continue;
          const actions = asList(s.Action);
          expect(actions).not.toContain("*");
          if (asList(s.Resource).includes("*")) {
            for (const a of actions) expect(a, `${role} ${scope} ${s.Sid}: ${a} on "*"`).not.toMatch(/^[a-z0-9-]+:\*$/);
          }
        }
      }
    }
  });

  it("limit state access to the environment's keys, read-only global state and the bucket listing", () => {
    const statements = deployerPolicy(envScope(baseConfig(), "dev")).Statement;
    expect(grants(statements, "s3:PutObject", `${BUCKET}/env/dev/networking/terraform.tfstate`)).toBe(true);
    expect(grants(statements, "s3:DeleteObject", `${BUCKET}/env/dev/networking/terraform.tfstate.tflock`)).toBe(true);
    expect(grants(statements, "s3:GetObject", `${BUCKET}/global/bootstrap/terraform.tfstate`)).toBe(true);
    expect(grants(statements, "s3:ListBucket", BUCKET)).toBe(true);
    expect(grants(statements, "s3:PutObject", `${BUCKET}/global/domain/terraform.tfstate`)).toBe(false);
    expect(grants(statements, "s3:GetObject", `${BUCKET}/env/prod/networking/terraform.tfstate`)).toBe(false);
    expect(grants(statements, "s3:PutObject", `${BUCKET}/env/prod/networking/terraform.tfstate`)).toBe(false);
    expect(grants(statements, "s3:GetObject", "arn:aws:s3:::some-other-bucket/env/dev/x")).toBe(false);
    // Every statement touching the state bucket names only that bucket.
    for (const s of statements.filter((s) => s.Effect === "Allow" && asList(s.Resource).some((r) => r.includes("terraform-state")))) {
      for (const r of asList(s.Resource)) expect(r.startsWith(BUCKET)).toBe(true);
    }
  });

  it("lock only the environment's own state entries in the DynamoDB table, and only with DynamoDB locking", () => {
    const statements = deployerPolicy(envScope(baseConfig(), "staging")).Statement;
    const lock = statements.filter((s) => s.Effect === "Allow" && asList(s.Action).includes("dynamodb:PutItem"));
    expect(lock).toHaveLength(1);
    expect(lock[0]!.Resource).toBe(TABLE);
    expect(asList(lock[0]!.Action).sort()).toEqual(["dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem"]);
    expect(lock[0]!.Condition).toEqual({ "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["caja-terraform-state/env/staging/*"] } });

    const s3Locking = deployerPolicy(envScope(configWith({ state: { locking: "s3" } }), "staging")).Statement;
    expect(JSON.stringify(s3Locking)).not.toContain("dynamodb:");
  });

  it("scope IAM to the environment's roles and pass them only to the services that need them", () => {
    const statements = deployerPolicy(envScope(baseConfig(), "dev")).Statement;
    const role = (name: string) => `arn:aws:iam::123456789012:role/${name}`;
    expect(grants(statements, "iam:CreateRole", role("caja-dev-ecs-task-execution"))).toBe(true);
    expect(grants(statements, "iam:CreateRole", role("caja-prod-ecs-task-execution"))).toBe(false);
    expect(grants(statements, "iam:CreateRole", role("admin"))).toBe(false);
    const pass = statements.filter((s) => asList(s.Action).includes("iam:PassRole"));
    expect(pass).toHaveLength(1);
    expect(pass[0]!.Resource).toBe(role("caja-dev-*"));
    expect(pass[0]!.Condition?.StringEquals?.["iam:PassedToService"]).toContain("ecs-tasks.amazonaws.com");
  });

  it("scope resource ARNs to the environment's name prefix, account and region", () => {
    const dev = deployerPolicy(envScope(baseConfig(), "dev")).Statement;
    const r = (service: string, path: string) => `arn:aws:${service}:us-east-1:123456789012:${path}`;
    const cases: [string, string, string][] = [
      ["s3:PutBucketPolicy", "arn:aws:s3:::caja-dev-static-site", "arn:aws:s3:::caja-prod-static-site"],
      ["rds:DeleteDBInstance", r("rds", "db:caja-dev-postgres"), r("rds", "db:caja-prod-postgres")],
      ["ecs:UpdateService", r("ecs", "service/caja-dev-cluster/caja-dev-api"), r("ecs", "service/caja-prod-cluster/caja-prod-api")],
      ["elasticloadbalancing:DeleteLoadBalancer", r("elasticloadbalancing", "loadbalancer/app/caja-dev-alb/0123456789abcdef"), r("elasticloadbalancing", "loadbalancer/app/caja-prod-alb/0123456789abcdef")],
      ["logs:DeleteLogGroup", r("logs", "log-group:/ecs/caja-dev-api"), r("logs", "log-group:/ecs/caja-prod-api")],
      ["secretsmanager:DeleteSecret", r("secretsmanager", "secret:caja-dev-jwt-AbCdEf"), r("secretsmanager", "secret:caja-prod-jwt-AbCdEf")],
      ["sns:DeleteTopic", r("sns", "caja-dev-alarms"), r("sns", "caja-prod-alarms")],
      ["cloudwatch:DeleteAlarms", r("cloudwatch", "alarm:caja-dev-alb-5xx"), r("cloudwatch", "alarm:caja-prod-alb-5xx")],
      ["ecr:DeleteRepository", r("ecr", "repository/caja-dev-api"), r("ecr", "repository/caja-prod-api")],
    ];
    for (const [action, own, other] of cases) {
      expect(grants(dev, action, own), `${action} on ${own}`).toBe(true);
      expect(grants(dev, action, other), `${action} on ${other}`).toBe(false);
    }
    // Regional ARNs carry the configured region and account.
    expect(grants(dev, "rds:DeleteDBInstance", "arn:aws:rds:eu-west-1:123456789012:db:caja-dev-postgres")).toBe(false);
    expect(grants(dev, "rds:DeleteDBInstance", "arn:aws:rds:us-east-1:210987654321:db:caja-dev-postgres")).toBe(false);
  });

  it("pin the actions that only accept Resource \"*\" to the configured region", () => {
    const statements = deployerPolicy(envScope(configWith({ region: "eu-west-1" }), "prod")).Statement;
    const ec2 = statements.find((s) => asList(s.Action).includes("ec2:CreateVpc"))!;
    expect(ec2.Resource).toBe("*");
    expect(ec2.Condition).toEqual({ StringEquals: { "aws:RequestedRegion": "eu-west-1" } });
    // Certificates are read in the ALB's region and in us-east-1 (CloudFront).
    expect(grants(statements, "acm:DescribeCertificate", "arn:aws:acm:us-east-1:123456789012:certificate/abc")).toBe(true);
    expect(grants(statements, "acm:DescribeCertificate", "arn:aws:acm:eu-west-1:123456789012:certificate/abc")).toBe(true);
    expect(grants(statements, "acm:RequestCertificate", "*")).toBe(false);
  });

  it("cover every service caja manages for an environment, and leave account-wide cost tags to the global deployer", () => {
    for (const env of envs) {
      const services = new Set(
        deployerPolicy(envScope(baseConfig(), env))
          .Statement.filter((s) => s.Effect === "Allow")
          .flatMap((s) => asList(s.Action).map((a) => a.split(":")[0])),
      );
      for (const s of ["s3", "dynamodb", "ec2", "elasticloadbalancing", "ecs", "ecr", "rds", "secretsmanager", "kms", "logs", "cloudwatch", "sns", "application-autoscaling", "route53", "acm", "cloudfront", "iam"]) {
        expect(services, s).toContain(s);
      }
      expect(services).not.toContain("ce");
    }
  });

  it("never read or write secret values, nor objects in the environment's buckets", () => {
    const statements = deployerPolicy(envScope(baseConfig(), "prod")).Statement;
    expect(grants(statements, "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:caja-prod-jwt-AbCdEf")).toBe(false);
    expect(grants(statements, "secretsmanager:PutSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:caja-prod-jwt-AbCdEf")).toBe(false);
    expect(grants(statements, "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0123-abcd")).toBe(false);
    expect(grants(statements, "s3:GetObject", "arn:aws:s3:::caja-prod-static-site/index.html")).toBe(false);
  });

  it("let an environment change DNS records of its own hosts only", () => {
    const statements = deployerPolicy(envScope(baseConfig(), "dev")).Statement;
    const change = statements.find((s) => s.Action === "route53:ChangeResourceRecordSets")!;
    expect(change.Condition).toEqual({
      "ForAllValues:StringEquals": { "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["app.dev.caja.dbash.dev", "api.dev.caja.dbash.dev"] },
    });
    const prod = deployerPolicy(envScope(baseConfig(), "prod")).Statement.find((s) => s.Action === "route53:ChangeResourceRecordSets")!;
    expect(prod.Condition?.["ForAllValues:StringEquals"]?.["route53:ChangeResourceRecordSetsNormalizedRecordNames"]).toEqual(["app.caja.dbash.dev", "api.caja.dbash.dev"]);
  });

  it("let an environment delete or re-key only KMS keys tagged with its name", () => {
    const statements = deployerPolicy(envScope(baseConfig(), "dev")).Statement;
    const destructive = statements.filter((s) => asList(s.Action).some((a) => ["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:DisableKey"].includes(a)));
    expect(destructive).toHaveLength(1);
    expect(destructive[0]!.Condition).toEqual({ StringEquals: { "aws:ResourceTag/Environment": "dev" } });
  });

  it("read the account id from the caller identity when it is not configured", () => {
    const policies = resources(compile(), ROOT, "aws_iam_policy");
    expect(policies.deployer_dev_compute.policy).toContain("arn:aws:iam::${data.aws_caller_identity.current.account_id}:role/caja-dev-*");
  });
});

describe("iam-oidc: global deployer permissions", () => {
  const statements = () => statementsOf("deployer", "global");

  it("manage ACM certificates, DNS-validated, in the configured region and us-east-1 only", () => {
    const s = statementsOf("deployer", "global", configWith({ region: "eu-west-1" }));
    for (const region of ["eu-west-1", "us-east-1"]) {
      for (const action of ["acm:DeleteCertificate", "acm:DescribeCertificate", "acm:AddTagsToCertificate", "acm:ListTagsForCertificate", "acm:GetCertificate"]) {
        expect(grants(s, action, `arn:aws:acm:${region}:${ACCOUNT}:certificate/abc`), `${action} in ${region}`).toBe(true);
      }
    }
    expect(grants(s, "acm:DeleteCertificate", `arn:aws:acm:ap-south-1:${ACCOUNT}:certificate/abc`)).toBe(false);
    expect(grants(s, "acm:ExportCertificate", `arn:aws:acm:us-east-1:${ACCOUNT}:certificate/abc`)).toBe(false);
    const request = s.find((x) => x.Action === "acm:RequestCertificate")!;
    expect(request.Resource).toBe("*");
    expect(request.Condition).toEqual({ StringEquals: { "aws:RequestedRegion": ["eu-west-1", "us-east-1"], "acm:ValidationMethod": "DNS" } });
  });

  it("change only CNAME records named like ACM's validation records of the configured hosts", () => {
    const change = statements().filter((s) => asList(s.Action).includes("route53:ChangeResourceRecordSets"));
    expect(change).toHaveLength(1);
    expect(change[0]!.Resource).toBe("arn:aws:route53:::hostedzone/*");
    expect(change[0]!.Condition).toEqual({
      "ForAllValues:StringEquals": { "route53:ChangeResourceRecordSetsRecordTypes": ["CNAME"] },
      "ForAllValues:StringLike": { "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_*.caja.dbash.dev"] },
    });
    const [names] = Object.values(change[0]!.Condition!["ForAllValues:StringLike"]!) as string[][];
    for (const host of ["app.caja.dbash.dev", "api.dev.caja.dbash.dev", "caja.dbash.dev", "_abc.dbash.dev", "_abc.other.dev"]) {
      expect(names!.some((n) => arnMatches(n, host)), host).toBe(false);
    }
    expect(names!.some((n) => arnMatches(n, "_3f2e1d0c.app.staging.caja.dbash.dev"))).toBe(true);
    for (const action of ["route53:GetChange", "route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ListTagsForResource"]) {
      expect(grants(statements(), action, action === "route53:GetChange" ? "arn:aws:route53:::change/C123" : "arn:aws:route53:::hostedzone/Z123"), action).toBe(true);
    }
    expect(grants(statements(), "route53:ListHostedZonesByName", "*")).toBe(true);
    expect(grants(statements(), "route53:CreateHostedZone", "*")).toBe(false);
  });

  it("activate cost allocation tags, and touch no other service", () => {
    const s = statements();
    expect(grants(s, "ce:UpdateCostAllocationTagsStatus", "*")).toBe(true);
    expect(grants(s, "ce:ListCostAllocationTags", "*")).toBe(true);
    const services = new Set(s.filter((x) => x.Effect === "Allow").flatMap((x) => asList(x.Action).map((a) => a.split(":")[0])));
    expect([...services].sort()).toEqual(["acm", "ce", "dynamodb", "route53", "s3"]);
  });

  it("write global state, but never the state or locks of the roots only an administrator applies", () => {
    const s = statements();
    expect(grants(s, "s3:PutObject", `${BUCKET}/global/domain/terraform.tfstate`)).toBe(true);
    expect(grants(s, "s3:DeleteObject", `${BUCKET}/global/cost-allocation/terraform.tfstate.tflock`)).toBe(true);
    expect(grants(s, "s3:GetObject", `${BUCKET}/global/iam-oidc/terraform.tfstate`)).toBe(true);
    for (const root of ["iam-oidc", "bootstrap"]) {
      expect(deniesOn(s, "s3:PutObject", `${BUCKET}/global/${root}/terraform.tfstate`), root).toBe(true);
      expect(deniesOn(s, "s3:DeleteObject", `${BUCKET}/global/${root}/terraform.tfstate.tflock`), root).toBe(true);
      expect(grants(s, "s3:PutObject", `${BUCKET}/global/${root}/terraform.tfstate`), root).toBe(false);
    }
    expect(grants(s, "s3:GetObject", `${BUCKET}/env/dev/networking/terraform.tfstate`)).toBe(false);
    expect(grants(s, "s3:PutObject", `${BUCKET}/env/dev/networking/terraform.tfstate`)).toBe(false);

    const lock = s.find((x) => x.Effect === "Allow" && asList(x.Action).includes("dynamodb:PutItem"))!;
    expect(lock.Condition).toEqual({ "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["caja-terraform-state/global/*"] } });
    const adminLocks = s.find((x) => x.Sid === "DenyAdminRootLocks")!;
    expect(adminLocks.Effect).toBe("Deny");
    expect(adminLocks.Condition).toEqual({
      "ForAnyValue:StringLike": { "dynamodb:LeadingKeys": ["caja-terraform-state/global/bootstrap/*", "caja-terraform-state/global/iam-oidc/*"] },
    });
  });
});

/** Planner actions that are not reads: the state lock's own entries. */
const LOCK_WRITES = ["dynamodb:PutItem", "dynamodb:DeleteItem", "s3:PutObject", "s3:DeleteObject"];

describe("iam-oidc: planner permissions", () => {
  const configs = { dynamodb: baseConfig(), s3: configWith({ state: { locking: "s3" } }) };

  it("allow only Describe, List and Get verbs, but for lock entries scoped to the lock table or *.tflock objects", () => {
    for (const [locking, input] of Object.entries(configs)) {
      for (const scope of SCOPES) {
        const own = scope === "global" ? "global/" : `env/${scope}/`;
        for (const s of statementsOf("planner", scope, input)) {
          if (s.Effect !== "Allow") continue;
          for (const action of asList(s.Action)) {
            const where = `${locking} ${scope} ${s.Sid}: ${action}`;
            if (/^[a-z0-9-]+:(Describe|List|Get)/.test(action)) continue;
            expect(LOCK_WRITES, where).toContain(action);
            if (action.startsWith("dynamodb:")) {
              expect(s.Resource, where).toBe(TABLE);
              expect(s.Condition, where).toEqual({ "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`caja-terraform-state/${own}*`] } });
            } else {
              expect(asList(s.Resource), where).toEqual([`${BUCKET}/${own}*.tflock`]);
            }
          }
        }
      }
    }
  });

  it("read no secret value or data", () => {
    const secret = `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:caja-dev-jwt-AbCdEf`;
    for (const scope of SCOPES) {
      const s = statementsOf("planner", scope);
      const none: [string, string][] = [
        ["secretsmanager:GetSecretValue", secret],
        ["secretsmanager:GetRandomPassword", "*"],
        ["kms:Decrypt", `arn:aws:kms:us-east-1:${ACCOUNT}:key/abc`],
        ["ssm:GetParameter", `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/x`],
        ["ecr:GetAuthorizationToken", "*"],
        ["ecr:GetDownloadUrlForLayer", `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/caja-dev-api`],
        ["ecr:BatchGetImage", `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/caja-dev-api`],
        ["s3:GetObject", "arn:aws:s3:::caja-dev-static-site/index.html"],
      ];
      for (const [action, arn] of none) expect(allowsOn(s, action, arn), `${scope}: ${action}`).toBe(false);
    }
    // The deployer itself may get a random password: the planner's derivation must drop it.
    expect(allowsOn(statementsOf("deployer", "dev"), "secretsmanager:GetRandomPassword", "*")).toBe(true);
  });

  it("are the deployer's read actions, with the same resources and conditions, so the two cannot drift apart", () => {
    for (const scope of SCOPES) {
      const deployer = pipelinePolicyGroups("deployer", pipelineScope(baseConfig(), scope));
      const planner = plannerPolicyGroups(pipelineScope(baseConfig(), scope));
      expect(Object.keys(planner)).toEqual(Object.keys(deployer));
      for (const [group, doc] of Object.entries(planner)) {
        if (group === "state") continue;
        const expected = deployer[group]!.Statement.flatMap((s) => {
          const reads = asList(s.Action).filter((a) => /:(Describe|List|Get)/.test(a) && a !== "secretsmanager:GetRandomPassword");
          return reads.length === 0 ? [] : [{ Sid: s.Sid, Resource: s.Resource, Condition: s.Condition, Action: reads }];
        });
        expect(doc.Statement.map((s) => ({ Sid: s.Sid, Resource: s.Resource, Condition: s.Condition, Action: asList(s.Action) })), `${scope}/${group}`).toEqual(expected);
      }
    }
    // A planner plans what its deployer applies: e.g. it can read the environment's roles and clusters.
    const dev = statementsOf("planner", "dev");
    expect(grants(dev, "iam:GetRole", `arn:aws:iam::${ACCOUNT}:role/caja-dev-ecs-task-execution`)).toBe(true);
    expect(grants(dev, "iam:GetRole", `arn:aws:iam::${ACCOUNT}:role/caja-prod-ecs-task-execution`)).toBe(false);
    expect(grants(dev, "ecs:DescribeServices", `arn:aws:ecs:us-east-1:${ACCOUNT}:service/caja-dev-cluster/caja-dev-api`)).toBe(true);
    expect(grants(dev, "ecs:UpdateService", `arn:aws:ecs:us-east-1:${ACCOUNT}:service/caja-dev-cluster/caja-dev-api`)).toBe(false);
    expect(grants(statementsOf("planner", "global"), "acm:RequestCertificate", "*")).toBe(false);
    expect(grants(statementsOf("planner", "global"), "route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/Z123")).toBe(false);
  });

  it("read the scope's and global state, and never write state", () => {
    for (const [locking, input] of Object.entries(configs)) {
      const dev = statementsOf("planner", "dev", input);
      expect(grants(dev, "s3:ListBucket", BUCKET)).toBe(true);
      expect(grants(dev, "s3:GetObject", `${BUCKET}/env/dev/networking/terraform.tfstate`)).toBe(true);
      expect(grants(dev, "s3:GetObject", `${BUCKET}/global/domain/terraform.tfstate`)).toBe(true);
      expect(grants(dev, "s3:GetObject", `${BUCKET}/env/prod/networking/terraform.tfstate`)).toBe(false);
      for (const key of ["env/dev/networking/terraform.tfstate", "global/domain/terraform.tfstate", "env/prod/networking/terraform.tfstate"]) {
        expect(grants(dev, "s3:PutObject", `${BUCKET}/${key}`), `${locking} ${key}`).toBe(false);
        expect(deniesOn(dev, "s3:PutObject", `${BUCKET}/${key}`), `${locking} ${key}`).toBe(true);
        expect(deniesOn(dev, "s3:DeleteObject", `${BUCKET}/${key}`), `${locking} ${key}`).toBe(true);
      }
      const global = statementsOf("planner", "global", input);
      expect(grants(global, "s3:GetObject", `${BUCKET}/global/domain/terraform.tfstate`)).toBe(true);
      expect(grants(global, "s3:GetObject", `${BUCKET}/env/dev/networking/terraform.tfstate`)).toBe(false);
      expect(deniesOn(global, "s3:PutObject", `${BUCKET}/global/domain/terraform.tfstate`)).toBe(true);
    }
  });

  it("take DynamoDB locks on the scope's keys, but never write state digests", () => {
    for (const scope of SCOPES) {
      const own = scope === "global" ? "global/" : `env/${scope}/`;
      const s = statementsOf("planner", scope);
      const lock = s.filter((x) => x.Effect === "Allow" && asList(x.Action).some((a) => a.startsWith("dynamodb:")));
      expect(lock).toHaveLength(1);
      expect(asList(lock[0]!.Action).sort()).toEqual(["dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem"]);
      expect(lock[0]!.Condition).toEqual({ "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`caja-terraform-state/${own}*`] } });
      const digest = s.find((x) => x.Sid === "DenyStateDigestWrites")!;
      expect(digest).toEqual({
        Sid: "DenyStateDigestWrites",
        Effect: "Deny",
        Action: ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:UpdateItem"],
        Resource: TABLE,
        Condition: { "ForAnyValue:StringLike": { "dynamodb:LeadingKeys": ["*-md5"] } },
      });
    }
    expect(statementsOf("planner", "global").some((x) => x.Sid === "DenyAdminRootLocks")).toBe(true);
  });

  it("with S3 lockfiles, write only the scope's .tflock objects", () => {
    const input = configs.s3;
    const dev = statementsOf("planner", "dev", input);
    expect(JSON.stringify(dev)).not.toContain("dynamodb:");
    expect(grants(dev, "s3:PutObject", `${BUCKET}/env/dev/networking/terraform.tfstate.tflock`)).toBe(true);
    expect(grants(dev, "s3:DeleteObject", `${BUCKET}/env/dev/networking/terraform.tfstate.tflock`)).toBe(true);
    expect(deniesOn(dev, "s3:PutObject", `${BUCKET}/env/dev/networking/terraform.tfstate.tflock`)).toBe(false);
    expect(grants(dev, "s3:PutObject", `${BUCKET}/env/prod/networking/terraform.tfstate.tflock`)).toBe(false);
    expect(grants(dev, "s3:PutObject", "arn:aws:s3:::caja-dev-static-site/index.html")).toBe(false);
    const deny = dev.find((x) => x.Sid === "DenyStateWritesButLockFiles") as Statement & { NotResource?: string };
    expect(deny).toEqual({ Sid: "DenyStateWritesButLockFiles", Effect: "Deny", Action: ["s3:PutObject", "s3:DeleteObject"], NotResource: `${BUCKET}/env/dev/*.tflock` });
    expect(deny.Resource).toBeUndefined();

    const global = statementsOf("planner", "global", input);
    expect(grants(global, "s3:PutObject", `${BUCKET}/global/domain/terraform.tfstate.tflock`)).toBe(true);
    expect(deniesOn(global, "s3:PutObject", `${BUCKET}/global/iam-oidc/terraform.tfstate.tflock`)).toBe(true);
  });
});

describe("iam-oidc: the read-only derivation", () => {
  it("keeps read verbs (wildcards included) and drops writes and secret reads", () => {
    for (const a of ["ec2:Describe*", "s3:GetBucket*", "cloudwatch:Get*", "iam:ListRolePolicies", "kms:GetKeyPolicy", "secretsmanager:DescribeSecret"]) {
      expect(isReadOnlyAction(a), a).toBe(true);
    }
    for (const a of [
      "ec2:CreateVpc", "s3:PutObject", "*", "ec2:*", "secretsmanager:GetSecretValue", "secretsmanager:Get*", "secretsmanager:GetRandomPassword",
      "kms:Decrypt", "s3:GetObject", "s3:Get*", "ssm:GetParameter", "ssm:GetParametersByPath", "ssm:Get*", "ecr:GetAuthorizationToken",
      "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "SECRETSMANAGER:getsecretvalue",
    ]) {
      expect(isReadOnlyAction(a), a).toBe(false);
    }
  });

  it("keeps each statement's resources and conditions, drops emptied statements and keeps denies", () => {
    const condition = { StringEquals: { "aws:RequestedRegion": "us-east-1" } };
    const deny: Statement = { Sid: "Deny", Effect: "Deny", Action: "iam:*", Resource: "*" };
    expect(
      readOnlyStatements([
        { Sid: "Mixed", Effect: "Allow", Action: ["ec2:CreateVpc", "ec2:Describe*"], Resource: "*", Condition: condition },
        { Sid: "Single", Effect: "Allow", Action: "rds:ListTagsForResource", Resource: "arn:aws:rds:*" },
        { Sid: "Writes", Effect: "Allow", Action: ["ec2:CreateVpc", "secretsmanager:GetSecretValue"], Resource: "*" },
        deny,
      ]),
    ).toEqual([
      { Sid: "Mixed", Effect: "Allow", Action: ["ec2:Describe*"], Resource: "*", Condition: condition },
      { Sid: "Single", Effect: "Allow", Action: "rds:ListTagsForResource", Resource: "arn:aws:rds:*" },
      deny,
    ]);
  });
});

describe("iam-oidc: emitted policies", () => {
  it("are the documents the pure helpers return, each within IAM's managed-policy size", () => {
    const inputs = [
      configWith({ accountId: ACCOUNT }),
      configWith({ accountId: ACCOUNT, state: { locking: "s3" } }),
      configWith({ project: "a-very-long-project-name", environments: { "integration-testing-east": {}, prod: {} } }),
    ];
    for (const input of inputs) {
      const compiled = compile(input);
      const policies = resources(compiled, ROOT, "aws_iam_policy");
      const config = resolved(input);
      let count = 0;
      for (const scope of roleScopes(config)) {
        for (const role of PIPELINE_ROLES) {
          const groups = pipelinePolicyGroups(role, { config, scope, accountId: config.accountId ?? ACCOUNT, region: config.region });
          for (const [group, doc] of Object.entries(groups)) {
            count++;
            expect(policyLength(doc)).toBeLessThanOrEqual(MANAGED_POLICY_MAX_CHARS);
            const emitted = policies[`${label(role, scope)}_${group}`];
            expect(emitted, `${role} ${scope}/${group}`).toBeDefined();
            const rendered = (emitted.policy as string).replaceAll("${data.aws_caller_identity.current.account_id}", ACCOUNT);
            expect(rendered.length).toBeLessThanOrEqual(MANAGED_POLICY_MAX_CHARS);
            expect(parse(rendered)).toEqual(doc);
          }
        }
      }
      expect(Object.keys(policies)).toHaveLength(count);
    }
  });

  it("stay within IAM's size with many environments (the global policies do not grow with them)", () => {
    const many = Object.fromEntries(Array.from({ length: 155 }, (_, i) => [`env${i}`, {}]));
    const config = resolved(configWith({ environments: many }));
    for (const role of PIPELINE_ROLES) {
      for (const scope of ["global", "env0", "env154"]) {
        for (const [group, doc] of Object.entries(pipelinePolicyGroups(role, { config, scope, accountId: ACCOUNT, region: config.region }))) {
          expect(policyLength(doc), `${role} ${scope}/${group}`).toBeLessThanOrEqual(MANAGED_POLICY_MAX_CHARS);
        }
      }
    }
    expect(policyLength(globalDeployerPolicyGroups({ config, accountId: ACCOUNT, region: config.region }).edge)).toBe(
      policyLength(globalDeployerPolicyGroups({ config: resolved(), accountId: ACCOUNT, region: "us-east-1" }).edge),
    );
  });

  it("give the global deployer its own groups", () => {
    const config = resolved();
    expect(Object.keys(globalDeployerPolicyGroups({ config, accountId: ACCOUNT, region: config.region }))).toEqual(["state", "edge"]);
  });
});

describe("iam-oidc: outputs", () => {
  it("give literal ARNs and names per scope when the account id is configured", () => {
    const outputs = rootJson(compile(configWith({ accountId: ACCOUNT })), ROOT).output;
    expect(outputs.oidc_provider_arn.value).toBe("arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com");
    for (const role of PIPELINE_ROLES) {
      expect(outputs[`${role}_role_arns`].value).toEqual(Object.fromEntries(SCOPES.map((s) => [s, `arn:aws:iam::123456789012:role/caja-terraform-${role}-${s}`])));
      expect(outputs[`${role}_role_names`].value).toEqual(Object.fromEntries(SCOPES.map((s) => [s, `caja-terraform-${role}-${s}`])));
    }
  });

  it("reference the resources when the account id is read at plan time", () => {
    const outputs = rootJson(compile(), ROOT).output;
    expect(outputs.oidc_provider_arn.value).toBe("${aws_iam_openid_connect_provider.github.arn}");
    expect(outputs.deployer_role_arns.value).toEqual(Object.fromEntries(SCOPES.map((s) => [s, `\${aws_iam_role.deployer_${s}.arn}`])));
    expect(outputs.planner_role_arns.value).toEqual(Object.fromEntries(SCOPES.map((s) => [s, `\${aws_iam_role.planner_${s}.arn}`])));
    expect(outputs.planner_role_names.value.prod).toBe("caja-terraform-planner-prod");
    expect(outputs.deployer_role_names.value.global).toBe("caja-terraform-deployer-global");
  });
});

describe("iam-oidc: terraform accepts the root", () => {
  const run = async (config: unknown) => {
    const result = await terraformCheck(compile(config), ROOT);
    if (result === undefined) return; // terraform absent
    expect(result.ok, `${result.failedStep}: ${result.detail}`).toBe(true);
  };
  it("validates and mock-applies with the account read from the caller identity", { timeout: 300_000 }, () => run(baseConfig()));
  it("validates and mock-applies with a fixed account, S3 lockfiles and a todo() repository", { timeout: 300_000 }, () =>
    run(configWith({ accountId: ACCOUNT, state: { locking: "s3" }, github: { repository: todo("create the GitHub repository") } })));
});
