/**
 * A module a user writes (test/fixtures/user-module: an SQS job queue in modules/queue.ts, with
 * `defineModule` from `caja/module`), compiled by the built CLI like any project: its roots, its
 * phase (3.5), its config section in the editor's types, the JSON Schema and the docs, its wiring
 * into the service, the alarms and the pipeline's roles, and its mistakes located in its own file.
 * Terraform validates and mock-applies the roots it adds or changes.
 */
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { checkRoots, findTerraform } from "../packages/compiler/src/terraform.js";
import { CAJA_BIN, lineColOf, repoTempDir, typecheckDir } from "./helpers.js";

const fixture = fileURLToPath(new URL("fixtures/user-module/", import.meta.url));

function caja(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CAJA_BIN, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A copy of the fixture project, inside the repository so its `import ... from "caja"` resolves here. */
function project(edit?: (files: { config: string; module: string }) => { config?: string; module?: string }): string {
  const dir = repoTempDir("user-module-");
  cpSync(fixture, dir, { recursive: true });
  if (edit) {
    const files = { config: readFileSync(join(dir, "caja.config.ts"), "utf8"), module: readFileSync(join(dir, "modules/queue.ts"), "utf8") };
    const changed = edit(files);
    if (changed.config !== undefined) writeFileSync(join(dir, "caja.config.ts"), changed.config);
    if (changed.module !== undefined) writeFileSync(join(dir, "modules/queue.ts"), changed.module);
  }
  return dir;
}

const json = (dir: string, path: string) => JSON.parse(readFileSync(join(dir, "out", path), "utf8"));

describe("a project with a module of its own", () => {
  let dir: string;
  beforeAll(() => {
    dir = project();
    const r = caja(dir, "compile");
    expect(r.err).not.toMatch(/problem|internal/);
    expect(r.code, r.err).toBe(0);
  });

  it("gets the module's roots where it is on: dev by its setting, prod by its tier default, not staging", () => {
    const roots = json(dir, "manifest.json").roots.map((r: { id: string }) => r.id);
    expect(roots.filter((id: string) => id.includes("queue"))).toEqual(["dev/35-queue", "prod/35-queue"]);
    const at = (id: string) => roots.indexOf(id);
    expect(at("dev/35-queue")).toBeGreaterThan(at("dev/30-persistence"));
    expect(at("dev/35-queue")).toBeLessThan(at("dev/40-platform"));
    const queue = json(dir, "dev/35-queue/main.tf.json");
    expect(queue.resource.aws_sqs_queue.jobs).toMatchObject({ name: "acme-dev-jobs", message_retention_seconds: 345600, sqs_managed_sse_enabled: true });
    expect(json(dir, "prod/35-queue/main.tf.json").resource.aws_sqs_queue.jobs.message_retention_seconds).toBe(1209600);
    // It reads networking's output through remote state, and keeps its own state key.
    expect(queue.data.terraform_remote_state.network.config.key).toBe("env/dev/network/terraform.tfstate");
    expect(queue.terraform.backend.s3.key).toBe("env/dev/queue/terraform.tfstate");
  });

  it("wires the queue into the service, the alarm topic and the pipeline's roles", () => {
    const service = json(dir, "dev/50-service/main.tf.json");
    const container = JSON.parse(service.resource.aws_ecs_task_definition.api.container_definitions)[0];
    expect(container.environment).toContainEqual({ name: "JOB_QUEUE_URL", value: "${data.terraform_remote_state.queue.outputs.queue_url}" });
    expect(JSON.parse(service.resource.aws_iam_role_policy.task.policy).Statement[0]).toMatchObject({ Sid: "UseJobQueue", Resource: ["${data.terraform_remote_state.queue.outputs.queue_arn}"] });
    const alarm = json(dir, "dev/80-observability/main.tf.json").resource.aws_cloudwatch_metric_alarm.queue_backlog_age;
    expect(alarm).toMatchObject({ alarm_name: "acme-dev-queue-backlog-age", threshold: 300, comparison_operator: "GreaterThanThreshold", alarm_actions: ["${aws_sns_topic.alarms.arn}"] });
    expect(alarm.dimensions).toEqual({ QueueName: "acme-dev-jobs" });
    const iam = json(dir, "global/05-iam-oidc/main.tf.json").resource.aws_iam_policy;
    expect(JSON.parse(iam.deployer_dev_modules.policy).Statement[0]).toMatchObject({ Sid: "JobQueue", Resource: "arn:aws:sqs:us-east-1:${data.aws_caller_identity.current.account_id}:acme-dev-*" });
    expect(iam.deployer_staging_modules).toBeUndefined();
    // The generated pipeline runs on a change to the module's file like on one to the config.
    const workflow = readFileSync(join(dir, ".github/workflows/infra-plan-apply.yml"), "utf8");
    expect(workflow).toContain("modules/queue.ts");
  });

  it("documents the module: its phase, its section in the reference, the environments page and the JSON Schema", () => {
    const docs = (name: string) => readFileSync(join(dir, "out/docs", name), "utf8");
    expect(docs("phases.md")).toContain("Background job queue");
    expect(docs("config-reference.md")).toContain("| `environments.<env>.queue.retentionSeconds` | integer 60–1209600 | dev: `345600`<br>staging: `345600`<br>prod: `1209600` |");
    expect(docs("environments.md")).toMatch(/## `queue`: An SQS queue the API puts background jobs on/);
    const schema = json(dir, "docs/caja.schema.json");
    expect(schema.properties.defaults.properties.queue.properties.retentionSeconds).toMatchObject({ type: "integer", minimum: 60 });
    expect(schema.properties.environments.additionalProperties.properties.queue).toBeDefined();
  });

  it("is checked by the gate like any root: SSH from the internet to the tasks is stopped", () => {
    const bad = project(({ module }) => ({
      module: module
        .replace(`import { defineModule, NETWORKING, z }`, `import { defineModule, NETWORKING, SECURITY, z }`)
        .replace(
          `root.assert(`,
          `root.resource("aws_vpc_security_group_ingress_rule", "ssh", { security_group_id: String(ctx.read(SECURITY, "ecs_security_group_id")), ip_protocol: "tcp", from_port: 22, to_port: 22, cidr_ipv4: "0.0.0.0/0", description: "SSH" });\n    root.assert(`,
        ),
    }));
    const r = caja(bad, "compile");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\[sg-no-world-admin-ports\] dev\/35-queue aws_vpc_security_group_ingress_rule\.ssh/);
  });
});

describe("an undecided setting of the module", () => {
  it("may be todo(): the compile succeeds, lists it, and the root asks for it as a variable with no default", () => {
    const dir = project(({ config, module }) => ({
      module: module
        .replace(`import { defineModule, NETWORKING, z }`, `import { defineModule, NETWORKING, orTodo, z }`)
        .replace(`maxAgeAlarmSeconds: z.int()`, `owner: orTodo(z.email()).optional(),\n      maxAgeAlarmSeconds: z.int()`)
        .replace(
          `const name = ctx.name("jobs");`,
          `const name = ctx.name("jobs");\n    const owner = ctx.decide(settings.owner ?? "platform@example.com", { name: "queue_owner", path: \`environments.\${ctx.env.name}.queue.owner\`, type: "string", example: "ops@example.com" });`,
        )
        .replace(`tags: { Vpc:`, `tags: { Owner: owner, Vpc:`),
      config: config.replace(`import { defineConfig } from "caja";`, `import { defineConfig, todo } from "caja";`).replace(`maxAgeAlarmSeconds: 300`, `maxAgeAlarmSeconds: 300, owner: todo("the team running the workers is not chosen")`),
    }));
    const r = caja(dir, "compile");
    expect(r.code, r.err).toBe(0);
    const config = readFileSync(join(dir, "caja.config.ts"), "utf8");
    expect(r.err).toContain(`TODO caja.config.ts:${lineColOf(config, "todo(")}  environments.dev.queue.owner: the team running the workers is not chosen (variable queue_owner in dev/35-queue)`);
    const root = json(dir, "dev/35-queue/main.tf.json");
    expect(root.variable.queue_owner).toEqual({ type: "string", description: "TODO: the team running the workers is not chosen" });
    expect(root.resource.aws_sqs_queue.jobs.tags.Owner).toBe("${var.queue_owner}");
    expect(json(dir, "prod/35-queue/main.tf.json").resource.aws_sqs_queue.jobs.tags.Owner).toBe("platform@example.com");
  });
});

describe("mistakes in a module are located in its own file", () => {
  function failing(edit: Parameters<typeof project>[0]) {
    const dir = project(edit);
    const r = caja(dir, "compile");
    expect(r.code).toBe(1);
    return { err: r.err, module: readFileSync(join(dir, "modules/queue.ts"), "utf8"), config: readFileSync(join(dir, "caja.config.ts"), "utf8") };
  }

  it("reading an output its producer does not declare", () => {
    const { err, module } = failing(({ module }) => ({ module: module.replace(`ctx.read(NETWORKING, "vpc_id")`, `ctx.read(NETWORKING, "vpc_idd" as "vpc_id")`) }));
    expect(err).toContain(`modules/queue.ts:${lineColOf(module, `read(NETWORKING, "vpc_idd"`)}`);
    expect(err).toContain(`dev/35-queue reads networking.vpc_idd, which module networking does not declare. Did you mean "vpc_id"?`);
  });

  it("reading a phase that applies after it (a cycle between phases)", () => {
    const { err, module } = failing(({ module }) => ({
      module: module.replace(`import { defineModule, NETWORKING, z }`, `import { defineModule, ECS_SERVICE, NETWORKING, z }`).replace(`ctx.read(NETWORKING, "vpc_id")`, `ctx.read(ECS_SERVICE, "service_name")`),
    }));
    expect(err).toContain(`modules/queue.ts:${lineColOf(module, `read(ECS_SERVICE`)}`);
    expect(err).not.toContain("caja.config.ts");
    expect(err).toMatch(/dependency cycle between roots: dev\/35-queue => dev\/50-service => dev\/35-queue|dev\/35-queue \(phase 3\.5\) reads service_name from dev\/50-service \(phase 5\), which applies after it/);
  });

  it("a resource body the provider would refuse", () => {
    const { err, module } = failing(({ module }) => ({ module: module.replace(`sqs_managed_sse_enabled: true,`, `sqs_managed_sse_enabled: true,\n      delay: 5,` as string).replace(`const queue = root.resource("aws_sqs_queue", "jobs", {`, `const queue = root.resource("aws_sqs_queue", "jobs", {` as string) }));
    expect(err).toContain(`modules/queue.ts:${lineColOf(module, `resource("aws_sqs_queue"`)}`);
    expect(err).toContain(`module queue: aws_sqs_queue.jobs.delay: unsupported argument "delay" in aws_sqs_queue`);
  });

  it("a reference to a resource the root does not have", () => {
    const { err, module } = failing(({ module }) => ({
      module: module
        .replace(`import { defineModule, NETWORKING, z }`, `import { defineModule, expr, NETWORKING, z }`)
        .replace(`sqs_managed_sse_enabled: true,`, `sqs_managed_sse_enabled: true,\n      redrive_policy: expr("aws_sqs_queue.dead.arn"),`),
    }));
    expect(err).toContain(`modules/queue.ts:${lineColOf(module, `resource("aws_sqs_queue"`)}`);
    expect(err).toMatch(/module queue: aws_sqs_queue\.jobs\.redrive_policy: "\$\{aws_sqs_queue\.dead\.arn\}": .*aws_sqs_queue\.dead/);
  });

  it("a build that throws", () => {
    const { err, module } = failing(({ module }) => ({ module: module.replace(`const name = ctx.name("jobs");`, `const name = ctx.name("jobs");\n    if (name) throw new Error("no queue today");`) }));
    expect(err).toContain(`modules/queue.ts:${lineColOf(module, `new Error("no queue today")`)}`);
    expect(err).toContain("module queue threw while building dev/35-queue: no queue today");
  });

  it("a definition caja cannot place: at its defineModule call", () => {
    const { err, module } = failing(({ module }) => ({ module: module.replace(`number: 3.5,`, `number: 3,`) }));
    expect(err).toContain(`modules/queue.ts:${lineColOf(module, "defineModule({")}`);
    expect(err).toContain(`phase 3 is the plan's "persistence" phase: join it with phase: "persistence"`);
    // Its section in the config is not reported as an unknown field besides.
    expect(err).toContain("caja: 1 problem in the config");
  });

  it("a bad value in its config section: at the field in caja.config.ts", () => {
    const { err, config } = failing(({ config }) => ({ config: config.replace(`maxAgeAlarmSeconds: 300`, `maxAgeAlarmSeconds: 30`) }));
    expect(err).toContain(`caja.config.ts:${lineColOf(config, "maxAgeAlarmSeconds: 30")}  environments.dev.queue.maxAgeAlarmSeconds`);
  });
});

describe("the editor types the module's section", () => {
  it("accepts the fixture and refuses a wrong type or an unknown key in the section", () => {
    expect(typecheckDir(project()).output).toBe("");
    const wrong = typecheckDir(project(({ config }) => ({ config: config.replace(`maxAgeAlarmSeconds: 300`, `maxAgeAlarmSeconds: "300"`) })));
    expect(wrong.code).not.toBe(0);
    const [line, col] = lineColOf(readFileSync(join(fixture, "caja.config.ts"), "utf8"), "maxAgeAlarmSeconds").split(":");
    expect(wrong.output).toContain(`caja.config.ts(${line},${col}): error TS2322: Type 'string' is not assignable to type 'number'.`);
    const unknown = typecheckDir(project(({ config }) => ({ config: config.replace(`maxAgeAlarmSeconds: 300`, `maxAgeAlarmSecs: 300`) })));
    expect(unknown.output).toMatch(/maxAgeAlarmSecs/);
  });

  it("refuses a section of a module the config does not register", () => {
    const r = typecheckDir(project(({ config }) => ({ config: config.replace("modules: [queue],", "") })));
    expect(r.output).toMatch(/'queue' does not exist in type/);
  });
});

const terraform = findTerraform();
if (!terraform) {
  if (process.env.CAJA_REQUIRE_TERRAFORM) throw new Error("CAJA_REQUIRE_TERRAFORM is set but terraform is not on PATH");
  console.warn("\n!!!!! TERRAFORM CHECKS SKIPPED: the user module's roots were not validated or mock-applied. !!!!!\n");
}

describe.skipIf(!terraform)("terraform accepts the roots the module adds or changes", () => {
  it("validates and mock-applies the queue's roots and the roots wired to it", { timeout: 600_000 }, async () => {
    const dir = project();
    expect(caja(dir, "compile").code).toBe(0);
    const roots = ["dev/35-queue", "prod/35-queue", "dev/50-service", "dev/80-observability", "global/05-iam-oidc"];
    const results = await checkRoots(terraform!, roots.map((r) => join(dir, "out", r)), { concurrency: 2 });
    expect(results.filter((r) => !r.ok).map((r) => `${r.dir} failed at ${r.failedStep}:\n${r.detail}`).join("\n\n")).toBe("");
    for (const r of results) expect(r.runsPassed, r.dir).toBeGreaterThan(0);
  });
});
