/**
 * The emulated copy of each root (run/emulator.ts): what it points at the emulator, what it leaves
 * out and why, what it relaxes so everything can be destroyed, and how a re-plan is judged.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emulatedRoot, EMULATOR_DIFFS, faithfulRoot, judgeReplan, NOT_EMULATED, NOT_EMULATED_VALUE } from "../packages/compiler/src/run/emulator.js";
import { baseConfig, CAJA_BIN, compileWith, configWith, repoTempDir, rootJson, tempDir } from "./helpers.js";

const URL = "https://127.0.0.1:5999";

describe("the emulated copy of a root", () => {
  const compiled = compileWith(configWith({ ...baseConfig(), state: { bootstrapped: true } }));

  it("keeps state in the emulator's S3 and locks in its DynamoDB, and reads upstream state there too", () => {
    const doc = emulatedRoot(rootJson(compiled, "dev/50-service"), URL).doc as any;
    expect(doc.terraform.backend.s3).toMatchObject({
      bucket: "caja-terraform-state",
      key: "env/dev/service/terraform.tfstate",
      dynamodb_table: "caja-terraform-locks",
      endpoints: { s3: URL, dynamodb: URL, sts: URL, iam: URL },
      use_path_style: true,
      skip_credentials_validation: true,
    });
    for (const read of Object.values<any>(doc.data.terraform_remote_state)) expect(read.config).toMatchObject({ endpoints: { s3: URL }, use_path_style: true });
    for (const provider of [doc.provider.aws].flat()) expect(provider).toMatchObject({ s3_use_path_style: true, skip_credentials_validation: true });
  });

  it("leaves out what the emulator cannot create, saying why, and replaces every value read from it", () => {
    const hardening = emulatedRoot(rootJson(compiled, "dev/90-hardening"), URL);
    expect(hardening.notEmulated.map((n) => n.address).sort()).toEqual(
      Object.entries(rootJson(compiled, "dev/90-hardening").resource).flatMap(([type, byName]) => Object.keys(byName as object).map((n) => `${type}.${n}`)).sort(),
    );
    for (const n of hardening.notEmulated) expect(n.reason).toBe(NOT_EMULATED[n.address.split(".")[0]!]);
    expect(JSON.stringify(hardening.doc)).not.toMatch(/aws_appautoscaling_(target|policy)\./);
    expect(hardening.resources).toBe(0);

    const site = emulatedRoot(rootJson(compiled, "dev/60-static-site"), URL);
    expect(site.notEmulated.map((n) => n.address)).toEqual(["aws_cloudfront_response_headers_policy.web"]);
    const distribution = (site.doc as any).resource.aws_cloudfront_distribution.web;
    expect(JSON.stringify(distribution)).toContain(NOT_EMULATED_VALUE);
    expect(JSON.stringify(site.doc)).not.toContain("aws_cloudfront_response_headers_policy.");
  });

  it("relaxes only what would keep the run from destroying everything it created", () => {
    const bootstrap = emulatedRoot(rootJson(compiled, "global/00-bootstrap"), URL).doc as any;
    for (const byName of Object.values<any>(bootstrap.resource)) {
      for (const body of Object.values<any>(byName)) if (body.lifecycle && "prevent_destroy" in body.lifecycle) expect(body.lifecycle.prevent_destroy).toBe(false);
    }
    expect(Object.values<any>(bootstrap.resource.aws_s3_bucket).every((b) => b.force_destroy === true)).toBe(true);
    const prod = compileWith(configWith({ ...baseConfig(), state: { bootstrapped: true } }));
    const db = (emulatedRoot(rootJson(prod, "prod/30-persistence"), URL).doc as any).resource.aws_db_instance;
    for (const body of Object.values<any>(db)) expect(body).toMatchObject({ deletion_protection: false, skip_final_snapshot: true });
    // The copy is a copy: the compiled root keeps its protections.
    expect(Object.values<any>(rootJson(prod, "prod/30-persistence").resource.aws_db_instance)[0].deletion_protection).toBe(true);
  });

  it("plans the root as compiled, for checkov, changing nothing but where its state, provider and reads point", () => {
    const prod = compileWith(configWith({ ...baseConfig(), state: { bootstrapped: true } }));
    for (const id of ["global/00-bootstrap", "prod/30-persistence", "dev/20-network", "dev/90-hardening"]) {
      const original = rootJson(prod, id);
      const faithful = faithfulRoot(original, URL) as any;
      expect(faithful.resource, id).toEqual(original.resource);
      expect(faithful.output, id).toEqual(original.output);
      if (original.terraform.backend.s3) expect(faithful.terraform.backend.s3).toMatchObject({ ...original.terraform.backend.s3, endpoints: { s3: URL } });
      for (const provider of [faithful.provider.aws].flat()) expect(provider).toMatchObject({ s3_use_path_style: true });
    }
  });

  it("leaves a tiny share of the platform out (under 5 % of its resources)", () => {
    let total = 0;
    let out = 0;
    for (const root of compiled.plan.roots) {
      const e = emulatedRoot(rootJson(compiled, root.id), URL);
      total += e.resources + e.notEmulated.length;
      out += e.notEmulated.length;
    }
    expect(out / total).toBeLessThan(0.05);
  });
});

describe("judging a re-plan", () => {
  const update = (type: string, before: object, after: object) => ({ address: `${type}.x`, type, change: { actions: ["update"], before, after } });

  it("passes no-ops and reads, and in-place differences the emulator is known to cause, naming why", () => {
    const verdict = judgeReplan([
      { address: "aws_vpc.main", type: "aws_vpc", change: { actions: ["no-op"] } },
      update("aws_ecs_service", { availability_zone_rebalancing: "ENABLED", name: "a" }, { availability_zone_rebalancing: "DISABLED", name: "a" }),
    ]);
    expect(verdict.changes).toEqual([]);
    expect(verdict.ignored).toEqual([`aws_ecs_service.x: availability_zone_rebalancing (${EMULATOR_DIFFS.aws_ecs_service!.availability_zone_rebalancing})`]);
  });

  it("fails on anything else: another attribute beside a known one, a replacement, a create", () => {
    const verdict = judgeReplan([
      update("aws_ecs_service", { availability_zone_rebalancing: "ENABLED", desired_count: 1 }, { availability_zone_rebalancing: "DISABLED", desired_count: 2 }),
      { address: "aws_lb.main", type: "aws_lb", change: { actions: ["delete", "create"] } },
      { address: "aws_sns_topic.alarms", type: "aws_sns_topic", change: { actions: ["create"] } },
    ]);
    expect(verdict.changes).toEqual(["aws_ecs_service.x: update desired_count", "aws_lb.main: delete+create", "aws_sns_topic.alarms: create"]);
  });
});

describe("caja emulate stopped by a signal", () => {
  it("ends the terraform it started with it, not only its emulators, and releases the plugin cache's lock", async () => {
    const dir = repoTempDir("emulate-signal-");
    for (const command of ["init", "compile"]) expect(spawnSync(process.execPath, [CAJA_BIN, command], { cwd: dir, encoding: "utf8" }).status).toBe(0);
    // A plugin cache of its own: the hung init holds its lock, which the signal must release.
    const cache = tempDir("caja-signal-plugins-");
    // A terraform that answers its version, records its pid and then hangs, as a provider retrying against a stopped emulator would.
    const pids = join(dir, "terraform.pids");
    const fake = join(dir, "terraform");
    writeFileSync(
      fake,
      `#!${process.execPath}\nconst fs = require("node:fs");\nif (process.argv[2] === "version") { process.stdout.write(JSON.stringify({ terraform_version: "1.11.4" })); process.exit(0); }\nfs.appendFileSync(${JSON.stringify(pids)}, process.pid + "\\n");\nsetTimeout(() => {}, 120000);\n`,
      { mode: 0o755 },
    );
    const caja = spawn(process.execPath, [CAJA_BIN, "emulate", "dev", "--endpoint", "https://127.0.0.1:9", "--terraform", fake], { cwd: dir, stdio: "ignore", env: { ...process.env, TF_PLUGIN_CACHE_DIR: cache } });
    const started = Date.now();
    while (!existsSync(pids) && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 100));
    const hung = readFileSync(pids, "utf8").trim().split("\n").map(Number);
    expect(hung.length).toBeGreaterThan(0);
    const ended = new Promise<NodeJS.Signals | null>((resolve) => caja.once("exit", (_code, signal) => resolve(signal)));
    caja.kill("SIGTERM");
    expect(await ended).toBe("SIGTERM");
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // Killed at once; give the system a moment to reap what was reparented.
    for (const until = Date.now() + 5_000; hung.some(alive) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
    expect(hung.filter(alive)).toEqual([]);
    expect(readdirSync(cache)).toEqual([]);
  }, 60_000);
});
