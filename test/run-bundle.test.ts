/**
 * Plan bundles: `plans.json` comes back from a CI artifact, so parsing refuses anything caja would
 * not have written; the upstream digest that decides whether a saved plan is stale; the removals
 * a reviewer must see; and the reviewer's Markdown, which must not let a root id, an address or
 * terraform's output become markup.
 */
import { describe, expect, it } from "vitest";
import { BUNDLE_FORMAT, bundleFile, bundleText, outputsDigest, parseBundle, sha256, summaryMarkdown, type PlanBundle } from "../packages/compiler/src/run/bundle.js";
import { planChanges, planRemovals } from "../packages/compiler/src/run/changes.js";
import { CajaUserError } from "../packages/compiler/src/errors.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";

function validBundle(): PlanBundle {
  return {
    format: BUNDLE_FORMAT,
    commit: COMMIT,
    roots: [
      { id: "global/10-domain", status: "no-changes", changes: { add: 0, change: 0, destroy: 0, import: 0, outputs: 0 } },
      {
        id: "dev/20-network",
        status: "changes",
        changes: { add: 1, change: 2, destroy: 2, import: 0, outputs: 1 },
        removals: [
          { address: "aws_subnet.private[0]", action: "destroy" },
          { address: "aws_nat_gateway.main", action: "replace" },
        ],
        plan: "dev__20-network.tfplan",
        planSha256: sha256("plan bytes"),
        lockFile: "dev__20-network.terraform.lock.hcl",
        lockSha256: sha256("lock bytes"),
        configSha256: sha256("main.tf.json bytes"),
        upstream: [{ root: "global/00-bootstrap", outputs: ["state_bucket", "state_lock_table"], sha256: sha256("outputs") }],
      },
      { id: "dev/30-persistence", status: "waits", waitsFor: "dev/20-network" },
    ],
  };
}

/** The bundle's JSON with one change made to it, as an artifact might come back. */
function edited(edit: (doc: any) => void): string {
  const doc = JSON.parse(bundleText(validBundle()));
  edit(doc);
  return JSON.stringify(doc);
}

const SOURCE = "plans/plans.json";
const refusal = (why: string) => `${SOURCE}: not a plan bundle caja wrote (${why}); plan again with caja plan --save-plans`;
const network = (doc: any) => doc.roots[1];

