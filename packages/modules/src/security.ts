/**
 * Phase 2 — security (plan section 4, "ALB is sole public ingress"): the ALB → ECS → RDS
 * security-group chain of one environment, in the networking module's VPC.
 *
 * Inputs:
 * - `vpc_id`: the networking module's output (same root: a plain reference).
 * - `env.service.port`: the port the FastAPI container listens on.
 *
 * Outputs: `alb_security_group_id`, `ecs_security_group_id`, `rds_security_group_id`.
 *
 * Rules (each a standalone rule resource with a description; the groups have no inline rules,
 * which would fight the standalone ones on every apply):
 * - ALB: in 443 and 80 from 0.0.0.0/0 and ::/0 (80 only answers with a redirect to HTTPS);
 *   out only to the ECS group on the app port.
 * - ECS: in on the app port from the ALB group only; out 443 to 0.0.0.0/0 and 5432 to the RDS group.
 *   The 443 egress is how Fargate pulls images (ECR API and its S3 layer bucket), reads Secrets
 *   Manager and writes CloudWatch Logs through the NAT gateway: these are public AWS endpoints, so
 *   without VPC interface endpoints (a cost decision, not made here) no narrower destination
 *   exists. It is the one finding to justify in the scanners (trivy AWS-0104, checkov CKV_AWS_382).
 *   DNS needs no rule: security groups do not filter traffic to the VPC resolver.
 * - RDS: in 5432 from the ECS group only; no egress (PostgreSQL answers on the same connection,
 *   and security groups are stateful).
 */
import { defineModule } from "./core/module.js";
import { NAME_RULES } from "./core/naming.js";
import type { Handle } from "./core/root.js";
import { NETWORKING, SECURITY } from "./contracts.js";

const HTTPS = 443;
const HTTP = 80;
const POSTGRES = 5432;

export const security = defineModule(SECURITY, (ctx) => {
  const { root, env } = ctx;
  const vpcId = ctx.read(NETWORKING, "vpc_id") as string;
  const appPort = env.service.port;

  // Descriptions are ForceNew: keep them stable and within EC2's ASCII set (no quotes).
  const group = (label: string, component: string, description: string) => {
    const name = ctx.name(component, NAME_RULES.securityGroup);
    return root.resource("aws_security_group", label, { name, description, vpc_id: vpcId, tags: { Name: name } });
  };
  const alb = group("alb", "alb", "Load balancer: HTTPS and HTTP redirect from the internet, forwards only to the ECS tasks");
  const ecs = group("ecs", "ecs-tasks", "ECS tasks: app port from the load balancer only, HTTPS out to AWS APIs, PostgreSQL to RDS");
  const rds = group("rds", "rds", "RDS PostgreSQL: 5432 from the ECS tasks only");

  type Peer = { cidr_ipv4: string } | { cidr_ipv6: string } | { referenced_security_group_id: string };
  const tcp = (port: number, peer: Peer, description: string) => ({ ip_protocol: "tcp", from_port: port, to_port: port, description, ...peer });
  // Each rule is named, so a rule an interrupted apply created can be found and adopted.
  const ruleTags = (label: string) => ({ tags: { Name: ctx.name(label.replaceAll("_", "-")) } });
  const ingress = (label: string, to: Handle, rule: ReturnType<typeof tcp>) =>
    root.resource("aws_vpc_security_group_ingress_rule", label, { security_group_id: to.attr("id"), ...rule, ...ruleTags(label) });
  const egress = (label: string, from: Handle, rule: ReturnType<typeof tcp>) =>
    root.resource("aws_vpc_security_group_egress_rule", label, { security_group_id: from.attr("id"), ...rule, ...ruleTags(label) });
  const anyIpv4 = { cidr_ipv4: "0.0.0.0/0" };
  const anyIpv6 = { cidr_ipv6: "::/0" };
  const groupOf = (h: Handle) => ({ referenced_security_group_id: h.attr("id") });

  ingress("alb_https_ipv4", alb, tcp(HTTPS, anyIpv4, "HTTPS from the internet over IPv4"));
  ingress("alb_https_ipv6", alb, tcp(HTTPS, anyIpv6, "HTTPS from the internet over IPv6"));
  // Kept open only so the HTTP listener can answer with a redirect to HTTPS (checkov CKV_AWS_260 by design).
  ingress("alb_http_ipv4", alb, tcp(HTTP, anyIpv4, "HTTP from the internet over IPv4, redirected to HTTPS"));
  ingress("alb_http_ipv6", alb, tcp(HTTP, anyIpv6, "HTTP from the internet over IPv6, redirected to HTTPS"));
  egress("alb_to_ecs", alb, tcp(appPort, groupOf(ecs), "To the ECS tasks on the app port"));

  ingress("ecs_from_alb", ecs, tcp(appPort, groupOf(alb), "App port from the load balancer"));
  egress("ecs_https_ipv4", ecs, tcp(HTTPS, anyIpv4, "HTTPS to ECR, Secrets Manager and CloudWatch Logs through the NAT gateway"));
  egress("ecs_to_rds", ecs, tcp(POSTGRES, groupOf(rds), "PostgreSQL to the database"));

  ingress("rds_from_ecs", rds, tcp(POSTGRES, groupOf(ecs), "PostgreSQL from the ECS tasks"));

  root.output("alb_security_group_id", { value: alb.attr("id"), description: "Security group of the load balancer.", example: "sg-0a1b2c3d4e5f60001" });
  root.output("ecs_security_group_id", { value: ecs.attr("id"), description: "Security group of the ECS tasks.", example: "sg-0a1b2c3d4e5f60002" });
  root.output("rds_security_group_id", { value: rds.attr("id"), description: "Security group of the RDS instance.", example: "sg-0a1b2c3d4e5f60003" });

  root.assert(
    `aws_vpc_security_group_egress_rule.alb_to_ecs.referenced_security_group_id == aws_security_group.ecs.id && aws_vpc_security_group_egress_rule.alb_to_ecs.from_port == ${appPort}`,
    "the load balancer sends only to the ECS tasks on the app port",
  );
  root.assert(
    `aws_vpc_security_group_ingress_rule.ecs_from_alb.referenced_security_group_id == aws_security_group.alb.id && aws_vpc_security_group_ingress_rule.ecs_from_alb.from_port == ${appPort}`,
    "the ECS tasks admit the app port only from the load balancer",
  );
  root.assert(
    `aws_vpc_security_group_ingress_rule.rds_from_ecs.referenced_security_group_id == aws_security_group.ecs.id && aws_vpc_security_group_ingress_rule.rds_from_ecs.from_port == ${POSTGRES}`,
    "the database admits PostgreSQL only from the ECS tasks",
  );
});
