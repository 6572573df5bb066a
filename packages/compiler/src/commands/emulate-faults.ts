/**
 * `caja emulate --faults`: what goes wrong in real runs, made to happen against the emulator and
 * checked to end the way caja promises, on the config's own roots:
 *
 * - **order**: a root applied before a root it reads from "waits for" it, and nothing runs;
 * - **lock**: while one terraform holds a root's lock, caja's apply of that root fails naming the
 *   lock and its holder, and changes nothing;
 * - **kill**: terraform killed (SIGKILL, its provider too) part way through a root's apply; the next
 *   `caja apply` releases the lock the dead run left, adopts what it created, and converges: the
 *   emulator then holds exactly what the state holds;
 * - **group**: a security group left as a kill inside its create leaves it (outside the state, with
 *   AWS's default allow-all egress rule); the next apply adopts it and revokes that rule.
 *
 * The drills run after the global roots are applied, on the environment's first root that another
 * root of the environment reads from (the network, for the plan's phases).
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import type { ManifestRoot } from "../run/manifest.js";
import { JournalWriter } from "../run/journal.js";
import { runRoots, stateList, type RunSpec, type Terraform } from "../run/runner.js";

export interface DrillContext {
  readonly env: string;
  readonly roots: readonly ManifestRoot[];
  /** Where the emulated roots are. */
  readonly dir: string;
  /** The emulator's endpoint. */
  readonly url: string;
  readonly region: string;
  readonly terraformBin: string;
  readonly runEnv: NodeJS.ProcessEnv;
  readonly tf: Terraform;
  /** What every run shares (manifest, directories, printing). */
  readonly common: Omit<RunSpec, "action" | "roots">;
  readonly print: (lines: readonly string[]) => void;
  /** Record a terraform started outside `tf` (ended with caja on a signal); returns what forgets it. */
  readonly track: (pid: number) => () => void;
}

