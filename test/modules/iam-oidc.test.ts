/**
 * Phase 0.5 — the GitHub OIDC provider and the per-environment deployer roles: who may assume
 * each role (trust policy), and what each role may do (its scoped permissions).
 */
import { describe, expect, it } from "vitest";
import { todo } from "@caja/dsl";
import type { CajaConfigInput, ResolvedConfig } from "@caja/dsl/schema";
import { validateRoot } from "../../packages/modules/src/aws/validate.js";
import type { Statement } from "../../packages/modules/src/core/policies.js";
import {
  deployerPolicy,
  deployerPolicyGroups,
  deployerRoleName,
  deployerSubjects,
  deployerTriggers,
  iamOidc,
  MANAGED_POLICY_MAX_CHARS,
  policyLength,
} from "../../packages/modules/src/iam-oidc.js";
import { baseConfig, compileWith, configWith, resources, rootJson, testJson } from "../helpers.js";
import { phasesFor, terraformCheck } from "../modules-harness.js";

const ROOT = "global/05-iam-oidc";
const phases = phasesFor([iamOidc], [], { number: 0.5, dir: "05-iam-oidc", scope: "global" });
const compile = (config: unknown = baseConfig()) => compileWith(config, { phases });
const SUB = "token.actions.githubusercontent.com:sub";
const AUD = "token.actions.githubusercontent.com:aud";

/** A rendered JSON document with `${...}` references, parsed. */
const parse = (doc: string): any => JSON.parse(doc);
const trustOf = (compiled: ReturnType<typeof compile>, env: string) =>
  parse(resources(compiled, ROOT, "aws_iam_role")[`deployer_${env}`].assume_role_policy);
const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function resolved(input: CajaConfigInput = baseConfig()): ResolvedConfig {
  return compile(input).config;
}

function scopeFor(input: CajaConfigInput, env: string, accountId = "123456789012") {
  const config = resolved(input);
  return { config, env: config.environments[env]!, accountId, region: config.region };
}

/** Role names in the order the module declared them (the emitted JSON sorts its keys). */
function roleNamesInOrder(compiled: ReturnType<typeof compile>): string[] {
  const root = compiled.plan.roots.find((r) => r.id === ROOT)!;
  return root.builder.entries.filter((e) => e.handle.type === "aws_iam_role").map((e) => e.body.name as string);
}

/** IAM's ARN glob match (`*` spans any characters, `?` one). */
function arnMatches(pattern: string, arn: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
  return re.test(arn);
}

function allowsOn(statements: Statement[], action: string, arn: string): boolean {
  return statements.some(
    (s) =>
      s.Effect === "Allow" &&
      asList(s.Action).some((a) => arnMatches(a, action)) &&
      asList(s.Resource).some((r) => arnMatches(r, arn)),
  );
}

function deniesOn(statements: Statement[], action: string, arn: string): boolean {
  return statements.some(
    (s) => s.Effect === "Deny" && asList(s.Action).some((a) => arnMatches(a, action)) && asList(s.Resource).some((r) => arnMatches(r, arn)),
  );
}

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
    expect(validateRoot(rootJson(compile({ ...baseConfig(), accountId: "123456789012" }), ROOT))).toEqual([]);
  });

  it("has a generated test asserting the provider's url and audience and each role's aud condition", () => {
    const conditions = testJson(compile(), ROOT).run[0].mock_apply.assert.map((a: { condition: string }) => a.condition).join("\n");
    expect(conditions).toContain('aws_iam_openid_connect_provider.github.url == "https://token.actions.githubusercontent.com"');
    expect(conditions).toContain('contains(aws_iam_openid_connect_provider.github.client_id_list, "sts.amazonaws.com")');
    for (const env of ["dev", "staging", "prod"]) {
      expect(conditions).toContain(`strcontains(aws_iam_role.deployer_${env}.assume_role_policy, "token.actions.githubusercontent.com:aud")`);
    }
  });
});

