/**
 * Generators for the fuzz suites: valid configs (every field in range and consistent with the
 * others, the by-design findings suppressed, so the compile and the gate accept them), and
 * mutations that break one thing each, with the config path the rejection must name.
 */
import fc from "fast-check";
import type { CajaConfigInput } from "@caja/dsl/schema";
import { AWS_REGIONS, FARGATE_SIZES, LOG_RETENTION_DAYS, RDS_INSTANCE_CLASSES } from "../packages/dsl/src/aws-values.js";
import { isTodo, todo } from "@caja/dsl";

export { BY_DESIGN_SUPPRESSIONS } from "./helpers.js";
import { BY_DESIGN_SUPPRESSIONS } from "./helpers.js";

const TIER_NAMES = new Set(["dev", "staging", "prod"]);

/** `[a-z]`, then letters, digits and single hyphens, not ending in one: valid and stable under name fitting. */
function label(max: number): fc.Arbitrary<string> {
  // Short names and names at the limit alike: the long ones are what AWS name limits bite on.
  return fc
    .oneof(fc.stringMatching(/^[a-z][a-z0-9]{0,8}(?:-[a-z0-9]{1,6}){0,2}$/), fc.stringMatching(/^[a-z][a-z0-9]{14,30}(?:-[a-z0-9]{1,8}){0,3}$/))
    .map((s) => s.slice(0, max).replace(/-+$/, ""));
}

const domainRoot = fc.tuple(fc.array(fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/), { minLength: 1, maxLength: 2 }), fc.stringMatching(/^[a-z]{2,6}$/)).map(([labels, tld]) => [...labels, tld].join("."));
const email = fc.tuple(fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}[a-z0-9]$/), domainRoot).map(([local, domain]) => `${local}@${domain}`).filter((e) => !/\.\.|\.@|[._-]@|@\./.test(e));

interface EnvShape {
  readonly name: string;
  readonly prod: boolean;
}

function environmentSettings(env: EnvShape, cidrIndex: number | undefined): fc.Arbitrary<Record<string, unknown>> {
  const service = fc.option(
    fc
      .record({
        sizes: fc.constantFrom(...Object.keys(FARGATE_SIZES).map(Number)).chain((cpu) => fc.constantFrom(...FARGATE_SIZES[cpu]!).map((memory) => ({ cpu, memory }))),
        scaling: fc.integer({ min: 0, max: 6 }).chain((min) => fc.integer({ min: Math.max(min, 1), max: 12 }).chain((max) => fc.integer({ min, max }).map((desired) => ({ min, max, desired })))),
        port: fc.integer({ min: 1024, max: 65535 }),
        imageTag: fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}$/),
        targets: fc.record({ cpuTarget: fc.integer({ min: 10, max: 95 }), memoryTarget: fc.integer({ min: 10, max: 95 }) }),
      })
      .map(({ sizes, scaling, port, imageTag, targets }) => ({
        ...sizes,
        port,
        imageTag,
        desiredCount: scaling.desired,
        autoscaling: { min: scaling.min, max: scaling.max, ...targets },
      })),
    { nil: undefined },
  );
  const db = fc.option(
    fc
      .record({
        instanceClass: fc.constantFrom(...RDS_INSTANCE_CLASSES),
        allocatedStorage: fc.integer({ min: 20, max: 2000 }),
        extra: fc.integer({ min: 0, max: 5000 }),
        backupRetentionDays: fc.integer({ min: 2, max: 35 }),
        multiAz: fc.boolean(),
        deletionProtection: fc.boolean(),
      })
      .map(({ extra, ...d }) => ({ ...d, maxAllocatedStorage: d.allocatedStorage + extra, ...(env.prod ? { multiAz: true, deletionProtection: true } : {}) })),
    { nil: undefined },
  );
  const network = fc.record({ azCount: fc.integer({ min: 2, max: 4 }), nat: fc.constantFrom("single", "per-az") }).map((n) => ({ ...n, ...(cidrIndex !== undefined ? { cidr: `10.${cidrIndex}.0.0/16` } : {}) }));
  return fc
    .record({
      service,
      db,
      network: fc.option(network, { nil: undefined }),
      logs: fc.option(fc.record({ retentionDays: fc.constantFrom(...LOG_RETENTION_DAYS) }), { nil: undefined }),
      alb: fc.option(fc.record({ deletionProtection: env.prod ? fc.constant(true) : fc.boolean() }), { nil: undefined }),
      alarms: fc.option(fc.record({ ecsCpu: fc.record({ threshold: fc.integer({ min: 1, max: 100 }), periodSeconds: fc.integer({ min: 1, max: 10 }).map((m) => m * 60), evaluationPeriods: fc.integer({ min: 1, max: 5 }) }) }), { nil: undefined }),
    })
    .map((s) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(s)) if (v !== undefined) out[k] = v;
      // A network block without a CIDR still needs the explicit ones to stay apart: keep it whole.
      if (cidrIndex !== undefined) out.network = { ...(out.network as object), cidr: `10.${cidrIndex}.0.0/16` };
      return out;
    });
}