/** Run the drills; returns how many failed. The global roots are applied first. */
export async function faultDrills(context: DrillContext): Promise<number> {
  // Logs of their own: the full run after the drills would write over them.
  const ctx = { ...context, common: { ...context.common, logDir: join(context.common.logDir, "faults") } };
  const globals = ctx.roots.filter((r) => r.scope === "global");
  const first = await runRoots({ ...ctx.common, action: "apply", roots: globals });
  if (first.some((r) => r.outcome.kind !== "done")) return 1;
  const envRoots = ctx.roots.filter((r) => r.scope === ctx.env);
  const target = envRoots.find((r) => envRoots.some((c) => c.dependsOn.some((d) => d.root === r.id)));
  const reader = target && envRoots.find((c) => c.dependsOn.some((d) => d.root === target.id));
  if (!target || !reader) {
    ctx.print(["fault drills: no root of this environment is read by another; nothing to drill"]);
    return 0;
  }
  let failed = 0;
  const verdict = (name: string, ok: boolean, what: string) => {
    ctx.print([`fault drill (${name}): ${ok ? "ok" : "FAILED"}: ${what}`]);
    if (!ok) failed++;
  };

  // Order: the reader before the root it reads from.
  const [early] = await runRoots({ ...ctx.common, action: "apply", roots: [reader] });
  verdict("order", early!.outcome.kind === "waits" && early!.outcome.for === target.id, `${reader.id} applied before ${target.id}: ${describe(early!.outcome)}`);

  // Lock: a terraform apply waiting for its approval holds the lock meanwhile.
  const targetDir = join(ctx.dir, target.dir);
  const holder = await holdLock(ctx.terraformBin, targetDir, ctx.runEnv, ctx.track);
  try {
    const [locked] = await runRoots({ ...ctx.common, action: "apply", roots: [target] });
    const state = await stateList(ctx.tf, targetDir);
    const said = locked!.outcome.kind === "failed" ? locked!.outcome.detail : describe(locked!.outcome);
    verdict("lock", locked!.outcome.kind === "failed" && /is locked: apply by /.test(said) && state.code === 0 && state.stdout.trim() === "", `a second apply of ${target.id} while a first holds its lock: ${said.split("\n")[0]}; its state ${state.stdout.trim() === "" ? "is still empty" : "changed"}`);
  } finally {
    await holder.release();
  }

  // Kill: terraform and its provider, once part of the root's objects are created.
  const resources = Object.values((JSON.parse(readFileSync(join(targetDir, "main.tf.json"), "utf8")) as { resource?: Record<string, object> }).resource ?? {}).reduce((n, byName) => n + Object.keys(byName).length, 0);
  const killAt = Math.max(2, Math.floor(resources / 2));
  let created = 0;
  let killed = false;
  let spawnedPid: number | undefined;
  const killer: Terraform = {
    init: (cwd) => ctx.tf.init(cwd),
    run: (args, cwd, watch) =>
      args[0] !== "apply"
        ? ctx.tf.run(args, cwd, watch)
        : ctx.tf.run(args, cwd, {
            ...watch,
            onSpawn: (pid) => {
              watch?.onSpawn?.(pid);
              spawnedPid = pid;
            },
            onStdout: (text) => {
              watch?.onStdout?.(text);
              created += text.split("\n").filter((l) => l.includes(": Creation complete after ")).length;
              if (created >= killAt && !killed && spawnedPid !== undefined) {
                killed = true;
                killTree(spawnedPid);
              }
            },
          }),
  };
  const [interrupted] = await runRoots({ ...ctx.common, terraform: killer, action: "apply", roots: [target] });
  if (!killed || interrupted!.outcome.kind !== "failed") {
    verdict("kill", false, `terraform was not killed part way (${created} of ${resources} created): ${describe(interrupted!.outcome)}`);
    return failed;
  }
  const [again] = await runRoots({ ...ctx.common, action: "apply", roots: [target] });
  const said = again!.outcome.kind === "done" ? again!.outcome.output : again!.outcome.kind === "failed" ? again!.outcome.detail : "";
  const notes = said.split("\n").filter((l) => /interrupted|released lock|NOT ADOPTED|: not created by/.test(l));
  const converged = again!.outcome.kind === "done";
  const orphans = converged ? await orphansOf(ctx, targetDir) : [];
  verdict(
    "kill",
    // The emulator is the judge: what caja could not adopt is fine only if it was never created.
    converged && orphans.length === 0,
    `terraform killed after ${created} of ${resources} objects of ${target.id} were created; the next apply ${converged ? `converged (${describe(again!.outcome)})` : `did not: ${describe(again!.outcome)}`}; ${!converged ? "" : orphans.length === 0 ? "the emulator holds no object its state lacks" : `the emulator holds objects its state lacks: ${orphans.join(", ")}`}`,
  );
  const shown = converged ? notes : said.split("\n");
  if (shown.length > 0) ctx.print(shown.map((l) => `  │ ${l}`));
  if (converged) await groupDrill(ctx, target, targetDir, verdict);
  return failed;
}

/**
 * Group: what a kill inside a security group's create leaves, made on purpose. AWS gives a new
 * group an allow-all egress rule that terraform revokes before it reports the group created; a
 * kill in between leaves the group, with that rule, outside the state. Here the group leaves the
 * state, the rule is put back and the journal says its creation began; the next apply must adopt
 * the group and revoke the rule.
 */
