/**
 * The gate sees every byte caja writes, and guards what cannot be recreated (issue 11, items 7
 * and 8): a credential anywhere in what a compile would write (provider default_tags, variable
 * defaults and descriptions, docs, the manifest, the workflow) is a blocking finding at the config
 * field it came from, whose message never repeats it; an escape-hatch override that lets
 * Terraform delete the state bucket, the lock table or the hosted zone is a blocking finding at
 * the override. Both are suppressible with a reason, like every rule.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { CajaConfigInput } from "@caja/dsl/schema";
import { todo } from "@caja/dsl";
import { validateResourceBody } from "@caja/modules/validate";
import { compile } from "../packages/compiler/src/compile.js";
import { ConfigIssuesError, type LocatedIssue } from "../packages/compiler/src/errors.js";
import { compileConfig, type Compiled } from "../packages/compiler/src/pipeline.js";
import { checkPolicies } from "../packages/compiler/src/policy/check.js";
import { PlanView } from "../packages/compiler/src/policy/engine.js";
import { RULES } from "../packages/compiler/src/policy/rules.js";
import { findSecrets, secretsInFiles } from "../packages/compiler/src/policy/secrets.js";
import { baseConfig, BY_DESIGN_SUPPRESSIONS, CAJA_BIN, compileWith, fileJson, fileTree, lineColOf, repoTempDir } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));

const ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const GITHUB_TOKEN = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";

/** The issues a compile of `config` is refused with (fails the test when it compiles). */
function refusedWith(config: unknown, options: Parameters<typeof compileConfig>[1] = {}): LocatedIssue[] {
  try {
    compileConfig(config, { validateBody: (type, body) => validateResourceBody("resource", type, body), ...options });
  } catch (e) {
    if (e instanceof ConfigIssuesError) return [...e.issues];
    throw e;
  }
  throw new Error("the config compiled");
}

const withTag = (value: string): CajaConfigInput => ({ ...baseConfig(), tags: { ...baseConfig().tags, Note: value } as CajaConfigInput["tags"] });