describe("iam-oidc: one deployer role per environment", () => {
  it("names the roles <project>-terraform-deployer-<env>, in config order", () => {
    const compiled = compile();
    expect(roleNamesInOrder(compiled)).toEqual(["caja-terraform-deployer-dev", "caja-terraform-deployer-staging", "caja-terraform-deployer-prod"]);
    expect(Object.keys(resources(compiled, ROOT, "aws_iam_role")).sort()).toEqual(["deployer_dev", "deployer_prod", "deployer_staging"]);
  });

  it("follows a custom environment order and project name", () => {
    const compiled = compile(configWith({ project: "tienda", environments: { qa: {}, live: { tier: "prod" } } }));
    expect(roleNamesInOrder(compiled)).toEqual(["tienda-terraform-deployer-qa", "tienda-terraform-deployer-live"]);
  });

  it("shortens long role names to IAM's 64 characters, deterministically and without collisions", () => {
    const project = "a-very-long-project-name"; // 24 characters, the schema's maximum
    const envs = { "integration-testing-east": {}, "integration-testing-west": {}, prod: {} };
    const compiled = compile(configWith({ project, environments: envs }));
    const names = Object.values(resources(compiled, ROOT, "aws_iam_role")).map((r) => r.name as string);
    expect(names).toHaveLength(3);
    for (const n of names) {
      expect(n.length).toBeLessThanOrEqual(64);
      expect(n.startsWith(`${project}-terraform-deployer-`)).toBe(true);
    }
    expect(new Set(names).size).toBe(3);
    expect(names[2]).toBe(`${project}-terraform-deployer-prod`);
    expect(deployerRoleName(project, "integration-testing-east")).toBe(names[0]);
    const policies = Object.values(resources(compiled, ROOT, "aws_iam_policy")).map((p) => p.name as string);
    for (const n of policies) expect(n.length).toBeLessThanOrEqual(128);
    expect(new Set(policies).size).toBe(policies.length);
  });

  it("attaches each environment's permission policies to its own role only", () => {
    const compiled = compile();
    const attachments = resources(compiled, ROOT, "aws_iam_role_policy_attachment");
    for (const [label, a] of Object.entries(attachments)) {
      const env = label.split("_")[1];
      expect(a.role).toBe(`\${aws_iam_role.deployer_${env}.name}`);
      expect(a.policy_arn).toBe(`\${aws_iam_policy.${label}.arn}`);
    }
    expect(Object.keys(attachments).filter((l) => l.startsWith("deployer_prod_")).length).toBeGreaterThan(0);
  });
});