async function groupDrill(ctx: DrillContext, target: ManifestRoot, targetDir: string, verdict: (name: string, ok: boolean, what: string) => void): Promise<void> {
  const doc = JSON.parse(readFileSync(join(targetDir, "main.tf.json"), "utf8")) as { resource?: { aws_security_group?: Record<string, { egress?: unknown }> } };
  const name = Object.entries(doc.resource?.aws_security_group ?? {}).find(([, g]) => g.egress === undefined)?.[0];
  if (!name) {
    ctx.print([`fault drill (group): ${target.id} has no security group whose egress is managed by rule resources; nothing to drill`]);
    return;
  }
  const address = `aws_security_group.${name}`;
  const id = (await stateIds(ctx, targetDir)).get(address);
  const removed = await ctx.tf.run(["state", "rm", address], targetDir);
  if (!id || removed.code !== 0) {
    verdict("group", false, `could not take ${address} out of the state of ${target.id}: ${removed.stderr.trim().split("\n")[0] ?? ""}`);
    return;
  }
  await ec2(ctx.url, ctx.region, { Action: "AuthorizeSecurityGroupEgress", Version: "2016-11-15", GroupId: id, "IpPermissions.1.IpProtocol": "-1", "IpPermissions.1.IpRanges.1.CidrIp": "0.0.0.0/0" });
  const before = await defaultEgress(ctx, id);
  const journal = new JournalWriter(targetDir);
  journal.begin(target.id);
  journal.spawned(DEAD_PID);
  journal.feed(`${address}: Creating...\n`);
  const [again] = await runRoots({ ...ctx.common, action: "apply", roots: [target] });
  const after = again!.outcome.kind === "done" ? await defaultEgress(ctx, id) : before;
  const adopted = (await stateIds(ctx, targetDir)).get(address) === id;
  const said = again!.outcome.kind === "done" ? again!.outcome.output : again!.outcome.kind === "failed" ? again!.outcome.detail : "";
  verdict(
    "group",
    before.length === 1 && again!.outcome.kind === "done" && adopted && after.length === 0,
    `${address} (${id}) left out of the state with AWS's default egress rule (${before.join(", ") || "not found"}); the next apply ${describe(again!.outcome)}, ${adopted ? "adopted the group" : "did not adopt the group"} and ${after.length === 0 ? "revoked the rule" : `left the rule: ${after.join(", ")}`}`,
  );
  const notes = said.split("\n").filter((l) => l.includes(address));
  if (notes.length > 0) ctx.print(notes.map((l) => `  │ ${l}`));
}

/** A process id no process has (Linux allows at most 2^22). */
const DEAD_PID = 2 ** 30;

/** The group's untagged allow-all egress rules (AWS's default), asked of the emulator directly. */
async function defaultEgress(ctx: DrillContext, group: string): Promise<string[]> {
  const xml = await ec2(ctx.url, ctx.region, { Action: "DescribeSecurityGroupRules", Version: "2016-11-15", "Filter.1.Name": "group-id", "Filter.1.Value.1": group });
  return xml
    .split("<securityGroupRuleId>")
    .slice(1)
    .filter((rule) => rule.includes("<isEgress>true</isEgress>") && rule.includes("<ipProtocol>-1</ipProtocol>") && rule.includes("<cidrIpv4>0.0.0.0/0</cidrIpv4>") && !rule.includes("<key>"))
    .map((rule) => rule.slice(0, rule.indexOf("<")));
}

/** Each resource the root's state holds, by address, with its id. */
async function stateIds(ctx: DrillContext, rootDir: string): Promise<Map<string, string>> {
  const shown = await ctx.tf.run(["show", "-json"], rootDir);
  const ids = new Map<string, string>();
  const walk = (m: { resources?: { address?: unknown; values?: { id?: unknown } }[]; child_modules?: unknown[] } | undefined): void => {
    for (const r of m?.resources ?? []) if (typeof r.address === "string" && typeof r.values?.id === "string") ids.set(r.address, r.values.id);
    for (const c of m?.child_modules ?? []) walk(c as typeof m);
  };
  walk((JSON.parse(shown.stdout || "{}") as { values?: { root_module?: Parameters<typeof walk>[0] } }).values?.root_module);
  return ids;
}

function describe(o: Awaited<ReturnType<typeof runRoots>>[number]["outcome"]): string {
  switch (o.kind) {
    case "waits":
      return `waits for ${o.for}${o.missing.length > 0 ? ` (lacks ${o.missing.join(", ")})` : " (not applied yet)"}`;
    case "failed":
      return `failed at ${o.command}: ${o.detail.split("\n")[0]}`;
    case "done":
      return `${o.changes.add} added, ${o.changes.import} imported`;
    default:
      return o.kind;
  }
}

