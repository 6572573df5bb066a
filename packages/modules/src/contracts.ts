/**
 * Every module's contract: id, scope and outputs. Modules read each other through these (never
 * through another module's code), so the wiring between phases is visible in one place and a
 * misspelt output is a type error.
 */
import type { Contract } from "./core/module.js";

function contract<const O extends string, S extends "global" | "env">(c: Contract<O, S>): Contract<O, S> {
  return c;
}

/** Phase 0: state bucket, lock table, hosted zone. */
export const BOOTSTRAP = contract({
  id: "bootstrap",
  title: "State bucket, lock table and hosted zone",
  scope: "global",
  outputs: ["state_bucket_name", "dynamodb_lock_table", "hosted_zone_id", "name_servers"],
});

/** Phase 0.5: GitHub OIDC provider and one deployer role per environment. */
export const IAM_OIDC = contract({
  id: "iam-oidc",
  title: "GitHub OIDC provider, deployer and planner roles",
  scope: "global",
  outputs: ["oidc_provider_arn", "deployer_role_arns", "deployer_role_names", "planner_role_arns", "planner_role_names"],
});

/** Phase 1: ACM certificates with DNS validation. */
export const DOMAIN = contract({
  id: "domain",
  title: "ACM certificates with DNS validation",
  scope: "global",
  outputs: ["frontend_certificate_arn", "api_certificate_arn", "app_domains", "api_domains"],
});

/** Phase 2: VPC, subnets, NAT, routes, flow logs. */
export const NETWORKING = contract({
  id: "networking",
  title: "VPC, subnets, NAT and flow logs",
  scope: "env",
  outputs: ["vpc_id", "vpc_cidr_block", "public_subnet_ids", "private_subnet_ids", "database_subnet_group_name", "availability_zones"],
});

/** Phase 2: the ALB → ECS → RDS security-group chain. */
export const SECURITY = contract({
  id: "security",
  title: "Security groups",
  scope: "env",
  outputs: ["alb_security_group_id", "ecs_security_group_id", "rds_security_group_id"],
});

/** Phase 3: PostgreSQL on RDS with an RDS-managed master secret. */
export const RDS_POSTGRES = contract({
  id: "rds-postgres",
  title: "PostgreSQL on RDS",
  scope: "env",
  outputs: ["db_instance_identifier", "db_address", "db_port", "db_name", "db_master_secret_arn"],
});

/** Phase 3: discrete application secrets (values set outside Terraform). */
export const SECRETS = contract({
  id: "secrets",
  title: "Application secrets",
  scope: "env",
  outputs: ["jwt_secret_arn", "session_salt_secret_arn"],
});

/** Phase 4: container registry. */
export const ECR = contract({
  id: "ecr",
  title: "ECR repository",
  scope: "env",
  outputs: ["repository_url", "repository_arn", "repository_name"],
});

/** Phase 4: ECS cluster and the service's log group. */
export const ECS_CLUSTER = contract({
  id: "ecs-cluster",
  title: "ECS cluster",
  scope: "env",
  outputs: ["cluster_name", "cluster_arn", "app_log_group_name"],
});

/** Phase 5: the dual-stack application load balancer. */
export const ALB = contract({
  id: "alb",
  title: "Application load balancer",
  scope: "env",
  outputs: ["alb_arn", "alb_arn_suffix", "alb_dns_name", "alb_zone_id", "target_group_arn", "target_group_arn_suffix", "https_listener_arn"],
});

/** Phase 5: Fargate task definition and ECS service. */
export const ECS_SERVICE = contract({
  id: "ecs-service",
  title: "Fargate service",
  scope: "env",
  outputs: ["service_name", "task_definition_arn", "task_execution_role_arn", "task_role_arn"],
});

/** Phase 6: private S3 bucket behind CloudFront. */
export const STATIC_SITE = contract({
  id: "static-site",
  title: "Static site bucket and CloudFront",
  scope: "env",
  outputs: ["bucket_name", "bucket_arn", "distribution_id", "distribution_arn", "distribution_domain_name", "distribution_hosted_zone_id"],
});

/** Phase 7: alias records for the app and api hosts. */
export const DNS = contract({
  id: "dns",
  title: "DNS alias records",
  scope: "env",
  outputs: ["app_fqdns", "api_fqdns"],
});

/** Phase 8: alarm topic, alarms, log retention. */
export const OBSERVABILITY = contract({
  id: "observability",
  title: "Alarms and notifications",
  scope: "env",
  outputs: ["alarm_topic_arn", "alarm_names", "alarm_kms_key_arn"],
});

/** Phase 10: ECS autoscaling and cost allocation tags. */
export const HARDENING = contract({
  id: "hardening",
  title: "Autoscaling and cost allocation",
  scope: "env",
  outputs: ["scalable_target_resource_id", "scaling_policy_names"],
});

/** Phase 10, account-wide: activate the cost allocation tags (once per account, not per environment). */
export const COST_ALLOCATION = contract({
  id: "cost-allocation",
  title: "Cost allocation tags",
  scope: "global",
  outputs: ["cost_allocation_tag_keys"],
});
