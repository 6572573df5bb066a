/**
 * Phase 2 — networking (plan sections 3, 4, 14): the environment's VPC, public and private
 * subnets over `azCount` availability zones, internet and NAT egress, VPC flow logs and the DB
 * subnet group. Security groups are the `security` module's, in the same root.
 *
 * Inputs:
 * - `env.network.cidr`: the VPC's IPv4 range (the config gives each environment its own `/16`).
 * - `env.network.azCount`: availability zones to spread subnets over (>= 2; the ALB needs two).
 * - `env.network.nat`: `single` (one NAT gateway shared by every private subnet, plan's
 *   `enable_single_nat`) or `per-az` (one per zone, so a zone outage strands no other zone).
 * - `env.logs.retentionDays`: retention of the flow-log group.
 *
 * Outputs:
 * - `vpc_id`, `vpc_cidr_block` (the configured literal).
 * - `public_subnet_ids` / `private_subnet_ids`: one per zone, in zone order.
 * - `database_subnet_group_name`: a DB subnet group over the private subnets (a literal).
 * - `availability_zones`: the zone of each subnet index.
 *
 * Subnet layout (computed here, so every CIDR in the JSON is a literal a reviewer can read): the
 * VPC is cut into 16 equal blocks (`/20`s of a `/16`); public subnets take blocks 0.., private
 * subnets blocks 8.. . The layout does not depend on `azCount`, so adding a zone adds subnets and
 * never re-addresses existing ones. Blocks are never smaller than `/27`, the ALB's minimum: a `/24`
 * VPC is cut into 8 `/27`s and fits at most 4 zones.
 *
 * Secure by default (reference sections 1.1 and 3, rows 45 and 48): no subnet maps public IPs on
 * launch (the ALB and NAT gateways get theirs from AWS), the default security group has no rules,
 * private subnets reach the internet only outbound (IPv4 through NAT, IPv6 through an egress-only
 * gateway), RDS lives in the private subnets, and every flow (ACCEPT and REJECT) is logged to
 * CloudWatch with the environment's retention by a role that can write only that log group.
 */
import { expr, jsonDocument } from "./core/expr.js";
import { defineModule } from "./core/module.js";
import { NAME_RULES } from "./core/naming.js";
import { policy } from "./core/policies.js";
import type { Handle } from "./core/root.js";
import { NETWORKING } from "./contracts.js";

/** The ALB needs subnets of at least a /27 (8 free addresses). */
const SMALLEST_SUBNET_PREFIX = 27;
/** Blocks the VPC is cut into: 2^4 = 16, half public and half private. */
const LAYOUT_NEWBITS = 4;

/** IPv4 subnet CIDRs of one VPC, index i = zone i. */
export interface SubnetLayout {
  /** Prefix bits added to the VPC's (like `cidrsubnet`'s `newbits`). */
  readonly newbits: number;
  readonly public: readonly string[];
  readonly private: readonly string[];
}

/** Terraform's `cidrsubnet(prefix, newbits, netnum)` for IPv4, at compile time. */
export function subnetCidr(vpcCidr: string, newbits: number, netnum: number): string {
  const [address, prefix] = parseCidr(vpcCidr);
  const bits = prefix + newbits;
  if (newbits < 0 || bits > 32) throw new Error(`cannot add ${newbits} bits to ${vpcCidr}`);
  if (!Number.isInteger(netnum) || netnum < 0 || netnum >= 2 ** newbits) {
    throw new Error(`netnum ${netnum} does not fit in ${newbits} bits (${vpcCidr})`);
  }
  const network = (address & mask(prefix)) >>> 0;
  const subnet = (network + netnum * 2 ** (32 - bits)) >>> 0;
  return `${formatIp(subnet)}/${bits}`;
}