describe("iam-oidc: trust policies", () => {
  it("trust GitHub's provider for web identity, with plain StringEquals on aud and sub", () => {
    const compiled = compile();
    for (const env of ["dev", "staging", "prod"]) {
      const [statement, ...rest] = trustOf(compiled, env).Statement;
      expect(rest).toEqual([]);
      expect(statement.Effect).toBe("Allow");
      expect(statement.Principal).toEqual({ Federated: "${aws_iam_openid_connect_provider.github.arn}" });
      expect(asList(statement.Action)).toEqual(["sts:AssumeRoleWithWebIdentity"]);
      expect(Object.keys(statement.Condition)).toEqual(["StringEquals"]);
      expect(statement.Condition.StringEquals[AUD]).toBe("sts.amazonaws.com");
      expect(Array.isArray(statement.Condition.StringEquals[SUB])).toBe(true);
    }
  });

  it("let dev be planned on pull requests, applied on pushes to main and in its GitHub environment", () => {
    expect(trustOf(compile(), "dev").Statement[0].Condition.StringEquals[SUB]).toEqual([
      "repo:dbash/caja:pull_request",
      "repo:dbash/caja:ref:refs/heads/main",
      "repo:dbash/caja:environment:dev",
    ]);
  });

  it("let staging be planned on pull requests and applied only from its GitHub environment", () => {
    expect(trustOf(compile(), "staging").Statement[0].Condition.StringEquals[SUB]).toEqual([
      "repo:dbash/caja:pull_request",
      "repo:dbash/caja:environment:staging",
    ]);
  });

  it("let prod be assumed only from its GitHub environment: no pull request, no branch", () => {
    expect(trustOf(compile(), "prod").Statement[0].Condition.StringEquals[SUB]).toEqual(["repo:dbash/caja:environment:prod"]);
  });

  it("use the configured main branch for the first environment only", () => {
    const compiled = compile(configWith({ github: { repository: "acme/shop", mainBranch: "trunk" } }));
    expect(trustOf(compiled, "dev").Statement[0].Condition.StringEquals[SUB]).toContain("repo:acme/shop:ref:refs/heads/trunk");
    expect(JSON.stringify(trustOf(compiled, "staging"))).not.toContain("refs/heads");
  });

  it("keep a tier-prod environment environment-only even when it is listed first", () => {
    const config = resolved(configWith({ environments: { prod: {}, dev: {} } }));
    expect(deployerSubjects(config, "prod")).toEqual(["repo:dbash/caja:environment:prod"]);
    expect(deployerSubjects(config, "dev")).toEqual(["repo:dbash/caja:pull_request", "repo:dbash/caja:environment:dev"]);
  });

  it("never trust a wildcard subject", () => {
    const compiled = compile();
    for (const env of ["dev", "staging", "prod"]) {
      const subs: string[] = trustOf(compiled, env).Statement[0].Condition.StringEquals[SUB];
      for (const sub of subs) {
        expect(sub).not.toContain("*");
        expect(sub).toMatch(/^repo:dbash\/caja:/);
      }
    }
  });

  it("are built from the exported rule, so the workflow can follow it by construction", () => {
    const config = resolved();
    expect(deployerTriggers(config, "dev").map((t) => t.kind)).toEqual(["pull_request", "branch", "environment"]);
    expect(deployerTriggers(config, "prod")).toEqual([{ kind: "environment", environment: "prod" }]);
    const compiled = compile();
    for (const env of ["dev", "staging", "prod"]) {
      expect(trustOf(compiled, env).Statement[0].Condition.StringEquals[SUB]).toEqual(deployerSubjects(config, env));
    }
  });

  it("take the repository from a variable (no default, validated) when github.repository is todo()", () => {
    const compiled = compile(configWith({ github: { repository: todo("create the GitHub repository") } }));
    const variable = rootJson(compiled, ROOT).variable.github_repository;
    expect(variable.default).toBeUndefined();
    expect(variable.type).toBe("string");
    expect(variable.description).toContain("create the GitHub repository");
    expect(JSON.stringify(variable.validation)).toContain("var.github_repository");
    expect(trustOf(compiled, "prod").Statement[0].Condition.StringEquals[SUB]).toEqual(["repo:${var.github_repository}:environment:prod"]);
    expect(trustOf(compiled, "dev").Statement[0].Condition.StringEquals[SUB]).toContain("repo:${var.github_repository}:pull_request");
    expect(testJson(compiled, ROOT).variables).toEqual({ github_repository: "dbash/caja" });
    expect(compiled.todos.map((t) => t.path)).toContain("github.repository");
    expect(validateRoot(rootJson(compiled, ROOT))).toEqual([]);
  });
});