/** Long-enough names to hit AWS limits, short ones too; names avoid `--` so two never fit to the same. */
export const projectName = label(24).filter((p) => p.length >= 2);
export const envName = label(24);

/** A valid config: 1-`maxEnvs` environments, at most one of tier prod. */
export function validConfig({ maxEnvs = 3 }: { maxEnvs?: number } = {}): fc.Arbitrary<CajaConfigInput> {
  return fc
    .record({
      project: projectName,
      region: fc.constantFrom(...AWS_REGIONS),
      accountId: fc.option(fc.stringMatching(/^\d{12}$/), { nil: undefined }),
      owner: fc.stringMatching(/^[a-z][a-z-]{0,20}$/),
      confidentiality: fc.constantFrom("public", "internal", "confidential", "restricted"),
      names: fc.uniqueArray(envName, { minLength: 1, maxLength: maxEnvs }),
      prodIndex: fc.integer({ min: -1, max: maxEnvs - 1 }),
      explicitCidrs: fc.boolean(),
      root: domainRoot,
      namespace: fc.option(label(12), { nil: undefined }),
      envSubdomains: fc.boolean(),
      repository: fc.oneof(fc.constant("dbash/caja"), fc.stringMatching(/^[a-z](?:-?[a-z0-9]){0,10}\/[a-z][a-z0-9._-]{0,10}$/).filter((r) => !r.endsWith(".git")), fc.constant(null)),
      // At least one: alarms that notify nobody block a prod-tier environment (alarm-topic-subscribed).
      emails: fc.array(email, { minLength: 1, maxLength: 3 }),
      locking: fc.constantFrom("dynamodb", "s3"),
      bootstrapped: fc.boolean(),
    })
    .chain((c) => {
      // Tier prod: the one env named prod, else at most the one chosen.
      const named = c.names.findIndex((n) => n === "prod");
      const prodAt = named >= 0 ? named : c.prodIndex < c.names.length ? c.prodIndex : -1;
      const envs: EnvShape[] = c.names.map((name, i) => ({ name, prod: i === prodAt }));
      const cidrs = c.explicitCidrs ? envs.map((_e, i) => 50 + i) : envs.map(() => undefined);
      return fc.tuple(...envs.map((e, i) => environmentSettings(e, cidrs[i]))).map((settings) => {
        const environments: Record<string, Record<string, unknown>> = {};
        envs.forEach((e, i) => {
          const tier = e.prod ? (e.name === "prod" ? {} : { tier: "prod" }) : TIER_NAMES.has(e.name) && e.name !== "prod" ? {} : { tier: "dev" as const };
          environments[e.name] = { ...tier, ...settings[i] };
        });
        return {
          project: c.project,
          region: c.region,
          ...(c.accountId ? { accountId: c.accountId } : {}),
          tags: { Owner: c.owner, Confidentiality: c.confidentiality, CostCenter: "fuzz" },
          state: { locking: c.locking, bootstrapped: c.bootstrapped },
          // Some environment must get a host: the prod one, or one with its own subdomain.
          domain: { root: c.root, ...(c.namespace ? { namespace: c.namespace } : {}), envSubdomains: c.envSubdomains || prodAt < 0 },
          github: { repository: c.repository ?? todo("repository not named yet") },
          policy: { suppressions: BY_DESIGN_SUPPRESSIONS.map((x) => ({ ...x })) },
          defaults: { alarms: { emails: c.emails } },
          environments,
        } as CajaConfigInput;
      });
    });
}

// -----------------------------------------------------------------------------------------------
// Mutations: each breaks one thing and says where the rejection must point.

export interface Mutated {
  readonly what: string;
  readonly config: Record<string, any>;
  /** The config path the rejection must name (or a path under it). */
  readonly path: string;
}

type Mutation = (config: Record<string, any>, pick: (n: number) => number) => Mutated | undefined;

/** A deep copy that keeps todo() markers (structured clone would drop their symbol key). */
function clone<T>(value: T): T {
  if (typeof value !== "object" || value === null || isTodo(value)) return value;
  if (Array.isArray(value)) return value.map(clone) as T;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)])) as T;
}
const envNames = (c: Record<string, any>) => Object.keys(c.environments as object);
const anEnv = (c: Record<string, any>, pick: (n: number) => number) => envNames(c)[pick(envNames(c).length)]!;
const env = (c: Record<string, any>, name: string) => (c.environments[name] ??= {}) as Record<string, any>;
const at = (name: string, ...rest: string[]) => ["environments", name, ...rest].join(".");
const choose = <T>(list: readonly T[], pick: (n: number) => number): T => list[pick(list.length)]!;