describe("a credential in what a compile writes outside a resource body", () => {
  const everyRoot = "28 roots' main.tf.json at provider.aws[0].default_tags.tags.Note and docs/environments.md line";
  it.each([
    ["an AWS access key id in the global tags", withTag(ACCESS_KEY_ID), ACCESS_KEY_ID, "tags.Note", `holds an AWS access key id (AKIA…MPLE), which would be written to ${everyRoot}`],
    ["an AWS secret key after its name in the global tags", withTag(`aws_secret_access_key=${SECRET_KEY}`), SECRET_KEY, "tags.Note", `holds an AWS secret access key, which would be written to ${everyRoot}`],
    ["a PEM private key header in the global tags", withTag("-----BEGIN RSA PRIVATE KEY-----"), "-----BEGIN RSA PRIVATE KEY-----", "tags.Note", `holds a PEM private key, which would be written to ${everyRoot}`],
    ["a password assignment in the global tags", withTag("password=hunter2hunter2"), "hunter2hunter2", "tags.Note", `holds a password, which would be written to ${everyRoot}`],
    ["a URL with a password in the global tags", withTag("https://admin:hunter2hunter2@db.example.org"), "hunter2hunter2", "tags.Note", `holds a URL with a password, which would be written to ${everyRoot}`],
    [
      "an AWS access key id as a tag's key, which the path does not repeat either",
      { ...baseConfig(), tags: { ...baseConfig().tags, [ACCESS_KEY_ID]: "x" } as CajaConfigInput["tags"] },
      ACCESS_KEY_ID,
      'tags["AKIA…MPLE"]',
      `holds an AWS access key id (AKIA…MPLE), which would be written to 28 roots' main.tf.json at provider.aws[0].default_tags.tags["AKIA…MPLE"] and docs/environments.md line`,
    ],
    [
      "a GitHub token as an environment's image tag (a variable default)",
      { ...baseConfig(), environments: { dev: { service: { imageTag: GITHUB_TOKEN } }, staging: {}, prod: {} } },
      GITHUB_TOKEN,
      "environments.dev.service.imageTag",
      "holds a GitHub token (ghp_…6789), which would be written to dev/50-service/main.tf.json at variable.backend_image_tag.default and docs/environments.md line",
    ],
    [
      "an access key id as the image tag every environment inherits",
      { ...baseConfig(), defaults: { ...baseConfig().defaults, service: { imageTag: ACCESS_KEY_ID } } },
      ACCESS_KEY_ID,
      "defaults.service.imageTag",
      "holds an AWS access key id (AKIA…MPLE), which would be written to 3 roots' main.tf.json at variable.backend_image_tag.default and docs/environments.md line",
    ],
    [
      "a password in a TODO's reason (a variable description, the docs and the manifest)",
      { ...baseConfig(), github: { repository: todo("secret=hunter2hunter2 until the repository exists") } },
      "hunter2hunter2",
      "github.repository.reason",
      "holds a password, which would be written to global/05-iam-oidc/main.tf.json at variable.github_repository.description, docs/environments.md line",
    ],
  ])("is refused at the field it came from: %s", (_name, config, secret, path, message) => {
    const issues = refusedWith(config);
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe(path);
    expect(issues[0]!.message).toContain(`[no-secret-values] ${path}: ${message}`);
    expect(issues[0]!.message).not.toContain(secret);
  });

  it("is refused at the written file and the place in it when no config field holds it (the workflow)", () => {
    const workflow = { path: join(repo, ".github/workflows/infra-plan-apply.yml"), content: `name: x\nenv:\n  TOKEN: ${GITHUB_TOKEN}\n` };
    const issues = refusedWith(baseConfig(), { workflow: () => workflow });
    expect(issues).toEqual([
      {
        path: "",
        message: expect.stringMatching(/^\[no-secret-values\] \.github\/workflows\/infra-plan-apply\.yml: line 3 holds a GitHub token \(ghp_…6789\)\. Fix: /),
      },
    ]);
  });

  it("in one resource's tags is reported once, by the resource's own scan", () => {
    const config = { ...baseConfig(), environments: { dev: { extend: { service: { overrides: { "aws_lb.main": { tags: { Note: ACCESS_KEY_ID } } } } } }, staging: {}, prod: {} } };
    expect(refusedWith(config)).toEqual([{ path: 'environments.dev.extend.service.overrides["aws_lb.main"].tags', message: expect.stringContaining("[no-secret-values] dev/50-service aws_lb.main: tags.Note holds an AWS access key id.") }]);
  });

  it("is never repeated by another rule's message that quotes the value", () => {
    const config = { ...baseConfig(), environments: { dev: {}, staging: { extend: { service: { overrides: { "aws_lb_listener.https": { ssl_policy: GITHUB_TOKEN } } } } }, prod: {} } };
    const issues = refusedWith(config);
    expect(issues.map((i) => i.message.slice(0, i.message.indexOf(":")))).toEqual(["[alb-tls-policy] staging/50-service aws_lb_listener.https", "[no-secret-values] staging/50-service aws_lb_listener.https"]);
    expect(issues[0]!.message).toContain('ssl_policy is "ghp_…6789"');
    for (const issue of issues) expect(issue.message).not.toContain(GITHUB_TOKEN);
  });

  it("can be accepted with a reason naming its config field; the report shows it redacted", () => {
    const reason = "AWS's documented example key id, not a credential.";
    const config = { ...withTag(ACCESS_KEY_ID), policy: { suppressions: [...BY_DESIGN_SUPPRESSIONS, { rule: "no-secret-values", resource: "tags.Note", reason }] } };
    const compiled = compileWith(config);
    expect(compiled.policy!.suppressed.filter((f) => f.ruleId === "no-secret-values").map((f) => f.address)).toEqual(["tags.Note"]);
    const report = compiled.files.find((f) => f.path === "docs/security.md")!.content;
    expect(report).toContain("### `no-secret-values`: ");
    expect(report).toContain(`\n- \`tags.Note\`: holds an AWS access key id (AKIA…MPLE), which would be written to ${everyRoot}`);
    expect(report).toContain(`  Reason: ${reason}\n`);
    expect(report).not.toContain(ACCESS_KEY_ID);
  });

  it("has its suppression reported as unused once the value is gone", () => {
    const config = { ...baseConfig(), policy: { suppressions: [...BY_DESIGN_SUPPRESSIONS, { rule: "no-secret-values", resource: "tags.Note", reason: "example key" }] } };
    expect(refusedWith(config)).toEqual([{ path: `policy.suppressions[${BY_DESIGN_SUPPRESSIONS.length}]`, message: "no-secret-values passes on tags.Note, so the suppression is unused: remove it" }]);
  });

  it("finds nothing in what the repository's config compiles to, workflow included", async () => {
    const result = await compile({ cwd: repo, outDir: join(repo, "out"), check: true });
    expect(result.workflowFile).toBeDefined();
    const written = [...result.files, { path: ".github/workflows/infra-plan-apply.yml", content: result.workflowFile!.content, base: "project" as const }];
    expect(secretsInFiles(written, { hints: false })).toEqual([]);
    const gate = checkPolicies(result.plan, result.config, { written, today: "2026-06-15" });
    expect(gate.blocking).toEqual([]);
    expect(gate.problems).toEqual([]);
  });

  it("finds with its hints exactly what reading every file finds (fuzzed files, fixed seed)", () => {
    const samples = [ACCESS_KEY_ID, GITHUB_TOKEN, `SecretAccessKey: ${SECRET_KEY}`, "password=hunter2hunter2", "PASSWD=abc123", "https://u:pw@h.example", "-----BEGIN PRIVATE KEY-----", "secret=${var.x}", "arn:aws:iam::1:role/x", "plain", ""];
    const text = fc.tuple(fc.constantFrom("", " ", "\n", "\t", "x", '"'), fc.constantFrom(...samples)).map(([a, b]) => a + b);
    const json = fc
      .dictionary(fc.constantFrom("Note", "secret_key", "password", ACCESS_KEY_ID, "a\\u0041"), fc.oneof(text, text.map((t) => JSON.stringify({ doc: t }))), { maxKeys: 3 })
      .map((o) => JSON.stringify(o, null, 2));
    const escaped = fc.constantFrom('{"a":"{\\"n\\":\\"\\\\u0041KIAIOSFODNN7EXAMPLE\\"}"}', '{"a":"pass\\\\u0077ord=hunter2hunter2"}');
    const file = fc.oneof(
      json.map((content) => ({ path: "dev/20-network/main.tf.json", content })),
      escaped.map((content) => ({ path: "manifest.json", content })),
      fc.array(text, { maxLength: 4 }).map((lines) => ({ path: "docs/environments.md", content: lines.join("\n") })),
    );
    fc.assert(
      fc.property(fc.array(file, { maxLength: 3 }), (files) => {
        expect(secretsInFiles(files)).toEqual(secretsInFiles(files, { hints: false }));
      }),
      { seed: 20261211, numRuns: 1500 },
    );
  });
});

