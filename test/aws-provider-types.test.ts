/**
 * Every resource and data source type of the hashicorp/aws provider, not only the ones caja's
 * modules use: typed for the editor (module code and the escape hatch), checked by the compile
 * with located errors, and shipped in the package. The schema of the types outside the modules'
 * subset is read only when a body of one of them is checked.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RootBuilder } from "../packages/modules/src/core/root.js";
import { BY_DESIGN_SUPPRESSIONS, CAJA_BIN, repoTempDir, typecheck } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));

describe("the provider schema outside the modules' subset", () => {
  afterEach(() => {
    vi.doUnmock("node:fs");
    vi.resetModules();
  });

  it("is read once, and only when a body of a type outside the subset is checked", async () => {
    const reads: string[] = [];
    vi.resetModules();
    vi.doMock("node:fs", async (importOriginal) => {
      const fs = await importOriginal<typeof import("node:fs")>();
      return { ...fs, readFileSync: ((path: string, ...rest: []) => (reads.push(String(path)), fs.readFileSync(path, ...rest))) as typeof fs.readFileSync };
    });
    const { validateResourceBody } = await import("../packages/modules/src/aws/validate.js");
    expect(validateResourceBody("resource", "aws_s3_bucket", { bucket: "b" })).toEqual([]);
    expect(validateResourceBody("data", "aws_region", {})).toEqual([]);
    expect(reads).toEqual([]);
    expect(validateResourceBody("resource", "aws_sqs_queue", { name: "q" })).toEqual([]);
    expect(validateResourceBody("resource", "aws_sns_topic_subscription", { topic_arn: "t", protocol: "sqs", endpoint: "e" })).toEqual([]);
    expect(validateResourceBody("data", "aws_vpc", {})).toEqual([]);
    expect(reads).toEqual([expect.stringMatching(/schema\.others\.jsonl$/)]);
  });
});

describe("editor types of every provider type", () => {
  it("type RootBuilder bodies (checked by tsc -p tsconfig.json)", () => {
    const root = new RootBuilder("dev/99-queue");
    root.resource("aws_sqs_queue", "jobs", { name: "jobs", visibility_timeout_seconds: 60, timeouts: { create: "5m" } });
    // @ts-expect-error a misspelt argument
    root.resource("aws_sqs_queue", "typo", { visibility_timeout_secs: 60 });
    // @ts-expect-error replication_group_id is required
    root.resource("aws_elasticache_replication_group", "cache", { description: "sessions" });
    // @ts-expect-error no such resource type
    root.resource("aws_sqs_queu", "none", {});
    root.data("aws_vpc", "default", { default: true, filter: [{ name: "tag:Name", values: ["main"] }] });
    expect(root.entries.map((e) => e.handle.address)).toEqual(["aws_sqs_queue.jobs", "aws_sqs_queue.typo", "aws_elasticache_replication_group.cache", "aws_sqs_queu.none", "data.aws_vpc.default"]);
  });

  it("type the escape hatch of a config against the installed declarations, with suggestions", () => {
    const good = typecheck(environmentFile(`aws_sqs_queue: { jobs: { name: "caja-prod-jobs", visibility_timeout_seconds: 60 } },
        aws_elasticache_replication_group: { cache: { replication_group_id: "caja-prod", description: "sessions", num_cache_clusters: 2 } },`));
    expect(good.output).toBe("");
    expect(good.code).toBe(0);

    const typo = typecheck(environmentFile(`aws_sqs_queue: { jobs: { name: "caja-prod-jobs", visibility_timeout_secs: 60 } },`));
    expect(typo.output).toMatch(/caja\.config\.ts\(\d+,\d+\): error TS2561: .*'visibility_timeout_secs' does not exist in type 'AwsSqsQueue & RawMeta'\. Did you mean to write 'visibility_timeout_seconds'\?/);
    const missing = typecheck(environmentFile(`aws_elasticache_replication_group: { cache: { description: "sessions" } },`));
    expect(missing.output).toMatch(/Property 'replication_group_id' is missing .* but required in type 'AwsElasticacheReplicationGroup'/);
    const wrong = typecheck(environmentFile(`aws_sqs_queue: { jobs: { fifo_queue: { on: true } } },`));
    expect(wrong.output).toMatch(/caja\.config\.ts\(\d+,\d+\): error TS2322: Type '\{ on: true; \}' is not assignable to type 'string \| boolean/);
  });
});

describe("caja compile with types outside the modules' subset (the built CLI)", () => {
  it("accepts a correct body and reports each wrong one at its place in the config", () => {
    const dir = repoTempDir("provider-types-");
    const write = (resources: string) => writeFileSync(join(dir, "caja.config.ts"), configFile(resources));
    write(`aws_sqs_queue: { jobs: { name: "caja-prod-jobs", visibility_timeout_seconds: 60, sqs_managed_sse_enabled: true } },`);
    const ok = caja(dir, "compile");
    expect(ok.stderr).not.toMatch(/error|problem/);
    expect(ok.code).toBe(0);

    write(`aws_sqs_queue: { jobs: { name: "caja-prod-jobs", visibility_timeout_secs: 60 } },
            aws_elasticache_replication_group: { cache: { description: "sessions" } },
            aws_sqs_queu: { x: {} },`);
    const bad = caja(dir, "compile");
    expect(bad.code).toBe(1);
    const at = "environments.prod.extend.service.resources";
    expect(bad.stderr).toMatch(new RegExp(`^caja\\.config\\.ts:\\d+:\\d+  ${at}\\.aws_sqs_queue\\.jobs\\.visibility_timeout_secs  unsupported argument "visibility_timeout_secs" in aws_sqs_queue \\(did you mean "visibility_timeout_seconds"\\?\\)$`, "m"));
    expect(bad.stderr).toMatch(new RegExp(`^caja\\.config\\.ts:\\d+:\\d+  ${at}\\.aws_elasticache_replication_group\\.cache\\.replication_group_id  missing required argument "replication_group_id" in aws_elasticache_replication_group$`, "m"));
    expect(bad.stderr).toMatch(new RegExp(`^caja\\.config\\.ts:\\d+:\\d+  ${at}\\.aws_sqs_queu\\.x  unknown resource type "aws_sqs_queu" \\(did you mean "aws_sqs_queue"\\?\\)`, "m"));
  });

  it("ships the declarations and the schema they come from in the package", () => {
    const r = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", "--workspace", "caja"], { cwd: repo, encoding: "utf8", env: { ...process.env, npm_config_update_notifier: "false" } });
    expect(r.status, r.stderr).toBe(0);
    const files = (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(["dist/schema.others.jsonl", "dist/types/modules/src/aws/resources.generated.d.ts", "dist/types/modules/src/aws/resources.others.generated.d.ts"]));
  }, 60_000);
});

function caja(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [CAJA_BIN, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function configFile(resources: string): string {
  return `import { defineConfig } from "caja";

export default defineConfig({
  project: "caja",
  tags: { Owner: "platform-engineering", Confidentiality: "internal", CostCenter: "events-eng" },
  domain: { root: "dbash.dev", namespace: "caja" },
  github: { repository: "dbash/caja" },
  defaults: { alarms: { emails: ["oncall@example.org"] } },
  environments: {
    dev: {},
    prod: {
      extend: {
        service: {
          resources: {
            ${resources}
          },
        },
      },
    },
  },
  policy: { suppressions: ${JSON.stringify(BY_DESIGN_SUPPRESSIONS)} },
});
`;
}

/** One environment typed on its own: `environment()` has one signature, so tsc names the field. */
function environmentFile(resources: string): string {
  return `import { environment } from "caja";

export const prod = environment({
  extend: {
    service: {
      resources: {
        ${resources}
      },
      overrides: { "aws_lb.main": { idle_timeout: 120 } },
    },
  },
});
`;
}