export const MUTATIONS: Readonly<Record<string, Mutation>> = {
  "wrong type": (c, pick) => {
    const m = clone(c);
    const e = anEnv(m, pick);
    const cases: [string, () => void][] = [
      ["project", () => (m.project = 42)],
      ["region", () => (m.region = ["us-east-1"])],
      ["tags.Owner", () => (m.tags.Owner = 7)],
      ["domain", () => (m.domain = "dbash.dev")],
      ["github.repository", () => (m.github.repository = 123)],
      [at(e, "service", "desiredCount"), () => (env(m, e).service = { ...env(m, e).service, desiredCount: "3" })],
      [at(e, "db", "multiAz"), () => (env(m, e).db = { ...env(m, e).db, multiAz: "yes" })],
      [at(e, "network"), () => (env(m, e).network = true)],
      ["defaults.alarms.emails", () => (m.defaults.alarms.emails = "ops@example.com")],
      ["policy.suppressions", () => (m.policy.suppressions = { rule: "alb-internal" })],
      ["environments", () => (m.environments = [])],
    ];
    const [path, apply] = choose(cases, pick);
    apply();
    return { what: `wrong type at ${path}`, config: m, path };
  },
  "out of range": (c, pick) => {
    const m = clone(c);
    const e = anEnv(m, pick);
    const cases: [string, string, string, number][] = [
      ["service", "port", at(e, "service", "port"), choose([0, 65536, 1.5], pick)],
      ["db", "backupRetentionDays", at(e, "db", "backupRetentionDays"), choose([0, 36, 7.5], pick)],
      ["network", "azCount", at(e, "network", "azCount"), choose([1, 7], pick)],
      ["db", "allocatedStorage", at(e, "db", "allocatedStorage"), choose([10, 70000], pick)],
      ["logs", "retentionDays", at(e, "logs", "retentionDays"), choose([0, 45, 10000], pick)],
    ];
    const [block, field, path, value] = choose(cases, pick);
    const own = env(m, e);
    own[block] = { ...own[block], [field]: value };
    return { what: `${path} = ${value}`, config: m, path };
  },
  "bad CIDR": (c, pick) => {
    const m = clone(c);
    const e = anEnv(m, pick);
    const cidr = choose(["10.0.0.0/8", "300.1.0.0/16", "10.1.2.3/16", "10.1.0.0", "fd00::/16", "", "10.1.0.0/25"], pick);
    env(m, e).network = { ...env(m, e).network, cidr };
    return { what: `cidr ${JSON.stringify(cidr)}`, config: m, path: at(e, "network", "cidr") };
  },
  "overlapping CIDRs": (c, pick) => {
    const names = envNames(c);
    if (names.length < 2) return undefined;
    const m = clone(c);
    const first = pick(names.length);
    const second = (first + 1 + pick(names.length - 1)) % names.length;
    for (const n of names) env(m, n).network = { ...env(m, n).network, cidr: `10.${200 + names.indexOf(n)}.0.0/16` };
    env(m, names[first]!).network.cidr = "10.77.0.0/16";
    env(m, names[second]!).network.cidr = choose(["10.77.0.0/16", "10.77.128.0/17", "10.77.4.0/24"], pick);
    // The later environment of the two is the one that overlaps an earlier one.
    const later = names[Math.max(first, second)]!;
    return { what: `overlapping CIDRs in ${names[first]} and ${names[second]}`, config: m, path: at(later, "network", "cidr") };
  },
  "bad email": (c, pick) => {
    const m = clone(c);
    const bad = choose(["ops@", "@example.com", "not-an-email", "ops@@example.com", "ops @example.com"], pick);
    m.defaults.alarms.emails = [...(m.defaults.alarms.emails as string[]), bad];
    return { what: `email ${bad}`, config: m, path: `defaults.alarms.emails[${m.defaults.alarms.emails.length - 1}]` };
  },
  "bad domain name": (c, pick) => {
    const m = clone(c);
    m.domain.root = choose(["Dbash.dev", "-x.dev", "x..dev", "localhost", "dbash.dev.", "x.d3v", "exa mple.com"], pick);
    return { what: `domain ${m.domain.root}`, config: m, path: "domain.root" };
  },
  "unknown environment in a list": (c, pick) => {
    const m = clone(c);
    const typo = `${choose(envNames(m), pick)}x`;
    m.domain.environments = [typo];
    return { what: `domain.environments lists ${typo}`, config: m, path: "domain.environments[0]" };
  },
  "duplicate hostnames": (c, pick) => {
    const m = clone(c);
    const name = choose(envNames(m), pick);
    m.domain.environments = [name, name];
    return { what: `domain.environments lists ${name} twice`, config: m, path: "domain.environments" };
  },
  "name over the AWS limit": (c, pick) => {
    const m = clone(c);
    const kind = pick(3);
    if (kind === 0) {
      m.project = `${m.project}${"x".repeat(25)}`.slice(0, 30);
      return { what: "project over 24 characters", config: m, path: "project" };
    }
    if (kind === 1) {
      m.state.bucket = `${"b".repeat(64)}`;
      return { what: "state bucket over 63 characters", config: m, path: "state.bucket" };
    }
    const long = `e${"n".repeat(24)}`;
    m.environments[long] = {};
    return { what: "environment name over 24 characters", config: m, path: "environments" };
  },
  "region typo": (c, pick) => {
    const m = clone(c);
    m.region = choose(["us-east1", "eu-west-9", "US-EAST-1", "useast-1", "us-east-1 "], pick);
    return { what: `region ${JSON.stringify(m.region)}`, config: m, path: "region" };
  },
  "negative count": (c, pick) => {
    const m = clone(c);
    const e = anEnv(m, pick);
    if (pick(2) === 0) {
      env(m, e).service = { ...env(m, e).service, desiredCount: -1 - pick(5) };
      return { what: "negative desiredCount", config: m, path: at(e, "service", "desiredCount") };
    }
    env(m, e).service = { ...env(m, e).service, autoscaling: { ...env(m, e).service?.autoscaling, min: -1 } };
    return { what: "negative autoscaling.min", config: m, path: at(e, "service", "autoscaling", "min") };
  },
  "desired above max": (c, pick) => {
    const m = clone(c);
    const e = anEnv(m, pick);
    const max = 1 + pick(5);
    env(m, e).service = { ...env(m, e).service, desiredCount: max + 1 + pick(3), autoscaling: { ...env(m, e).service?.autoscaling, min: 0, max } };
    return { what: "desiredCount above autoscaling.max", config: m, path: at(e, "service", "desiredCount") };
  },
  "memory that does not fit the CPU": (c, pick) => {
    const m = clone(c);
    const e = anEnv(m, pick);
    env(m, e).service = { ...env(m, e).service, cpu: 256, memory: choose([4096, 8192, 30720], pick) };
    return { what: "memory beyond cpu 256", config: m, path: at(e, "service", "memory") };
  },
  "unknown field": (c, pick) => {
    const m = clone(c);
    const e = anEnv(m, pick);
    env(m, e).sevice = {};
    return { what: "misspelt service", config: m, path: at(e) };
  },
  "no environment gets a host": (c) => {
    const m = clone(c);
    for (const n of envNames(m)) env(m, n).tier = "dev";
    m.domain.envSubdomains = false;
    return { what: "no tier prod and no env subdomains", config: m, path: "domain.envSubdomains" };
  },
  "two prod environments": (c) => {
    const names = envNames(c);
    if (names.length < 2) return undefined;
    const m = clone(c);
    for (const n of names) env(m, n).tier = "prod";
    return { what: "every environment tier prod", config: m, path: "environments" };
  },
  "unknown suppression rule": (c, pick) => {
    const m = clone(c);
    m.policy.suppressions = [...m.policy.suppressions, { rule: choose(["alb-internl", "no-such-rule"], pick), resource: "aws_lb.main", reason: "typo" }];
    return { what: "suppression of an unknown rule", config: m, path: `policy.suppressions[${m.policy.suppressions.length - 1}]` };
  },
  "suppression without a reason": (c) => {
    const m = clone(c);
    m.policy.suppressions = [...m.policy.suppressions, { rule: "alb-access-logs", resource: "aws_lb.main", reason: " " }];
    return { what: "suppression with a blank reason", config: m, path: `policy.suppressions[${m.policy.suppressions.length - 1}].reason` };
  },
  "prod database without deletion protection": (c) => {
    const names = envNames(c);
    const prod = names.find((n) => n === "prod" || c.environments[n].tier === "prod");
    if (!prod) return undefined;
    const m = clone(c);
    env(m, prod).db = { ...env(m, prod).db, deletionProtection: false };
    return { what: "prod db deletionProtection false", config: m, path: at(prod, "db", "deletionProtection") };
  },
  "escape-hatch attribute the provider does not have": (c, pick) => {
    const m = clone(c);
    const e = anEnv(m, pick);
    env(m, e).extend = { service: { overrides: { "aws_lb.main": { colour: "blue" } } } };
    return { what: "override with an unknown attribute", config: m, path: `${at(e, "extend", "service", "overrides")}["aws_lb.main"]` };
  },
};
