/**
 * The apply journal, and how a root recovers from an apply that was killed.
 *
 * Terraform writes a root's state to its backend only every 20 seconds during an apply (and when
 * it ends). Killed part way (SIGKILL, an out-of-memory kill, a lost machine), it leaves two things
 * behind: its lock, still held, and objects it created since its last write, which the state does
 * not know. Applying again then fails on the lock; once that is released, it creates those objects
 * a second time, which fails on a name already taken or quietly leaves the first one orphaned.
 *
 * So caja journals every apply, as terraform reports it, in the root's directory: who ran it, the
 * terraform process, and each object it began creating and each it created, with its id. The
 * journal is removed when terraform ends by itself (it has written its state then). When the next
 * apply finds one, it
 *
 * - releases the lock, but only when it is provably the one the dead apply took: taken on this
 *   machine by this user when that apply started, and its terraform process no longer running;
 * - adopts what the state lacks through `import` blocks ({@link ADOPT_FILE}): every object
 *   terraform reported created, by its id, and objects it was still creating whose id follows from
 *   their planned arguments (a name); an import of an object that turns out not to exist is
 *   dropped, and terraform creates it;
 * - names each object it cannot adopt (an id terraform never reported and nothing else gives), so
 *   nothing is left orphaned silently.
 */
import { appendFileSync, lstatSync, readFileSync, rmSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { escapeLiteral } from "@caja/modules";
import { CajaUserError } from "../errors.js";
import { lineSplitter } from "../lines.js";

/** The journal, in the root's directory while an apply runs (or after one was killed). */
export const JOURNAL_FILE = ".caja-apply-journal.jsonl";
/** The import blocks adopting what a killed apply created; removed once the apply succeeds. */
export const ADOPT_FILE = "caja_adopt.tf.json";
/** Where objects still being created are looked for (a root of data sources, removed after). */
export const ADOPT_LOOKUP_DIR = ".caja-adopt";
/** A journal larger than this was not written by caja. */
const MAX_JOURNAL_BYTES = 4 * 1024 * 1024;

export interface JournalStart {
  readonly root: string;
  /** `user@host`, as terraform records who holds a lock. */
  readonly who: string;
  /** When the apply started (ms since the epoch). */
  readonly at: number;
  /** The terraform process, once started. */
  readonly pid?: number;
}

export interface Journal {
  readonly start: JournalStart;
  /** Objects terraform reported created: address → id. */
  readonly created: ReadonlyMap<string, string>;
  /** Objects terraform began creating and never reported created. */
  readonly creating: ReadonlySet<string>;
}

/** `user@host`, the way terraform writes a lock's "Who". */
export function whoAmI(): string {
  return `${userInfo().username}@${hostname()}`;
}

/** Records one apply of one root as it runs. Writes synchronously: the journal must survive a kill of caja itself. */
export class JournalWriter {
  /** Terraform's apply output, line by line: each line that records progress is appended. */
  private readonly lines = lineSplitter((line) => {
    const event = progressEvent(line);
    if (event) this.append(event);
  });
  readonly file: string;

  constructor(dir: string) {
    this.file = join(dir, JOURNAL_FILE);
  }

  /**
   * Start the journal of a new apply. What an earlier, interrupted apply recorded is carried over:
   * its objects are being imported by this apply, which may itself be interrupted.
   */
  begin(root: string, previous?: Journal, now = Date.now()): void {
    rmSync(this.file, { force: true });
    this.append({ root, who: whoAmI(), at: now });
    for (const [address, id] of previous?.created ?? []) this.append({ created: address, id });
    for (const address of previous?.creating ?? []) this.append({ creating: address });
  }

  spawned(pid: number): void {
    this.append({ pid });
  }

  /** Terraform's apply output, in pieces as they arrive. */
  feed(text: string): void {
    this.lines.write(text);
  }

  private append(entry: Record<string, unknown>): void {
    appendFileSync(this.file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  }
}

/** A line of terraform's apply output that starts or completes a creation. */
export function progressEvent(line: string): { creating: string } | { created: string; id: string } | undefined {
  const done = /^(\S.*?): Creation complete after [^[\]]+ \[id=(.+)\]\s*$/.exec(line);
  if (done && ADDRESS.test(done[1]!)) return { created: done[1]!, id: done[2]! };
  const begun = /^(\S.*?): Creating\.\.\.\s*$/.exec(line);
  if (begun && ADDRESS.test(begun[1]!)) return { creating: begun[1]! };
  return undefined;
}

/** A managed resource's address, possibly in modules and with instance keys. */
const ADDRESS = /^(?:module\.[A-Za-z_][\w-]*(?:\[[^\]\n]{1,256}\])?\.)*[a-z][a-z0-9_]*\.[A-Za-z_][\w-]*(?:\[[^\]\n]{1,256}\])?$/;