describe("the body scan of a root whose written JSON is plainly clean", () => {
  const secretRule = RULES.find((r) => r.id === "no-secret-values")!;
  /** `root/address` of every body holding a secret, read body by body without hints: the reference. */
  const bodiesWithSecrets = (compiled: Compiled) =>
    new PlanView(compiled.plan, compiled.config).resources.filter((r) => findSecrets(r.body, "", { hints: false }).length > 0).map((r) => `${r.root.id}/${r.address}`).sort();
  const bodyFindings = (compiled: Compiled) => [
    ...new Set(
      checkPolicies(compiled.plan, compiled.config, { written: compiled.files, rules: [secretRule] })
        .blocking.filter((f) => f.root !== "")
        .map((f) => `${f.root}/${f.address}`),
    ),
  ].sort();

  it("is skipped only where no body holds a secret: fuzzed escape-hatch bodies beside expressions, fixed seed", () => {
    const samples = [ACCESS_KEY_ID, GITHUB_TOKEN, `aws_secret_access_key=${SECRET_KEY}`, "password=hunter2hunter2", "https://u:pw@h.example", "-----BEGIN PRIVATE KEY-----", "plain", "a\\b"];
    const around = fc.constantFrom("", "${aws_vpc.main.id}", "x", "${aws_vpc.main.id}:", "$${literal}");
    const value = fc.tuple(around, fc.constantFrom(...samples), around).map(([a, b, c]) => a + b + c);
    const key = fc.constantFrom("Note", "password", "db_password", "api_token", "description");
    const resource = fc.record({ description: value, tags: fc.dictionary(key, value, { minKeys: 1, maxKeys: 2 }) });
    fc.assert(
      fc.property(resource, (ssh) => {
        const config = {
          ...baseConfig(),
          environments: {
            dev: { extend: { network: { resources: { aws_vpc_security_group_ingress_rule: { ssh: { security_group_id: "${aws_security_group.ecs.id}", cidr_ipv4: "10.0.0.0/8", from_port: 22, to_port: 22, ip_protocol: "tcp", ...ssh } } } } } },
            staging: {},
            prod: {},
          },
        };
        const compiled = compileWith(config, { enforcePolicies: false });
        expect(bodyFindings(compiled)).toEqual(bodiesWithSecrets(compiled));
      }),
      { seed: 20261203, numRuns: 60 },
    );
  });
});

