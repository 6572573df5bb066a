/**
 * `caja init` in a fresh folder: a starter config from flags, no prompts, that compiles at once.
 * Folders live under test/.tmp so the starter's `import ... from "caja"` resolves to this repository.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { projectFromFolder, starterConfig, STARTER_DEFAULTS, STARTER_GITIGNORE } from "../packages/compiler/src/init.js";
import { WORKFLOW_FILE } from "../packages/compiler/src/workflow.js";
import { CAJA_BIN, repoTempDir } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const bin = CAJA_BIN;

function freshFolder(name = "init-"): string {
  return repoTempDir(name);
}

function caja(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("caja init", () => {
  it("writes a starter config into an empty folder that compiles at once, workflow and docs included", () => {
    const dir = freshFolder("shop-");
    const init = caja(dir, "init");
    expect(init.stderr).toBe("");
    expect(init.code).toBe(0);
    // Named after the folder (shop-<random>, lowercased).
    expect(init.stdout).toMatch(/^caja: wrote caja\.config\.ts, package\.json, \.gitignore \(project shop-[a-z0-9-]+, environments dev, staging, prod\)\.$/m);
    expect(init.stdout).toContain(`domain.root is ${STARTER_DEFAULTS.domain}`);
    expect(init.stdout).not.toMatch(/not installed/);
    // caja as a dev dependency, named by where this CLI runs from (a checkout), never by a bare unpublished name.
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    expect(pkg.scripts).toEqual({ check: "caja check", compile: "caja compile", docs: "caja docs" });
    expect(pkg.devDependencies.caja).toMatch(/^file:(\.\.\/)+packages\/compiler$/);
    expect(existsSync(join(dir, pkg.devDependencies.caja.slice("file:".length), "bin", "caja.cjs"))).toBe(true);
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toBe(`${STARTER_GITIGNORE.join("\n")}\n`);
    const compile = caja(dir, "compile");
    expect(compile.stderr).toMatch(/^TODO caja\.config\.ts:\d+:\d+  github\.repository: /m);
    expect(compile.code).toBe(0);
    expect(existsSync(join(dir, "out/dev/20-network/main.tf.json"))).toBe(true);
    expect(existsSync(join(dir, "out/docs/environments.md"))).toBe(true);
    expect(parse(readFileSync(join(dir, WORKFLOW_FILE), "utf8")).jobs["apply-prod"].environment).toBe("prod");
    expect(caja(dir, "compile", "--check").code).toBe(0);
  });

  it("takes project, domain, namespace, region, environments and repository from flags", () => {
    const dir = freshFolder();
    const init = caja(dir, "init", "--project", "acme", "--domain", "acme.io", "--namespace", "shop", "--region", "eu-west-3", "--env", "dev,qa", "--env", "prod", "--repository", "acme/infra");
    expect(init.code).toBe(0);
    const text = readFileSync(join(dir, "caja.config.ts"), "utf8");
    expect(text).toContain('project: "acme",');
    expect(text).toContain('region: "eu-west-3",');
    expect(text).toContain('    root: "acme.io",\n    namespace: "shop",');
    expect(text).toContain('repository: "acme/infra",');
    expect(text).toContain("    dev: {},\n    qa: {},\n    prod: {},");
    const compile = caja(dir, "compile");
    expect(compile.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, "out/manifest.json"), "utf8"));
    expect([...new Set(manifest.roots.map((r: any) => r.scope))]).toEqual(["global", "dev", "qa", "prod"]);
    const domain = JSON.parse(readFileSync(join(dir, "out/global/10-domain/main.tf.json"), "utf8"));
    expect(JSON.stringify(domain)).toContain("api.shop.acme.io");
    expect(domain.provider.aws[0].region).toBe("eu-west-3");
  });

  it("leaves an existing package.json alone and adds to an existing .gitignore only the lines it lacks", () => {
    const dir = freshFolder();
    writeFileSync(join(dir, "package.json"), '{ "name": "mine" }\n');
    writeFileSync(join(dir, ".gitignore"), "dist/\nnode_modules/");
    const init = caja(dir, "init");
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/^caja: wrote caja\.config\.ts \(project /m);
    expect(init.stdout).toContain(`.gitignore: added ${STARTER_GITIGNORE.filter((l) => l !== "node_modules/").join(" ")}`);
    expect(readFileSync(join(dir, "package.json"), "utf8")).toBe('{ "name": "mine" }\n');
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toBe(`dist/\nnode_modules/\n# caja\n${STARTER_GITIGNORE.filter((l) => l !== "node_modules/").join("\n")}\n`);
    // Run again: nothing left to add.
    expect(caja(dir, "init", "--force").stdout).not.toContain(".gitignore: added");
  });

  it("refuses to replace an existing config unless --force", () => {
    const dir = freshFolder();
    writeFileSync(join(dir, "caja.config.ts"), "// mine\n");
    const refused = caja(dir, "init");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("caja.config.ts already exists");
    expect(readFileSync(join(dir, "caja.config.ts"), "utf8")).toBe("// mine\n");
    expect(caja(dir, "init", "--force").code).toBe(0);
    expect(readFileSync(join(dir, "caja.config.ts"), "utf8")).toContain("defineConfig({");
  });

  it("reports a bad flag as that flag and writes nothing", () => {
    const dir = freshFolder();
    const r = caja(dir, "init", "--region", "us-east-9", "--env", "Dev", "--repository", "not a repo");
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--region: "us-east-9" is not an AWS region');
    expect(r.stderr).toContain('--env Dev: environment names are lowercase letters, digits and "-"');
    expect(r.stderr).toContain("--repository: must be OWNER/REPO");
    expect(existsSync(join(dir, "caja.config.ts"))).toBe(false);
    expect(caja(dir, "init", "--env", "dev", "--env", "dev").stderr).toContain("--env dev is given twice");
    expect(caja(dir, "init", "--bogus").code).toBe(2);
  });
});

describe("the starter", () => {
  it("names the project after the folder when it can", () => {
    expect(projectFromFolder("/work/My Shop")).toBe("my-shop");
    expect(projectFromFolder("/tmp/42")).toBe("app");
    expect(projectFromFolder("/x/billing-platform-for-the-eu-region")).toBe("billing-platform-for-the");
  });

  it("quotes environment names that are not identifiers", () => {
    const text = starterConfig({ project: "acme", domain: "acme.io", region: "us-east-1", environments: ["dev", "eu-prod"], owner: "ops", costCenter: "acme" });
    expect(text).toContain('    dev: {},\n    "eu-prod": {},');
  });
});
