/**
 * The CLI as users run it: the built `caja` binary in a project folder. Fixture projects live
 * under test/.tmp so `import ... from "caja"` resolves to this repository's package.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BY_DESIGN_SUPPRESSIONS, CAJA_BIN, repoTempDir } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const bin = CAJA_BIN;

function fixture(files: Record<string, string>): string {
  const dir = repoTempDir("cli-");
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

function caja(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const GOOD = `import { defineConfig, todo } from "caja";

export default defineConfig({
  project: "caja",
  tags: { Owner: "platform-engineering", Confidentiality: "internal", CostCenter: "events-eng" },
  domain: { root: "dbash.dev", namespace: "caja" },
  github: { repository: "dbash/caja" },
  defaults: {
    alarms: { emails: todo("on-call list not decided") },
  },
  environments: { dev: {}, prod: {} },
  policy: { suppressions: ${JSON.stringify(BY_DESIGN_SUPPRESSIONS)} },
});
`;

describe("caja compile", () => {
  it("writes the roots and reports each TODO with its file:line", () => {
    const dir = fixture({ "caja.config.ts": GOOD });
    const r = caja(dir, "compile");
    expect(r.stderr).toContain("TODO caja.config.ts:9:23  defaults.alarms.emails: on-call list not decided");
    expect(r.stdout).toMatch(/^caja: compiled \d+ roots, \d+ resources into out\/ \(\d+ written, 0 removed, 0 unchanged, 1 TODO\) in \d+ ms\n$/);
    expect(r.code).toBe(0);
    expect(existsSync(join(dir, "out/global/00-bootstrap/main.tf.json"))).toBe(true);
    expect(existsSync(join(dir, "out/manifest.json"))).toBe(true);
  });

  it("lists the security warnings when it writes, prints their count when out/ is already current, and caja check always lists them", () => {
    const dir = fixture({ "caja.config.ts": GOOD });
    const warnings = (text: string) => text.split("\n").filter((l) => l.startsWith("warning: "));
    const COUNT = "caja: 4 security warnings (unchanged); npx caja check lists them";
    const first = caja(dir, "compile");
    expect(first.code, first.stderr).toBe(0);
    expect(warnings(first.stderr)).toHaveLength(4);
    expect(first.stderr).toContain("warning: environments.dev  [alb-access-logs] dev/50-service aws_lb.main: requests to the load balancer are not logged.");
    expect(first.stderr).not.toContain("(unchanged)");
    // The input unchanged: the last output is reused. TODOs are still listed; the warnings are counted.
    const reused = caja(dir, "compile");
    expect(reused.stdout).toMatch(/is up to date/);
    expect(reused.stderr).toBe(`TODO caja.config.ts:9:23  defaults.alarms.emails: on-call list not decided (variable alarm_emails in dev/80-observability, prod/80-observability)\n${COUNT}\n`);
    // A file of out/ touched (same bytes): the pipeline runs again, writes nothing, and counts them too.
    const manifest = join(dir, "out/manifest.json");
    writeFileSync(manifest, readFileSync(manifest));
    const rerun = caja(dir, "compile");
    expect(rerun.stdout).toContain("(nothing changed, 1 TODO)");
    expect(warnings(rerun.stderr)).toEqual([]);
    expect(rerun.stderr).toContain(COUNT);
    const check = caja(dir, "check");
    expect(check.code, check.stderr).toBe(0);
    expect(warnings(check.stdout)).toHaveLength(4);
    // A change that reaches out/ lists them again.
    writeFileSync(join(dir, "caja.config.ts"), GOOD.replace('CostCenter: "events-eng"', 'CostCenter: "sre"'));
    const changed = caja(dir, "compile");
    expect(changed.stdout).toMatch(/\(\d+ written, 0 removed/);
    expect(warnings(changed.stderr)).toEqual(warnings(first.stderr));
  });

  it("accepts the function form, --config and --out", () => {
    const dir = fixture({
      "infra/platform.ts": GOOD.replace("defineConfig({", "defineConfig(async ({ command }) => ({").replace(/\}\);\n$/, "}));\n"),
    });
    const r = caja(dir, "compile", "--config", "infra/platform.ts", "--out", "build/tf");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("into build/tf/");
    expect(existsSync(join(dir, "build/tf/global/10-domain/main.tf.json"))).toBe(true);
  });

  it("prints each config problem at its location, exits 1 and writes nothing", () => {
    const dir = fixture({
      "caja.config.ts": GOOD.replace("environments: { dev: {}, prod: {} },", `environments: {
    dev: {},
    prod: {
      db: { instanceClass: "db.t5.huge" },
      sevice: {},
    },
  },`),
    });
    const r = caja(dir, "compile");
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toContain('caja.config.ts:14:13  environments.prod.db.instanceClass  "db.t5.huge" is not an RDS instance class. Did you mean "db.t3.large"?');
    expect(lines).toContain('caja.config.ts:15:7  environments.prod  unknown field "sevice". Did you mean "service"?');
    expect(lines.at(-1)).toBe("caja: 2 problems in the config; nothing was written.");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("locates a problem in an environment written in another file", () => {
    const dir = fixture({
      "envs/prod.ts": `import { environment } from "caja";\n\nexport const prod = environment({\n  logs: { retentionDays: 45 },\n});\n`,
      "caja.config.ts": GOOD.replace('import { defineConfig, todo } from "caja";', 'import { defineConfig, todo } from "caja";\nimport { prod } from "./envs/prod";').replace("environments: { dev: {}, prod: {} }", "environments: { dev: {}, prod }"),
    });
    const r = caja(dir, "compile");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^envs\/prod\.ts:4:11  environments\.prod\.logs\.retentionDays  45 is not a CloudWatch retention period/m);
  });

  it("reports a syntax error at its file:line:col", () => {
    const dir = fixture({ "caja.config.ts": `import { defineConfig } from "caja";\nexport default defineConfig({\n  project: "caja",,\n});\n` });
    const r = caja(dir, "compile");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^caja: caja\.config\.ts:3:19: Expected identifier but found ","/);
  });

  it("reports a missing import at the line that imports it", () => {
    const dir = fixture({ "caja.config.ts": `import { defineConfig } from "caja";\nimport { x } from "./nope";\nexport default defineConfig(x);\n` });
    const r = caja(dir, "compile");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/caja\.config\.ts:2:19: Could not resolve "\.\/nope"/);
  });

  it("reports an exception thrown by the config at its source line, without a stack trace", () => {
    const dir = fixture({ "caja.config.ts": `import { defineConfig } from "caja";\n\nconst size = (): number => {\n  throw new Error("sizes file missing");\n};\nexport default defineConfig({ project: "caja", n: size() } as never);\n` });
    const r = caja(dir, "compile");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the config threw while loading: sizes file missing \(at .*caja\.config\.ts:4:9\)/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("says when there is no config", () => {
    const dir = fixture({});
    const r = caja(dir, "compile");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no caja.config.ts in");
  });
});

describe("caja compile --check", () => {
  it("passes when out/ is current and lists the stale files when it is not", () => {
    const dir = fixture({ "caja.config.ts": GOOD });
    expect(caja(dir, "compile").code).toBe(0);
    const ok = caja(dir, "compile", "--check");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/out\/ is current/);
    const file = join(dir, "out/dev/../global/10-domain/main.tf.json");
    writeFileSync(file, readFileSync(file, "utf8").replace("api.caja.dbash.dev", "api.example.com"));
    const stale = caja(dir, "compile", "--check");
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain("out/global/10-domain/main.tf.json");
    expect(readFileSync(file, "utf8")).toContain("api.example.com");
  });
});

describe("usage", () => {
  it("prints the version and help", () => {
    expect(caja(repo, "--version")).toMatchObject({ code: 0, stdout: "0.1.0\n" });
    const help = caja(repo, "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("compile");
    expect(caja(repo, "compile", "--help").stdout).toContain("caja compile [--config FILE]");
  });

  it.each([
    [["frobnicate"], 'unknown command "frobnicate". Expected one of: compile'],
    [["compile", "--bogus"], "unknown option --bogus"],
    [["compile", "--out"], "--out expects a value"],
    [["compile", "--backend", "gcs"], '--backend expects s3 or local, got "gcs"'],
  ])("explains a usage error: %j", (args, message) => {
    const r = caja(repo, ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });
});

describe("the config bundle cache", () => {
  it("picks up a change to the config or to a file it imports on the next compile", () => {
    const dir = fixture({
      "owner.ts": `export const owner = "team-a";\n`,
      "caja.config.ts": GOOD.replace('import { defineConfig, todo } from "caja";', 'import { defineConfig, todo } from "caja";\nimport { owner } from "./owner";').replace('Owner: "platform-engineering"', "Owner: owner"),
    });
    const tagOf = () => JSON.parse(readFileSync(join(dir, "out/global/00-bootstrap/main.tf.json"), "utf8")).provider.aws[0].default_tags.tags;
    expect(caja(dir, "compile").code).toBe(0);
    expect(tagOf().Owner).toBe("team-a");
    writeFileSync(join(dir, "owner.ts"), `export const owner = "team-b";\n`);
    expect(caja(dir, "compile").code).toBe(0);
    expect(tagOf().Owner).toBe("team-b");
    writeFileSync(join(dir, "caja.config.ts"), readFileSync(join(dir, "caja.config.ts"), "utf8").replace('CostCenter: "events-eng"', 'CostCenter: "platform"'));
    expect(caja(dir, "compile").code).toBe(0);
    expect(tagOf().CostCenter).toBe("platform");
  });
});