describe("iam-oidc: deployer permissions", () => {
  const envs = ["dev", "staging", "prod"] as const;

  it("never allow every action, or a whole service, on every resource", () => {
    for (const env of envs) {
      for (const s of deployerPolicy(scopeFor(baseConfig(), env)).Statement) {
        if (s.Effect !== "Allow") continue;
        const actions = asList(s.Action);
        expect(actions).not.toContain("*");
        if (asList(s.Resource).includes("*")) {
          for (const a of actions) expect(a, `${s.Sid}: ${a} on "*"`).not.toMatch(/^[a-z0-9-]+:\*$/);
        }
      }
    }
  });

  it("limit state access to the environment's keys, read-only global state and the bucket listing", () => {
    const statements = deployerPolicy(scopeFor(baseConfig(), "dev")).Statement;
    const bucket = "arn:aws:s3:::caja-terraform-state";
    expect(allowsOn(statements, "s3:PutObject", `${bucket}/env/dev/20-networking/terraform.tfstate`)).toBe(true);
    expect(allowsOn(statements, "s3:DeleteObject", `${bucket}/env/dev/20-networking/terraform.tfstate.tflock`)).toBe(true);
    expect(allowsOn(statements, "s3:GetObject", `${bucket}/global/bootstrap/terraform.tfstate`)).toBe(true);
    expect(allowsOn(statements, "s3:ListBucket", bucket)).toBe(true);
    expect(allowsOn(statements, "s3:PutObject", `${bucket}/global/bootstrap/terraform.tfstate`)).toBe(false);
    expect(allowsOn(statements, "s3:GetObject", `${bucket}/env/prod/20-networking/terraform.tfstate`)).toBe(false);
    expect(allowsOn(statements, "s3:PutObject", `${bucket}/env/prod/20-networking/terraform.tfstate`)).toBe(false);
    expect(allowsOn(statements, "s3:GetObject", "arn:aws:s3:::some-other-bucket/env/dev/x")).toBe(false);
    expect(deniesOn(statements, "s3:PutBucketPolicy", bucket)).toBe(true);
    // Every statement touching the state bucket names only that bucket.
    for (const s of statements.filter((s) => s.Effect === "Allow" && asList(s.Resource).some((r) => r.includes("terraform-state")))) {
      for (const r of asList(s.Resource)) expect(r.startsWith(bucket)).toBe(true);
    }
  });

  it("lock only the environment's own state entries in the DynamoDB table, and only with DynamoDB locking", () => {
    const statements = deployerPolicy(scopeFor(baseConfig(), "staging")).Statement;
    const lock = statements.find((s) => asList(s.Action).includes("dynamodb:PutItem"))!;
    expect(lock.Resource).toBe("arn:aws:dynamodb:us-east-1:123456789012:table/caja-terraform-locks");
    expect(asList(lock.Action).sort()).toEqual(["dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem"]);
    expect(lock.Condition).toEqual({ "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["caja-terraform-state/env/staging/*"] } });

    const s3Locking = deployerPolicy(scopeFor(configWith({ state: { locking: "s3" } }), "staging")).Statement;
    expect(JSON.stringify(s3Locking)).not.toContain("dynamodb:");
  });

  it("scope IAM to the environment's roles and pass them only to the services that need them", () => {
    const statements = deployerPolicy(scopeFor(baseConfig(), "dev")).Statement;
    const role = (name: string) => `arn:aws:iam::123456789012:role/${name}`;
    expect(allowsOn(statements, "iam:CreateRole", role("caja-dev-ecs-task-execution"))).toBe(true);
    expect(allowsOn(statements, "iam:CreateRole", role("caja-prod-ecs-task-execution"))).toBe(false);
    expect(allowsOn(statements, "iam:CreateRole", role("admin"))).toBe(false);
    const pass = statements.filter((s) => asList(s.Action).includes("iam:PassRole"));
    expect(pass).toHaveLength(1);
    expect(pass[0]!.Resource).toBe(role("caja-dev-*"));
    expect(pass[0]!.Condition?.StringEquals?.["iam:PassedToService"]).toContain("ecs-tasks.amazonaws.com");
    // No role may touch any deployer role (its own included) or the OIDC provider.
    for (const env of envs) {
      expect(allowsOn(statements, "iam:UpdateAssumeRolePolicy", role(`caja-terraform-deployer-${env}`))).toBe(false);
      expect(deniesOn(statements, "iam:AttachRolePolicy", role(`caja-terraform-deployer-${env}`))).toBe(true);
    }
    expect(deniesOn(statements, "iam:UpdateOpenIDConnectProviderThumbprint", "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com")).toBe(true);
  });

  it("scope resource ARNs to the environment's name prefix, account and region", () => {
    const dev = deployerPolicy(scopeFor(baseConfig(), "dev")).Statement;
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
      expect(allowsOn(dev, action, own), `${action} on ${own}`).toBe(true);
      expect(allowsOn(dev, action, other), `${action} on ${other}`).toBe(false);
    }
    // Regional ARNs carry the configured region and account.
    expect(allowsOn(dev, "rds:DeleteDBInstance", "arn:aws:rds:eu-west-1:123456789012:db:caja-dev-postgres")).toBe(false);
    expect(allowsOn(dev, "rds:DeleteDBInstance", "arn:aws:rds:us-east-1:210987654321:db:caja-dev-postgres")).toBe(false);
  });

  it("pin the actions that only accept Resource \"*\" to the configured region", () => {
    const statements = deployerPolicy(scopeFor(configWith({ region: "eu-west-1" }), "prod")).Statement;
    const ec2 = statements.find((s) => asList(s.Action).includes("ec2:CreateVpc"))!;
    expect(ec2.Resource).toBe("*");
    expect(ec2.Condition).toEqual({ StringEquals: { "aws:RequestedRegion": "eu-west-1" } });
    // Certificates are read in the ALB's region and in us-east-1 (CloudFront).
    expect(allowsOn(statements, "acm:DescribeCertificate", "arn:aws:acm:us-east-1:123456789012:certificate/abc")).toBe(true);
    expect(allowsOn(statements, "acm:DescribeCertificate", "arn:aws:acm:eu-west-1:123456789012:certificate/abc")).toBe(true);
  });

  it("cover every service caja manages for an environment", () => {
    const services = new Set(
      deployerPolicy(scopeFor(baseConfig(), "dev"))
        .Statement.filter((s) => s.Effect === "Allow")
        .flatMap((s) => asList(s.Action).map((a) => a.split(":")[0])),
    );
    for (const s of ["s3", "dynamodb", "ec2", "elasticloadbalancing", "ecs", "ecr", "rds", "secretsmanager", "kms", "logs", "cloudwatch", "sns", "application-autoscaling", "route53", "acm", "cloudfront", "iam", "ce"]) {
      expect(services, s).toContain(s);
    }
  });

  it("never read or write secret values, nor objects in the environment's buckets", () => {
    const statements = deployerPolicy(scopeFor(baseConfig(), "prod")).Statement;
    expect(allowsOn(statements, "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:caja-prod-jwt-AbCdEf")).toBe(false);
    expect(allowsOn(statements, "secretsmanager:PutSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:caja-prod-jwt-AbCdEf")).toBe(false);
    expect(allowsOn(statements, "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0123-abcd")).toBe(false);
    expect(allowsOn(statements, "s3:GetObject", "arn:aws:s3:::caja-prod-static-site/index.html")).toBe(false);
  });

  it("let an environment change DNS records of its own hosts only", () => {
    const statements = deployerPolicy(scopeFor(baseConfig(), "dev")).Statement;
    const change = statements.find((s) => s.Action === "route53:ChangeResourceRecordSets")!;
    expect(change.Condition).toEqual({
      "ForAllValues:StringEquals": { "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["app.dev.caja.dbash.dev", "api.dev.caja.dbash.dev"] },
    });
    const prod = deployerPolicy(scopeFor(baseConfig(), "prod")).Statement.find((s) => s.Action === "route53:ChangeResourceRecordSets")!;
    expect(prod.Condition?.["ForAllValues:StringEquals"]?.["route53:ChangeResourceRecordSetsNormalizedRecordNames"]).toEqual(["app.caja.dbash.dev", "api.caja.dbash.dev"]);
  });

  it("let an environment delete or re-key only KMS keys tagged with its name", () => {
    const statements = deployerPolicy(scopeFor(baseConfig(), "dev")).Statement;
    const destructive = statements.filter((s) => asList(s.Action).some((a) => ["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:DisableKey"].includes(a)));
    expect(destructive).toHaveLength(1);
    expect(destructive[0]!.Condition).toEqual({ StringEquals: { "aws:ResourceTag/Environment": "dev" } });
  });

  it("emit the same documents the pure helper returns, each within IAM's managed-policy size", () => {
    for (const config of [configWith({ accountId: "123456789012" }), configWith({ project: "a-very-long-project-name", environments: { "integration-testing-east": {}, prod: {} } })]) {
      const compiled = compile(config);
      const policies = resources(compiled, ROOT, "aws_iam_policy");
      const conf = resolved(config);
      for (const env of Object.keys(conf.environments)) {
        const groups = deployerPolicyGroups({ config: conf, env: conf.environments[env]!, accountId: conf.accountId ?? "123456789012", region: conf.region });
        for (const [group, doc] of Object.entries(groups)) {
          expect(policyLength(doc)).toBeLessThanOrEqual(MANAGED_POLICY_MAX_CHARS);
          const emitted = policies[`deployer_${env.replaceAll("-", "_")}_${group}`];
          expect(emitted, `${env}/${group}`).toBeDefined();
          const rendered = (emitted.policy as string).replaceAll("${data.aws_caller_identity.current.account_id}", "123456789012");
          expect(rendered.length).toBeLessThanOrEqual(MANAGED_POLICY_MAX_CHARS);
          expect(parse(rendered)).toEqual(doc);
        }
      }
    }
  });

  it("read the account id from the caller identity when it is not configured", () => {
    const policies = resources(compile(), ROOT, "aws_iam_policy");
    expect(policies.deployer_dev_compute.policy).toContain("arn:aws:iam::${data.aws_caller_identity.current.account_id}:role/caja-dev-*");
  });
});

describe("iam-oidc: outputs", () => {
  it("give literal ARNs when the account id is configured", () => {
    const outputs = rootJson(compile(configWith({ accountId: "123456789012" })), ROOT).output;
    expect(outputs.oidc_provider_arn.value).toBe("arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com");
    expect(outputs.deployer_role_arns.value).toEqual({
      dev: "arn:aws:iam::123456789012:role/caja-terraform-deployer-dev",
      staging: "arn:aws:iam::123456789012:role/caja-terraform-deployer-staging",
      prod: "arn:aws:iam::123456789012:role/caja-terraform-deployer-prod",
    });
    expect(outputs.deployer_role_names.value).toEqual({
      dev: "caja-terraform-deployer-dev",
      staging: "caja-terraform-deployer-staging",
      prod: "caja-terraform-deployer-prod",
    });
  });

  it("reference the resources when the account id is read at plan time", () => {
    const outputs = rootJson(compile(), ROOT).output;
    expect(outputs.oidc_provider_arn.value).toBe("${aws_iam_openid_connect_provider.github.arn}");
    expect(outputs.deployer_role_arns.value).toEqual({
      dev: "${aws_iam_role.deployer_dev.arn}",
      staging: "${aws_iam_role.deployer_staging.arn}",
      prod: "${aws_iam_role.deployer_prod.arn}",
    });
    expect(outputs.deployer_role_names.value.prod).toBe("caja-terraform-deployer-prod");
  });
});

describe("iam-oidc: terraform accepts the root", () => {
  const run = async (config: unknown) => {
    const result = await terraformCheck(compile(config), ROOT);
    if (result === undefined) return; // terraform absent
    expect(result.ok, `${result.failedStep}: ${result.detail}`).toBe(true);
  };
  it("validates and mock-applies with the account read from the caller identity", { timeout: 300_000 }, () => run(baseConfig()));
  it("validates and mock-applies with a fixed account and a todo() repository", { timeout: 300_000 }, () =>
    run(configWith({ accountId: "123456789012", github: { repository: todo("create the GitHub repository") } })));
});
