/**
 * The repository config, every root, through a real AWS API: `caja emulate` against moto_server
 * (pip install "moto[server]"). Applies every root with real remote-state reads, re-plans each
 * (no change allowed beyond the emulator's listed differences), destroys everything and checks
 * nothing is left; first, in dev, the fault drills (a wrong order, a held lock, a killed apply).
 * Then checkov scans each root's plan as compiled, with every reference resolved by the emulated
 * apply, and each check it fails must be accounted for like on out/ (test/checkov.test.ts). Runs
 * when moto_server is on PATH (or CAJA_MOTO names it) and terraform can run; CAJA_REQUIRE_MOTO=1
 * (CI) makes a missing emulator a failure instead of a skip, and CAJA_REQUIRE_CHECKOV a missing checkov.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { RESOLVED_PLAN } from "../packages/compiler/src/commands/emulate.js";
import { compile } from "../packages/compiler/src/compile.js";
import { classifyCheckov, countByClass, readCheckovReport, type ScannableRoot } from "../packages/compiler/src/policy/checkov.js";
import { findProgram, findTerraform } from "../packages/compiler/src/terraform.js";
import { CAJA_BIN, tempDir } from "./helpers.js";

const REPO = fileURLToPath(new URL("..", import.meta.url));

const moto = findProgram("moto_server", process.env.CAJA_MOTO || undefined);
const terraform = findTerraform();
if (!moto || !terraform) {
  const missing = !moto ? "moto_server (pip install \"moto[server]\")" : "terraform";
  if (process.env.CAJA_REQUIRE_MOTO === "1") throw new Error(`CAJA_REQUIRE_MOTO=1 but ${missing} is not available`);
  console.warn(`SKIPPED: the emulated apply of every root: ${missing} not found`);
}

/**
 * Checks that fail on the resolved plans and not on out/ because the resolved plan hides what the
 * check reads; the fact itself is judged on out/. A real finding never goes here: it becomes a rule.
 */
const PLAN_ONLY: readonly { check: string; address: RegExp; why: string }[] = [
  {
    check: "CKV2_AWS_23",
    address: /^aws_route53_record\./,
    why: "a graph check that follows an alias record's reference to its load balancer or distribution; a resolved plan holds the target's DNS name as a plain value, so the link is gone (it passes on out/)",
  },
  {
    check: "CKV_AWS_260",
    address: /^aws_security_group\.alb$/,
    why: "the resolved security group lists the rules caja manages as separate rule resources; port 80 is accepted by design on the rule itself (sg-no-world-http)",
  },
];

const checkov = findProgram("checkov", process.env.CAJA_CHECKOV || undefined);
if (moto && terraform && !checkov) {
  if (process.env.CAJA_REQUIRE_CHECKOV) throw new Error("CAJA_REQUIRE_CHECKOV is set but checkov is not on PATH (nor at CAJA_CHECKOV)");
  console.warn("SKIPPED: checkov on the emulated plans: checkov not found");
}

