/** Phase 2: the networking and security modules, placed together in `<env>/20-network`. */
import { describe, expect, it } from "vitest";
import type { CajaConfigInput } from "@caja/dsl/schema";
import { cidrRange, networking, subnetCidr, subnetLayout } from "../../packages/modules/src/networking.js";
import { security } from "../../packages/modules/src/security.js";
import { validateRoot } from "../../packages/modules/src/aws/validate.js";
import { baseConfig, compileWith, resources, rootJson, testJson } from "../helpers.js";
import { phasesFor, terraformCheck } from "../modules-harness.js";

const phases = phasesFor([networking, security], [], { number: 2, dir: "20-network" });
const DEV = "dev/20-network";
const PROD = "prod/20-network";

function compile(config: CajaConfigInput = baseConfig()) {
  return compileWith(config, { phases });
}

/** baseConfig with some environments' settings replaced. */
function withEnvs(environments: CajaConfigInput["environments"], patch: Partial<CajaConfigInput> = {}) {
  return compile({ ...baseConfig(), ...patch, environments });
}

const ref = (address: string) => `\${${address}}`;

function overlaps(a: string, b: string): boolean {
  const [a0, a1] = cidrRange(a);
  const [b0, b1] = cidrRange(b);
  return a0 <= b1 && b0 <= a1;
}

function inside(inner: string, outer: string): boolean {
  const [i0, i1] = cidrRange(inner);
  const [o0, o1] = cidrRange(outer);
  return o0 <= i0 && i1 <= o1;
}

describe("subnet CIDR helper", () => {
  it("matches terraform's cidrsubnet for IPv4", () => {
    expect(subnetCidr("10.10.0.0/16", 4, 0)).toBe("10.10.0.0/20");
    expect(subnetCidr("10.10.0.0/16", 4, 1)).toBe("10.10.16.0/20");
    expect(subnetCidr("10.10.0.0/16", 4, 8)).toBe("10.10.128.0/20");
    expect(subnetCidr("10.10.0.0/16", 4, 15)).toBe("10.10.240.0/20");
    expect(subnetCidr("172.16.4.0/22", 4, 3)).toBe("172.16.4.192/26");
    expect(subnetCidr("10.30.0.0/24", 3, 4)).toBe("10.30.0.128/27");
    expect(() => subnetCidr("10.10.0.0/16", 4, 16)).toThrow(/does not fit/);
  });

  it("lays out public blocks from 0 and private blocks from the middle, independent of the zone count", () => {
    expect(subnetLayout("10.10.0.0/16", 2)).toEqual({
      newbits: 4,
      public: ["10.10.0.0/20", "10.10.16.0/20"],
      private: ["10.10.128.0/20", "10.10.144.0/20"],
    });
    const three = subnetLayout("10.10.0.0/16", 3);
    expect(three.public.slice(0, 2)).toEqual(["10.10.0.0/20", "10.10.16.0/20"]);
    expect(three.private.slice(0, 2)).toEqual(["10.10.128.0/20", "10.10.144.0/20"]);
  });

  it("keeps every subnet inside the VPC, disjoint, and at least a /27 for every allowed VPC size", () => {
    for (let prefix = 16; prefix <= 24; prefix++) {
      const vpc = `10.20.0.0/${prefix}`;
      const maxZones = prefix === 24 ? 4 : 6;
      for (let zones = 2; zones <= maxZones; zones++) {
        const { public: pub, private: priv } = subnetLayout(vpc, zones);
        const all = [...pub, ...priv];
        expect(all).toHaveLength(2 * zones);
        for (const s of all) {
          expect(inside(s, vpc), `${s} in ${vpc}`).toBe(true);
          expect(Number(s.split("/")[1])).toBeLessThanOrEqual(27);
        }
        for (let i = 0; i < all.length; i++) for (let j = 0; j < i; j++) expect(overlaps(all[i]!, all[j]!), `${all[i]} vs ${all[j]}`).toBe(false);
      }
    }
  });

  it("refuses a VPC too small for the zone count instead of emitting subnets the ALB cannot use", () => {
    expect(() => subnetLayout("10.20.0.0/24", 5)).toThrow(/at most 4 availability zones/);
  });
});

