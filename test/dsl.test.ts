import { describe, expect, it } from "vitest";
import { todo } from "@caja/dsl";
import { validateConfig, type ConfigIssue } from "../packages/compiler/src/validate.js";
import { toDotPath } from "../packages/compiler/src/errors.js";
import { baseConfig } from "./helpers.js";

function resolved(config: unknown = baseConfig()) {
  const v = validateConfig(config);
  if (!v.ok) throw new Error(v.issues.map((i) => `${toDotPath(i.path)}: ${i.message}`).join("\n"));
  return v.config;
}

function issues(config: unknown): { path: string; message: string }[] {
  const v = validateConfig(config);
  if (v.ok) throw new Error("expected the config to be rejected");
  return v.issues.map((i: ConfigIssue) => ({ path: toDotPath(i.path), message: i.message }));
}

function withEnv(name: string, settings: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const c = baseConfig() as any;
  return { ...c, ...extra, environments: { ...c.environments, [name]: settings } };
}

describe("defaults per environment (plan section 14)", () => {
  it("gives dev, staging and prod their cost-aware sizes", () => {
    const { environments: e } = resolved();
    expect([e.dev!.service.desiredCount, e.staging!.service.desiredCount, e.prod!.service.desiredCount]).toEqual([1, 2, 3]);
    expect([e.dev!.db.instanceClass, e.staging!.db.instanceClass, e.prod!.db.instanceClass]).toEqual(["db.t4g.micro", "db.t4g.small", "db.t4g.medium"]);
    expect([e.dev!.db.multiAz, e.staging!.db.multiAz, e.prod!.db.multiAz]).toEqual([false, false, true]);
    expect([e.dev!.network.nat, e.staging!.network.nat, e.prod!.network.nat]).toEqual(["single", "single", "per-az"]);
    expect([e.dev!.logs.retentionDays, e.staging!.logs.retentionDays, e.prod!.logs.retentionDays]).toEqual([30, 60, 90]);
    expect(e.prod!.db.deletionProtection).toBe(true);
    expect(e.dev!.db.deletionProtection).toBe(false);
  });

  it("uses the plan's alarm thresholds and autoscaling targets everywhere", () => {
    const { environments: e } = resolved();
    for (const env of Object.values(e)) {
      expect(env.alarms.alb5xx).toMatchObject({ threshold: 5, periodSeconds: 300 });
      expect(env.alarms.ecsCpu).toMatchObject({ threshold: 80, periodSeconds: 300 });
      expect(env.alarms.ecsMemory).toMatchObject({ threshold: 80, periodSeconds: 300 });
      expect(env.alarms.rdsFreeStoragePercent).toMatchObject({ threshold: 10 });
      expect(env.alarms.rdsCpu).toMatchObject({ threshold: 80, periodSeconds: 600 });
      expect(env.service.autoscaling).toMatchObject({ cpuTarget: 60, memoryTarget: 70, scaleOutCooldownSeconds: 60, scaleInCooldownSeconds: 300 });
    }
  });

  it("layers tier defaults < defaults block < the environment's own settings", () => {
    const c = { ...baseConfig(), defaults: { service: { cpu: 512, memory: 1024 }, alarms: { emails: ["a@b.co"] } }, environments: { dev: { service: { memory: 2048 } }, prod: {} } };
    const { environments: e } = resolved(c);
    expect(e.dev!.service).toMatchObject({ cpu: 512, memory: 2048, desiredCount: 1 });
    expect(e.prod!.service).toMatchObject({ cpu: 512, memory: 1024, desiredCount: 3 });
  });

  it("treats an unknown environment name as tier dev unless a tier is given", () => {
    const { environments: e } = resolved(withEnv("sandbox", {}));
    expect(e.sandbox!.tier).toBe("dev");
    const { environments: f } = resolved({ ...baseConfig(), environments: { live: { tier: "prod" } } });
    expect(f.live!.tier).toBe("prod");
    expect(f.live!.db.multiAz).toBe(true);
  });

  it("gives each environment its own non-overlapping VPC range, stable when another is added", () => {
    const a = resolved().environments;
    const b = resolved(withEnv("qa", {})).environments;
    expect([a.dev!.network.cidr, a.staging!.network.cidr, a.prod!.network.cidr]).toEqual(["10.10.0.0/16", "10.20.0.0/16", "10.30.0.0/16"]);
    expect(b.dev!.network.cidr).toBe(a.dev!.network.cidr);
    expect(new Set(Object.values(b).map((e) => e.network.cidr)).size).toBe(4);
  });

  it("derives the domain's hosts: prod owns the primary ones, listed environments their own", () => {
    const { domain, environments: e } = resolved();
    expect(domain.appDomains).toEqual(["app.caja.dbash.dev", "app.dev.caja.dbash.dev", "app.staging.caja.dbash.dev"]);
    expect(domain.apiDomains[0]).toBe("api.caja.dbash.dev");
    expect(e.prod!.hosts).toEqual({ app: ["app.caja.dbash.dev"], api: ["api.caja.dbash.dev"] });
    expect(e.dev!.hosts.api).toEqual(["api.dev.caja.dbash.dev"]);
    const off = resolved({ ...baseConfig(), domain: { root: "dbash.dev", namespace: "caja", envSubdomains: false } });
    expect(off.domain.appDomains).toEqual(["app.caja.dbash.dev"]);
    expect(off.environments.dev!.hosts.app).toEqual([]);
  });

  it("fills the state backend names from the project and adds the global tags", () => {
    const r = resolved();
    expect(r.state).toEqual({ bucket: "caja-terraform-state", lockTable: "caja-terraform-locks", locking: "dynamodb", bootstrapped: false });
    expect(r.region).toBe("us-east-1");
    expect(r.environments.dev!.tags).toEqual({
      Project: "caja", Environment: "dev", ManagedBy: "terraform", Owner: "platform-engineering", Confidentiality: "internal", CostCenter: "events-eng",
    });
  });
});