/**
 * The journal a killed apply left in `dir`, or `undefined` when there is none. It is read as
 * untrusted: a regular file (never a link), of bounded size, every line checked.
 */
export function readJournal(dir: string): Journal | undefined {
  const file = join(dir, JOURNAL_FILE);
  const info = lstatSync(file, { throwIfNoEntry: false });
  if (!info) return undefined;
  const bad = (why: string) =>
    new CajaUserError(`${file}: ${why}. It is not a journal caja wrote; if no apply of this root was interrupted, delete it.`);
  if (!info.isFile()) throw bad("not a regular file");
  if (info.size > MAX_JOURNAL_BYTES) throw bad(`larger than ${MAX_JOURNAL_BYTES} bytes`);
  const lines = readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "");
  let start: { root: string; who: string; at: number; pid?: number } | undefined;
  const created = new Map<string, string>();
  const creating = new Set<string>();
  for (const [i, line] of lines.entries()) {
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw bad(`line ${i + 1} is not JSON`);
    }
    if (i === 0) {
      if (typeof entry.root !== "string" || typeof entry.who !== "string" || typeof entry.at !== "number") throw bad("its first line does not say which apply it records");
      start = { root: entry.root, who: entry.who, at: entry.at };
    } else if (typeof entry.pid === "number" && Number.isSafeInteger(entry.pid) && entry.pid > 0) {
      start!.pid = entry.pid;
    } else if (typeof entry.created === "string" && typeof entry.id === "string" && ADDRESS.test(entry.created) && !entry.id.includes("\n") && entry.id.length <= 2048) {
      created.set(entry.created, entry.id);
      creating.delete(entry.created);
    } else if (typeof entry.creating === "string" && ADDRESS.test(entry.creating)) {
      if (!created.has(entry.creating)) creating.add(entry.creating);
    } else throw bad(`line ${i + 1} is not an entry caja writes`);
  }
  return start ? { start, created, creating } : undefined;
}

/** Remove the journal and the adoption file once the root's state holds everything again. */
export function clearRecovery(dir: string): void {
  rmSync(join(dir, JOURNAL_FILE), { force: true });
  rmSync(join(dir, ADOPT_FILE), { force: true });
  rmSync(join(dir, ADOPT_LOOKUP_DIR), { recursive: true, force: true });
}

/** Whether a process of this machine is running. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

// ---------------------------------------------------------------------------------------------
// Locks

export interface LockInfo {
  readonly id: string;
  readonly path: string;
  readonly operation: string;
  readonly who: string;
  /** When it was taken (ms since the epoch), if terraform said. */
  readonly created?: number;
}

/** The lock terraform could not take, from its "Error acquiring the state lock" message. */
export function lockError(text: string): LockInfo | undefined {
  if (!/Error acquiring the state lock/.test(text)) return undefined;
  const field = (name: string) => new RegExp(`^\\s*${name}:[ \\t]*(.*)$`, "m").exec(text)?.[1]?.trim() ?? "";
  const id = field("ID");
  if (!/^[A-Za-z0-9-]{1,128}$/.test(id)) return undefined;
  const created = lockTime(field("Created"));
  return { id, path: field("Path"), operation: field("Operation").replace(/^OperationType/, "").toLowerCase(), who: field("Who"), ...(created === undefined ? {} : { created }) };
}

