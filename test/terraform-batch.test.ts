/**
 * The batch of mock tests (terraform-batch.ts) and the shared provider's address
 * (provider-server.ts), on their own: which test files a batch carries, the harness made of them,
 * and how terraform's JSON output is read back root by root. `terraform.test.ts` runs the same
 * against terraform.
 */
import { describe, expect, it } from "vitest";
import { batchableTest, harnessCulprits, harnessDocuments, judgeBatch, loadsAsModule } from "../packages/compiler/src/terraform-batch.js";
import { reattachValue } from "../packages/compiler/src/provider-server.js";

const mocks = { mock_data: { aws_caller_identity: { defaults: { account_id: "123456789012" } } } };
const testFile = (extra: Record<string, unknown> = {}, run: Record<string, unknown> = { command: "apply", assert: [{ condition: "${true}", error_message: "x" }] }) =>
  JSON.stringify({ "//": "generated", mock_provider: { aws: [mocks] }, run: [{ mock_apply: run }], ...extra });

describe("which root tests a batch carries", () => {
  it("takes the shape caja writes", () => {
    expect(batchableTest(testFile({ variables: { a: 1 }, override_data: [{ target: "data.x.y", values: {} }] }))).toEqual({
      mocks,
      fileLevel: { variables: { a: 1 }, override_data: [{ target: "data.x.y", values: {} }] },
      runs: [{ name: "mock_apply", body: { command: "apply", assert: [{ condition: "${true}", error_message: "x" }] } }],
    });
  });

  it("leaves to a check of their own: aliased or other mock providers, runs with a module or providers, unknown keys, odd run names, text that is not JSON", () => {
    const rejected = [
      JSON.stringify({ mock_provider: { aws: [{ ...mocks, alias: "east" }] }, run: [{ a: {} }] }),
      JSON.stringify({ mock_provider: { aws: [mocks, mocks] }, run: [{ a: {} }] }),
      JSON.stringify({ mock_provider: { aws: [mocks], google: [{}] }, run: [{ a: {} }] }),
      testFile({}, { module: { source: "./x" } }),
      testFile({}, { providers: { aws: "aws.x" } }),
      testFile({ provider: { aws: {} } }),
      testFile({ override_module: [] }),
      JSON.stringify({ mock_provider: { aws: [mocks] }, run: [{ "1st": {} }] }),
      JSON.stringify({ mock_provider: { aws: [mocks] }, run: [{ a: {}, b: {} }] }),
      JSON.stringify({ mock_provider: { aws: [mocks] }, run: [] }),
      testFile({ variables: [1] }),
      "{not json",
      "[]",
    ];
    for (const text of rejected) expect(batchableTest(text), text).toBeUndefined();
  });

  it("loads a root as a module unless it imports or names a cloud block", () => {
    expect(loadsAsModule(JSON.stringify({ resource: {}, terraform: { backend: { s3: {} } } }))).toBe(true);
    expect(loadsAsModule(JSON.stringify({ import: [{ id: "Z1", to: "aws_route53_zone.root" }] }))).toBe(false);
    expect(loadsAsModule(JSON.stringify({ terraform: [{ cloud: {} }] }))).toBe(false);
    expect(loadsAsModule("nope")).toBe(false);
  });
});

describe("the harness", () => {
  it("gives each root an aliased mock, its own module, state and run, with its file-level settings moved into the run and its own overrides winning", () => {
    const a = batchableTest(testFile({ variables: { v: "file" }, override_data: [{ target: "data.a.b", values: { x: 1 } }, { target: "data.c.d", values: {} }] }, { command: "apply", variables: { w: 2 }, override_data: [{ target: "data.a.b", values: { x: 2 } }] }))!;
    const b = batchableTest(testFile())!;
    const { main, test, runs } = harnessDocuments([a, b]);
    expect(main).toEqual({ terraform: { required_providers: { aws: { source: "hashicorp/aws" } } } });
    expect(runs).toEqual([{ name: "r0_mock_apply", root: 0 }, { name: "r1_mock_apply", root: 1 }]);
    expect(test).toEqual({
      mock_provider: { aws: [{ ...mocks, alias: "r0" }, { ...mocks, alias: "r1" }] },
      run: [
        {
          r0_mock_apply: {
            command: "apply",
            variables: { v: "file", w: 2 },
            override_data: [{ target: "data.a.b", values: { x: 2 } }, { target: "data.c.d", values: {} }],
            module: { source: "./roots/0" },
            providers: { aws: "aws.r0" },
            state_key: "r0",
          },
        },
        { r1_mock_apply: { command: "apply", assert: [{ condition: "${true}", error_message: "x" }], module: { source: "./roots/1" }, providers: { aws: "aws.r1" }, state_key: "r1" } },
      ],
    });
  });

  it("blames the roots an initialisation error names, not those a warning names", () => {
    const output = [
      "Warning: Backend configuration ignored\n\n  on roots/0/main.tf.json line 121, in terraform.backend:",
      "Error: Invalid assert expression\n\n  on batch.tftest.json line 1, in run[7].r7_mock_apply.assert[0]:",
      "Error: Unsupported argument\n\n  on roots/2/main.tf.json line 3:",
      "Error: Something\n\n  on roots/99/main.tf.json line 1:",
    ].join("\n\n");
    expect([...harnessCulprits(output, 10)].sort()).toEqual([2, 7]);
  });
});

