/**
 * The monthly estimate: every fixed-price item of what each scope runs, priced from the dated table
 * and nothing else; usage-priced items named without a number; another region or an item without a
 * price said, not guessed; the change between two configs worded by the settings that moved, in
 * `caja cost --since` and in the pull-request comment.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compareEstimates, describeChange, parseEstimate } from "../packages/compiler/src/cost/compare.js";
import { estimateCost, type Estimate, type ScopeEstimate } from "../packages/compiler/src/cost/estimate.js";
import { PRICE_TABLE } from "../packages/compiler/src/cost/prices.js";
import { stableStringify } from "../packages/compiler/src/json.js";
import { run as ci } from "../packages/compiler/src/commands/ci.js";
import { commentBody, COMMENT_MARKER, type Fetch } from "../packages/compiler/src/run/ci.js";
import { baseConfig, CAJA_BIN, compileWith, repoTempDir } from "./helpers.js";

const H = PRICE_TABLE.hoursPerMonth;
const P = PRICE_TABLE.fixed;
const usd = (x: number) => Math.round(x * 100) / 100;

function estimateOf(config: unknown): Estimate {
  const compiled = compileWith(config);
  return estimateCost(compiled.config, compiled.plan);
}

function scope(estimate: Estimate, name: string): ScopeEstimate {
  return estimate.scopes.find((s) => s.scope === name)!;
}

/** key → monthly dollars. */
function monthly(s: ScopeEstimate): Record<string, number | null> {
  return Object.fromEntries(s.lines.map((l) => [l.key, l.monthly]));
}

function withEnv(env: string, patch: Record<string, unknown>) {
  const base = baseConfig();
  return { ...base, environments: { ...base.environments, [env]: patch } };
}

const repo = estimateOf(baseConfig());

describe("the estimate prices what each environment runs", () => {
  it("prices every fixed item of dev from the table: NAT, addresses, ALB, Fargate, RDS, secrets, keys, alarms", () => {
    expect(monthly(scope(repo, "dev"))).toEqual({
      "nat-gateway": usd(1 * H * P.natGatewayHour.usd),
      "public-ipv4-eip": usd(1 * H * P.publicIpv4Hour.usd),
      alb: usd(H * P.albHour.usd),
      "public-ipv4-alb": usd(2 * H * P.publicIpv4Hour.usd),
      "fargate-vcpu": usd(1 * 0.25 * H * P.fargateVcpuHourX86.usd),
      "fargate-memory": usd(1 * 0.5 * H * P.fargateGbHourX86.usd),
      "rds-instance": usd(H * PRICE_TABLE.rdsPostgres["db.t4g.micro"]!),
      "rds-storage": usd(20 * P.rdsGp3GbMonth.usd),
      // Two of the secrets module's and the one RDS keeps the master password in.
      secrets: usd(3 * P.secretMonth.usd),
      "kms-keys": usd(P.kmsKeyMonth.usd),
      alarms: usd(5 * P.alarmMonth.usd),
    });
    expect(scope(repo, "dev").total).toBe(85.92);
  });

  it("makes dev, staging and prod differ by the plan's tier defaults (section 14), and names the settings", () => {
    const totals = repo.scopes.map((s) => [s.scope, s.total]);
    expect(totals).toEqual([
      ["global", 0.5],
      ["dev", 85.92],
      ["staging", 106.61],
      ["prod", 259.89],
    ]);
    const prod = scope(repo, "prod");
    const nat = prod.lines.find((l) => l.key === "nat-gateway")!;
    expect([nat.quantity, nat.unitPrice, nat.monthly]).toEqual(["2 gateways × 730 h", "$0.045 per gateway-hour", 65.7]);
    expect(nat.drivers).toEqual([
      { setting: "network.nat", value: "per-az" },
      { setting: "network.azCount", value: "2" },
    ]);
    const db = prod.lines.find((l) => l.key === "rds-instance")!;
    expect([db.item, db.quantity, db.unitPrice, db.monthly]).toEqual(["RDS PostgreSQL instance", "2 db.t4g.medium (Multi-AZ: a standby) × 730 h", "$0.065 per instance-hour", 94.9]);
    expect(prod.lines.find((l) => l.key === "fargate-vcpu")!.quantity).toBe("3 tasks × 0.5 vCPU × 730 h");
  });

  it("lists usage-priced items without a number, and keeps them out of the total", () => {
    const prod = scope(repo, "prod");
    expect(prod.usage.map((u) => u.key)).toEqual(["natData", "albLcu", "fargateScaling", "rdsBackup", "logs", "flowLogs", "cloudfront", "s3", "ecr", "sns", "secretsApi", "kmsRequests"]);
    expect(prod.total).toBe(usd(prod.lines.reduce((s, l) => s + (l.monthly ?? 0), 0)));
    expect(scope(repo, "global").usage.map((u) => u.key)).toEqual(["s3", "dynamodb", "route53Queries"]);
  });

  it("lists an item the table has no price for, with no number, instead of guessing", () => {
    const base = baseConfig();
    const cache = estimateOf({ ...base, defaults: { ...base.defaults, cache: { enabled: true } } });
    const line = scope(cache, "dev").lines.find((l) => l.key === "unpriced:aws_elasticache_replication_group")!;
    expect([line.item, line.quantity, line.unitPrice, line.monthly]).toEqual(["aws_elasticache_replication_group", "1 resource", "no price in caja's table", null]);
    // Its alarms and key are priced; nothing else moved.
    expect(scope(cache, "dev").total).toBe(usd(85.92 + 3 * P.alarmMonth.usd + P.kmsKeyMonth.usd));
  });

  it("prices nothing in another region, and says why on every line", () => {
    const other = estimateOf({ ...baseConfig(), region: "eu-west-1" });
    for (const s of other.scopes) {
      expect(s.total).toBeNull();
      for (const l of s.lines) expect([l.monthly, l.unitPrice]).toEqual([null, "no eu-west-1 prices in caja's table (it has us-east-1)"]);
    }
  });
});

