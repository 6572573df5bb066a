/**
 * Terraform judges the output: every generated root passes `terraform init -backend=false`,
 * `terraform validate` and its generated mock `terraform test` (command = apply). Runs when
 * terraform is on PATH; otherwise prints one loud line and skips, unless CAJA_REQUIRE_TERRAFORM
 * is set (CI), where a missing terraform fails.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { compile } from "../packages/compiler/src/compile.js";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { installedAwsProvider, startProviderServer } from "../packages/compiler/src/provider-server.js";
import { checkRoot, checkRoots, findTerraform, runTerraform, terraformEnv, type RootCheck } from "../packages/compiler/src/terraform.js";
import { baseConfig, compileWith, tempDir } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const bin = findTerraform();
if (!bin) {
  if (process.env.CAJA_REQUIRE_TERRAFORM) throw new Error("CAJA_REQUIRE_TERRAFORM is set but terraform is not on PATH");
  console.warn("\n!!!!! TERRAFORM CHECKS SKIPPED: terraform is not on PATH, so no generated root was validated or mock-applied. !!!!!\n");
}

function failures(results: RootCheck[]): string {
  return results
    .filter((r) => !r.ok)
    .map((r) => `${r.dir} failed at ${r.failedStep}:\n${r.detail}`)
    .join("\n\n");
}

describe.skipIf(!bin)("terraform accepts every generated root", () => {
  it("validates and mock-applies every root the repository's caja.config.ts compiles to", { timeout: 900_000 }, async () => {
    const out = tempDir("caja-tf-root-");
    const result = await compile({ cwd: repo, outDir: out });
    const dirs = result.plan.roots.map((r) => join(out, r.id));
    expect(dirs.length).toBeGreaterThan(1);
    const results = await checkRoots(bin!, dirs, { concurrency: 2 });
    expect(failures(results)).toBe("");
    for (const r of results) expect(r.runsPassed, r.dir).toBeGreaterThan(0);
  });

  it("validates and mock-applies the variants: another region, S3 lockfile, adopted zone, migrated state, fixed account", { timeout: 900_000 }, async () => {
    const config = {
      ...baseConfig(),
      region: "eu-west-1",
      accountId: "123456789012",
      state: { locking: "s3", bootstrapped: true },
      domain: { root: "example.org", hostedZoneId: "Z0123456789ABCDEFGHIJ", envSubdomains: false },
      environments: { prod: {} },
    };
    const compiled = compileWith(config);
    const out = tempDir("caja-tf-variant-");
    for (const f of compiled.files) {
      await mkdir(dirname(join(out, f.path)), { recursive: true });
      await writeFile(join(out, f.path), f.content);
    }
    const results = await checkRoots(bin!, compiled.plan.roots.map((r) => join(out, r.id)), { concurrency: 2 });
    expect(failures(results)).toBe("");
  });

  it("fails exactly the roots that fail, each as its own check reports it, and proves the rest in one batch", { timeout: 900_000 }, async () => {
    const out = tempDir("caja-tf-broken-");
    const result = await compile({ cwd: repo, outDir: out });
    const ids = result.plan.roots.map((r) => r.id);
    const edit = async (file: string, change: (doc: any) => void) => {
      const doc = JSON.parse(await readFile(join(out, file), "utf8"));
      change(doc);
      await writeFile(join(out, file), JSON.stringify(doc));
    };
    // An assertion that does not hold (the mock apply fails), an argument the provider does not
    // have (validation fails), and an assertion terraform refuses to load (init fails, and with it
    // the harness until that root is left out).
    await edit("dev/40-platform/main.tftest.json", (t) => (t.run[0].mock_apply.assert[0].condition = t.run[0].mock_apply.assert[0].condition.replace(/^\$\{(.*)\}$/s, "$${!($1)}")));
    await edit("prod/20-network/main.tf.json", (m) => (m.resource.aws_vpc.main.no_such_argument = true));
    await edit("staging/70-dns/main.tftest.json", (t) => (t.run[0].mock_apply.assert[0].condition = "${1 == 2}"));
    const broken = { "dev/40-platform": "test", "prod/20-network": "validate", "staging/70-dns": "init" };

    const started: string[] = [];
    const results = await checkRoots(bin!, ids.map((id) => join(out, id)), { concurrency: 2, onStart: (dir) => started.push(dir) });
    const byId = new Map(ids.map((id, i) => [id, results[i]!]));
    expect(Object.fromEntries(ids.filter((id) => !byId.get(id)!.ok).map((id) => [id, byId.get(id)!.failedStep]))).toEqual(broken);
    // Every root is announced once, and every passing one was proven by the batch.
    expect([...started].sort()).toEqual(ids.map((id) => join(out, id)).sort());
    for (const id of ids.filter((id) => byId.get(id)!.ok)) expect(byId.get(id)!.via, id).toBe("batch");
    const env = await terraformEnv();
    for (const id of Object.keys(broken)) {
      const alone = await checkRoot(bin!, join(out, id), env);
      expect(byId.get(id)!.via).toBe("alone");
      expect({ step: byId.get(id)!.failedStep, detail: byId.get(id)!.detail }).toEqual({ step: alone.failedStep, detail: alone.detail });
    }
    expect(byId.get("dev/40-platform")!.detail).toMatch(/Test assertion failed/);
    expect(byId.get("prod/20-network")!.detail).toMatch(/no_such_argument/);
    expect(byId.get("staging/70-dns")!.detail).toMatch(/Invalid assert expression/);
  });

  it("shares one AWS provider process: started in debug mode with its socket in caja's folder, used by terraform, and gone when stopped", { timeout: 300_000 }, async () => {
    const dir = tempDir("caja-tf-provider-");
    await writeFile(join(dir, "main.tf.json"), JSON.stringify({ terraform: { required_providers: { aws: { source: "hashicorp/aws" } } }, resource: { aws_s3_bucket: { b: { bucket: "caja-provider-test", no_such_argument: true } } } }));
    const env = await terraformEnv();
    expect((await runTerraform(bin!, ["init", "-backend=false", "-input=false", "-no-color"], dir, env)).code).toBe(0);
    const provider = installedAwsProvider(dir);
    expect(provider).toMatch(/terraform-provider-aws/);
    const sockets = tempDir("caja-tf-socket-");
    const server = await startProviderServer(provider!, sockets, { ...env, AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE" });
    expect(server).toBeDefined();
    const attach = JSON.parse(server!.reattach)["registry.terraform.io/hashicorp/aws"];
    const attached = { ...env, TF_REATTACH_PROVIDERS: server!.reattach, TF_LOG: "debug" };
    // Stopped whatever fails: a provider in debug mode never ends by itself.
    try {
      expect(attach.Addr.String.startsWith(sockets)).toBe(true);
      expect(existsSync(attach.Addr.String)).toBe(true);
      expect(() => process.kill(attach.Pid, 0)).not.toThrow();
      // Started without the AWS credentials caja was given (Linux shows a process's environment).
      const environ = `/proc/${attach.Pid}/environ`;
      if (existsSync(environ)) expect(readFileSync(environ, "utf8")).not.toMatch(/AWS_ACCESS_KEY_ID/);
      // terraform uses it: the provider's schema, which refuses the unknown argument, comes from
      // the running process, and terraform starts no provider of its own; once it is stopped, the
      // same validate cannot reach one.
      const validate = await runTerraform(bin!, ["validate", "-no-color"], dir, attached);
      expect(validate.stdout + validate.stderr).toMatch(/Extraneous JSON object property[\s\S]*no_such_argument/);
      expect(validate.stderr).not.toMatch(/starting plugin/);
    } finally {
      await server!.stop();
    }
    expect(() => process.kill(attach.Pid, 0)).toThrow();
    const after = await runTerraform(bin!, ["validate", "-no-color"], dir, attached);
    expect(after.code).not.toBe(0);
    expect(after.stdout + after.stderr).not.toMatch(/Extraneous JSON object property/);
    expect(readdirSync(sockets)).toEqual([]);
  });

  it("stops the shared provider when the process that started it is killed outright (SIGKILL)", { timeout: 300_000 }, async () => {
    const dir = tempDir("caja-tf-provider-");
    await writeFile(join(dir, "main.tf.json"), JSON.stringify({ terraform: { required_providers: { aws: { source: "hashicorp/aws" } } } }));
    const env = await terraformEnv();
    expect((await runTerraform(bin!, ["init", "-backend=false", "-input=false", "-no-color"], dir, env)).code).toBe(0);
    const sockets = tempDir("caja-tf-socket-");
    const script = join(tempDir("caja-tf-killed-"), "serve.ts");
    // Starts a server, says where it listens, then waits to be killed.
    await writeFile(
      script,
      `import { startProviderServer } from ${JSON.stringify(join(repo, "packages/compiler/src/provider-server.ts"))};\n` +
        `const server = await startProviderServer(process.argv[2]!, process.argv[3]!, process.env);\n` +
        `process.stdout.write((server?.reattach ?? "none") + "\\n");\nsetInterval(() => {}, 1000);\n`,
    );
    const holder = spawn(process.execPath, [join(repo, "scripts/run-ts.mjs"), script, installedAwsProvider(dir)!, sockets], { cwd: repo, env, stdio: ["ignore", "pipe", "inherit"] });
    const line = await new Promise<string>((resolve) => {
      let text = "";
      holder.stdout.on("data", (b: Buffer) => {
        text += b.toString();
        if (text.includes("\n")) resolve(text.split("\n")[0]!);
      });
    });
    expect(line, "the server did not start").toMatch(/^\{/);
    const pid = JSON.parse(line)["registry.terraform.io/hashicorp/aws"].Pid as number;
    expect(() => process.kill(pid, 0)).not.toThrow();
    holder.kill("SIGKILL");
    const gone = async () => {
      for (let i = 0; i < 100; i++) {
        try {
          process.kill(pid, 0);
        } catch {
          return true;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    };
    const stopped = await gone();
    if (!stopped) process.kill(pid, "SIGKILL");
    expect(stopped).toBe(true);
    // Interrupted, not killed: it closed its socket.
    expect(readdirSync(sockets)).toEqual([]);
  });
});
