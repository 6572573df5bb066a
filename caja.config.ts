// The Caja platform (infrastructure plan, 2025-10-07): dbash.dev with the caja namespace,
// dev, staging and prod in us-east-1. `npx caja compile` writes out/; `npx caja compile --check`
// is what CI runs. Hover any field for its meaning and per-environment default.
import { defineConfig, todo } from "caja";

export default defineConfig({
  project: "caja",
  region: "us-east-1",

  // Plan section 0: the global tag set. Project and Environment are added per root.
  tags: {
    Owner: "platform-engineering",
    Confidentiality: "internal",
    CostCenter: "events-eng",
    ManagedBy: "terraform",
  },

  // Plan sections 0 and 4: S3 state with DynamoDB locking. Flip `bootstrapped` to true once
  // phase 0 is applied, then run `terraform init -migrate-state` in out/global/00-bootstrap.
  state: {
    bucket: "caja-terraform-state",
    lockTable: "caja-terraform-locks",
    locking: "dynamodb",
    bootstrapped: false,
  },

  // Plan section 2: one public zone for dbash.dev (registrar: Hover), hosts under caja.
  // Production: app.caja.dbash.dev and api.caja.dbash.dev; dev and staging get their own.
  domain: {
    root: "dbash.dev",
    namespace: "caja",
    envSubdomains: true,
    environments: ["dev", "staging"],
  },

  // Plan section 6: GitHub Actions assumes caja-terraform-deployer-<env> through OIDC.
  github: {
    repository: todo("GitHub repository (OWNER/REPO) of the Caja infrastructure is not named in the plan"),
    mainBranch: "main",
  },

  // The security gate (`npx caja check`, also run by every compile): findings accepted by design.
  // Each names one rule and one resource (in every environment), with the reason reviewers read.
  policy: {
    suppressions: [
      {
        rule: "alb-internal",
        resource: "aws_lb.main",
        reason: "Plan section 4: the ALB is the sole public ingress. Tasks and the database stay in private subnets behind it.",
      },
      {
        rule: "alb-waf",
        resource: "aws_lb.main",
        reason: "Plan section 4: WAF is deferred to phase 2 (roadmap item 1, WAF + managed rule sets).",
      },
      {
        rule: "cloudfront-waf",
        resource: "aws_cloudfront_distribution.web",
        reason: "Plan section 4: WAF is deferred to phase 2. The distribution only serves the static site from a private bucket.",
      },
      {
        rule: "sg-no-world-http",
        resource: "aws_vpc_security_group_ingress_rule.alb_http_ipv4",
        reason: "Port 80 only answers with a 301 to HTTPS (rule alb-http-redirects-only holds the listener to that).",
      },
      {
        rule: "sg-no-world-http",
        resource: "aws_vpc_security_group_ingress_rule.alb_http_ipv6",
        reason: "Port 80 only answers with a 301 to HTTPS (rule alb-http-redirects-only holds the listener to that).",
      },
      {
        rule: "sg-no-world-egress",
        resource: "aws_vpc_security_group_egress_rule.ecs_https_ipv4",
        reason: "The tasks reach ECR, Secrets Manager and CloudWatch Logs over HTTPS through the NAT gateway; the plan has no VPC endpoints.",
      },
    ],
  },

  // Plan sections 5, 7 and 14 give the defaults (sizes, NAT, retention, thresholds); only what
  // the plan leaves open is written here.
  defaults: {
    alarms: {
      // Plan section 13: "Alarm notification email(s)" are still to be provided.
      emails: todo("alarm notification e-mails are not decided yet (plan section 13)"),
    },
  },

  environments: {
    dev: {
      service: { imageTag: "dev-initial" },
    },
    staging: {
      service: { imageTag: "staging-initial" },
    },
    prod: {
      service: { imageTag: "prod-initial" },
    },
  },
});