describe("the bootstrap root's state bucket, lock table and hosted zone", () => {
  const overriding = (overrides: Record<string, unknown>): CajaConfigInput => ({ ...baseConfig(), extend: { bootstrap: { overrides } } } as CajaConfigInput);
  const at = (address: string, attribute: string) => `extend.bootstrap.overrides["${address}"].${attribute}`;

  it.each([
    ["the state bucket", { "aws_s3_bucket.state": { lifecycle: { prevent_destroy: false }, force_destroy: true } }, [
      [at("aws_s3_bucket.state", "lifecycle"), "aws_s3_bucket.state: lifecycle.prevent_destroy is false: a destroy or a replacement would delete the state bucket, and with it every root's Terraform state"],
      [at("aws_s3_bucket.state", "force_destroy"), "aws_s3_bucket.state: force_destroy is true: a destroy would delete every object in the bucket instead of stopping"],
    ]],
    ["the lock table", { "aws_dynamodb_table.locks": { lifecycle: { prevent_destroy: false }, deletion_protection_enabled: false } }, [
      [at("aws_dynamodb_table.locks", "lifecycle"), "aws_dynamodb_table.locks: lifecycle.prevent_destroy is false: a destroy or a replacement would delete the state lock table"],
      [at("aws_dynamodb_table.locks", "deletion_protection_enabled"), "aws_dynamodb_table.locks: deletion_protection_enabled is false: one API call outside Terraform could delete the state lock table"],
    ]],
    ["the hosted zone", { "aws_route53_zone.root": { lifecycle: { prevent_destroy: false }, force_destroy: true } }, [
      [at("aws_route53_zone.root", "lifecycle"), "aws_route53_zone.root: lifecycle.prevent_destroy is false: a destroy or a replacement would delete the root domain's hosted zone"],
      [at("aws_route53_zone.root", "force_destroy"), "aws_route53_zone.root: force_destroy is true: a destroy would delete every record in the zone instead of stopping"],
    ]],
  ])("cannot be made deletable by an override: %s", (_name, overrides, expected) => {
    const issues = refusedWith(overriding(overrides));
    expect(issues.map((i) => [i.path, i.message])).toEqual(expected.map(([path, message]) => [path, expect.stringContaining(`[bootstrap-protected] global/00-bootstrap ${message}`)]));
    for (const issue of issues) expect(issue.message).toContain("Fix: Remove the override under extend.bootstrap.overrides.");
  });

  it("keep other overrides, and an explicit prevent_destroy = true", () => {
    const compiled = compileWith(overriding({ "aws_s3_bucket.state": { lifecycle: { prevent_destroy: true }, tags: { Purpose: "state" } }, "aws_route53_zone.root": { comment: "adopted" } }));
    expect(fileJson(compiled, "global/00-bootstrap/main.tf.json").resource.aws_s3_bucket.state.lifecycle).toEqual({ prevent_destroy: true });
  });

  it("can be made deletable on purpose with a suppression and its reason, which the report lists", () => {
    const reason = "The sandbox account's zone is recreated every night.";
    const config = { ...overriding({ "aws_route53_zone.root": { force_destroy: true } }), policy: { suppressions: [...BY_DESIGN_SUPPRESSIONS, { rule: "bootstrap-protected", resource: "aws_route53_zone.root", reason }] } };
    const compiled: Compiled = compileWith(config);
    expect(fileJson(compiled, "global/00-bootstrap/main.tf.json").resource.aws_route53_zone.root.force_destroy).toBe(true);
    expect(compiled.files.find((f) => f.path === "docs/security.md")!.content).toContain(
      `- \`aws_route53_zone.root\` in \`global/00-bootstrap\`: force_destroy is true: a destroy would delete every record in the zone instead of stopping.\n\n  Reason: ${reason}\n`,
    );
  });
});