/** `terraform apply` without -auto-approve: it plans, takes the lock and waits for a "yes" that never comes. */
async function holdLock(bin: string, dir: string, env: NodeJS.ProcessEnv, track: DrillContext["track"]): Promise<{ release: () => Promise<void> }> {
  const child = spawn(bin, ["apply", "-no-color"], { cwd: dir, env, stdio: ["pipe", "pipe", "pipe"] });
  const untrack = child.pid === undefined ? () => {} : track(child.pid);
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve())).finally(untrack);
  let said = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`terraform apply did not reach its approval prompt in ${dir}: ${said.slice(-500)}`)), 300_000);
    const seen = (b: Buffer) => {
      said += b.toString();
      if (said.includes("Enter a value:")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", seen);
    child.stderr.on("data", seen);
    child.once("close", () => {
      clearTimeout(timer);
      reject(new Error(`terraform apply ended before its approval prompt in ${dir}: ${said.slice(-500)}`));
    });
  });
  return {
    release: async () => {
      child.stdin.end("no\n");
      await exited;
    },
  };
}

/** SIGKILL a process and every process below it, as a lost machine would end them. */
export function killTree(pid: number): void {
  for (const child of childrenOf(pid)) killTree(child);
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/** Child processes, from /proc where the system has it. */
function childrenOf(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((e) => /^\d+$/.test(e));
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of entries) {
    try {
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ")".
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(e));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/**
 * EC2 objects of the environment (tagged `Environment=<env>`) that the root's state does not
 * hold: what an interrupted apply would leave orphaned. Asked of the emulator directly, not
 * through terraform.
 */
async function orphansOf(ctx: DrillContext, rootDir: string): Promise<string[]> {
  const held = new Set((await stateIds(ctx, rootDir)).values());
  const tagged = await emulatorTagged(ctx.url, ctx.region, ctx.env);
  return tagged.filter((t) => !held.has(t.id)).map((t) => `${t.type} ${t.id}`);
}

/**
 * What an environment's network holds in the emulator: every VPC, subnet, security group, route
 * table, gateway, address and flow log tagged `Environment=<env>` that exists (a NAT gateway: that
 * is not deleted). One Describe call per type, asked of the emulator directly; its tag index alone
 * is no witness, as the emulator keeps the tags of deleted objects.
 */
export async function emulatorTagged(url: string, region: string, env: string): Promise<{ id: string; type: string }[]> {
  const kinds: readonly [action: string, idTag: string, type: string, extra?: Record<string, string>][] = [
    ["DescribeVpcs", "vpcId", "vpc"],
    ["DescribeSubnets", "subnetId", "subnet"],
    ["DescribeSecurityGroups", "groupId", "security-group"],
    ["DescribeRouteTables", "routeTableId", "route-table"],
    ["DescribeInternetGateways", "internetGatewayId", "internet-gateway"],
    ["DescribeEgressOnlyInternetGateways", "egressOnlyInternetGatewayId", "egress-only-internet-gateway"],
    ["DescribeNatGateways", "natGatewayId", "nat-gateway", { "Filter.2.Name": "state", "Filter.2.Value.1": "pending", "Filter.2.Value.2": "available" }],
    ["DescribeAddresses", "allocationId", "elastic-ip"],
    ["DescribeFlowLogs", "flowLogId", "flow-log"],
  ];
  const found = new Map<string, string>();
  for (const [action, idTag, type, extra] of kinds) {
    const xml = await ec2(url, region, { Action: action, Version: "2016-11-15", "Filter.1.Name": "tag:Environment", "Filter.1.Value.1": env, ...extra });
    for (const m of xml.matchAll(new RegExp(`<${idTag}>([^<]+)</${idTag}>`, "g"))) if (!found.has(m[1]!)) found.set(m[1]!, type);
  }
  return [...found].map(([id, type]) => ({ id, type }));
}

/** One EC2 query to the emulator. */
function ec2(url: string, region: string, params: Record<string, string>): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const req = request(
      url,
      {
        method: "POST",
        // The emulator's own certificate, on loopback; it routes by the credential scope and checks no signature.
        rejectUnauthorized: false,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
        },
      },
      (res) => {
        let text = "";
        res.on("data", (b: Buffer) => (text += b.toString()));
        res.on("end", () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`${params.Action}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`))));
      },
    );
    req.once("error", reject);
    req.end(new URLSearchParams(params).toString());
  });
}