/** The subnet layout of a VPC for `azCount` zones (see the module header). */
export function subnetLayout(vpcCidr: string, azCount: number): SubnetLayout {
  const [, prefix] = parseCidr(vpcCidr);
  const newbits = Math.min(LAYOUT_NEWBITS, SMALLEST_SUBNET_PREFIX - prefix);
  const perTier = newbits >= 1 ? 2 ** (newbits - 1) : 0;
  if (azCount < 1 || azCount > perTier) {
    throw new Error(
      `a ${vpcCidr} VPC fits public and private /${SMALLEST_SUBNET_PREFIX}-or-larger subnets for at most ${perTier} availability zones, not ${azCount}: use a larger network.cidr or a smaller network.azCount`,
    );
  }
  const zones = Array.from({ length: azCount }, (_, i) => i);
  return {
    newbits,
    public: zones.map((i) => subnetCidr(vpcCidr, newbits, i)),
    private: zones.map((i) => subnetCidr(vpcCidr, newbits, perTier + i)),
  };
}

/** `[first address, last address]` of a CIDR, as unsigned 32-bit numbers (for tests and checks). */
export function cidrRange(cidr: string): [number, number] {
  const [address, prefix] = parseCidr(cidr);
  const first = (address & mask(prefix)) >>> 0;
  return [first, (first + 2 ** (32 - prefix) - 1) >>> 0];
}

function parseCidr(cidr: string): [number, number] {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefix = m ? Number(m[5]) : NaN;
  if (!m || octets.some((o) => o > 255) || prefix > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  return [octets.reduce((acc, o) => acc * 256 + o, 0), prefix];
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
}

function formatIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join(".");
}