// -----------------------------------------------------------------------------------------------
// Through the built CLI, as users run it

function configSource({ tags = "", extend = "" }: { tags?: string; extend?: string } = {}): string {
  return `import { defineConfig } from "caja";

export default defineConfig({
  project: "caja",
  tags: {
    Owner: "platform-engineering",
    Confidentiality: "internal",
    CostCenter: "events-eng",${tags}
  },
  domain: { root: "dbash.dev", namespace: "caja" },
  github: { repository: "dbash/caja" },
  defaults: { alarms: { emails: ["oncall@dbash.dev"] } },
  environments: { dev: {}, prod: {} },${extend}
  policy: { suppressions: ${JSON.stringify(BY_DESIGN_SUPPRESSIONS)} },
});
`;
}

function caja(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CAJA_BIN, ...args], { cwd, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("caja compile and caja check", () => {
  let previousOut: string;
  beforeAll(() => {
    const dir = repoTempDir("trust-secrets-good-");
    writeFileSync(join(dir, "caja.config.ts"), configSource());
    const r = caja(dir, "compile");
    expect(r.code, r.stderr).toBe(0);
    previousOut = join(dir, "out");
  });

  /** Compile (and check) a project with an existing out/ and a folder beside it: refused, both untouched, no stack trace. */
  function refused(source: string) {
    const dir = repoTempDir("trust-secrets-");
    writeFileSync(join(dir, "caja.config.ts"), source);
    cpSync(previousOut, join(dir, "out"), { recursive: true });
    mkdirSync(join(dir, "beside"));
    writeFileSync(join(dir, "beside", "notes.txt"), "kept\n");
    const before = { out: fileTree(join(dir, "out")), beside: fileTree(join(dir, "beside")) };
    const compiled = caja(dir, "compile");
    const checked = caja(dir, "check");
    for (const r of [compiled, checked]) {
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stdout + r.stderr).not.toMatch(/internal error|\n\s+at .+:\d+:\d+\)?\n/);
    }
    expect(fileTree(join(dir, "out"))).toEqual(before.out);
    expect(fileTree(join(dir, "beside"))).toEqual(before.beside);
    expect(existsSync(join(dir, ".github"))).toBe(false);
    return { compiled, checked };
  }

  it("refuse a credential in the global tags at its line, without repeating it, and write nothing", () => {
    const source = configSource({ tags: `\n    Note: "${ACCESS_KEY_ID}",` });
    const { compiled, checked } = refused(source);
    const line = `caja.config.ts:${lineColOf(source, "Note:")}  tags.Note  [no-secret-values] tags.Note: holds an AWS access key id (AKIA…MPLE), which would be written to 20 roots' main.tf.json at provider.aws[0].default_tags.tags.Note and docs/environments.md line`;
    expect(compiled.stderr).toContain(line);
    expect(checked.stdout).toContain(line);
    expect(checked.stdout).toMatch(/^caja: 1 blocking, /m);
    for (const r of [compiled, checked]) expect(r.stdout + r.stderr).not.toContain(ACCESS_KEY_ID);
  });

  it("refuse an override that lets Terraform delete the state bucket, at the override's line", () => {
    const source = configSource({ extend: `\n  extend: { bootstrap: { overrides: { "aws_s3_bucket.state": { force_destroy: true } } } },` });
    const { compiled, checked } = refused(source);
    const line = `caja.config.ts:${lineColOf(source, "force_destroy")}  extend.bootstrap.overrides["aws_s3_bucket.state"].force_destroy  [bootstrap-protected] global/00-bootstrap aws_s3_bucket.state: force_destroy is true: a destroy would delete every object in the bucket instead of stopping.`;
    expect(compiled.stderr).toContain(line);
    expect(checked.stdout).toContain(line);
    expect(checked.stdout).toMatch(/^caja: 1 blocking, /m);
  });
});
