/**
 * Hostile or careless configs, through the built CLI as users run it: each mistake is a located
 * error (never a hang, an internal error or a stack trace), stdout carries only what a command
 * promises, and a refused compile leaves `out/` and the folder beside it exactly as they were.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { validateConfig } from "../packages/compiler/src/validate.js";
import { baseConfig, BY_DESIGN_SUPPRESSIONS, CAJA_BIN, fileTree, lineColOf, repoTempDir } from "./helpers.js";

/** A config as a user writes it; `environments` and extra fields are spliced in as source text. */
function configSource({ environments = "{ dev: {}, prod: {} }", top = "", github = '{ repository: "dbash/caja" }', tags = '{ Owner: "platform-engineering", Confidentiality: "internal", CostCenter: "events-eng" }', emails = '["oncall@dbash.dev"]', before = "" } = {}): string {
  return `import { defineConfig, todo } from "caja";
${before}
export default defineConfig({
  project: "caja",
  tags: ${tags},
  domain: { root: "dbash.dev", namespace: "caja" },
  github: ${github},
  defaults: { alarms: { emails: ${emails} } },
${top}  environments: ${environments},
  policy: { suppressions: ${JSON.stringify(BY_DESIGN_SUPPRESSIONS)} },
});
`;
}

function caja(cwd: string, ...args: string[]) {
  const started = performance.now();
  const r = spawnSync(process.execPath, [CAJA_BIN, ...args], { cwd, encoding: "utf8", timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - started };
}

/** The output of a good compile, copied into every refused project as its existing `out/`. */
let previousOut: string;

beforeAll(() => {
  const dir = repoTempDir("trust-config-good-");
  writeFileSync(join(dir, "caja.config.ts"), configSource());
  const r = caja(dir, "compile");
  expect(r.code, r.stderr).toBe(0);
  previousOut = join(dir, "out");
});

/**
 * A project with this config, an existing `out/` and a folder beside it; runs the command and
 * asserts it was refused without touching either folder and without a stack trace.
 */
function refused(source: string, args: string[] = ["compile"]) {
  const dir = repoTempDir("trust-config-");
  writeFileSync(join(dir, "caja.config.ts"), source);
  cpSync(previousOut, join(dir, "out"), { recursive: true });
  mkdirSync(join(dir, "beside"));
  writeFileSync(join(dir, "beside", "notes.txt"), "kept\n");
  const before = { out: fileTree(join(dir, "out")), beside: fileTree(join(dir, "beside")) };
  const r = caja(dir, ...args);
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at .+:\d+:\d+\)?\n/);
  expect(fileTree(join(dir, "out"))).toEqual(before.out);
  expect(fileTree(join(dir, "beside"))).toEqual(before.beside);
  return { ...r, lines: r.stderr.trim().split("\n") };
}

describe("environments beyond the default VPC ranges", () => {
  it("300 environments end in a located error per environment left without a range, within seconds", () => {
    const names = Array.from({ length: 300 }, (_, i) => `env${i}`);
    const source = configSource({ environments: `{\n${names.map((n) => `    ${n}: {},`).join("\n")}\n  }` });
    const r = refused(source);
    expect(r.ms).toBeLessThan(20_000);
    const exhausted = r.lines.filter((l) => l.includes("no default VPC range is left"));
    expect(exhausted).toHaveLength(300 - 155);
    const first = exhausted[0]!;
    const name = /environments\.(env\d+)/.exec(first)![1]!;
    expect(first).toBe(
      `caja.config.ts:${lineColOf(source, `${name}: {}`)}  environments.${name}  no default VPC range is left for "${name}": caja gives an environment without network.cidr one of 155 /16 ranges (10.100.0.0/16 to 10.254.0.0/16), and 300 environments were given. Set environments.${name}.network.cidr`,
    );
  });

  it("155 environments each get their own range, and more compile once the others name theirs", () => {
    const many = Object.fromEntries(Array.from({ length: 155 }, (_, i) => [`env${i}`, {}]));
    const fits = validateConfig({ ...baseConfig(), environments: many });
    expect(fits.ok).toBe(true);
    if (!fits.ok) return;
    const cidrs = Object.values(fits.config.environments).map((e) => e.network.cidr);
    expect(new Set(cidrs).size).toBe(155);

    // Through the CLI, with a time limit: before the fix this loop never ended.
    const explicit = Array.from({ length: 100 }, (_, i) => `    own${i}: { network: { cidr: "172.16.${i}.0/24" } },`);
    const dir = repoTempDir("trust-config-many-");
    writeFileSync(join(dir, "caja.config.ts"), configSource({ environments: `{\n${Object.keys(many).map((n) => `    ${n}: {},`).join("\n")}\n${explicit.join("\n")}\n  }` }));
    const r = caja(dir, "graph", "--format", "json");
    expect(r.code, r.stderr.slice(0, 2000)).toBe(0);
    expect(JSON.parse(r.stdout).nodes.filter((n: { id: string }) => n.id.endsWith("/20-network"))).toHaveLength(255);
  });
});

