/**
 * `caja check` as users run it: the gate over a project's config, findings at their config lines,
 * SARIF for code scanning, exit 1 on anything blocking, and nothing written under out/.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BY_DESIGN_SUPPRESSIONS, CAJA_BIN, repoTempDir } from "./helpers.js";
import { describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("..", import.meta.url));
const bin = CAJA_BIN;

const SUPPRESSIONS = `[
${BY_DESIGN_SUPPRESSIONS.map((x) => `      ${JSON.stringify(x)},`).join("\n")}
      EXTRA
    ]`;

function configSource({ prod = "{}", extra = "" }: { prod?: string; extra?: string } = {}): string {
  return `import { defineConfig } from "caja";

export default defineConfig({
  project: "caja",
  tags: { Owner: "platform-engineering", Confidentiality: "internal", CostCenter: "events-eng" },
  domain: { root: "dbash.dev", namespace: "caja" },
  github: { repository: "dbash/caja" },
  policy: {
    suppressions: ${SUPPRESSIONS.replace("EXTRA", extra)},
  },
  defaults: { alarms: { emails: ["oncall@dbash.dev"] } },
  environments: {
    dev: {},
    prod: ${prod},
  },
});
`;
}

function project(source: string): string {
  const dir = repoTempDir("check-");
  writeFileSync(join(dir, "caja.config.ts"), source);
  return dir;
}

function caja(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** 1-based line of the first line containing `text`. */
function lineOf(source: string, text: string): number {
  return source.split("\n").findIndex((l) => l.includes(text)) + 1;
}

describe("caja check", () => {
  it("passes with the by-design findings suppressed, printing warnings at their config lines", () => {
    const source = configSource();
    const dir = project(source);
    const r = caja(dir, "check");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`warning: caja.config.ts:${lineOf(source, "dev: {}")}:5  environments.dev  [alb-access-logs] dev/50-service aws_lb.main: requests to the load balancer are not logged. Fix:`);
    expect(r.stdout).toMatch(/^caja: 0 blocking, 4 warnings, 12 suppressed \(\d+ rules over 20 roots\) in \d+ ms$/m);
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("fails on a blocking finding, located at the field that causes it", () => {
    const source = configSource({ prod: "{ db: { deletionProtection: false } }" });
    const dir = project(source);
    const r = caja(dir, "check");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `caja.config.ts:${lineOf(source, "deletionProtection")}:19  environments.prod.db.deletionProtection  [rds-deletion-protection] prod/30-persistence aws_db_instance.main: deletion_protection is false: a destroy or replacement would delete the production database. Fix: Set db.deletionProtection to true for the prod environment (its tier default).`,
    );
    expect(r.stdout).toMatch(/^caja: 1 blocking, /m);
  });

  it("fails on an expired suppression, at its expiry", () => {
    const source = configSource({ extra: `{ rule: "alb-access-logs", resource: "aws_lb.main", reason: "log bucket pending", expires: "2020-01-31" },` });
    const dir = project(source);
    const r = caja(dir, "check");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`caja.config.ts:${lineOf(source, "2020-01-31")}:`);
    expect(r.stdout).toContain("policy.suppressions[6].expires  the suppression of alb-access-logs on aws_lb.main expired on 2020-01-31");
  });

  it("writes SARIF 2.1.0 for code scanning, with the same exit code", () => {
    const source = configSource({ prod: "{ db: { deletionProtection: false } }" });
    const dir = project(source);
    const r = caja(dir, "check", "--format", "sarif", "--output", "reports/caja.sarif");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^caja: 1 blocking, /m);
    const sarif = JSON.parse(readFileSync(join(dir, "reports/caja.sarif"), "utf8"));
    expect(sarif.version).toBe("2.1.0");
    const run = sarif.runs[0];
    expect(run.tool.driver.name).toBe("caja");
    const error = run.results.find((x: any) => x.level === "error" && !x.suppressions);
    expect(error).toMatchObject({
      ruleId: "rds-deletion-protection",
      locations: [{ physicalLocation: { artifactLocation: { uri: "caja.config.ts" }, region: { startLine: lineOf(source, "deletionProtection"), startColumn: 19 } } }],
      relatedLocations: [{ physicalLocation: { artifactLocation: { uri: "out/prod/30-persistence/main.tf.json" }, region: { startLine: expect.any(Number) } } }],
    });
    const suppressed = run.results.filter((x: any) => x.suppressions);
    expect(suppressed.length).toBe(12);
    expect(suppressed.every((x: any) => x.suppressions[0].location.physicalLocation.region.startLine > 1)).toBe(true);
  });

  it("explains a usage error", () => {
    const r = caja(repo, "check", "--format", "xml");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--format expects text or sarif, got "xml"');
    expect(caja(repo, "--help").stdout).toMatch(/^\s+check\s+run the security gate/m);
  });
});
