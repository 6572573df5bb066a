import { describe, expect, it } from "vitest";
import { defineModule, expr, NAME_RULES, BOOTSTRAP, DOMAIN, MODULES, type Contract, type ModuleDef } from "@caja/modules";
import { ConfigIssuesError } from "../packages/compiler/src/errors.js";
import type { PhaseDef } from "../packages/compiler/src/phases.js";
import { baseConfig, compileWith, configWith, fileJson, rootJson, testJson } from "./helpers.js";

function phase(id: string, number: number, scope: "global" | "env", modules: ModuleDef[]): PhaseDef {
  return {
    id, number, dir: `${String(number * 10).padStart(2, "0")}-${id}`, title: id, scope, modules, manualSteps: [], exitCriteria: "",
    ...(id === "bootstrap" ? { ownsStateBucket: true } : {}),
  };
}

const A: Contract<"x", "env"> = { id: "a", title: "a", scope: "env", outputs: ["x"] };
const B: Contract<"y", "env"> = { id: "b", title: "b", scope: "env", outputs: ["y"] };

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigIssuesError) return e.issues.map((i) => i.message);
    throw e;
  }
  throw new Error("expected compile issues");
}

const globalPhases = (): PhaseDef[] => [phase("bootstrap", 0, "global", [MODULES.bootstrap]), phase("domain", 1, "global", [MODULES.domain])];

describe("cross-root wiring is derived from references", () => {
  it("reads a cloud-assigned value through an output in the producer and a remote-state read in the consumer", () => {
    const c = compileWith();
    const domain = rootJson(c, "global/10-domain");
    const bootstrap = rootJson(c, "global/00-bootstrap");
    expect(bootstrap.output.hosted_zone_id.value).toBe("${aws_route53_zone.root.zone_id}");
    expect(domain.data.terraform_remote_state.bootstrap).toEqual({
      backend: "local",
      config: { path: "${path.module}/../../global/00-bootstrap/terraform.tfstate" },
    });
    expect(domain.resource.aws_route53_record.frontend_validation.zone_id).toBe("${data.terraform_remote_state.bootstrap.outputs.hosted_zone_id}");
    // The generated test overrides that read with the producer's example output.
    expect(testJson(c, "global/10-domain").override_data).toEqual([
      { target: "data.terraform_remote_state.bootstrap", values: { outputs: { hosted_zone_id: "Z0123456789ABCDEFGHIJ" } } },
    ]);
  });

  it("writes a value known at compile time as a literal, with no remote-state read", () => {
    const c = compileWith(configWith({ domain: { root: "dbash.dev", namespace: "caja", hostedZoneId: "Z0ABCDEF12345" } }));
    const domain = rootJson(c, "global/10-domain");
    expect(domain.data).toBeUndefined();
    expect(domain.resource.aws_route53_record.api_validation.zone_id).toBe("Z0ABCDEF12345");
    expect(rootJson(c, "global/00-bootstrap").import).toEqual([{ id: "Z0ABCDEF12345", to: "aws_route53_zone.root" }]);
    // Still ordered after the producer: the zone must exist before records go into it.
    const manifest = fileJson(c, "manifest.json");
    expect(manifest.roots.find((r: any) => r.id === "global/10-domain").dependsOn).toContainEqual({ root: "global/00-bootstrap", reason: "reads", outputs: ["hosted_zone_id"] });
  });

  it("reads remote state from the bucket once the state is migrated", () => {
    const c = compileWith(configWith({ state: { bootstrapped: true } }));
    expect(rootJson(c, "global/00-bootstrap").terraform.backend).toEqual({
      s3: { bucket: "caja-terraform-state", key: "global/bootstrap/terraform.tfstate", region: "us-east-1", encrypt: true, dynamodb_table: "caja-terraform-locks" },
    });
    expect(rootJson(c, "global/10-domain").data.terraform_remote_state.bootstrap).toEqual({
      backend: "s3",
      config: { bucket: "caja-terraform-state", key: "global/bootstrap/terraform.tfstate", region: "us-east-1" },
    });
  });

  it("reads within one root as a plain reference", () => {
    const a = defineModule(A, (ctx) => {
      const r = ctx.root.resource("aws_sns_topic", "t", { name: ctx.name("t", NAME_RULES.snsTopic) });
      ctx.root.output("x", { value: r.attr("arn"), description: "x", example: "arn:aws:sns:us-east-1:123456789012:t" });
    });
    const b = defineModule(B, (ctx) => {
      ctx.root.output("y", { value: ctx.read(A, "x"), description: "y", example: "arn" });
    });
    const c = compileWith(baseConfig(), { phases: [...globalPhases(), phase("one", 2, "env", [a, b])] });
    expect(rootJson(c, "dev/20-one").output.y.value).toBe("${aws_sns_topic.t.arn}");
    expect(rootJson(c, "dev/20-one").data).toBeUndefined();
  });
});

