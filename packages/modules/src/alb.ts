/**
 * Phase 5 — alb (plan section 7, "alb"): the internet-facing, dual-stack application load balancer
 * in front of the API, its HTTPS listener (the domain module's `api_certificate_arn`), the HTTP
 * listener that only redirects, and the IP target group the Fargate tasks register in.
 *
 * Inputs:
 * - `environments.<env>.alb.deletionProtection` (tier default: on in prod).
 * - `environments.<env>.service.port` / `.healthCheckPath`: target group port and health check.
 * - networking `vpc_id`, `public_subnet_ids`; security `alb_security_group_id`; domain `api_certificate_arn`.
 *
 * Outputs:
 * - `alb_arn`, `alb_arn_suffix` (CloudWatch `LoadBalancer` dimension), `alb_dns_name`, `alb_zone_id`
 *   (for the phase 7 A/AAAA alias records).
 * - `target_group_arn`, `target_group_arn_suffix` (CloudWatch `TargetGroup` dimension).
 * - `https_listener_arn`: the ECS service waits for it (a target group only accepts registrations
 *   once a listener forwards to it).
 *
 * Security choices:
 * - `ip_address_type = "dualstack"` so the api AAAA record resolves; the public subnets need IPv6
 *   CIDRs and the ALB security group `::/0` rules for it to work (networking / security own those).
 * - `drop_invalid_header_fields = true` (checkov CKV_AWS_131, trivy AWS-0052; provider default is
 *   false) and `desync_mitigation_mode = "defensive"` (CKV_AWS_328), both as literals.
 * - HTTPS with `ELBSecurityPolicy-TLS13-1-2-2021-06` (TLS 1.2 minimum, TLS 1.3 preferred; CKV_AWS_103,
 *   AWS-0047); port 80 answers only with a 301 to HTTPS (CKV_AWS_2, AWS-0054).
 * - Internet-facing by design: the ALB is the sole public ingress (trivy AWS-0053 and checkov
 *   CKV2_AWS_28 / WAF are accepted findings; WAF is deferred by the plan).
 * - The target group speaks plain HTTP to the tasks: TLS terminates at the ALB and the hop stays in
 *   the VPC, reachable only from the ALB security group (CKV_AWS_378 is an accepted finding).
 *
 * Not done here:
 * - Access logs (checkov CKV_AWS_91, warn): they need a log bucket with SSE-S3 and an ELB delivery
 *   policy, which no module owns yet. Add an `access_logs` block here once one does.
 * - `create_before_destroy` on the target group: its name is fixed (`{project}-{env}-api`), so a
 *   replacement created first would collide with the old one. Replacing it (changing the service
 *   port, protocol or VPC) therefore destroys it first, which AWS refuses while the HTTPS listener
 *   still forwards to it: make such a change in two applies (point the listener elsewhere, or
 *   `terraform apply -replace` both the listener and the target group in a maintenance window).
 *   `name_prefix` (max 6 characters) would allow zero-downtime replacement but loses the readable name.
 */
import { defineModule } from "./core/module.js";
import { NAME_RULES } from "./core/naming.js";
import { ALB, DOMAIN, NETWORKING, SECURITY } from "./contracts.js";

/** TLS 1.2 minimum with TLS 1.3 preferred; passes both scanners' secure-policy checks. */
export const ALB_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/** Canonical hosted zone of ALBs in us-east-1; only an example value for consumers' tests. */
const ALB_ZONE_ID_EXAMPLE = "Z35SXDOTRQ7X7K";

