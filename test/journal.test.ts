/**
 * The apply journal (run/journal.ts): what a killed apply leaves for the next one, read back as
 * untrusted; which lock caja may release on its own; and what it imports to adopt the objects the
 * killed apply created. Terraform's own texts here are copied from terraform 1.11 runs.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  adoptFile,
  adoption,
  clearRecovery,
  defaultEgressRoot,
  foundIds,
  interruptedGroups,
  lookupRoot,
  JOURNAL_FILE,
  JournalWriter,
  lockError,
  lockLeftBy,
  lockMessage,
  failedImports,
  plannedArguments,
  progressEvent,
  readJournal,
  revokedRules,
  whoAmI,
  type Journal,
} from "../packages/compiler/src/run/journal.js";
import { findTerraform } from "../packages/compiler/src/terraform.js";
import { tempDir } from "./helpers.js";

const terraform = findTerraform();

const LOCKED = `
Error: Error acquiring the state lock

Error message: operation error DynamoDB: PutItem, https response error
StatusCode: 400, RequestID:
JgLQ5ohT0eBSjs97eB7iycEMlmKmbIfGSzgeibxwQtfu3ho8HTYH,
ConditionalCheckFailedException: The conditional request failed
Lock Info:
  ID:        5748cc82-dd1e-98db-18dd-5e7459189764
  Path:      caja-terraform-state/env/dev/network/terraform.tfstate
  Operation: OperationTypeApply
  Who:       WHO
  Version:   1.11.4
  Created:   2026-12-03 00:04:15.12502362 +0000 UTC
  Info:

Terraform acquires a state lock to protect the state from being written
by multiple users at the same time.`;
const LOCK_AT = Date.parse("2026-12-03T00:04:15.125Z");

function journal(created: Record<string, string>, creating: string[] = [], start: { at?: number; pid?: number | undefined } = {}): Journal {
  const { pid = 999_999_999, at = LOCK_AT } = start;
  return { start: { root: "dev/20-network", who: whoAmI(), at, ...("pid" in start && start.pid === undefined ? {} : { pid }) }, created: new Map(Object.entries(created)), creating: new Set(creating) };
}

describe("the journal of an apply", () => {
  it("records each creation terraform reports, even split across output chunks, and reads back what a killed apply left", () => {
    const dir = tempDir("journal");
    const w = new JournalWriter(dir);
    w.begin("dev/20-network", undefined, 1000);
    w.spawned(4242);
    w.feed("aws_vpc.main: Creating...\naws_subnet.a: Creating...\naws_vpc.main: Creation comp");
    w.feed("lete after 20s [id=vpc-7bc8651f34b63dd9f]\naws_subnet.a: Still creating... [10s elapsed]\n");
    w.feed('module.x.aws_iam_role.r["a b"]: Creation complete after 1s [id=caja-dev-role]\nApply complete! Resources: 2 added\n');
    const j = readJournal(dir)!;
    expect(j.start).toEqual({ root: "dev/20-network", who: whoAmI(), at: 1000, pid: 4242 });
    expect([...j.created]).toEqual([
      ["aws_vpc.main", "vpc-7bc8651f34b63dd9f"],
      ['module.x.aws_iam_role.r["a b"]', "caja-dev-role"],
    ]);
    expect([...j.creating]).toEqual(["aws_subnet.a"]);
    clearRecovery(dir);
    expect(readJournal(dir)).toBeUndefined();
  });

  it("carries an interrupted apply's objects into the journal of the apply that adopts them", () => {
    const dir = tempDir("journal-carry");
    const w = new JournalWriter(dir);
    w.begin("dev/20-network", journal({ "aws_vpc.main": "vpc-1" }, ["aws_subnet.a"]));
    const j = readJournal(dir)!;
    expect(j.created.get("aws_vpc.main")).toBe("vpc-1");
    expect(j.creating.has("aws_subnet.a")).toBe(true);
  });

  it("ignores every other line of terraform's output", () => {
    for (const line of ["Plan: 3 to add", "aws_vpc.main: Refreshing state... [id=vpc-1]", "aws_vpc.main: Destroying... [id=vpc-1]", "Error: x: Creating...", "  # aws_vpc.main will be created"]) {
      expect(progressEvent(line), line).toBeUndefined();
    }
  });

  it("refuses a journal it did not write: a link, a line that is not its entry, an address that is not one", () => {
    const dir = tempDir("journal-bad");
    writeFileSync(join(dir, "elsewhere"), "{}\n");
    symlinkSync(join(dir, "elsewhere"), join(dir, JOURNAL_FILE));
    expect(() => readJournal(dir)).toThrow(/not a regular file/);
    const other = join(dir, "b");
    mkdirSync(other);
    writeFileSync(join(other, JOURNAL_FILE), `${JSON.stringify({ root: "r", who: "u@h", at: 1 })}\n${JSON.stringify({ created: "aws_vpc.main; rm -rf /", id: "x" })}\n`);
    expect(() => readJournal(other)).toThrow(/line 2 is not an entry caja writes/);
    writeFileSync(join(other, JOURNAL_FILE), "not json\n");
    expect(() => readJournal(other)).toThrow(/line 1 is not JSON/);
  });
});

describe("a lock held by another run", () => {
  it("is read from terraform's error: its id, holder, operation and time", () => {
    expect(lockError(LOCKED.replace("WHO", "ci@runner"))).toEqual({
      id: "5748cc82-dd1e-98db-18dd-5e7459189764",
      path: "caja-terraform-state/env/dev/network/terraform.tfstate",
      operation: "apply",
      who: "ci@runner",
      created: LOCK_AT,
    });
    expect(lockError("Error: something else")).toBeUndefined();
  });

  it("is explained with the command that releases it, and says nothing was changed", () => {
    const text = lockMessage("dev/20-network", lockError(LOCKED.replace("WHO", "ci@runner"))!, "out/dev/20-network");
    expect(text).toContain("dev/20-network is locked: apply by ci@runner since 2026-12-03T00:04:15Z (lock ID 5748cc82-dd1e-98db-18dd-5e7459189764)");
    expect(text).toContain("nothing was changed");
    expect(text).toContain("terraform -chdir=out/dev/20-network force-unlock 5748cc82-dd1e-98db-18dd-5e7459189764");
  });

  it("is released by caja only when it is the one the killed apply took: same user and machine, taken as it started, its terraform gone", () => {
    const lock = lockError(LOCKED.replace("WHO", whoAmI()))!;
    const dead = () => false;
    expect(lockLeftBy(journal({}), lock, dead)).toBe(true);
    expect(lockLeftBy(journal({}), lock, () => true)).toBe(false);
    expect(lockLeftBy(journal({}, [], { at: LOCK_AT + 5 * 60_000 }), lock, dead)).toBe(false);
    expect(lockLeftBy(journal({}, [], { pid: undefined }), lock, dead)).toBe(false);
    expect(lockLeftBy(journal({}), lockError(LOCKED.replace("WHO", "someone@else"))!, dead)).toBe(false);
  });
});

describe("adopting what a killed apply created", () => {
  const inState = new Set(["aws_vpc.main"]);

  it("imports objects terraform reported created by their id, and waits for a plan where the import id is made of arguments", () => {
    const a = adoption(journal({ "aws_vpc.main": "vpc-1", "aws_subnet.a": "subnet-1", "aws_route.nat": "r-rtb-11080289494" }), inState);
    expect(a.imports).toEqual([{ to: "aws_subnet.a", id: "subnet-1" }]);
    expect(a.needsPlan).toBe(true);
    const planned = new Map([["aws_route.nat", { route_table_id: "rtb-1", destination_cidr_block: "0.0.0.0/0" }]]);
    const b = adoption(journal({ "aws_subnet.a": "subnet-1", "aws_route.nat": "r-rtb-11080289494" }), inState, { planned });
    expect(b.imports).toEqual([
      { to: "aws_route.nat", id: "rtb-1_0.0.0.0/0" },
      { to: "aws_subnet.a", id: "subnet-1" },
    ]);
    // Once imported, a route's other destinations read "", not null: the id must not change with it.
    const imported = new Map([["aws_route.nat", { route_table_id: "rtb-1", destination_cidr_block: "", destination_ipv6_cidr_block: "::/0" }]]);
    expect(adoption(journal({ "aws_route.nat": "r-rtb-1" }), inState, { planned: imported }).imports).toEqual([{ to: "aws_route.nat", id: "rtb-1_::/0" }]);
  });

  it("imports objects still being created by their planned name, drops those that turned out not to exist, and looks for the rest", () => {
    const j = journal({}, ["aws_iam_role.flow", "aws_cloudwatch_log_group.flow", "aws_security_group.alb", "aws_default_security_group.default", "aws_flow_log.vpc"]);
    const planned = new Map<string, Record<string, unknown>>([
      ["aws_iam_role.flow", { name: "caja-dev-flow" }],
      ["aws_cloudwatch_log_group.flow", { name: "/vpc/flow" }],
      ["aws_security_group.alb", { name: "caja-dev-alb", vpc_id: "vpc-1" }],
      ["aws_flow_log.vpc", { tags_all: {} }],
    ]);
    const a = adoption(j, new Set(), { planned, absent: new Set(["aws_cloudwatch_log_group.flow"]) });
    expect(a.imports).toEqual([{ to: "aws_iam_role.flow", id: "caja-dev-flow" }]);
    expect(a.lookups).toEqual([
      {
        address: "aws_security_group.alb",
        lookup: { data: "aws_security_groups", args: { filter: [{ name: "vpc-id", values: ["vpc-1"] }, { name: "group-name", values: ["caja-dev-alb"] }] }, ids: "D.ids" },
      },
    ]);
    // A default security group is taken over by creating it again; a flow log without a Name tag cannot be told apart.
    expect(a.cannot.map((c) => c.address)).toEqual(["aws_flow_log.vpc"]);
    expect(a.cannot[0]!.why).toMatch(/being created when the apply stopped/);
  });

  it("adopts what a lookup found once, and names what it found more than once", () => {
    const j = journal({}, ["aws_security_group.alb", "aws_security_group.ecs", "aws_security_group.rds"]);
    const planned = new Map(["alb", "ecs", "rds"].map((n) => [`aws_security_group.${n}`, { name: `caja-dev-${n}`, vpc_id: "vpc-1" }]));
    const lookups = adoption(j, new Set(), { planned }).lookups;
    const result = foundIds(JSON.stringify({ "aws_security_group.alb": ["sg-1"], "aws_security_group.ecs": null, "aws_security_group.rds": ["sg-2", "sg-3"] }), lookups);
    // None found (null, as the rules data source says it, or []) means it was never created.
    expect([...result.absent]).toEqual(["aws_security_group.ecs"]);
    expect(foundIds(JSON.stringify({ "aws_security_group.alb": [] }), lookups.slice(0, 1)).absent).toEqual(new Set(["aws_security_group.alb"]));
    expect(foundIds("{}", lookups.slice(0, 1)).ambiguous).toEqual(new Set(["aws_security_group.alb"]));
    const a = adoption(j, new Set(), { planned, ...result });
    expect(a.imports).toEqual([{ to: "aws_security_group.alb", id: "sg-1" }]);
    expect(a.lookups).toEqual([]);
    expect(a.cannot).toEqual([{ address: "aws_security_group.rds", why: "more than one object matches its planned arguments" }]);
  });

  it("looks objects up in a root of data sources with the root's provider, every planned value escaped", () => {
    const doc = lookupRoot({ terraform: { backend: { s3: {} }, required_providers: { aws: { source: "hashicorp/aws" } } }, provider: { aws: [{ region: "us-east-1" }] } }, [
      { address: "aws_route_table.public", lookup: { data: "aws_route_tables", args: { filter: [{ name: "tag:Name", values: ["x${y}"] }] }, ids: "D.ids" } },
    ]) as any;
    expect(doc.terraform).toEqual({ required_providers: { aws: { source: "hashicorp/aws" } } });
    expect(doc.provider).toEqual({ aws: [{ region: "us-east-1" }] });
    expect(doc.data.aws_route_tables.caja_adopt_0.filter[0].values).toEqual(["x$${y}"]);
    expect(doc.output.found.value).toEqual({ "aws_route_table.public": "${data.aws_route_tables.caja_adopt_0.ids}" });
  });

  it("revokes AWS's default egress rule only from groups caught in their create whose egress is managed by rule resources", () => {
    const j = journal({ "aws_security_group.alb": "sg-1" }, ["aws_security_group.ecs", "aws_security_group.inline", "aws_subnet.a"]);
    const imports = [
      { to: "aws_security_group.alb", id: "sg-1" },
      { to: "aws_security_group.ecs", id: "sg-2" },
      { to: "aws_security_group.inline", id: "sg-3" },
      { to: "aws_subnet.a", id: "subnet-1" },
    ];
    const doc = { resource: { aws_security_group: { alb: {}, ecs: { name: "caja-dev-ecs" }, inline: { egress: [] } } } };
    // alb was reported created (terraform revokes the rule before it says so); inline egress is terraform's to set.
    expect(interruptedGroups(j, imports, doc)).toEqual([{ address: "aws_security_group.ecs", id: "sg-2" }]);
  });

  it("revokes in a root that finds the untagged allow-all egress rule, imports it and destroys it, ids escaped", () => {
    const doc = defaultEgressRoot({ terraform: { backend: { s3: {} }, required_providers: { aws: { source: "hashicorp/aws" } } }, provider: { aws: [{ region: "us-east-1", default_tags: { tags: { Environment: "dev" } } }] } }, [
      { address: "aws_security_group.ecs", id: "sg-2${x}" },
    ]) as any;
    expect(doc.terraform).toEqual({ required_providers: { aws: { source: "hashicorp/aws" } } });
    // The rule is imported only to be destroyed: no default tags, so nothing is changed on it first.
    expect(doc.provider).toEqual({ aws: [{ region: "us-east-1" }] });
    expect(doc.data.aws_vpc_security_group_rules.caja_default_egress_0.filter).toEqual([{ name: "group-id", values: ["sg-2$${x}"] }]);
    // A group without a single rule lists its rule ids as null.
    expect(doc.data.aws_vpc_security_group_rule.caja_default_egress_0.for_each).toBe(
      "${toset(data.aws_vpc_security_group_rules.caja_default_egress_0.ids == null ? [] : data.aws_vpc_security_group_rules.caja_default_egress_0.ids)}",
    );
    expect(doc.locals.caja_default_egress_0).toMatch(/r\.is_egress && r\.ip_protocol == "-1" && \(r\.cidr_ipv4 == "0\.0\.0\.0\/0" \|\| r\.cidr_ipv6 == "::\/0"\) && try\(length\(r\.tags\), 0\) == 0/);
    expect(doc.import).toEqual([{ for_each: "${local.caja_default_egress_0}", to: "aws_vpc_security_group_egress_rule.caja_default_egress_0[each.key]", id: "${each.key}" }]);
    expect(doc.resource.aws_vpc_security_group_egress_rule.caja_default_egress_0.security_group_id).toBe("sg-2$${x}");
    expect(doc.output.revoked.value).toEqual({ "aws_security_group.ecs": "${keys(local.caja_default_egress_0)}" });
    expect(revokedRules(JSON.stringify({ "aws_security_group.ecs": ["sgr-0a1", "x\ny", 3] }), [{ address: "aws_security_group.ecs" }, { address: "aws_security_group.alb" }])).toEqual(
      new Map([
        ["aws_security_group.ecs", ["sgr-0a1"]],
        ["aws_security_group.alb", []],
      ]),
    );
  });

  it.skipIf(!terraform)("writes side roots terraform validates: the lookup and the revocation", () => {
    const provider = { terraform: { required_providers: { aws: { source: "hashicorp/aws", version: ">= 5.0" } } }, provider: { aws: [{ region: "us-east-1" }] } };
    const roots = {
      lookup: lookupRoot(provider, [{ address: "aws_security_group.ecs", lookup: { data: "aws_security_groups", args: { filter: [{ name: "group-name", values: ["caja-dev-ecs"] }] }, ids: "D.ids" } }]),
      revoke: defaultEgressRoot(provider, [{ address: "aws_security_group.ecs", id: "sg-2" }]),
    };
    for (const [name, doc] of Object.entries(roots)) {
      const dir = tempDir(`caja-side-${name}-`);
      writeFileSync(join(dir, "main.tf.json"), JSON.stringify(doc));
      for (const args of [["init", "-backend=false", "-input=false", "-no-color"], ["validate", "-no-color"]]) {
        const r = spawnSync(terraform!, args, { cwd: dir, encoding: "utf8", env: { ...process.env, CHECKPOINT_DISABLE: "1" } });
        expect(r.status, `${name}: terraform ${args[0]}: ${r.stderr}${r.stdout}`).toBe(0);
      }
    }
  }, 120_000);

  it("writes import ids so Terraform reads them verbatim, never as templates", () => {
    expect(adoptFile([{ to: "aws_ssm_parameter.p", id: "a${b}%{c}" }])).toEqual({ import: [{ id: "a$${b}%%{c}", to: "aws_ssm_parameter.p" }] });
  });

  it("finds the imports a failed plan blames, in terraform's words or the provider's, and nothing else", () => {
    const importing = [
      { to: "aws_iam_role.flow", id: "caja-dev-flow" },
      { to: "aws_route_table_association.private_0", id: "subnet-1/rtb-1" },
    ];
    const text = [
      "Error: Cannot import non-existent remote object",
      "",
      "While attempting to import an existing object to",
      '"aws_iam_role.flow", the provider detected that no object exists with the given id.',
      "",
      "Error: No association found between route table ID rtb-1 and target ID subnet-1",
      "",
      "  with aws_route_table_association.private_0,",
      "  on main.tf.json line 183, in resource.aws_route_table_association.private_0:",
      "",
      "Error: creating Security Group (caja-dev-alb): InvalidGroup.Duplicate",
      "",
      "  with aws_security_group.alb,",
    ].join("\n");
    expect(failedImports(text, importing)).toEqual(["aws_iam_role.flow", "aws_route_table_association.private_0"]);
    expect(failedImports("Error: creating Security Group\n\n  with aws_security_group.alb,", importing)).toEqual([]);
  });

  it("finds an association the provider cannot find by the ids it names, when terraform prints no address with it", () => {
    // As a plan printed it after an apply was killed against the emulator: two errors, no "with" line.
    const text = [
      "Error: No association found between route table ID rtb-20b4 and target ID subnet-b554",
      "",
      "",
      "Error: Cannot import non-existent remote object",
      "",
      "While attempting to import an existing object to",
      '"aws_route.private_0_egress_ipv6", the provider detected that no object',
    ].join("\n");
    const importing = [
      { to: "aws_route.private_0_egress_ipv6", id: "rtb-20b4_::/0" },
      { to: "aws_route_table_association.private_0", id: "subnet-b554/rtb-20b4" },
      { to: "aws_route_table_association.private_1", id: "subnet-3ef3/rtb-149a" },
    ];
    expect(failedImports(text, importing)).toEqual(["aws_route.private_0_egress_ipv6", "aws_route_table_association.private_0"]);
  });

  it("reads each planned resource's arguments from terraform show -json", () => {
    const plan = { resource_changes: [{ address: "aws_route.nat", change: { after: { route_table_id: "rtb-1" } } }, { address: "aws_vpc.main", change: { after: null } }] };
    expect([...plannedArguments(plan)]).toEqual([["aws_route.nat", { route_table_id: "rtb-1" }]]);
  });
});