describe("parseBundle", () => {
  it("reads back exactly what bundleText wrote", () => {
    expect(parseBundle(bundleText(validBundle()), SOURCE)).toEqual(validBundle());
  });

  it("names a root's artifacts after its id, with no folder in the name", () => {
    expect(bundleFile("dev/20-network", ".tfplan")).toBe("dev__20-network.tfplan");
    expect(bundleFile("global/00-bootstrap", ".terraform.lock.hcl")).toBe("global__00-bootstrap.terraform.lock.hcl");
  });

  it.each<[string, string, string]>([
    ["text that is not JSON", "{\"format\": ", "not JSON"],
    ["JSON null", "null", `format is not ${BUNDLE_FORMAT}`],
    ["another format", edited((d) => (d.format = "caja-plans/2")), `format is not ${BUNDLE_FORMAT}`],
    ["no commit", edited((d) => delete d.commit), "no commit"],
    ["a commit that is not a hex digest", edited((d) => (d.commit = "HEAD")), "no commit"],
    ["roots that are not a list", edited((d) => (d.roots = { "dev/20-network": {} })), "no roots"],
    ["a root id with a path in it", edited((d) => (network(d).id = "../../etc")), "a root without a plain id"],
    ["a root given twice", edited((d) => d.roots.push({ id: "global/10-domain", status: "no-changes" })), "global/10-domain twice"],
    ["an unknown status", edited((d) => (network(d).status = "applied")), "dev/20-network: unknown status"],
    ["a plan file outside the bundle", edited((d) => (network(d).plan = "../../etc/passwd")), "dev/20-network: plan file name"],
    ["a plan file through a folder", edited((d) => (network(d).plan = "x/../y.tfplan")), "dev/20-network: plan file name"],
    ["another root's plan file", edited((d) => (network(d).plan = "prod__20-network.tfplan")), "dev/20-network: plan file name"],
    ["no plan file", edited((d) => delete network(d).plan), "dev/20-network: plan file name"],
    ["a lock file outside the bundle", edited((d) => (network(d).lockFile = "../.terraform.lock.hcl")), "dev/20-network: lock file name"],
    ["a plan digest in capitals", edited((d) => (network(d).planSha256 = network(d).planSha256.toUpperCase())), "dev/20-network: digests"],
    ["a short plan digest", edited((d) => (network(d).planSha256 = "abc123")), "dev/20-network: digests"],
    ["no config digest", edited((d) => delete network(d).configSha256), "dev/20-network: digests"],
    ["no upstream list", edited((d) => delete network(d).upstream), "dev/20-network: upstream"],
    ["an upstream entry that is not an object", edited((d) => (network(d).upstream = [null])), "dev/20-network: upstream"],
    ["upstream outputs given as one string", edited((d) => (network(d).upstream[0].outputs = "state_bucket")), "dev/20-network: upstream"],
    ["an upstream output that is not a string", edited((d) => (network(d).upstream[0].outputs = ["state_bucket", 7])), "dev/20-network: upstream"],
    ["an upstream digest that is not sha256", edited((d) => (network(d).upstream[0].sha256 = "0".repeat(63))), "dev/20-network: upstream"],
    ["an upstream entry without its root", edited((d) => delete network(d).upstream[0].root), "dev/20-network: upstream"],
    ["a removal with an unknown action", edited((d) => (network(d).removals[0].action = "forget")), "dev/20-network: removals"],
    ["no removals list", edited((d) => delete network(d).removals), "dev/20-network: removals"],
  ])("refuses %s, naming the source", (_what, text, why) => {
    expect(() => parseBundle(text, SOURCE)).toThrow(new CajaUserError(refusal(why)));
  });

  // Counts and the root waited for end up in the apply's job summary: a bundle caja wrote always
  // has well-formed ones.
  it.each<[string, string, string]>([
    ["no counts for a root with changes", edited((d) => delete network(d).changes), "dev/20-network"],
    ["counts that are not numbers", edited((d) => (network(d).changes.add = "<img src=x>")), "dev/20-network"],
    ["a waiting root that names no root", edited((d) => (d.roots[2].waitsFor = "<img src=x onerror=alert(1)>")), "dev/30-persistence"],
  ])("refuses %s, naming the root", (_what, text, root) => {
    let error: unknown;
    try {
      parseBundle(text, SOURCE);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CajaUserError);
    expect((error as Error).message.startsWith(`${SOURCE}: not a plan bundle caja wrote (${root}: `)).toBe(true);
  });
});