/** Terraform's lock time, `2026-12-03 00:04:15.12502362 +0000 UTC`. */
function lockTime(text: string): number | undefined {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)? ([+-])(\d\d)(\d\d)/.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}T${m[2]}${(m[3] ?? "").slice(0, 4)}${m[4]}${m[5]}:${m[6]}`);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Whether `lock` is the one the killed apply of `journal` took: the same user and machine, taken
 * within a minute of that apply's start, and its terraform no longer running. Anything else
 * might be another run's, which only a person can judge.
 */
export function lockLeftBy(journal: Journal, lock: LockInfo, alive: (pid: number) => boolean = processAlive): boolean {
  const { who, at, pid } = journal.start;
  if (lock.who !== who || who !== whoAmI() || pid === undefined || lock.created === undefined) return false;
  return Math.abs(lock.created - at) <= 60_000 && !alive(pid);
}

/** What a user reads when a root is locked by someone else. */
export function lockMessage(root: string, lock: LockInfo, dir: string): string {
  const since = lock.created === undefined ? "" : ` since ${new Date(lock.created).toISOString().replace(/\.\d+Z$/, "Z")}`;
  return [
    `${root} is locked: ${lock.operation || "an operation"} by ${lock.who || "someone"}${since} (lock ID ${lock.id}).`,
    "Another terraform is working on this root; nothing was changed. Wait for it to finish and run again.",
    `If that run is gone (killed, cancelled) and nothing else runs on ${root}, release the lock with`,
    `  terraform -chdir=${dir} force-unlock ${lock.id}`,
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Adoption

type Planned = Readonly<Record<string, unknown>>;

/**
 * Import ids that differ from the id terraform reports, or that an object still being created
 * never reported: derived from the object's planned arguments. Only types whose import id is
 * fully determined by known arguments are here; the rest are named as not adoptable.
 */
const IMPORT_ID: Readonly<Record<string, (a: Planned) => string | undefined>> = {
  // An imported route's unused destinations are "" rather than null: the first one set counts.
  aws_route: (a) => join2("_", a.route_table_id, str(a.destination_cidr_block) ?? str(a.destination_ipv6_cidr_block) ?? str(a.destination_prefix_list_id)),
  aws_route_table_association: (a) => join2("/", str(a.subnet_id) ?? str(a.gateway_id), a.route_table_id),
  aws_iam_role_policy_attachment: (a) => join2("/", a.role, a.policy_arn),
  aws_db_instance: (a) => str(a.identifier),
  aws_ecs_cluster: (a) => str(a.name),
};

/** Types imported by a name known before they exist: adoptable even while still being created. */
const IMPORT_BY_ARGUMENT: Readonly<Record<string, (a: Planned) => string | undefined>> = {
  aws_iam_role: (a) => str(a.name),
  aws_iam_role_policy: (a) => join2(":", a.role, a.name),
  aws_cloudwatch_log_group: (a) => str(a.name),
  aws_cloudwatch_metric_alarm: (a) => str(a.alarm_name),
  aws_db_subnet_group: (a) => str(a.name),
  aws_db_parameter_group: (a) => str(a.name),
  aws_dynamodb_table: (a) => str(a.name),
  aws_ecr_repository: (a) => str(a.name),
  aws_kms_alias: (a) => str(a.name),
  aws_s3_bucket: (a) => str(a.bucket),
  aws_s3_bucket_ownership_controls: (a) => str(a.bucket),
  aws_s3_bucket_policy: (a) => str(a.bucket),
  aws_s3_bucket_public_access_block: (a) => str(a.bucket),
  aws_s3_bucket_server_side_encryption_configuration: (a) => str(a.bucket),
  aws_s3_bucket_versioning: (a) => str(a.bucket),
  aws_s3_bucket_lifecycle_configuration: (a) => str(a.bucket),
  aws_ssm_parameter: (a) => str(a.name),
};

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function join2(sep: string, a: unknown, b: unknown): string | undefined {
  const x = str(a);
  const y = str(b);
  return x && y ? `${x}${sep}${y}` : undefined;
}

function typeOf(address: string): string {
  const parts = address.replace(/\[[^\]]*\]/g, "").split(".");
  return parts[parts.length - 2]!;
}

/**
 * How to find an object that was still being created, by its planned arguments: a data source
 * of the AWS provider, and the expression of the ids it found. Zero ids: it was never created;
 * more than one: caja cannot tell which, and says so.
 */
export interface Lookup {
  readonly data: string;
  readonly args: Readonly<Record<string, unknown>>;
  /** HCL of the found ids, with `D` standing for the data source's address. */
  readonly ids: string;
}

const filters = (f: Record<string, unknown>): { filter: { name: string; values: string[] }[] } | undefined => {
  const out: { name: string; values: string[] }[] = [];
  for (const [name, v] of Object.entries(f)) {
    const value = str(v);
    if (!value) return undefined;
    out.push({ name, values: [value] });
  }
  return { filter: out };
};

/** Its Name tag (caja names every taggable object). */
const nameTag = (a: Planned): string | undefined => str((a.tags_all as Record<string, unknown> | undefined)?.Name ?? (a.tags as Record<string, unknown> | undefined)?.Name);

/** Through the Resource Groups Tagging API, for EC2 types without a plural data source: ids with `prefix`. */
function tagged(a: Planned, prefix: string): Lookup | undefined {
  const name = nameTag(a);
  const tags = Object.entries((a.tags_all ?? {}) as Record<string, unknown>).filter(([, v]) => typeof v === "string");
  if (!name) return undefined;
  return {
    data: "aws_resourcegroupstaggingapi_resources",
    args: { tag_filter: tags.map(([key, value]) => ({ key, values: [value] })) },
    ids: `[for r in D.resource_tag_mapping_list : element(split("/", r.resource_arn), 1) if startswith(element(split("/", r.resource_arn), 1), "${prefix}")]`,
  };
}

const LOOKUP: Readonly<Record<string, (a: Planned) => Lookup | undefined>> = {
  aws_vpc: (a) => {
    const f = nameTag(a) && filters({ "cidr-block": a.cidr_block, "tag:Name": nameTag(a) });
    return f ? { data: "aws_vpcs", args: f, ids: "D.ids" } : undefined;
  },
  aws_subnet: (a) => {
    const f = filters({ "vpc-id": a.vpc_id, "cidr-block": a.cidr_block });
    return f ? { data: "aws_subnets", args: f, ids: "D.ids" } : undefined;
  },
  aws_security_group: (a) => {
    const f = filters({ "vpc-id": a.vpc_id, "group-name": a.name });
    return f ? { data: "aws_security_groups", args: f, ids: "D.ids" } : undefined;
  },
  aws_route_table: (a) => {
    const f = nameTag(a) && filters({ "vpc-id": a.vpc_id, "tag:Name": nameTag(a) });
    return f ? { data: "aws_route_tables", args: f, ids: "D.ids" } : undefined;
  },
  aws_nat_gateway: (a) => {
    const f = filters({ "subnet-id": a.subnet_id });
    // A deleted NAT gateway stays visible for an hour; only a live one can be adopted.
    return f ? { data: "aws_nat_gateways", args: { filter: [...f.filter, { name: "state", values: ["pending", "available"] }] }, ids: "D.ids" } : undefined;
  },
  aws_eip: (a) => {
    const f = nameTag(a) && filters({ "tag:Name": nameTag(a), domain: a.domain ?? "vpc" });
    return f ? { data: "aws_eips", args: f, ids: "D.allocation_ids" } : undefined;
  },
  aws_vpc_security_group_ingress_rule: (a) => {
    const f = nameTag(a) && filters({ "group-id": a.security_group_id, "tag:Name": nameTag(a) });
    return f ? { data: "aws_vpc_security_group_rules", args: f, ids: "D.ids" } : undefined;
  },
  aws_vpc_security_group_egress_rule: (a) => LOOKUP.aws_vpc_security_group_ingress_rule!(a),
  aws_internet_gateway: (a) => tagged(a, "igw-"),
  aws_egress_only_internet_gateway: (a) => tagged(a, "eigw-"),
  aws_flow_log: (a) => tagged(a, "fl-"),
};

/** Types whose creation takes over an object that always exists: terraform adopts it again by itself. */
const ADOPTED_BY_CREATION = /^aws_default_/;

export interface Adoption {
  /** `import` blocks: the object at `id` becomes `to`. */
  readonly imports: readonly { readonly to: string; readonly id: string }[];
  /** Objects the state lacks that caja cannot adopt, with the reason. */
  readonly cannot: readonly { readonly address: string; readonly why: string }[];
  /** Whether some import ids wait for planned arguments (a plan has to be made first). */
  readonly needsPlan: boolean;
  /** Objects still being created, to be looked for by their planned arguments. */
  readonly lookups: readonly { readonly address: string; readonly lookup: Lookup }[];
}

/** What is known so far about the objects an interrupted apply left. */
export interface AdoptionFacts {
  /** Each planned resource's arguments (`after`), once a plan was made. */
  readonly planned?: ReadonlyMap<string, Planned>;
  /** Objects known not to exist: terraform creates them. */
  readonly absent?: ReadonlySet<string>;
  /** Objects found by a lookup: address → id. */
  readonly found?: ReadonlyMap<string, string>;
  /** Objects a lookup found more than one candidate for. */
  readonly ambiguous?: ReadonlySet<string>;
}

/**
 * What to import so the state holds what the killed apply created. `inState`: the addresses the
 * state holds now. Without planned arguments, only ids terraform reported are used.
 */
export function adoption(journal: Journal, inState: ReadonlySet<string>, facts: AdoptionFacts = {}): Adoption {
  const { planned, absent = new Set(), found = new Map(), ambiguous = new Set() } = facts;
  const imports: { to: string; id: string }[] = [];
  const cannot: { address: string; why: string }[] = [];
  const lookups: { address: string; lookup: Lookup }[] = [];
  let needsPlan = false;
  const missing = [...new Set([...journal.created.keys(), ...journal.creating])].filter((a) => !inState.has(a) && !absent.has(a)).sort();
  for (const address of missing) {
    const type = typeOf(address);
    if (ADOPTED_BY_CREATION.test(type)) continue;
    const reported = journal.created.get(address) ?? found.get(address);
    if (ambiguous.has(address)) {
      cannot.push({ address, why: "more than one object matches its planned arguments" });
      continue;
    }
    const derive = IMPORT_ID[type] ?? (reported === undefined ? IMPORT_BY_ARGUMENT[type] : undefined);
    if (!derive && reported !== undefined) {
      imports.push({ to: address, id: reported });
      continue;
    }
    if (!planned) {
      needsPlan = true;
      continue;
    }
    const after = planned.get(address);
    if (!after) continue;
    const id = derive?.(after);
    if (id !== undefined) {
      imports.push({ to: address, id });
      continue;
    }
    const lookup = derive ? undefined : LOOKUP[type]?.(after);
    if (lookup) lookups.push({ address, lookup });
    else cannot.push({ address, why: derive ? "its import id depends on values not known before it is applied" : "it was being created when the apply stopped, and nothing terraform reported or planned identifies it" });
  }
  return { imports, cannot, needsPlan, lookups };
}

/**
 * A root of data sources only that finds objects still being created when an apply stopped,
 * with the provider configuration of the root they belong to. Its output `found` maps each
 * address to the ids found.
 */
export function lookupRoot(rootDoc: Readonly<Record<string, unknown>>, lookups: Adoption["lookups"]): Record<string, unknown> {
  const terraform = (rootDoc.terraform ?? {}) as Record<string, unknown>;
  const data: Record<string, Record<string, unknown>> = {};
  const found: Record<string, string> = {};
  lookups.forEach(({ address, lookup }, i) => {
    const name = `caja_adopt_${i}`;
    (data[lookup.data] ??= {})[name] = escapeDeep(lookup.args) as Record<string, unknown>;
    found[address] = `\${${lookup.ids.replaceAll(/\bD\b/g, `data.${lookup.data}.${name}`)}}`;
  });
  return {
    terraform: { required_providers: terraform.required_providers ?? {} },
    provider: rootDoc.provider ?? {},
    data,
    output: { found: { value: Object.fromEntries(Object.entries(found).map(([k, v]) => [escapeLiteral(k), v])) } },
  };
}

/**
 * Security groups being created when an apply stopped, now imported, whose egress the root manages
 * through separate rule resources (or not at all). AWS gives a new group an allow-all egress rule
 * and terraform revokes it inside the group's create, so one caught part way may keep it; a group
 * with inline `egress` is left to terraform, which replaces its rules on the next apply.
 */
export function interruptedGroups(journal: Journal, imports: Adoption["imports"], rootDoc: Readonly<Record<string, any>>): { address: string; id: string }[] {
  return imports
    .filter((i) => journal.creating.has(i.to) && typeOf(i.to) === "aws_security_group")
    .filter((i) => rootDoc.resource?.aws_security_group?.[i.to.slice("aws_security_group.".length)]?.egress === undefined)
    .map((i) => ({ address: i.to, id: i.id }));
}

/**
 * A root that revokes AWS's default egress rule (all traffic to `0.0.0.0/0` or `::/0`, untagged:
 * caja tags every rule it creates) from each group: it finds the rule with data sources, imports it
 * into a rule resource of its own local state, and `terraform destroy` then revokes it. Its output
 * `revoked` maps each group's address to the rule ids imported.
 */
export function defaultEgressRoot(rootDoc: Readonly<Record<string, unknown>>, groups: readonly { address: string; id: string }[]): Record<string, unknown> {
  const terraform = (rootDoc.terraform ?? {}) as Record<string, unknown>;
  const rulesOf: Record<string, unknown> = {};
  const rule: Record<string, unknown> = {};
  const locals: Record<string, string> = {};
  const resources: Record<string, unknown> = {};
  const imports: unknown[] = [];
  const revoked: Record<string, string> = {};
  groups.forEach(({ address, id }, i) => {
    const name = `caja_default_egress_${i}`;
    rulesOf[name] = { filter: [{ name: "group-id", values: [escapeLiteral(id)] }] };
    // A group without any rule lists its ids as null, not [].
    const ids = `data.aws_vpc_security_group_rules.${name}.ids`;
    rule[name] = { for_each: `\${toset(${ids} == null ? [] : ${ids})}`, security_group_rule_id: "${each.value}" };
    locals[name] =
      `\${{ for id, r in data.aws_vpc_security_group_rule.${name} : id => r if r.is_egress && r.ip_protocol == "-1" && ` +
      `(r.cidr_ipv4 == "0.0.0.0/0" || r.cidr_ipv6 == "::/0") && try(length(r.tags), 0) == 0 }}`;
    imports.push({ for_each: `\${local.${name}}`, to: `aws_vpc_security_group_egress_rule.${name}[each.key]`, id: "${each.key}" });
    resources[name] = {
      for_each: `\${local.${name}}`,
      security_group_id: escapeLiteral(id),
      ip_protocol: "-1",
      cidr_ipv4: '${each.value.cidr_ipv4 == "" ? null : each.value.cidr_ipv4}',
      cidr_ipv6: '${each.value.cidr_ipv6 == "" ? null : each.value.cidr_ipv6}',
    };
    revoked[escapeLiteral(address)] = `\${keys(local.${name})}`;
  });
  return {
    terraform: { required_providers: terraform.required_providers ?? {} },
    // Without default tags: the imported rule is only to be revoked, not tagged first.
    provider: withoutDefaultTags(rootDoc.provider ?? {}),
    data: { aws_vpc_security_group_rules: rulesOf, aws_vpc_security_group_rule: rule },
    locals,
    import: imports,
    resource: { aws_vpc_security_group_egress_rule: resources },
    output: { revoked: { value: revoked } },
  };
}

/** Provider blocks (one or a list per provider name) without `default_tags`. */
function withoutDefaultTags(providers: unknown): unknown {
  const strip = (block: unknown) => (block && typeof block === "object" && !Array.isArray(block) ? Object.fromEntries(Object.entries(block).filter(([k]) => k !== "default_tags")) : block);
  if (!providers || typeof providers !== "object") return providers;
  return Object.fromEntries(Object.entries(providers).map(([name, blocks]) => [name, Array.isArray(blocks) ? blocks.map(strip) : strip(blocks)]));
}

/** A map output as `terraform output -json NAME` prints it; undefined for anything that is not JSON. */
function outputObject(json: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(json);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The rule ids each group's default egress root imported, from `terraform output -json revoked`. */
export function revokedRules(json: string, groups: readonly { address: string }[]): Map<string, string[]> {
  const value = outputObject(json);
  const out = new Map<string, string[]>();
  for (const { address } of groups) {
    const ids = value?.[address];
    out.set(address, Array.isArray(ids) ? ids.filter((x): x is string => typeof x === "string" && /^sgr-[0-9a-f]+$/.test(x)) : []);
  }
  return out;
}

/** Planned values are literals to Terraform: every string escaped, so none is read as a template. */
function escapeDeep(value: unknown): unknown {
  if (typeof value === "string") return escapeLiteral(value);
  if (Array.isArray(value)) return value.map(escapeDeep);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [escapeLiteral(k), escapeDeep(v)]));
  return value;
}

/** The ids each lookup found, from `terraform output -json found`; anything else is ignored. */
export function foundIds(json: string, lookups: Adoption["lookups"]): { found: Map<string, string>; absent: Set<string>; ambiguous: Set<string> } {
  const found = new Map<string, string>();
  const absent = new Set<string>();
  const ambiguous = new Set<string>();
  const value = outputObject(json);
  for (const { address } of lookups) {
    const ids = value?.[address];
    // Some plural data sources (security group rules) list no match as null rather than [].
    const list = ids === null ? [] : Array.isArray(ids) ? ids.filter((x): x is string => typeof x === "string" && x !== "" && !x.includes("\n")) : undefined;
    if (!list) ambiguous.add(address);
    else if (list.length === 0) absent.add(address);
    else if (list.length === 1) found.set(address, list[0]!);
    else ambiguous.add(address);
  }
  return { found, absent, ambiguous };
}

/** The adoption file: Terraform JSON `import` blocks, ids escaped so Terraform reads them verbatim. */
export function adoptFile(imports: Adoption["imports"]): Record<string, unknown> {
  return { import: imports.map((i) => ({ id: escapeLiteral(i.id), to: i.to })) };
}

/** Each planned resource's arguments (`change.after`), by address, from `terraform show -json` of a plan. */
export function plannedArguments(plan: unknown): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const changes = (plan as { resource_changes?: unknown } | null)?.resource_changes;
  for (const c of Array.isArray(changes) ? changes : []) {
    const after = (c as { change?: { after?: unknown } })?.change?.after;
    const address = (c as { address?: unknown })?.address;
    if (typeof address === "string" && after && typeof after === "object" && !Array.isArray(after)) out.set(address, after as Record<string, unknown>);
  }
  return out;
}

/** Write the adoption file, or remove it when there is nothing to import. */
export function writeAdoptFile(dir: string, imports: Adoption["imports"], write: (file: string, text: string) => void): void {
  const file = join(dir, ADOPT_FILE);
  if (imports.length === 0) rmSync(file, { force: true });
  else write(file, `${JSON.stringify(adoptFile(imports), null, 2)}\n`);
}

/**
 * Imports a failed plan blames: the object to import does not exist ("Cannot import non-existent
 * remote object"), or a diagnostic about the resource of an import (a provider that says so its
 * own way: "No association found between route table … and subnet …"), named by its address or,
 * when terraform prints no address with it, by the ids it names. Only the imports being made
 * count: any other failure is a failure.
 */
export function failedImports(text: string, importing: readonly { readonly to: string; readonly id: string }[]): string[] {
  const flat = text.replace(/\s+/g, " ");
  const named = [...flat.matchAll(/import an existing object to "([^"]+)"/g), ...flat.matchAll(/\u2502? ?with ([^\s,]+),/g)].map((m) => m[1]!);
  // An association's import id is `<subnet or gateway>/<route table>`.
  const byId = new Map(importing.map((i) => [i.id, i.to]));
  const associations = [...flat.matchAll(/No association found between route table ID (\S+) and target ID (\S+?)(?=\s|$)/g)].flatMap((m) => byId.get(`${m[2]}/${m[1]}`) ?? []);
  const addresses = new Set(importing.map((i) => i.to));
  return [...new Set([...named, ...associations])].filter((a) => addresses.has(a)).sort();
}