describe("the change between two estimates", () => {
  it("prod nat single: exactly one NAT gateway and its address less, worded by the setting", () => {
    const single = estimateOf(withEnv("prod", { network: { nat: "single" } }));
    const changes = compareEstimates(repo, single);
    expect(changes.map(describeChange)).toEqual([
      `prod: −$36.50/month ($259.89 → $223.39): network.nat per-az → single; NAT gateway 2 → 1; Public IPv4 address (Elastic IP) 2 → 1`,
    ]);
    expect(usd(changes[0]!.before! - changes[0]!.after!)).toBe(usd(H * (P.natGatewayHour.usd + P.publicIpv4Hour.usd)));
  });

  it("names several settings when several moved, and a scope that did not change is not listed", () => {
    // +0.5 vCPU and +1 GB of Fargate, and the db.t4g.medium's hourly difference: 14.78 + 3.24 + 24.09.
    const bigger = estimateOf(withEnv("staging", { service: { desiredCount: 4 }, db: { instanceClass: "db.t4g.medium" } }));
    expect(compareEstimates(repo, bigger).map(describeChange)).toEqual([
      "staging: +$42.11/month ($106.61 → $148.72): service.desiredCount 2 → 4; db.instanceClass db.t4g.small → db.t4g.medium; Fargate vCPU (Linux/x86) 0.5 → 1; Fargate memory (Linux/x86) 1 → 2; RDS PostgreSQL instance $23.36 → $47.45",
    ]);
    expect(compareEstimates(repo, repo)).toEqual([]);
  });

  it("reads a stored estimate back, and refuses one that is not an estimate", () => {
    const back = parseEstimate(stableStringify(repo));
    expect(compareEstimates(back, repo)).toEqual([]);
    const tampered = JSON.parse(stableStringify(repo));
    tampered.scopes[1].lines[0].monthly = "lots";
    expect(() => parseEstimate(JSON.stringify(tampered))).toThrow(/not a caja estimate: scopes\[1\]\.lines\[0\]/);
    expect(() => parseEstimate("[]")).toThrow(/not a caja estimate/);
  });
});

describe("where reviewers see it", () => {
  it("environments.md has the environments side by side, with totals and the settings that make them differ", () => {
    const page = compileWith(baseConfig()).files.find((f) => f.path === "docs/environments.md")!.content;
    expect(page).toContain("## Monthly estimate");
    expect(page).toContain("| Item | Unit price | `dev` | `staging` | `prod` | Set by |");
    // A row that differs between environments is bold, and names the settings with their values.
    expect(page).toContain("| **NAT gateway** | **$0.045 per gateway-hour** | **1 gateway × 730 h = $32.85** | **1 gateway × 730 h = $32.85** | **2 gateways × 730 h = $65.70** | `network.nat`: `single`, `per-az`; `network.azCount` |");
    expect(page).toContain("| **RDS PostgreSQL instance** | **in each cell** | **1 db.t4g.micro × 730 h at $0.016 per instance-hour = $11.68** |");
    expect(page).toContain("| Application Load Balancer | $0.0225 per ALB-hour | 1 load balancer × 730 h = $16.43 | 1 load balancer × 730 h = $16.43 | 1 load balancer × 730 h = $16.43 | |");
    expect(page).toContain("| **Total** | | **$85.92** | **$106.61** | **$259.89** | |");
    expect(page).toContain("| Route 53 hosted zone | $0.50 per zone-month | 1 zone = $0.50 | |");
    expect(page).toContain(`confirmed ${PRICE_TABLE.date}`);
    expect(page).toContain("- NAT gateway data processed: $0.045 per GB processed (`dev`, `staging`, `prod`)");
  });

  it("the pull-request comment starts with the change per scope, and keeps text read from the base file inert", () => {
    const body = commentBody({
      summaries: [{ name: "prod", text: "### caja plan: prod\n\nNo changes.\n" }],
      administered: [],
      cost: { since: "origin/main", changes: ["prod: −$36.50/month ($259.89 → $223.39): network.nat per-az → single", "dev: <img src=x> @team [link](http://x)"] },
    });
    expect(body.split("\n").slice(0, 8)).toEqual([
      COMMENT_MARKER,
      "## caja plan",
      "",
      "### Monthly estimate (against origin/main)",
      "",
      "- prod: −$36.50/month ($259.89 → $223.39): network.nat per-az → single",
      "- dev: &lt;img src=x&gt; @\u200bteam \\[link\\](http://x)",
      "",
    ]);
    expect(commentBody({ summaries: [], administered: [], cost: { since: "origin/main", unavailable: "cannot read out/docs/cost.json at origin/main" } })).toContain("No comparison: cannot read out/docs/cost.json at origin/main");
  });
});