describe("reading the batch's output root by root", () => {
  const line = (o: Record<string, unknown>) => JSON.stringify({ "@level": "info", "@timestamp": "2026-12-03T10:00:00Z", ...o });
  const run = (name: string, progress: string, status?: string, at = "2026-12-03T10:00:00Z") =>
    line({ "@testrun": name, "@timestamp": at, type: "test_run", test_run: { run: name, progress, ...(status ? { status } : {}) } });
  const error = (name: string | undefined, summary: string, detail: string) =>
    line({ "@level": "error", ...(name ? { "@testrun": name } : {}), type: "diagnostic", diagnostic: { severity: "error", summary, detail } });
  const runs = [{ name: "r0_mock_apply", root: 0 }, { name: "r1_mock_apply", root: 1 }, { name: "r2_mock_apply", root: 2 }];
  const none = [new Set<string>(), new Set<string>(), new Set<string>()];

  it("passes, fails and leaves unjudged each root by its own runs: a failed assertion is that root's, a skipped run is nobody's verdict", () => {
    const out = [
      run("r0_mock_apply", "starting", undefined, "2026-12-03T10:00:00Z"),
      run("r0_mock_apply", "complete", "pass", "2026-12-03T10:00:02Z"),
      run("r1_mock_apply", "complete", "fail"),
      error("r1_mock_apply", "Test assertion failed", "the VPC uses the configured CIDR"),
      run("r2_mock_apply", "complete", "skip"),
    ].join("\n");
    const [a, b, c] = judgeBatch(out, runs, none);
    expect(a).toMatchObject({ ok: true, runsPassed: 1, ms: 2000 });
    expect(b).toMatchObject({ ok: false, runsPassed: 0 });
    expect(b!.detail).toContain("Test assertion failed: the VPC uses the configured CIDR");
    expect(c).toBeUndefined();
  });

  it("judges no root when an error belongs to no run", () => {
    const out = [run("r0_mock_apply", "complete", "pass"), run("r1_mock_apply", "complete", "pass"), run("r2_mock_apply", "complete", "pass"), error(undefined, "Failed to load", "x")].join("\n");
    expect(judgeBatch(out, runs, none)).toEqual([undefined, undefined, undefined]);
  });

  it("accepts a root's own prevent_destroy teardown refusals, as a single root's test does, and no other root's", () => {
    const refusal = (name: string) => error(name, "Instance cannot be destroyed", "Resource aws_s3_bucket.state has lifecycle.prevent_destroy set, but the plan calls for this resource to be destroyed.");
    const out = [run("r0_mock_apply", "complete", "pass"), run("r1_mock_apply", "complete", "pass"), run("r2_mock_apply", "complete", "pass"), refusal("r0_mock_apply"), refusal("r1_mock_apply")].join("\n");
    const [a, b, c] = judgeBatch(out, runs, [new Set(["aws_s3_bucket.state"]), new Set<string>(), new Set<string>()]);
    expect(a).toMatchObject({ ok: true, protectedLeftovers: ["aws_s3_bucket.state"] });
    expect(b).toMatchObject({ ok: false });
    expect(c).toMatchObject({ ok: true });
  });
});

describe("the shared provider's address", () => {
  const printed = (value: unknown) => `Provider started.\n\n\tTF_REATTACH_PROVIDERS='${JSON.stringify(value)}'\n`;
  const entry = { Protocol: "grpc", ProtocolVersion: 5, Pid: 42, Test: true, Addr: { Network: "unix", String: "/tmp/caja-batch-x/plugin123" } };

  it("is read from what the provider prints and written back by caja", () => {
    expect(JSON.parse(reattachValue(printed({ "registry.terraform.io/hashicorp/aws": { ...entry, Extra: "$(rm -rf /)" } }), "/tmp/caja-batch-x")!)).toEqual({ "registry.terraform.io/hashicorp/aws": entry });
  });

  it("is refused outside caja's folder, over the network, for another provider, or garbled", () => {
    expect(reattachValue(printed({ "registry.terraform.io/hashicorp/aws": { ...entry, Addr: { Network: "unix", String: "/tmp/elsewhere/plugin" } } }), "/tmp/caja-batch-x")).toBeUndefined();
    expect(reattachValue(printed({ "registry.terraform.io/hashicorp/aws": { ...entry, Addr: { Network: "unix", String: "/tmp/caja-batch-x/../x" } } }), "/tmp/caja-batch-x")).toBeUndefined();
    expect(reattachValue(printed({ "registry.terraform.io/hashicorp/aws": { ...entry, Addr: { Network: "tcp", String: "127.0.0.1:1234" } } }), "/tmp/caja-batch-x")).toBeUndefined();
    expect(reattachValue(printed({ "registry.terraform.io/evil/aws": entry }), "/tmp/caja-batch-x")).toBeUndefined();
    expect(reattachValue("TF_REATTACH_PROVIDERS='{not json}'", "/tmp/caja-batch-x")).toBeUndefined();
    expect(reattachValue("nothing", "/tmp/caja-batch-x")).toBeUndefined();
  });
});