export const networking = defineModule(NETWORKING, (ctx) => {
  const { root, env } = ctx;
  const { cidr, azCount, nat } = env.network;
  const layout = subnetLayout(cidr, azCount);
  const zones = Array.from({ length: azCount }, (_, i) => i);
  const vpcName = ctx.name("vpc");

  // Only zones that need no opt-in: Local and Wavelength Zones lack NAT gateways and most services.
  const azs = root.data("aws_availability_zones", "available", {
    state: "available",
    filter: [{ name: "opt-in-status", values: ["opt-in-not-required"] }],
  });
  // Indexing (not `element()`, which wraps around) fails the plan loudly in a region with fewer
  // zones than `azCount`, instead of silently stacking two subnets in one zone.
  const zone = (i: number) => expr(`${azs.address}.names[${i}]`);
  const zoneExamples = zones.map((i) => `${ctx.region}${String.fromCharCode(97 + i)}`);
  root.mockDataSource("aws_availability_zones", { names: zoneExamples });

  const vpc = root.resource("aws_vpc", "main", {
    cidr_block: cidr,
    enable_dns_support: true,
    enable_dns_hostnames: true,
    // The ALB is dual-stack; Amazon assigns the /56.
    assign_generated_ipv6_cidr_block: true,
    tags: { Name: vpcName },
  });
  root.mockResource("aws_vpc", { ipv6_cidr_block: "2600:1f18:1234:5600::/56" });
  const vpcId = vpc.attr("id");

  // AWS creates a default group allowing all egress and all traffic between its members; anything
  // launched without an explicit group lands in it. Managing it with no rules closes it.
  root.resource("aws_default_security_group", "default", { vpc_id: vpcId, ingress: [], egress: [] });

  const igw = root.resource("aws_internet_gateway", "main", { vpc_id: vpcId, tags: { Name: ctx.name("igw") } });
  const eigw = root.resource("aws_egress_only_internet_gateway", "main", { vpc_id: vpcId, tags: { Name: ctx.name("eigw") } });

  const publicSubnets = zones.map((i) =>
    root.resource("aws_subnet", `public_${i}`, {
      vpc_id: vpcId,
      availability_zone: zone(i),
      cidr_block: layout.public[i]!,
      ipv6_cidr_block: expr(`cidrsubnet(${vpc.address}.ipv6_cidr_block, 8, ${i})`),
      assign_ipv6_address_on_creation: true,
      map_public_ip_on_launch: false,
      tags: { Name: ctx.name(`public-${i}`), Tier: "public" },
    }),
  );
  const privateSubnets = zones.map((i) =>
    root.resource("aws_subnet", `private_${i}`, {
      vpc_id: vpcId,
      availability_zone: zone(i),
      cidr_block: layout.private[i]!,
      map_public_ip_on_launch: false,
      tags: { Name: ctx.name(`private-${i}`), Tier: "private" },
    }),
  );

  // NAT gateways sit in the public subnets of the first zones; `nat_0` exists in both strategies,
  // so switching `single` to `per-az` adds gateways without replacing the first.
  const natGateways: Handle[] = (nat === "single" ? [0] : zones).map((i) => {
    const eip = root.resource("aws_eip", `nat_${i}`, { domain: "vpc", tags: { Name: ctx.name(`nat-${i}`) } }, { dependsOn: [igw] });
    return root.resource(
      "aws_nat_gateway",
      `nat_${i}`,
      { allocation_id: eip.attr("id"), subnet_id: publicSubnets[i]!.attr("id"), connectivity_type: "public", tags: { Name: ctx.name(`nat-${i}`) } },
      // A NAT gateway created before the VPC has an internet gateway cannot route out.
      { dependsOn: [igw] },
    );
  });

  const publicRoutes = root.resource("aws_route_table", "public", { vpc_id: vpcId, tags: { Name: ctx.name("public") } });
  root.resource("aws_route", "public_internet_ipv4", { route_table_id: publicRoutes.attr("id"), destination_cidr_block: "0.0.0.0/0", gateway_id: igw.attr("id") });
  root.resource("aws_route", "public_internet_ipv6", { route_table_id: publicRoutes.attr("id"), destination_ipv6_cidr_block: "::/0", gateway_id: igw.attr("id") });
  publicSubnets.forEach((subnet, i) =>
    root.resource("aws_route_table_association", `public_${i}`, { subnet_id: subnet.attr("id"), route_table_id: publicRoutes.attr("id") }),
  );

  // One table per zone even with a single NAT gateway, so `per-az` changes only the NAT routes.
  privateSubnets.forEach((subnet, i) => {
    const table = root.resource("aws_route_table", `private_${i}`, { vpc_id: vpcId, tags: { Name: ctx.name(`private-${i}`) } });
    const natGateway = natGateways[nat === "single" ? 0 : i]!;
    root.resource("aws_route", `private_${i}_nat_ipv4`, { route_table_id: table.attr("id"), destination_cidr_block: "0.0.0.0/0", nat_gateway_id: natGateway.attr("id") });
    root.resource("aws_route", `private_${i}_egress_ipv6`, { route_table_id: table.attr("id"), destination_ipv6_cidr_block: "::/0", egress_only_gateway_id: eigw.attr("id") });
    root.resource("aws_route_table_association", `private_${i}`, { subnet_id: subnet.attr("id"), route_table_id: table.attr("id") });
  });

  // RDS goes in the private subnets: no route from the internet, and no public address possible.
  const dbSubnetGroupName = ctx.name("db", NAME_RULES.dbSubnetGroup);
  root.resource("aws_db_subnet_group", "database", {
    name: dbSubnetGroupName,
    description: `Private subnets of ${vpcName} for RDS`,
    subnet_ids: privateSubnets.map((s) => s.attr("id")),
    tags: { Name: dbSubnetGroupName },
  });

  flowLogs(vpc, vpcName);

  root.output("vpc_id", { value: vpcId, description: `Id of the ${env.name} VPC.`, example: "vpc-0a1b2c3d4e5f67890" });
  root.output("vpc_cidr_block", { value: cidr, description: "IPv4 CIDR block of the VPC.", example: cidr });
  root.output("public_subnet_ids", {
    value: publicSubnets.map((s) => s.attr("id")),
    description: "Public subnet ids, one per availability zone in zone order (the ALB and NAT gateways).",
    example: zones.map((i) => `subnet-0a1b2c3d4e5f6${String(i + 1).padStart(4, "0")}`),
  });
  root.output("private_subnet_ids", {
    value: privateSubnets.map((s) => s.attr("id")),
    description: "Private subnet ids, one per availability zone in zone order (ECS tasks and RDS; outbound only).",
    example: zones.map((i) => `subnet-0f1e2d3c4b5a6${String(i + 1).padStart(4, "0")}`),
  });
  root.output("database_subnet_group_name", {
    value: dbSubnetGroupName,
    description: "Name of the DB subnet group over the private subnets.",
    example: dbSubnetGroupName,
  });
  root.output("availability_zones", {
    value: publicSubnets.map((s) => s.attr("availability_zone")),
    description: "Availability zone of each subnet index.",
    example: zoneExamples,
  });

  const all = [...publicSubnets, ...privateSubnets].map((s) => s.address).join(", ");
  root.assert(`${vpc.address}.cidr_block == "${cidr}"`, `the VPC uses the configured CIDR ${cidr}`);
  root.assert(`${vpc.address}.enable_dns_support && ${vpc.address}.enable_dns_hostnames`, "the VPC resolves DNS and gives hostnames");
  root.assert(`${vpc.address}.assign_generated_ipv6_cidr_block == true`, "the VPC has an Amazon-provided IPv6 block");
  root.assert(`alltrue([for s in [${all}] : s.map_public_ip_on_launch == false])`, "no subnet assigns public IPv4 addresses on launch");
  root.assert(
    `length(distinct([for s in [${publicSubnets.map((s) => s.address).join(", ")}] : s.availability_zone])) == ${azCount}`,
    `the public subnets span ${azCount} availability zones`,
  );
  root.assert(
    `length(aws_default_security_group.default.ingress) == 0 && length(aws_default_security_group.default.egress) == 0`,
    "the default security group allows nothing",
  );
  root.assert(`aws_flow_log.vpc.traffic_type == "ALL"`, "the VPC's flow log records accepted and rejected traffic");
  root.assert(
    `aws_cloudwatch_log_group.flow_logs.retention_in_days == ${env.logs.retentionDays}`,
    `flow logs are kept ${env.logs.retentionDays} days`,
  );

  /** Flow log of every ENI in the VPC to a CloudWatch log group, written by a role scoped to it. */
  function flowLogs(target: Handle, name: string): void {
    const logGroup = root.resource("aws_cloudwatch_log_group", "flow_logs", {
      name: ctx.claimName(`/vpc/${name}/flow-logs`, NAME_RULES.logGroup),
      retention_in_days: env.logs.retentionDays,
    });
    const logGroupArn = logGroup.attr("arn");
    const roleName = ctx.name("vpc-flow-logs", NAME_RULES.iamRole);
    const role = root.resource("aws_iam_role", "flow_logs", {
      name: roleName,
      description: `Lets VPC Flow Logs write ${name}'s flow log group`,
      // Confused-deputy guard: only flow logs of this account (and region) may assume the role.
      assume_role_policy: jsonDocument(
        policy({
          Effect: "Allow",
          Principal: { Service: "vpc-flow-logs.amazonaws.com" },
          Action: "sts:AssumeRole",
          Condition: {
            StringEquals: { "aws:SourceAccount": ctx.accountId },
            ArnLike: { "aws:SourceArn": `arn:aws:ec2:${ctx.region}:${ctx.accountId}:vpc-flow-log/*` },
          },
        }),
      ),
    });
    const write = root.resource("aws_iam_role_policy", "flow_logs", {
      name: "write-flow-log-group",
      role: role.attr("id"),
      policy: jsonDocument(
        policy({
          Sid: "WriteFlowLogGroup",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
          // Streams are `<group arn>:log-stream:<eni>`; the `:*` form covers them and nothing else.
          Resource: [logGroupArn, `${logGroupArn}:*`],
        }),
      ),
    });
    root.resource(
      "aws_flow_log",
      "vpc",
      {
        vpc_id: target.attr("id"),
        traffic_type: "ALL",
        log_destination_type: "cloud-watch-logs",
        log_destination: logGroupArn,
        iam_role_arn: role.attr("arn"),
        tags: { Name: name },
      },
      // Without the policy in place the first deliveries fail with DeliverLogsPermissionDenied.
      { dependsOn: [write] },
    );
    const account = ctx.config.accountId ?? "123456789012";
    root.mockResource("aws_cloudwatch_log_group", { arn: `arn:aws:logs:${ctx.region}:${account}:log-group:/vpc/${name}/flow-logs` });
    root.mockResource("aws_iam_role", { arn: `arn:aws:iam::${account}:role/${roleName}` });
  }
});