describe("todo() without a reason", () => {
  for (const [call, got] of [
    ["todo()", "nothing"],
    ["todo(42 as any)", "42"],
    ['todo("  ")', '"  "'],
  ] as const) {
    it(`${call} is a located config error, not an internal error`, () => {
      const source = configSource({ github: `{ repository: ${call} }` });
      const r = refused(source);
      expect(r.lines).toEqual([
        `caja.config.ts:${lineColOf(source, "repository:")}  github.repository  todo() needs a reason, got ${got}: say why the value is open and who decides, e.g. todo("alarm e-mails not decided; owner: platform-engineering")`,
        "caja: 1 problem in the config; nothing was written.",
      ]);
    });
  }
});

describe("what the config prints", () => {
  const chatty = configSource({ before: 'console.log("hello from the config");\nconsole.error("to stderr anyway");\nconsole.table([{ a: 1 }]);\nprocess.stdout.write("partial line, no newline");\n' });

  it("goes to stderr marked as the config's, so `caja graph --format json` stays JSON", () => {
    const dir = repoTempDir("trust-config-print-");
    writeFileSync(join(dir, "caja.config.ts"), chatty);
    const r = caja(dir, "graph", "--format", "json");
    expect(r.code, r.stderr).toBe(0);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
    expect(r.stdout).not.toContain("hello");
    expect(r.stderr).toContain("[caja.config.ts] hello from the config\n");
    expect(r.stderr).toContain("[caja.config.ts] partial line, no newline\n");
    expect(r.stderr).toContain("[caja.config.ts] to stderr anyway\n");
    expect(r.stderr).toContain("[caja.config.ts] │ (index) │ a │\n");
  });

  it("keeps `caja check --format sarif` on stdout valid SARIF", () => {
    const dir = repoTempDir("trust-config-print-");
    writeFileSync(join(dir, "caja.config.ts"), chatty);
    const r = caja(dir, "check", "--format", "sarif");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).version).toBe("2.1.0");
    expect(r.stderr).toContain("[caja.config.ts] hello from the config");
  });

  it("includes the warnings Node prints for it, and writes to its streams outside the module's own code", () => {
    const dir = repoTempDir("trust-config-print-");
    const source = 'process.emitWarning("a warning of the config");\nsetTimeout(() => process.stderr.write("from a timer\\n"), 0);\nawait new Promise((done) => setTimeout(done, 20));\n';
    writeFileSync(join(dir, "caja.config.ts"), configSource({ before: source }));
    const r = caja(dir, "compile");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^\[caja\.config\.ts\] \(node:\d+\) Warning: a warning of the config$/m);
    expect(r.stderr).toContain("[caja.config.ts] from a timer\n");
    expect(r.stdout).not.toContain("warning of the config");
  });
});

describe("environment names that collide with out/", () => {
  for (const name of ["global", "docs"]) {
    it(`"${name}" is refused with one clear message at the name`, () => {
      const source = configSource({ environments: `{ dev: {}, ${name}: {}, prod: {} }` });
      const r = refused(source);
      expect(r.lines).toEqual([
        `caja.config.ts:${lineColOf(source, `${name}: {}`)}  environments.${name}  "${name}" is reserved: out/${name}/ already holds ${name === "global" ? "the account-wide roots" : "the reviewer docs"}. Name the environment otherwise`,
        "caja: 1 problem in the config; nothing was written.",
      ]);
    });
  }

  it("caja init refuses them too, and writes no config", () => {
    const dir = repoTempDir("trust-config-init-");
    const r = caja(dir, "init", "--env", "dev,docs");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--env docs: "docs" is reserved: out/docs/ already holds the reviewer docs');
    expect(existsSync(join(dir, "caja.config.ts"))).toBe(false);
  });
});