describe("outputsDigest", () => {
  const values = new Map<string, unknown>([
    ["vpc_id", "vpc-1"],
    ["subnet_ids", ["subnet-a", "subnet-b"]],
    ["endpoint", { host: "db.internal", port: 5432 }],
  ]);

  it("does not depend on the order of the names, of the outputs or of keys inside a value", () => {
    const reordered = new Map<string, unknown>([
      ["endpoint", { port: 5432, host: "db.internal" }],
      ["subnet_ids", ["subnet-a", "subnet-b"]],
      ["vpc_id", "vpc-1"],
    ]);
    expect(outputsDigest(reordered, ["vpc_id", "endpoint", "subnet_ids"])).toBe(outputsDigest(values, ["subnet_ids", "endpoint", "vpc_id"]));
  });

  it("ignores outputs that are not named", () => {
    const more = new Map(values).set("unrelated", "changed every apply");
    expect(outputsDigest(more, ["vpc_id", "subnet_ids"])).toBe(outputsDigest(values, ["vpc_id", "subnet_ids"]));
  });

  it("changes when a named value changes, however deep", () => {
    const before = outputsDigest(values, ["vpc_id", "subnet_ids", "endpoint"]);
    expect(outputsDigest(new Map(values).set("vpc_id", "vpc-2"), ["vpc_id", "subnet_ids", "endpoint"])).not.toBe(before);
    expect(outputsDigest(new Map(values).set("subnet_ids", ["subnet-b", "subnet-a"]), ["vpc_id", "subnet_ids", "endpoint"])).not.toBe(before);
    expect(outputsDigest(new Map(values).set("endpoint", { host: "db.internal", port: 5433 }), ["vpc_id", "subnet_ids", "endpoint"])).not.toBe(before);
  });

  it("tells an absent output from one whose value is null", () => {
    expect(outputsDigest(new Map(), ["vpc_id"])).not.toBe(outputsDigest(new Map([["vpc_id", null]]), ["vpc_id"]));
    expect(outputsDigest(new Map([["vpc_id", "vpc-1"]]), ["vpc_id", "gone"])).not.toBe(outputsDigest(new Map([["vpc_id", "vpc-1"], ["gone", null]]), ["vpc_id", "gone"]));
  });

  it("is a sha256 in lowercase hex, as parseBundle accepts", () => {
    expect(outputsDigest(values, ["vpc_id"])).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("planRemovals", () => {
  // Shaped like `terraform show -json` of a saved plan: only the fields read are kept.
  const shown = {
    format_version: "1.2",
    resource_changes: [
      { address: "aws_s3_bucket.logs", change: { actions: ["delete"] } },
      { address: "aws_instance.web", change: { actions: ["create"] } },
      { address: "aws_db_instance.main", change: { actions: ["delete", "create"] } },
      { address: "aws_iam_role.deploy", change: { actions: ["update"] } },
      { address: "aws_vpc.main", change: { actions: ["create", "delete"] } },
      { address: "aws_security_group.app", change: { actions: ["no-op"] } },
      { address: "data.aws_caller_identity.current", change: { actions: ["read"] } },
      { address: 'module.keys.aws_kms_key.this["a|b"]', change: { actions: ["delete"] } },
    ],
    output_changes: { vpc_id: { actions: ["update"] } },
  };

  it("lists deletes as destroys and delete-and-create in either order as replacements, in plan order", () => {
    expect(planRemovals(shown)).toEqual([
      { address: "aws_s3_bucket.logs", action: "destroy" },
      { address: "aws_db_instance.main", action: "replace" },
      { address: "aws_vpc.main", action: "replace" },
      { address: 'module.keys.aws_kms_key.this["a|b"]', action: "destroy" },
    ]);
  });

  it("counts the same plan the way terraform does: a replacement is an add and a destroy", () => {
    expect(planChanges(shown)).toEqual({ add: 3, change: 1, destroy: 4, import: 0, outputs: 1 });
  });

  it("finds nothing in a plan that only creates, updates, reads or leaves things alone", () => {
    const calm = { resource_changes: shown.resource_changes.filter((rc) => !rc.change.actions.includes("delete")) };
    expect(calm.resource_changes).toHaveLength(4);
    expect(planRemovals(calm)).toEqual([]);
    expect(planRemovals({})).toEqual([]);
    expect(planRemovals(undefined)).toEqual([]);
  });
});

describe("summaryMarkdown", () => {
  it("shows counts per root, every removal by address, waiting roots and the plans of roots with changes", () => {
    const text = new Map([
      ["dev/20-network", "Terraform will perform the following actions:\n\nPlan: 1 to add, 2 to change, 2 to destroy.\n\n"],
      ["global/10-domain", "No changes. Your infrastructure matches the configuration."],
    ]);
    expect(summaryMarkdown("caja plan: global, dev", validBundle(), text).split("\n")).toEqual([
      "### caja plan: global, dev",
      "",
      "Commit `0123456789ab`.",
      "",
      "| root | result | add | change | destroy |",
      "|---|---|---:|---:|---:|",
      "| <code>global/10-domain</code> | no changes | 0 | 0 | 0 |",
      "| <code>dev/20-network</code> | **changes** | 1 | 2 | 2 |",
      "| <code>dev/30-persistence</code> | waits for <code>dev/20-network</code> | - | - | - |",
      "",
      "**2 resources destroyed or replaced:**",
      "- <code>dev/20-network</code>: <code>aws&#95;subnet.private&#91;0&#93;</code> (destroyed)",
      "- <code>dev/20-network</code>: <code>aws&#95;nat&#95;gateway.main</code> (replaced: destroyed, then created)",
      "",
      "One root waits for roots not applied yet: plan again once they are.",
      "",
      "<details><summary>Plan of <code>dev/20-network</code></summary>",
      "",
      "```",
      "Terraform will perform the following actions:",
      "",
      "Plan: 1 to add, 2 to change, 2 to destroy.",
      "```",
      "",
      "</details>",
      "",
    ]);
  });

  it("says when nothing is destroyed, and when there was no root to plan", () => {
    const calm: PlanBundle = { format: BUNDLE_FORMAT, commit: COMMIT, roots: [validBundle().roots[0]!] };
    const summary = summaryMarkdown("caja plan: global", calm, new Map());
    expect(summary).toContain("\nNothing is destroyed.\n");
    expect(summary).not.toContain("<details>");
    expect(summaryMarkdown("caja plan: dev", { format: BUNDLE_FORMAT, commit: COMMIT, roots: [] }, new Map())).toBe(
      ["### caja plan: dev", "", "Commit `0123456789ab`.", "", "No root to plan.", ""].join("\n"),
    );
  });

  it("escapes root ids and addresses, so none becomes markup or breaks the table", () => {
    const hostile: PlanBundle = {
      format: BUNDLE_FORMAT,
      commit: COMMIT,
      roots: [
        {
          ...validBundle().roots[1]!,
          id: "dev/<script>alert(1)</script>|x",
          removals: [{ address: 'aws_s3_bucket.b["`x`|<img src=y>"]', action: "destroy" }],
        },
        { id: "dev/30-persistence", status: "waits", waitsFor: "a|b`c`<b>" },
      ],
    };
    const summary = summaryMarkdown("caja plan: <i>dev</i>", hostile, new Map());
    const lines = summary.split("\n");
    expect(lines[0]).toBe("### caja plan: &#60;i&#62;dev&#60;/i&#62;");
    expect(lines).toContain("| <code>dev/&#60;script&#62;alert(1)&#60;/script&#62;&#124;x</code> | **changes** | 1 | 2 | 2 |");
    expect(lines).toContain("| <code>dev/30-persistence</code> | waits for <code>a&#124;b&#96;c&#96;&#60;b&#62;</code> | - | - | - |");
    expect(lines).toContain("- <code>dev/&#60;script&#62;alert(1)&#60;/script&#62;&#124;x</code>: <code>aws&#95;s3&#95;bucket.b&#91;&#34;&#96;x&#96;&#124;&#60;img src=y&#62;&#34;&#93;</code> (destroyed)");
    // Every table row keeps its six cell borders.
    for (const row of lines.filter((l) => l.startsWith("| "))) expect(row.split("|"), row).toHaveLength(7);
    expect(summary).not.toMatch(/<script|<img|<i>|<b>/);
  });

  it("fences plan text in more backticks than its longest run, so the plan shows literally", () => {
    const plan = "~ description = \"```not a fence```\"\n+ tag = \"`````\"\n<script>alert(1)</script>";
    const lines = summaryMarkdown("caja plan: dev", validBundle(), new Map([["dev/20-network", plan]])).split("\n");
    const open = lines.indexOf("<details><summary>Plan of <code>dev/20-network</code></summary>") + 2;
    expect(lines.slice(open, open + 5)).toEqual(["``````", '~ description = "```not a fence```"', '+ tag = "`````"', "<script>alert(1)</script>", "``````"]);
  });

  it("cuts a very long plan, saying where the rest is", () => {
    const plan = `${"x".repeat(25_000)}\nTAIL`;
    const summary = summaryMarkdown("caja plan: dev", validBundle(), new Map([["dev/20-network", plan]]));
    expect(summary).toContain(`\n${"x".repeat(20_000)}\n… (truncated; the full plan is in the run's log)\n\`\`\`\n`);
    expect(summary).not.toContain("TAIL");
  });
});