describe("dependency errors name the route", () => {
  it("reports a read of a later phase", () => {
    const a = defineModule(A, (ctx) => ctx.root.output("x", { value: ctx.read(B, "y"), description: "", example: 1 }));
    const b = defineModule(B, (ctx) => ctx.root.output("y", { value: expr("1"), description: "", example: 1 }));
    const msgs = issuesOf(() => compileWith(baseConfig(), { phases: [...globalPhases(), phase("early", 2, "env", [a]), phase("late", 3, "env", [b])] }));
    expect(msgs).toContain("dev/20-early (phase 2) reads y from dev/30-late (phase 3), which applies after it: dev/20-early => dev/30-late");
  });

  it("reports a cycle with every root on it", () => {
    const a = defineModule(A, (ctx) => ctx.root.output("x", { value: ctx.read(B, "y"), description: "", example: 1 }));
    const b = defineModule(B, (ctx) => ctx.root.output("y", { value: ctx.read(A, "x"), description: "", example: 1 }));
    const msgs = issuesOf(() => compileWith(baseConfig(), { phases: [...globalPhases(), phase("p", 2, "env", [a]), phase("q", 2.5, "env", [b])] }));
    expect(msgs).toContain("dependency cycle between roots: dev/20-p => dev/25-q => dev/20-p");
  });

  it("reports two resources that would get the same name", () => {
    const a = defineModule(A, (ctx) => {
      ctx.root.resource("aws_sns_topic", "t1", { name: ctx.name("alarms", NAME_RULES.snsTopic) });
      ctx.root.resource("aws_sns_topic", "t2", { name: ctx.name("alarms", NAME_RULES.snsTopic) });
      ctx.root.output("x", { value: 1, description: "", example: 1 });
    });
    const b = defineModule(B, (ctx) => {
      ctx.root.resource("aws_sns_topic", "t", { name: ctx.name("alarms", NAME_RULES.snsTopic) });
      ctx.root.output("y", { value: 1, description: "", example: 1 });
    });
    const msgs = issuesOf(() => compileWith(baseConfig(), { phases: [...globalPhases(), phase("p", 2, "env", [a]), phase("q", 3, "env", [b])] }));
    expect(msgs).toContain('two aws_sns_topic resources would both be named "caja-dev-alarms" (dev/20-p alarms and dev/30-q alarms); rename one or change naming.pattern');
  });
});

describe("the manifest", () => {
  it("lists every root in apply order with its dependencies", () => {
    const a = defineModule(A, (ctx) => ctx.root.output("x", { value: ctx.read(DOMAIN, "api_certificate_arn"), description: "", example: "arn" }));
    const c = compileWith(baseConfig(), { phases: [...globalPhases(), phase("p", 2, "env", [a])] });
    const m = fileJson(c, "manifest.json");
    expect(m.roots.map((r: any) => r.id)).toEqual(["global/00-bootstrap", "global/10-domain", "dev/20-p", "staging/20-p", "prod/20-p"]);
    expect(m.roots[2]).toMatchObject({
      phase: "p",
      backend: { type: "s3", key: "env/dev/p/terraform.tfstate" },
      dependsOn: [
        { root: "global/00-bootstrap", reason: "state-backend", outputs: [] },
        { root: "global/10-domain", reason: "reads", outputs: ["api_certificate_arn"] },
      ],
    });
    expect(m.roots[0].backend).toEqual({ type: "local", path: "terraform.tfstate" });
    expect(m.files).toContain("dev/20-p/main.tf.json");
    expect(m.files).toContain("manifest.json");
  });

  it("orders a dependency before its dependents even against phase numbers of other scopes", () => {
    const c = compileWith();
    const ids = fileJson(c, "manifest.json").roots.map((r: any) => r.id);
    expect(ids.indexOf("global/00-bootstrap")).toBeLessThan(ids.indexOf("global/10-domain"));
  });
});

describe("the bootstrap and domain contracts", () => {
  it("exports exactly the outputs the plan names", () => {
    const c = compileWith();
    expect(Object.keys(rootJson(c, "global/00-bootstrap").output).sort()).toEqual([...BOOTSTRAP.outputs].sort());
    expect(Object.keys(rootJson(c, "global/10-domain").output).sort()).toEqual([...DOMAIN.outputs].sort());
  });
});