describe("values AWS or GitHub would reject at apply", () => {
  it("reports each at its field, all at once", () => {
    // With ManagedBy (defaulted) and the five written: 66, as the report had it.
    const extraTags = Array.from({ length: 60 }, (_, i) => `T${i}: "v"`).join(", ");
    const source = configSource({
      tags: `{ Owner: "platform-engineering", Confidentiality: "internal", CostCenter: "events-eng", "Bad#Key": "x", Note: "a<b>", ${extraTags} }`,
      github: '{ repository: "acme/..", mainBranch: "../x/.." }',
      top: '  state: { bucket: "caja-state-s3alias" },\n',
    });
    const r = refused(source);
    expect(r.lines).toEqual(
      expect.arrayContaining([
        `caja.config.ts:${lineColOf(source, '"Bad#Key"')}  tags.Bad#Key  tag key "Bad#Key" has characters AWS rejects in tags: only letters, digits, spaces and _ . : / = + - @ are allowed`,
        `caja.config.ts:${lineColOf(source, "Note:")}  tags.Note  tag value "a<b>" has characters AWS rejects in tags: only letters, digits, spaces and _ . : / = + - @ are allowed`,
        `caja.config.ts:${lineColOf(source, "tags:")}  tags  66 tags: AWS allows 50 on a resource, its provider default_tags included, and caja adds Project and Environment to every resource and up to 2 of its own (Name, Tier), so at most 46 fit here`,
        `caja.config.ts:${lineColOf(source, "repository:")}  github.repository  must be OWNER/REPO: the repository may not be "." or ".." or end in .git`,
        `caja.config.ts:${lineColOf(source, "mainBranch:")}  github.mainBranch  is not a branch name git accepts: no part may start with . or end in .lock, no .. or //, and it may not start with - or /, or end with / or .`,
        `caja.config.ts:${lineColOf(source, "bucket:")}  state.bucket  S3 reserves bucket names that end with "-s3alias"`,
      ]),
    );
    expect(r.lines.at(-1)).toBe("caja: 6 problems in the config; nothing was written.");
  });

  it("counts an escape-hatch resource's tags with the provider's default tags", () => {
    const own = Array.from({ length: 45 }, (_, i) => `T${i}: "v"`).join(", ");
    const source = configSource({ environments: `{ dev: { extend: { observability: { resources: { aws_sns_topic: { audit: { name: "caja-dev-audit", tags: { ${own} } } } } } } }, prod: {} }` });
    const r = refused(source);
    // Project, Environment, Owner, Confidentiality, CostCenter and ManagedBy, with the 45 own.
    expect(r.lines).toContain(`caja.config.ts:${lineColOf(source, "tags: { T0")}  environments.dev.extend.observability.resources.aws_sns_topic.audit.tags  51 tags with the provider's default_tags: AWS allows 50 on a resource`);
  });

  it("refuses a project whose derived bucket names S3 reserves", () => {
    const source = configSource().replace('project: "caja"', 'project: "xn--caja"');
    const r = refused(source);
    expect(r.lines).toContain(`caja.config.ts:${lineColOf(source, "project:")}  project  S3 bucket names caja derives from it would start with "xn--caja": S3 reserves bucket names that start with "xn--"`);
  });

  it("accepts the names and branches people really use", () => {
    for (const [repository, mainBranch] of [
      ["dbash/caja", "main"],
      ["my-org/infra.platform", "release/2026.12"],
      ["a/b_c-d", "feature/x-y_z"],
    ]) {
      const result = validateConfig({ ...baseConfig(), github: { repository, mainBranch } });
      expect(result.ok ? [] : result.issues, `${repository} ${mainBranch}`).toEqual([]);
    }
  });
});