export const alb = defineModule(ALB, (ctx) => {
  const { root, env } = ctx;
  const vpcId = ctx.read(NETWORKING, "vpc_id") as string;
  const publicSubnets = ctx.read(NETWORKING, "public_subnet_ids") as string | string[];
  const albSecurityGroup = ctx.read(SECURITY, "alb_security_group_id") as string;
  const certificateArn = ctx.read(DOMAIN, "api_certificate_arn") as string;
  const { port, healthCheckPath } = env.service;

  const lbName = ctx.name("alb", NAME_RULES.alb);
  const tgName = ctx.name("api", NAME_RULES.targetGroup);
  const account = "123456789012";
  const lbId = "0123456789abcdef";
  const arnPrefix = `arn:aws:elasticloadbalancing:${ctx.region}:${account}`;
  const lbArnSuffix = `app/${lbName}/${lbId}`;
  const tgArnSuffix = `targetgroup/${tgName}/${lbId}`;
  const lbArn = `${arnPrefix}:loadbalancer/${lbArnSuffix}`;
  const tgArn = `${arnPrefix}:${tgArnSuffix}`;
  const httpsListenerArn = `${arnPrefix}:listener/${lbArnSuffix}/fedcba9876543210`;

  const lb = root.resource("aws_lb", "main", {
    name: lbName,
    load_balancer_type: "application",
    internal: false,
    ip_address_type: "dualstack",
    subnets: publicSubnets,
    security_groups: [albSecurityGroup],
    drop_invalid_header_fields: true,
    desync_mitigation_mode: "defensive",
    enable_deletion_protection: env.alb.deletionProtection,
    enable_http2: true,
    idle_timeout: 60,
    tags: { Name: lbName },
  });

  // No create_before_destroy: the name is fixed, so a replacement created first would collide
  // (see the header for how to change what forces a replacement).
  const tg = root.resource("aws_lb_target_group", "api", {
    name: tgName,
    target_type: "ip",
    protocol: "HTTP",
    port,
    vpc_id: vpcId,
    // Fargate tasks drain quickly; the AWS default of 300 s slows every deployment for nothing.
    deregistration_delay: "30",
    health_check: {
      enabled: true,
      protocol: "HTTP",
      port: "traffic-port",
      path: healthCheckPath,
      matcher: "200",
      interval: 15,
      timeout: 5,
      healthy_threshold: 2,
      unhealthy_threshold: 3,
    },
    tags: { Name: tgName },
  });

  const https = root.resource("aws_lb_listener", "https", {
    load_balancer_arn: lb.attr("arn"),
    port: 443,
    protocol: "HTTPS",
    ssl_policy: ALB_SSL_POLICY,
    certificate_arn: certificateArn,
    default_action: [{ type: "forward", target_group_arn: tg.attr("arn") }],
  });

  root.resource("aws_lb_listener", "http", {
    load_balancer_arn: lb.attr("arn"),
    port: 80,
    protocol: "HTTP",
    default_action: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", status_code: "HTTP_301" } }],
  });

  // The mock provider's random strings are not ARNs; listeners validate the ARNs they are given.
  root.mockResource("aws_lb", { arn: lbArn, arn_suffix: lbArnSuffix, dns_name: `${lbName}-1234567890.${ctx.region}.elb.amazonaws.com`, zone_id: ALB_ZONE_ID_EXAMPLE });
  root.mockResource("aws_lb_target_group", { arn: tgArn, arn_suffix: tgArnSuffix });
  root.mockResource("aws_lb_listener", { arn: httpsListenerArn });

  root.output("alb_arn", { value: lb.attr("arn"), description: "ARN of the application load balancer.", example: lbArn });
  root.output("alb_arn_suffix", {
    value: lb.attr("arn_suffix"),
    description: "ARN suffix of the load balancer (the CloudWatch LoadBalancer dimension).",
    example: lbArnSuffix,
  });
  root.output("alb_dns_name", {
    value: lb.attr("dns_name"),
    description: "DNS name of the load balancer (target of the api alias records).",
    example: `${lbName}-1234567890.${ctx.region}.elb.amazonaws.com`,
  });
  root.output("alb_zone_id", {
    value: lb.attr("zone_id"),
    description: "Canonical hosted zone id of the load balancer (for alias records).",
    example: ALB_ZONE_ID_EXAMPLE,
  });
  root.output("target_group_arn", { value: tg.attr("arn"), description: "ARN of the API's IP target group.", example: tgArn });
  root.output("target_group_arn_suffix", {
    value: tg.attr("arn_suffix"),
    description: "ARN suffix of the target group (the CloudWatch TargetGroup dimension).",
    example: tgArnSuffix,
  });
  root.output("https_listener_arn", { value: https.attr("arn"), description: "ARN of the HTTPS:443 listener.", example: httpsListenerArn });

  root.assert(`aws_lb.main.internal == false && aws_lb.main.ip_address_type == "dualstack"`, "the ALB is internet-facing and dual-stack");
  root.assert(`aws_lb.main.drop_invalid_header_fields == true`, "the ALB drops invalid header fields");
  root.assert(`aws_lb.main.desync_mitigation_mode == "defensive"`, "the ALB mitigates HTTP desync");
  root.assert(`aws_lb.main.enable_deletion_protection == ${env.alb.deletionProtection}`, `the ALB's deletion protection is ${env.alb.deletionProtection ? "on" : "off"}`);
  root.assert(
    `aws_lb_listener.https.protocol == "HTTPS" && aws_lb_listener.https.ssl_policy == "${ALB_SSL_POLICY}"`,
    "the HTTPS listener uses a TLS 1.2+ policy",
  );
  root.assert(
    `aws_lb_listener.http.default_action[0].type == "redirect" && aws_lb_listener.http.default_action[0].redirect[0].protocol == "HTTPS" && aws_lb_listener.http.default_action[0].redirect[0].status_code == "HTTP_301"`,
    "the HTTP listener only redirects to HTTPS",
  );
  root.assert(
    `aws_lb_target_group.api.target_type == "ip" && aws_lb_target_group.api.health_check[0].path == "${healthCheckPath}"`,
    "the target group registers task IPs and checks the health path",
  );
});