describe("networking module", () => {
  const compiled = compile();

  it("creates each environment's VPC from its configured CIDR, with DNS and an Amazon IPv6 block", () => {
    for (const [id, cidr] of [
      [DEV, "10.10.0.0/16"],
      [PROD, "10.30.0.0/16"],
    ] as const) {
      const vpc = resources(compiled, id, "aws_vpc").main;
      expect(vpc).toMatchObject({ cidr_block: cidr, enable_dns_support: true, enable_dns_hostnames: true, assign_generated_ipv6_cidr_block: true });
      expect(rootJson(compiled, id).output.vpc_cidr_block.value).toBe(cidr);
    }
    const own = withEnvs({ dev: { network: { cidr: "10.99.0.0/20" } } });
    expect(resources(own, DEV, "aws_vpc").main.cidr_block).toBe("10.99.0.0/20");
  });

  it("puts one public and one private subnet in each of azCount zones taken from the available-zones data source", () => {
    const zones = rootJson(compiled, DEV).data.aws_availability_zones.available;
    expect(zones.state).toBe("available");
    for (const [config, id, count] of [
      [compiled, DEV, 2],
      [compiled, PROD, 2],
      [withEnvs({ prod: { network: { azCount: 3 } } }), PROD, 3],
    ] as const) {
      const subnets = resources(config, id, "aws_subnet");
      expect(Object.keys(subnets).sort()).toEqual(
        [...Array(count).keys()].flatMap((i) => [`private_${i}`, `public_${i}`]).sort(),
      );
      for (let i = 0; i < count; i++) {
        expect(subnets[`public_${i}`].availability_zone).toBe(ref(`data.aws_availability_zones.available.names[${i}]`));
        expect(subnets[`private_${i}`].availability_zone).toBe(ref(`data.aws_availability_zones.available.names[${i}]`));
      }
    }
  });

  it("mocks the zone names in the configured region so the mock apply has zones to index", () => {
    const mocks = (c: ReturnType<typeof compile>, id: string) => testJson(c, id).mock_provider.aws[0].mock_data.aws_availability_zones.defaults.names;
    expect(mocks(compiled, DEV)).toEqual(["us-east-1a", "us-east-1b"]);
    const eu = withEnvs({ prod: { network: { azCount: 3 } } }, { region: "eu-west-1" });
    expect(mocks(eu, PROD)).toEqual(["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
  });

  it("computes subnet CIDRs as literals inside the VPC that never overlap", () => {
    for (const [config, id, vpc] of [
      [compiled, DEV, "10.10.0.0/16"],
      [withEnvs({ prod: { network: { azCount: 6 } } }), PROD, "10.30.0.0/16"],
      [withEnvs({ dev: { network: { cidr: "10.50.0.0/24", azCount: 4 } } }), DEV, "10.50.0.0/24"],
    ] as const) {
      const cidrs = Object.values(resources(config, id, "aws_subnet")).map((s) => s.cidr_block as string);
      for (const c of cidrs) {
        expect(c).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
        expect(inside(c, vpc), `${c} in ${vpc}`).toBe(true);
      }
      for (let i = 0; i < cidrs.length; i++) for (let j = 0; j < i; j++) expect(overlaps(cidrs[i]!, cidrs[j]!)).toBe(false);
    }
    const dev = resources(compiled, DEV, "aws_subnet");
    expect([dev.public_0.cidr_block, dev.public_1.cidr_block, dev.private_0.cidr_block, dev.private_1.cidr_block]).toEqual([
      "10.10.0.0/20",
      "10.10.16.0/20",
      "10.10.128.0/20",
      "10.10.144.0/20",
    ]);
  });

  it("gives public subnets IPv6 /64s for the dual-stack ALB and never maps public IPv4 addresses on launch", () => {
    const subnets = resources(compiled, PROD, "aws_subnet");
    for (const i of [0, 1]) {
      expect(subnets[`public_${i}`]).toMatchObject({
        ipv6_cidr_block: ref(`cidrsubnet(aws_vpc.main.ipv6_cidr_block, 8, ${i})`),
        assign_ipv6_address_on_creation: true,
      });
      expect(subnets[`private_${i}`].ipv6_cidr_block).toBeUndefined();
    }
    for (const s of Object.values(subnets)) expect(s.map_public_ip_on_launch).toBe(false);
  });

  it("routes public subnets to the internet gateway and private subnets out through NAT (IPv4) and the egress-only gateway (IPv6)", () => {
    const routes = resources(compiled, PROD, "aws_route");
    const byTable = (table: string) => Object.values(routes).filter((r) => r.route_table_id === ref(`aws_route_table.${table}.id`));
    expect(byTable("public")).toEqual(
      expect.arrayContaining([
        { route_table_id: ref("aws_route_table.public.id"), destination_cidr_block: "0.0.0.0/0", gateway_id: ref("aws_internet_gateway.main.id") },
        { route_table_id: ref("aws_route_table.public.id"), destination_ipv6_cidr_block: "::/0", gateway_id: ref("aws_internet_gateway.main.id") },
      ]),
    );
    expect(byTable("public")).toHaveLength(2);
    for (const i of [0, 1]) {
      const own = byTable(`private_${i}`);
      expect(own).toHaveLength(2);
      expect(own.find((r) => r.destination_cidr_block === "0.0.0.0/0")?.nat_gateway_id).toMatch(/aws_nat_gateway\./);
      expect(own.find((r) => r.destination_ipv6_cidr_block === "::/0")?.egress_only_gateway_id).toBe(ref("aws_egress_only_internet_gateway.main.id"));
      for (const r of own) expect(r.gateway_id).toBeUndefined();
    }
    expect(resources(compiled, PROD, "aws_internet_gateway").main.vpc_id).toBe(ref("aws_vpc.main.id"));
    expect(resources(compiled, PROD, "aws_egress_only_internet_gateway").main.vpc_id).toBe(ref("aws_vpc.main.id"));

    const associations = resources(compiled, PROD, "aws_route_table_association");
    expect(associations.public_0).toEqual({ subnet_id: ref("aws_subnet.public_0.id"), route_table_id: ref("aws_route_table.public.id") });
    expect(associations.public_1.route_table_id).toBe(ref("aws_route_table.public.id"));
    expect(associations.private_0).toEqual({ subnet_id: ref("aws_subnet.private_0.id"), route_table_id: ref("aws_route_table.private_0.id") });
    expect(associations.private_1).toEqual({ subnet_id: ref("aws_subnet.private_1.id"), route_table_id: ref("aws_route_table.private_1.id") });
    expect(resources(compiled, PROD, "aws_route_table").public.route).toBeUndefined();
  });

  it("shares one NAT gateway in dev (single) and gives prod one per zone, each private subnet using its own zone's", () => {
    const nats = (c: ReturnType<typeof compile>, id: string) => resources(c, id, "aws_nat_gateway");
    const natRoute = (c: ReturnType<typeof compile>, id: string, i: number) => resources(c, id, "aws_route")[`private_${i}_nat_ipv4`].nat_gateway_id;

    expect(Object.keys(nats(compiled, DEV))).toEqual(["nat_0"]);
    expect(nats(compiled, DEV).nat_0).toMatchObject({ subnet_id: ref("aws_subnet.public_0.id"), allocation_id: ref("aws_eip.nat_0.id") });
    expect(resources(compiled, DEV, "aws_eip")).toEqual({ nat_0: expect.objectContaining({ domain: "vpc" }) });
    expect([natRoute(compiled, DEV, 0), natRoute(compiled, DEV, 1)]).toEqual([ref("aws_nat_gateway.nat_0.id"), ref("aws_nat_gateway.nat_0.id")]);

    expect(Object.keys(nats(compiled, PROD)).sort()).toEqual(["nat_0", "nat_1"]);
    expect(Object.keys(resources(compiled, PROD, "aws_eip")).sort()).toEqual(["nat_0", "nat_1"]);
    for (const i of [0, 1]) {
      expect(nats(compiled, PROD)[`nat_${i}`].subnet_id).toBe(ref(`aws_subnet.public_${i}.id`));
      expect(natRoute(compiled, PROD, i)).toBe(ref(`aws_nat_gateway.nat_${i}.id`));
    }

    const three = withEnvs({ prod: { network: { azCount: 3 } } });
    expect(Object.keys(nats(three, PROD))).toHaveLength(3);
    expect(natRoute(three, PROD, 2)).toBe(ref("aws_nat_gateway.nat_2.id"));
    const devPerAz = withEnvs({ dev: { network: { nat: "per-az" } } });
    expect(Object.keys(nats(devPerAz, DEV))).toHaveLength(2);
  });

  it("closes the default security group", () => {
    expect(resources(compiled, DEV, "aws_default_security_group").default).toEqual({ vpc_id: ref("aws_vpc.main.id"), ingress: [], egress: [] });
  });

  it("puts the database subnet group over the private subnets only and exports its name as a literal", () => {
    const group = resources(compiled, DEV, "aws_db_subnet_group").database;
    expect(group.name).toBe("caja-dev-db");
    expect(group.subnet_ids).toEqual([ref("aws_subnet.private_0.id"), ref("aws_subnet.private_1.id")]);
    expect(rootJson(compiled, DEV).output.database_subnet_group_name.value).toBe("caja-dev-db");
  });

  it("logs all VPC traffic to a log group kept 30 days in dev and 90 in prod", () => {
    for (const [id, days] of [
      [DEV, 30],
      [PROD, 90],
    ] as const) {
      const env = id.split("/")[0];
      const group = resources(compiled, id, "aws_cloudwatch_log_group").flow_logs;
      expect(group).toEqual({ name: `/vpc/caja-${env}-vpc/flow-logs`, retention_in_days: days });
      expect(resources(compiled, id, "aws_flow_log").vpc).toMatchObject({
        vpc_id: ref("aws_vpc.main.id"),
        traffic_type: "ALL",
        log_destination_type: "cloud-watch-logs",
        log_destination: ref("aws_cloudwatch_log_group.flow_logs.arn"),
        iam_role_arn: ref("aws_iam_role.flow_logs.arn"),
        depends_on: ["aws_iam_role_policy.flow_logs"],
      });
    }
  });

  it("writes flow logs with a role only vpc-flow-logs of this account can assume, allowed only on that log group", () => {
    const role = resources(compiled, DEV, "aws_iam_role").flow_logs;
    expect(role.name).toBe("caja-dev-vpc-flow-logs");
    const trust = JSON.parse(role.assume_role_policy);
    expect(trust.Statement).toHaveLength(1);
    expect(trust.Statement[0]).toMatchObject({
      Effect: "Allow",
      Principal: { Service: "vpc-flow-logs.amazonaws.com" },
      Action: "sts:AssumeRole",
      Condition: { StringEquals: { "aws:SourceAccount": ref("data.aws_caller_identity.current.account_id") } },
    });

    const inline = JSON.parse(resources(compiled, DEV, "aws_iam_role_policy").flow_logs.policy);
    expect(inline.Statement).toEqual([
      {
        Sid: "WriteFlowLogGroup",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        Resource: [ref("aws_cloudwatch_log_group.flow_logs.arn"), `${ref("aws_cloudwatch_log_group.flow_logs.arn")}:*`],
      },
    ]);
    expect(resources(compiled, DEV, "aws_iam_role_policy").flow_logs.role).toBe(ref("aws_iam_role.flow_logs.id"));

    const fixed = compile({ ...baseConfig(), accountId: "210987654321" });
    const fixedTrust = JSON.parse(resources(fixed, DEV, "aws_iam_role").flow_logs.assume_role_policy);
    expect(fixedTrust.Statement[0].Condition).toEqual({
      StringEquals: { "aws:SourceAccount": "210987654321" },
      ArnLike: { "aws:SourceArn": "arn:aws:ec2:us-east-1:210987654321:vpc-flow-log/*" },
    });
  });

  it("exports every contract output with realistic examples, one subnet id per zone", () => {
    const outputs = rootJson(compiled, PROD).output;
    expect(outputs.vpc_id.value).toBe(ref("aws_vpc.main.id"));
    expect(outputs.public_subnet_ids.value).toEqual([ref("aws_subnet.public_0.id"), ref("aws_subnet.public_1.id")]);
    expect(outputs.private_subnet_ids.value).toEqual([ref("aws_subnet.private_0.id"), ref("aws_subnet.private_1.id")]);
    expect(outputs.availability_zones.value).toEqual([ref("aws_subnet.public_0.availability_zone"), ref("aws_subnet.public_1.availability_zone")]);

    const plan = compiled.plan.roots.find((r) => r.id === PROD)!;
    const example = (name: string) => plan.builder.outputs.get(name)!.example;
    expect(example("vpc_id")).toMatch(/^vpc-[0-9a-f]{17}$/);
    expect(example("vpc_cidr_block")).toBe("10.30.0.0/16");
    for (const name of ["public_subnet_ids", "private_subnet_ids"]) {
      const ids = example(name) as string[];
      expect(ids).toHaveLength(2);
      for (const id of ids) expect(id).toMatch(/^subnet-[0-9a-f]{17}$/);
    }
    expect(new Set([...(example("public_subnet_ids") as string[]), ...(example("private_subnet_ids") as string[])]).size).toBe(4);
    expect(example("availability_zones")).toEqual(["us-east-1a", "us-east-1b"]);
    expect(example("database_subnet_group_name")).toBe("caja-prod-db");
  });
});

describe("security module", () => {
  const compiled = compile();

  interface Rule {
    group: string;
    direction: "in" | "out";
    port: number;
    peer: string;
  }

  /** Every rule of a root as (group, direction, port, peer), peers named by group label or CIDR. */
  function rules(c: ReturnType<typeof compile>, id: string): Rule[] {
    const label = (v: string) => /aws_security_group\.(\w+)\.id/.exec(v)?.[1] ?? v;
    const read = (direction: "in" | "out", type: string) =>
      Object.values(resources(c, id, type)).map((r: any) => {
        expect(r.ip_protocol).toBe("tcp");
        expect(r.from_port).toBe(r.to_port);
        expect(r.description).toMatch(/^[ -~]{5,255}$/);
        return {
          group: label(r.security_group_id),
          direction,
          port: r.from_port,
          peer: r.referenced_security_group_id ? label(r.referenced_security_group_id) : (r.cidr_ipv4 ?? r.cidr_ipv6),
        };
      });
    return [...read("in", "aws_vpc_security_group_ingress_rule"), ...read("out", "aws_vpc_security_group_egress_rule")];
  }

  const key = (r: Rule) => `${r.group} ${r.direction} ${r.port} ${r.peer}`;

  it("opens exactly the ALB -> ECS -> RDS chain and nothing else", () => {
    for (const id of [DEV, PROD]) {
      expect(rules(compiled, id).map(key).sort()).toEqual(
        [
          "alb in 443 0.0.0.0/0",
          "alb in 443 ::/0",
          "alb in 80 0.0.0.0/0",
          "alb in 80 ::/0",
          "alb out 8000 ecs",
          "ecs in 8000 alb",
          "ecs out 443 0.0.0.0/0",
          "ecs out 5432 rds",
          "rds in 5432 ecs",
        ].sort(),
      );
    }
  });

  it("admits the internet only on the ALB's ports 80 and 443", () => {
    const open = rules(compiled, DEV).filter((r) => r.direction === "in" && (r.peer === "0.0.0.0/0" || r.peer === "::/0"));
    expect(open.every((r) => r.group === "alb" && (r.port === 80 || r.port === 443))).toBe(true);
    expect(open).toHaveLength(4);
  });

  it("admits the app port to ECS only from the ALB group, and PostgreSQL to RDS only from the ECS group", () => {
    const ingress = resources(compiled, DEV, "aws_vpc_security_group_ingress_rule");
    expect(ingress.ecs_from_alb).toMatchObject({
      security_group_id: ref("aws_security_group.ecs.id"),
      referenced_security_group_id: ref("aws_security_group.alb.id"),
      from_port: 8000,
      to_port: 8000,
    });
    expect(ingress.rds_from_ecs).toMatchObject({
      security_group_id: ref("aws_security_group.rds.id"),
      referenced_security_group_id: ref("aws_security_group.ecs.id"),
      from_port: 5432,
      to_port: 5432,
    });
    const all = rules(compiled, DEV);
    expect(all.filter((r) => r.group === "ecs" && r.direction === "in")).toEqual([{ group: "ecs", direction: "in", port: 8000, peer: "alb" }]);
    expect(all.filter((r) => r.group === "rds" && r.direction === "in")).toEqual([{ group: "rds", direction: "in", port: 5432, peer: "ecs" }]);
    expect(all.filter((r) => r.group === "rds" && r.direction === "out")).toEqual([]);
  });

  it("follows the configured app port", () => {
    const c = withEnvs({ dev: { service: { port: 9000 } } });
    expect(rules(c, DEV).map(key)).toEqual(expect.arrayContaining(["alb out 9000 ecs", "ecs in 9000 alb"]));
    expect(rules(c, DEV).some((r) => r.port === 8000)).toBe(false);
  });

  it("declares the groups in the networking VPC with stable ASCII descriptions and no inline rules", () => {
    const groups = resources(compiled, DEV, "aws_security_group");
    expect(Object.keys(groups).sort()).toEqual(["alb", "ecs", "rds"]);
    expect(Object.values(groups).map((g) => g.name).sort()).toEqual(["caja-dev-alb", "caja-dev-ecs-tasks", "caja-dev-rds"]);
    for (const g of Object.values(groups)) {
      expect(g.vpc_id).toBe(ref("aws_vpc.main.id"));
      expect(g.description).toMatch(/^[A-Za-z0-9 ._\-:/()#,@[\]+=&;{}!$*]{1,255}$/);
      expect(g).not.toHaveProperty("ingress");
      expect(g).not.toHaveProperty("egress");
    }
    // Same root as networking: a plain reference, no remote state.
    expect(rootJson(compiled, DEV).data.terraform_remote_state).toBeUndefined();
  });

  it("exports the three group ids with realistic examples", () => {
    const outputs = rootJson(compiled, DEV).output;
    const plan = compiled.plan.roots.find((r) => r.id === DEV)!;
    for (const [name, label] of [
      ["alb_security_group_id", "alb"],
      ["ecs_security_group_id", "ecs"],
      ["rds_security_group_id", "rds"],
    ] as const) {
      expect(outputs[name].value).toBe(ref(`aws_security_group.${label}.id`));
      expect(plan.builder.outputs.get(name)!.example).toMatch(/^sg-[0-9a-f]{17}$/);
    }
  });
});

describe("the phase 2 roots", () => {
  const compiled = compile();

  it("match the provider schema", () => {
    for (const id of [DEV, PROD]) expect(validateRoot(rootJson(compiled, id))).toEqual([]);
    expect(validateRoot(rootJson(withEnvs({ prod: { network: { azCount: 3 } } }), PROD))).toEqual([]);
  });

  for (const id of [DEV, PROD]) {
    it(`${id} passes terraform validate and its mock apply`, { timeout: 300_000 }, async () => {
      const check = await terraformCheck(compiled, id);
      if (!check) return;
      expect(check.ok, `${check.failedStep}: ${check.detail}`).toBe(true);
      expect(check.runsPassed).toBeGreaterThan(0);
    });
  }
});