describe("bad values are rejected with their path", () => {
  it("suggests the RDS instance class the user probably meant", () => {
    expect(issues(withEnv("prod", { db: { instanceClass: "db.t4g.meduim" } }))).toEqual([
      { path: "environments.prod.db.instanceClass", message: '"db.t4g.meduim" is not an RDS instance class. Did you mean "db.t4g.medium"?' },
    ]);
  });

  it("suggests the field the user probably meant for a misspelt key", () => {
    const c = { ...baseConfig(), regoin: "us-east-1" };
    expect(issues(c)).toEqual([{ path: "", message: 'unknown field "regoin". Did you mean "region"?' }]);
    expect(issues(withEnv("dev", { servce: {} }))[0]).toMatchObject({ path: "environments.dev", message: expect.stringContaining('Did you mean "service"?') });
  });

  it("reports every problem at once", () => {
    const c = { ...baseConfig(), region: "us-est-1", tags: { Owner: "x", Confidentiality: "secret", CostCenter: "y" }, github: { repository: "nope" } };
    const paths = issues(c).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(["region", "tags.Confidentiality", "github.repository"]));
    expect(issues(c).find((i) => i.path === "region")!.message).toContain('Did you mean "us-east-1"?');
  });

  it.each([
    ["a negative desired count", { service: { desiredCount: -1 } }, "environments.dev.service.desiredCount"],
    ["an unsupported log retention", { logs: { retentionDays: 45 } }, "environments.dev.logs.retentionDays"],
    ["a bad CIDR", { network: { cidr: "10.0.0.0/33" } }, "environments.dev.network.cidr"],
    ["a misaligned CIDR", { network: { cidr: "10.0.0.1/16" } }, "environments.dev.network.cidr"],
    ["a bad e-mail", { alarms: { emails: ["not-an-email"] } }, "environments.dev.alarms.emails[0]"],
    ["a non-Fargate CPU", { service: { cpu: 300 } }, "environments.dev.service.cpu"],
    ["a period not in minutes", { alarms: { ecsCpu: { periodSeconds: 90 } } }, "environments.dev.alarms.ecsCpu.periodSeconds"],
    ["a wrong type", { service: { desiredCount: "2" } }, "environments.dev.service.desiredCount"],
  ])("rejects %s", (_what, settings, path) => {
    expect(issues(withEnv("dev", settings)).map((i) => i.path)).toContain(path);
  });

  it("rejects environment names AWS names cannot hold", () => {
    expect(issues({ ...baseConfig(), environments: { Prod: {} } }).map((i) => i.path)).toContain("environments.Prod");
  });

  it("rejects overlapping VPC ranges between environments", () => {
    const c = withEnv("prod", { network: { cidr: "10.10.128.0/20" } });
    expect(issues(c)).toEqual([{ path: "environments.prod.network.cidr", message: expect.stringContaining("overlaps dev's 10.10.0.0/16") }]);
  });

  it("rejects a desired count outside the autoscaling range", () => {
    expect(issues(withEnv("dev", { service: { desiredCount: 5 } }))[0]!.message).toBe("desiredCount (5) is above autoscaling max (2)");
    expect(issues(withEnv("dev", { service: { autoscaling: { min: 4, max: 2 } } }))[0]!.message).toContain("min (4) is above max (2)");
  });

  it("rejects memory that does not fit the Fargate CPU size", () => {
    expect(issues(withEnv("dev", { service: { cpu: 256, memory: 4096 } }))[0]).toMatchObject({ path: "environments.dev.service.memory" });
  });

  it("rejects unknown environments in the domain's list, with a suggestion", () => {
    const c = { ...baseConfig(), domain: { root: "dbash.dev", namespace: "caja", environments: ["dev", "stagin"] } };
    expect(issues(c)).toEqual([{ path: "domain.environments[1]", message: '"stagin" is not a configured environment. Did you mean "staging"?' }]);
  });

  it("rejects two prod-tier environments (they would share the primary hosts)", () => {
    expect(issues(withEnv("live", { tier: "prod" }))[0]).toMatchObject({ path: "environments.live.tier" });
  });

  it("rejects the tags caja sets itself", () => {
    const c = { ...baseConfig(), tags: { Owner: "x", Confidentiality: "internal", CostCenter: "y", Environment: "dev" } };
    expect(issues(c)).toEqual([{ path: "tags.Environment", message: expect.stringContaining("set by caja") }]);
  });

  it("requires at least one environment", () => {
    expect(issues({ ...baseConfig(), environments: {} })[0]!.path).toBe("environments");
  });
});

describe("todo()", () => {
  it("is accepted where the plan leaves a value open, and kept in the resolved config", () => {
    const c = { ...baseConfig(), github: { repository: todo("repo not named yet") }, defaults: { alarms: { emails: todo("not decided") } } };
    const r = resolved(c);
    expect((r.github.repository as { reason: string }).reason).toBe("repo not named yet");
    expect((r.environments.prod!.alarms.emails as { reason: string }).reason).toBe("not decided");
  });

  it("records where it was called", () => {
    const t = todo("x");
    expect(t.site).toMatch(/dsl\.test\.ts:\d+:\d+$/);
  });

  it("is rejected where a value must be decided now", () => {
    expect(issues({ ...baseConfig(), project: todo("later") }).map((i) => i.path)).toEqual(["project"]);
  });

  it("reports the field's own error, not an opaque union error, for a wrong value in a todo-able field", () => {
    expect(issues({ ...baseConfig(), github: { repository: "just-a-name" } })).toEqual([{ path: "github.repository", message: "must be OWNER/REPO, e.g. dbash/caja" }]);
  });
});