describe("alarms that notify nobody", () => {
  it("an empty e-mail list is a warning at the field in dev and staging, listed in the security report", () => {
    const dir = repoTempDir("trust-config-alarms-");
    const source = configSource({ environments: "{ dev: { alarms: { emails: [] } }, prod: {} }" });
    writeFileSync(join(dir, "caja.config.ts"), source);
    const r = caja(dir, "compile");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("warning: environments.dev.alarms.emails  [alarm-topic-subscribed] dev/80-observability aws_sns_topic.alarms: 5 alarms publish to this topic and no one is subscribed: they would notify nobody.");
    expect(r.stderr).not.toContain("prod/80-observability");
    const report = readFileSync(join(dir, "out/docs/security.md"), "utf8");
    const section = report.slice(report.indexOf("### `alarm-topic-subscribed`"));
    const row = section.split("\n").find((line) => line.startsWith("- "));
    expect(row).toContain("environments.dev.alarms.emails");
    expect(row).toContain("no one is subscribed");
  });

  it("an empty e-mail list is an error at the field in a prod-tier environment", () => {
    const source = configSource({ environments: "{ dev: {}, prod: { alarms: { emails: [] } } }" });
    const r = refused(source);
    expect(r.stderr).toContain(`caja.config.ts:${lineColOf(source, "emails: []")}  environments.prod.alarms.emails  [alarm-topic-subscribed]`);
    expect(r.stderr).toContain("no one is subscribed: they would notify nobody");
  });
});

describe("messages that name the rule broken", () => {
  it("a bad environment name says what a name may be, at the name; an empty one at environments", () => {
    const source = configSource({ environments: '{\n    dev: {},\n    "Bad_Name": {},\n    "": {},\n  }' });
    const r = refused(source);
    const rule = 'environment names are lowercase letters, digits and "-", 1-24 characters, starting with a letter';
    expect(r.lines).toContain(`caja.config.ts:${lineColOf(source, '"Bad_Name"')}  environments.Bad_Name  "Bad_Name": ${rule}`);
    expect(r.lines).toContain(`caja.config.ts:${lineColOf(source, "environments:")}  environments  an empty key is not allowed: ${rule}`);
    expect(r.stderr).not.toContain("Invalid key in record");
  });

  it("a bad override address says what an address is", () => {
    const source = configSource({ environments: '{ dev: { extend: { service: { overrides: { "aws_lb": { idle_timeout: 120 } } } } }, prod: {} }' });
    const r = refused(source);
    expect(r.stderr).toContain('environments.dev.extend.service.overrides.aws_lb  "aws_lb": must be a resource address such as aws_lb.main');
    expect(r.stderr).not.toContain("Invalid key in record");
  });

  it("export default null says null", () => {
    const r = refused('export default null;\n');
    expect(r.stderr).toMatch(/the default export must be an object \(or a function returning one\), got null\n/);
  });

  it("--config naming a folder says so instead of esbuild's resolve error", () => {
    const r = refused(configSource(), ["compile", "--config", "out"]);
    expect(r.stderr).toBe("caja: --config out is a folder, not a config file (it holds no caja.config.ts)\n");
  });
});

describe("paths in the output", () => {
  it("are relative to the config's folder, whatever the working directory", () => {
    const source = configSource({ emails: 'todo("on-call list not decided")' });
    const here = repoTempDir("trust-config-cwd-");
    writeFileSync(join(here, "caja.config.ts"), source);
    expect(caja(here, "compile").code).toBe(0);

    const parent = repoTempDir("trust-config-cwd-");
    mkdirSync(join(parent, "project"));
    mkdirSync(join(parent, "elsewhere"));
    writeFileSync(join(parent, "project", "caja.config.ts"), source);
    const r = caja(join(parent, "elsewhere"), "compile", "--config", "../project/caja.config.ts", "--out", "../project/out");
    expect(r.code, r.stderr).toBe(0);

    const docs = fileTree(join(here, "out", "docs"));
    expect(Object.values(docs).some((v) => v.includes("caja.config.ts:"))).toBe(true);
    expect(fileTree(join(parent, "project", "out", "docs"))).toEqual(docs);
  });
});