describe.skipIf(!moto || !terraform)("every root of the repository config against an AWS emulator", () => {
  it("applies, re-plans clean and destroys, leaving nothing behind; under 5 % of resources not emulated; survives a held lock, a killed apply and a wrong order", { timeout: 45 * 60_000 }, async () => {
    const started = Date.now();
    const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
      const child = spawn(process.execPath, [CAJA_BIN, "emulate", "--faults", "--moto", moto!, "--timeout", "420", "--parallel", "3"], {
        cwd: REPO,
        env: { ...process.env, PATH: `${dirname(terraform!)}${delimiter}${process.env.PATH}` },
      });
      let text = "";
      child.stdout.on("data", (b: Buffer) => (text += b.toString()));
      child.stderr.on("data", (b: Buffer) => (text += b.toString()));
      child.on("close", (c) => resolve({ code: c ?? 1, out: text }));
    });
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    console.log(`caja emulate: every environment in ${minutes} min`);
    const summary = out.split("\n").filter((l) => /^(root|global\/|[a-z0-9-]+\/\d\d-|[a-z0-9-]+: |not emulated|\(.* in all\)|dev │ fault drill)/.test(l));
    expect(code, `${summary.join("\n")}\n\n${out.slice(-6000)}`).toBe(0);
    for (const env of ["dev", "staging", "prod"]) expect(out).toContain(`${env}: every root applied, re-planned clean and was destroyed`);
    for (const share of out.matchAll(/not emulated \((\d+) of (\d+) resources/g)) expect(Number(share[1]) / Number(share[2])).toBeLessThan(0.05);
    expect(out).not.toContain("left in the emulator after destroy");
    // The fault drills, in the first environment: each ends as caja promises.
    for (const drill of ["order", "lock", "kill", "group"]) expect(out, summary.join("\n")).toMatch(new RegExp(`^dev │ fault drill \\(${drill}\\): ok: `, "m"));
    expect(out).toMatch(/fault drill \(group\): ok: aws_security_group\.\S+ \(sg-\S+\) left out of the state with AWS's default egress rule \(sgr-\S+\); the next apply .*, adopted the group and revoked the rule/);
    expect(out).toMatch(/│ +aws_security_group\.\S+ \(sg-\S+\): its creation was interrupted; revoked AWS's default egress rule \(all traffic to the internet\) that it kept: sgr-/);
    expect(out).toMatch(/fault drill \(kill\): ok: terraform killed after \d+ of \d+ objects of dev\/20-network were created; the next apply converged .*; the emulator holds no object its state lacks/);
  });

  it.skipIf(!checkov)("checkov reads every root's plan with its references resolved, and each check it fails is accounted for", { timeout: 10 * 60_000 }, async () => {
    const result = await compile({ cwd: REPO, outDir: tempDir("caja-emulated-plans-out-"), check: true });
    const dir = tempDir("caja-emulated-plans-");
    const scanned = new Map<string, ScannableRoot>();
    const missing: string[] = [];
    for (const env of ["dev", "staging", "prod"]) {
      // The global roots are the same in every environment's emulator: scanned once. dev/20-network
      // is scanned as the fault drills left it: adopted after a kill, with a group whose default
      // egress rule the recovery revoked.
      for (const root of result.plan.roots.filter((r) => r.scope === env || (env === "dev" && r.scope === "global"))) {
        const source = join(REPO, ".caja", "emulate", env, root.id, RESOLVED_PLAN);
        if (!existsSync(source)) {
          missing.push(`${env}: ${root.id}`);
          continue;
        }
        const file = `${env}/${root.id}/plan.json`;
        mkdirSync(dirname(join(dir, file)), { recursive: true });
        copyFileSync(source, join(dir, file));
        scanned.set(file, { root: root.id, text: "", addresses: new Map() });
      }
    }
    expect(missing, "every root has its plan as compiled").toEqual([]);
    const run = spawnSync(checkov!, ["-d", dir, "--framework", "terraform_plan", "-o", "json", "--compact", "--quiet", "--soft-fail", "--skip-download"], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, timeout: 540_000 });
    expect(run.status, `${run.stderr}`).toBe(0);
    const report = readCheckovReport(JSON.parse(run.stdout), scanned);
    expect(report.parsingErrors).toBe(0);
    expect(report.passed).toBeGreaterThan(100);
    const tiers = new Map(result.plan.roots.map((r) => [r.id, r.env?.tier]));
    const classified = classifyCheckov(report.failures, result.policy!, { tierOf: (root) => tiers.get(root) });
    const counts = countByClass(classified);
    console.log(`checkov ${report.version ?? ""} on ${scanned.size} resolved plans: ${report.passed} passed, ${report.failures.length} failed: ${Object.entries(counts).map(([c, n]) => `${c} ${n}`).join(", ")}`);
    const shown = (f: (typeof classified)[number]) => `${f.check} ${f.root} ${f.address}${f.rule ? ` (${f.rule})` : ""}: ${f.name}`;
    const planOnly = (f: (typeof classified)[number]) => PLAN_ONLY.find((p) => p.check === f.check && p.address.test(f.address));
    expect(classified.filter((f) => f.class === "unexplained" && !planOnly(f)).map(shown)).toEqual([]);
    expect(classified.filter((f) => f.class === "caja-blocks").map(shown)).toEqual([]);
    // Each entry still explains something, so the list cannot rot.
    for (const entry of PLAN_ONLY) {
      const hits = classified.filter((f) => f.class === "unexplained" && planOnly(f) === entry);
      expect(hits.length, `${entry.check} ${entry.address}: no longer fails; remove it from PLAN_ONLY`).toBeGreaterThan(0);
    }
  });
});
