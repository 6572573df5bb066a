/**
 * `caja plan | apply | destroy | test` as users run them: the built CLI in fixture projects under
 * test/.tmp (so `import "caja"` resolves). The refusals need no terraform (a stand-in binary that
 * only reports its version). The rest run terraform offline: the bootstrap root planned in trial
 * mode, a broken root stopping the run, and `caja test` over the repository's own config. Without
 * terraform those print one loud line and are skipped, unless CAJA_REQUIRE_TERRAFORM is set.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { offlineEnv, offlineOverride, OFFLINE_OVERRIDE } from "../packages/compiler/src/run/offline.js";
import { findTerraform, runTerraform, terraformEnv } from "../packages/compiler/src/terraform.js";
import { tempDir, BY_DESIGN_SUPPRESSIONS, CAJA_BIN, repoTempDir } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const cli = CAJA_BIN;
const terraform = findTerraform();
if (!terraform) {
  if (process.env.CAJA_REQUIRE_TERRAFORM) throw new Error("CAJA_REQUIRE_TERRAFORM is set but terraform is not on PATH");
  console.warn("\n!!!!! CAJA PLAN/TEST CHECKS SKIPPED: terraform is not on PATH, so no root was planned or tested through the CLI. !!!!!\n");
}

const CONFIG = `import { defineConfig } from "caja";

export default defineConfig({
  project: "caja",
  tags: { Owner: "platform-engineering", Confidentiality: "internal", CostCenter: "events-eng" },
  domain: { root: "dbash.dev", namespace: "caja" },
  github: { repository: "dbash/caja" },
  defaults: { alarms: { emails: ["oncall@dbash.dev"] } },
  environments: { dev: {}, prod: {} },
  policy: { suppressions: ${JSON.stringify(BY_DESIGN_SUPPRESSIONS)} },
});
`;

function fixture(files: Record<string, string>): string {
  const dir = repoTempDir("run-");
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

function caja(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: "utf8", env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A terraform that reports `version` and records any other call in `called` (then fails). */
function standIn(dir: string, version = "1.9.0"): string {
  const bin = join(dir, "fake-terraform");
  writeFileSync(bin, `#!/bin/sh\nif [ "$1" = version ]; then echo '{"terraform_version":"${version}"}'; exit 0; fi\necho "$@" >> "${join(dir, "called")}"\necho "fake terraform cannot $1" >&2\nexit 1\n`);
  chmodSync(bin, 0o755);
  return bin;
}