describe("caja cost", () => {
  const project = () => {
    const dir = repoTempDir("cost-");
    writeFileSync(join(dir, "caja.config.mjs"), `export default ${JSON.stringify(baseConfig())};\n`);
    return dir;
  };
  const caja = (dir: string, ...args: string[]) => spawnSync(process.execPath, [CAJA_BIN, ...args], { cwd: dir, encoding: "utf8" });
  /** A git repository whose one commit has the base config and what it compiles to. */
  const committedProject = () => {
    const dir = project();
    const git = (...args: string[]) => spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: dir, encoding: "utf8" });
    git("init", "-q");
    expect(caja(dir, "compile").status).toBe(0);
    git("add", "-A");
    git("commit", "-qm", "base");
    return dir;
  };

  it("prints one scope's lines and total, the same numbers as JSON, and refuses an unknown scope", () => {
    const dir = project();
    const text = caja(dir, "cost", "prod");
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^prod: \$259\.89 a month$/m);
    expect(text.stdout).toMatch(/^ {2}NAT gateway +2 gateways × 730 h +\$0\.045 per gateway-hour +\$65\.70 {2}network\.nat=per-az, network\.azCount=2$/m);
    const json = JSON.parse(caja(dir, "cost", "--format", "json").stdout) as Estimate;
    expect(json.scopes.map((s) => s.total)).toEqual([0.5, 85.92, 106.61, 259.89]);
    const unknown = caja(dir, "cost", "qa");
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no scope "qa": the config has global, dev, staging, prod');
  });

  it("--since REF compares with the estimate committed at REF", () => {
    const dir = committedProject();
    expect(caja(dir, "cost", "--since", "HEAD").stdout.trim()).toBe("No change to the monthly estimate since HEAD.");
    writeFileSync(join(dir, "caja.config.mjs"), `export default ${JSON.stringify(withEnv("prod", { network: { nat: "single" } }))};\n`);
    expect(caja(dir, "cost", "--since", "HEAD").stdout.trim()).toBe("prod: −$36.50/month ($259.89 → $223.39): network.nat per-az → single; NAT gateway 2 → 1; Public IPv4 address (Elastic IP) 2 → 1");
    const missing = caja(dir, "cost", "--since", "HEAD", "--out", "elsewhere");
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("cannot read elsewhere/docs/cost.json at HEAD");
  });

  it("caja ci comment --cost-since puts the change at the top of the pull-request comment, or says why it cannot", async () => {
    const dir = committedProject();
    writeFileSync(join(dir, "caja.config.mjs"), `export default ${JSON.stringify(withEnv("prod", { network: { nat: "single" } }))};\n`);
    const posted: string[] = [];
    const fakeGitHub: Fetch = async (_url, init) => {
      if (init.method === "POST") posted.push((JSON.parse(init.body!) as { body: string }).body);
      return { ok: true, status: 200, json: async () => (init.method === "GET" ? [] : { id: 1 }), text: async () => "" };
    };
    const io = { out: () => {}, err: () => {}, cwd: dir };
    const saved = { token: process.env.GITHUB_TOKEN, repository: process.env.GITHUB_REPOSITORY };
    Object.assign(process.env, { GITHUB_TOKEN: "t", GITHUB_REPOSITORY: "o/r" });
    try {
      for (const since of ["HEAD", "no-such-ref"]) expect(await ci(["comment", "--pr", "7", "--summaries", "plans", "--scopes", "prod", "--cost-since", since], io, fakeGitHub)).toBe(0);
    } finally {
      for (const [k, v] of [["GITHUB_TOKEN", saved.token], ["GITHUB_REPOSITORY", saved.repository]] as const) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    expect(posted[0]!.split("\n").slice(3, 6)).toEqual([
      "### Monthly estimate (against HEAD)",
      "",
      "- prod: −$36.50/month ($259.89 → $223.39): network.nat per-az → single; NAT gateway 2 → 1; Public IPv4 address (Elastic IP) 2 → 1",
    ]);
    expect(posted[1]).toMatch(/^No comparison: cannot read out\/docs\/cost\.json at no-such-ref: /m);
  });
});
