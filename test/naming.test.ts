import { describe, expect, it } from "vitest";
import { fitName, NAME_RULES, resourceName, shortHash } from "@caja/modules";
import { compileWith, configWith } from "./helpers.js";

describe("resource names", () => {
  it("follow {project}-{env}-{component}", () => {
    expect(resourceName({ pattern: "{project}-{env}-{component}", project: "caja", env: "dev" }, "alb", NAME_RULES.alb)).toBe("caja-dev-alb");
  });

  it("are shortened with a stable hash suffix when over the AWS limit", () => {
    const long = resourceName({ pattern: "{project}-{env}-{component}", project: "platform-payments", env: "production-eu" }, "alb", NAME_RULES.alb);
    expect(long).toBe("platform-payments-product-hrqz6n");
    expect(long.length).toBeLessThanOrEqual(32);
    expect(resourceName({ pattern: "{project}-{env}-{component}", project: "platform-payments", env: "production-eu" }, "alb", NAME_RULES.alb)).toBe(long);
  });

  it("keep two long names apart when only their tails differ", () => {
    const a = fitName("platform-payments-production-eu-api-blue", NAME_RULES.targetGroup);
    const b = fitName("platform-payments-production-eu-api-green", NAME_RULES.targetGroup);
    expect(a).not.toBe(b);
    expect(shortHash("x")).toMatch(/^[0-9a-z]{6}$/);
  });

  it("fold case and drop characters where AWS requires it", () => {
    expect(fitName("Caja_Dev.Web", NAME_RULES.s3Bucket)).toBe("caja-dev-web");
    expect(fitName("a--b-", NAME_RULES.rds)).toBe("a-b");
  });

  it("stay within every limit for a long project and long environment names across all roots", () => {
    const c = compileWith(configWith({ project: "platform-payments-eu", environments: { "production-eu-west": { tier: "prod" }, "development-eu-west": {} } }));
    const limits: Record<string, [string, number]> = {
      aws_lb: ["name", 32], aws_lb_target_group: ["name", 32], aws_db_instance: ["identifier", 63], aws_iam_role: ["name", 64], aws_s3_bucket: ["bucket", 63],
    };
    let checked = 0;
    for (const f of c.files.filter((f) => f.path.endsWith("main.tf.json"))) {
      const doc = JSON.parse(f.content);
      for (const [type, [attr, max]] of Object.entries(limits)) {
        for (const body of Object.values<any>(doc.resource?.[type] ?? {})) {
          if (typeof body[attr] !== "string" || body[attr].includes("${")) continue;
          expect(body[attr].length, `${f.path} ${type} ${body[attr]}`).toBeLessThanOrEqual(max);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(10);
  });
});