describe("before running terraform", () => {
  it("refuses to run on a stale out/", () => {
    const dir = fixture({ "caja.config.ts": CONFIG });
    expect(caja(dir, ["compile"]).code).toBe(0);
    const file = join(dir, "out/global/10-domain/main.tf.json");
    writeFileSync(file, readFileSync(file, "utf8").replace("api.caja.dbash.dev", "api.example.com"));
    const r = caja(dir, ["plan", "dev", "--terraform", standIn(dir)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("caja: out/ is stale (1 file differs from what the config compiles to), run caja compile:\n  out/global/10-domain/main.tf.json\n");
    expect(existsSync(join(dir, "called"))).toBe(false);
  });

  it("refuses to plan roots whose variables stand for todo() values, listing each with its line", () => {
    const dir = fixture({ "caja.config.ts": CONFIG.replace(`emails: ["oncall@dbash.dev"]`, `emails: todo("on-call list not decided")`).replace("{ defineConfig }", "{ defineConfig, todo }") });
    expect(caja(dir, ["compile"]).code).toBe(0);
    const r = caja(dir, ["apply", "dev", "--terraform", standIn(dir)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("caja: refusing to apply: 1 todo() value in the config would become a variable without a value. Decide it in the config:");
    expect(r.stderr).toContain("  caja.config.ts:8:33  defaults.alarms.emails: on-call list not decided (variable alarm_emails in dev/80-observability)");
    expect(existsSync(join(dir, "called"))).toBe(false);
  });

  it("lets roots without TODOs run, and names the root, the command and the log when terraform fails", () => {
    const dir = fixture({ "caja.config.ts": CONFIG.replace(`emails: ["oncall@dbash.dev"]`, `emails: todo("on-call list not decided")`).replace("{ defineConfig }", "{ defineConfig, todo }") });
    expect(caja(dir, ["compile"]).code).toBe(0);
    const r = caja(dir, ["plan", "global", "--terraform", standIn(dir)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("[1/4] global/00-bootstrap  FAILED at terraform init -input=false");
    expect(r.stdout).toContain("  │ fake terraform cannot init");
    expect(r.stderr).toBe("caja: global/00-bootstrap failed at terraform init -input=false. Full log: .caja/logs/plan/global/00-bootstrap.log\n");
    expect(readFileSync(join(dir, ".caja/logs/plan/global/00-bootstrap.log"), "utf8")).toContain("fake terraform cannot init");
    expect(r.stdout).toMatch(/^global\/10-domain\s+not run/m);
  });

  it("never destroys a tier-prod environment without --allow-prod, nor anything unasked without a terminal", () => {
    const dir = fixture({ "caja.config.ts": CONFIG });
    expect(caja(dir, ["compile"]).code).toBe(0);
    const bin = standIn(dir);
    const prod = caja(dir, ["destroy", "prod", "--yes", "--terraform", bin]);
    expect(prod.code).toBe(1);
    expect(prod.stderr).toBe("caja: refusing to destroy prod: a production environment (tier prod). Pass --allow-prod as well if that is what you mean.\n");
    const unasked = caja(dir, ["destroy", "dev", "--terraform", bin]);
    expect(unasked.code).toBe(1);
    expect(unasked.stderr).toBe("caja: caja destroy asks before deleting anything, and there is no terminal to ask on. Pass --yes to destroy without asking.\n");
    expect(existsSync(join(dir, "called"))).toBe(false);
  });

  it("explains a missing or too old terraform, trial mode's limits and unknown environments", () => {
    const dir = fixture({ "caja.config.ts": CONFIG });
    const missing = caja(dir, ["plan", "global", "--terraform", join(dir, "nope")]);
    expect([missing.code, missing.stderr]).toEqual([1, `caja: --terraform ${join(dir, "nope")}: no such file. Point it at a terraform binary (>= 1.7).\n`]);
    const noPath = caja(dir, ["plan", "global"], { ...process.env, PATH: join(dir, "empty") });
    expect(noPath.stderr).toMatch(/^caja: terraform is not on PATH\. Install Terraform >= 1\.7 .* or pass --terraform PATH\.\n$/);
    const old = standIn(dir, "1.6.6");
    expect(caja(dir, ["test", "--terraform", old]).stderr).toBe(`caja: ${old} is Terraform 1.6.6; caja's roots need Terraform >= 1.7. Upgrade it or pass --terraform PATH.\n`);
    const trialApply = caja(dir, ["apply", "dev", "--backend", "local"]);
    expect(trialApply.code).toBe(2);
    expect(trialApply.stderr).toContain("--backend local is trial mode, which only plans");
    expect(caja(dir, ["compile"]).code).toBe(0);
    const qa = caja(dir, ["plan", "qa", "--terraform", standIn(dir)]);
    expect([qa.code, qa.stderr]).toEqual([2, `caja: "qa" is neither "global", "all" nor an environment of this config (environments: dev, prod). Run caja --help for usage.\n`]);
  });
});

describe.skipIf(!terraform)("with terraform, offline", () => {
  it("plans the bootstrap root in trial mode with no AWS account, and leaves out/ alone", { timeout: 300_000 }, () => {
    const dir = fixture({ "caja.config.ts": CONFIG });
    const started = performance.now();
    const r = caja(dir, ["plan", "global", "--phase", "bootstrap", "--backend", "local"]);
    console.log(`caja plan global --phase bootstrap --backend local: ${Math.round(performance.now() - started)} ms`);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("trial mode: local state in .caja/local/, fake AWS credentials; nothing is sent to AWS");
    expect(r.stdout).toMatch(/^\[1\/1\] global\/00-bootstrap {2}planned: 8 to add, 0 to change, 0 to destroy {2}/m);
    expect(r.stdout).toContain(`  │   # aws_s3_bucket.state will be created`);
    expect(r.stdout).toMatch(/^global\/00-bootstrap\s+planned\s+8\s+0\s+0\s+\S+$/m);
    expect(existsSync(join(dir, ".caja/local/global/00-bootstrap/caja.tfplan"))).toBe(true);
    expect(existsSync(join(dir, ".caja/local/global/00-bootstrap", OFFLINE_OVERRIDE))).toBe(true);
    expect(existsSync(join(dir, "out"))).toBe(false);
  });

  it("stops a run at a broken root with exit code 1, naming the root, the command and the log", { timeout: 300_000 }, () => {
    const broken = CONFIG.replace("environments:", `extend: { bootstrap: { overrides: { "aws_dynamodb_table.locks": { billing_mode: "NOT_A_MODE" } } } },\n  environments:`);
    const dir = fixture({ "caja.config.ts": broken });
    const r = caja(dir, ["plan", "global", "--backend", "local", "--parallel", "2"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("caja: global/00-bootstrap failed at terraform plan -input=false -no-color -out=caja.tfplan. Full log: .caja/logs/plan/global/00-bootstrap.log\n");
    expect(r.stdout).toContain(`  │ Error: expected billing_mode to be one of ["PROVISIONED" "PAY_PER_REQUEST"], got NOT_A_MODE`);
    expect(r.stdout).toMatch(/^global\/10-domain\s+not run\s/m);
    expect(readFileSync(join(dir, ".caja/logs/plan/global/00-bootstrap.log"), "utf8")).toContain("$ terraform plan -input=false -no-color -out=caja.tfplan");

    expect(caja(dir, ["compile"]).code).toBe(0);
    const t = caja(dir, ["test", "global"]);
    expect(t.code).toBe(1);
    expect(t.stderr).toBe("caja: global/00-bootstrap failed at terraform validate. Full log: .caja/logs/test/global/00-bootstrap.log\n");
    expect(t.stdout).toMatch(/^global\/10-domain\s+passed/m);
  });

  it("mock-applies the repository config's global roots and one environment through caja test", { timeout: 600_000 }, () => {
    const dir = fixture({ "caja.config.ts": readFileSync(join(repo, "caja.config.ts"), "utf8") });
    expect(caja(dir, ["compile"]).code).toBe(0);
    const started = performance.now();
    const r = caja(dir, ["test", "global", "dev"]);
    console.log(`caja test global dev (12 roots): ${Math.round(performance.now() - started)} ms`);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^12 roots: 12 passed$/m);
    for (const id of ["global/00-bootstrap", "global/90-hardening", "dev/20-network", "dev/90-hardening"]) expect(r.stdout).toMatch(new RegExp(`^${id}\\s+passed`, "m"));
    // Copies were tested: out/ has no terraform working files.
    expect(existsSync(join(dir, "out/dev/20-network/.terraform"))).toBe(false);
  });

  it("plans a root with an aliased aws provider offline: the override mirrors each provider block", { timeout: 300_000 }, async () => {
    const dir = tempDir("caja-alias-");
    const root = {
      terraform: { required_providers: { aws: { source: "hashicorp/aws", version: "~> 5.0" } } },
      provider: { aws: [{ region: "us-east-1" }, { alias: "west", region: "us-west-2" }] },
      resource: { aws_sns_topic: { east: { name: "east" }, west: { provider: "aws.west", name: "west" } } },
    };
    writeFileSync(join(dir, "main.tf.json"), JSON.stringify(root));
    writeFileSync(join(dir, OFFLINE_OVERRIDE), JSON.stringify(offlineOverride(root)));
    const env = offlineEnv(await terraformEnv());
    expect((await runTerraform(terraform!, ["init", "-input=false", "-no-color"], dir, env)).code).toBe(0);
    const plan = await runTerraform(terraform!, ["plan", "-input=false", "-no-color"], dir, env);
    expect(plan.stderr).toBe("");
    expect(plan.stdout).toContain("Plan: 2 to add, 0 to change, 0 to destroy.");
  });
});
