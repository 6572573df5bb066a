/**
 * What the security gate's rules see: every planned resource's body as modules built it (the
 * lifecycle merged as `emit` merges it), with the root it lives in, and the few questions rules
 * ask about the rest of the plan: which resources point at this one, what an expression refers to
 * (following `terraform_remote_state` reads into the producing root), and what an IAM policy
 * document says. Pure: reads the plan, changes nothing.
 *
 * Bodies are read before rendering (rendering every body again would cost as much as the rules):
 * a reference is an expression token (`expr()`), never a `${...}` string, and a literal `${` in a
 * body is just text. `shown()` renders a value for messages.
 */
import type { ResolvedConfig, ResolvedEnvironment } from "@caja/dsl/schema";
import { isLiteral, render, soleExpression, type Entry } from "@caja/modules";
import { rootById, type Plan, type RootPlan } from "../plan.js";

export interface PlannedResource {
  readonly root: RootPlan;
  readonly entry: Entry;
  readonly type: string;
  readonly name: string;
  /** `aws_lb.main` */
  readonly address: string;
  /** `prod/50-service/aws_lb.main`: unique across the plan. */
  readonly key: string;
  /** The body, `lifecycle` included; references are expression tokens (see {@link soleReference}). */
  readonly body: Readonly<Record<string, unknown>>;
}

/** One statement of an IAM-style policy document, normalised: lists are always lists. */
export interface PolicyStatement {
  readonly sid?: string;
  readonly effect: "Allow" | "Deny";
  readonly actions: readonly string[];
  readonly notActions: readonly string[];
  readonly resources: readonly string[];
  /** `"*"` for `Principal: "*"`, else type → values (`AWS`, `Service`, `Federated`). */
  readonly principal?: "*" | Readonly<Record<string, readonly string[]>>;
  /** operator → key → values, e.g. `StringEquals` → `aws:SourceAccount` → [...]. */
  readonly condition: Readonly<Record<string, Readonly<Record<string, readonly unknown[]>>>>;
}

/** The plan, indexed for rules. */
export class PlanView {
  readonly resources: readonly PlannedResource[];
  private readonly byRoot = new Map<string, PlannedResource[]>();
  private readonly byKey = new Map<string, PlannedResource>();
  private readonly byType = new Map<string, PlannedResource[]>();
  /** Parsed policy documents: the same JSON is read by several rules. */
  private readonly documents = new Map<string, PolicyStatement[] | undefined>();

  constructor(
    readonly plan: Plan,
    readonly config: ResolvedConfig,
  ) {
    const all: PlannedResource[] = [];
    for (const root of plan.roots) {
      const list: PlannedResource[] = [];
      for (const entry of root.builder.entries) {
        if (entry.handle.kind !== "resource") continue;
        const body = entry.options.lifecycle ? { ...entry.body, lifecycle: { ...entry.options.lifecycle, ...(entry.body.lifecycle as object | undefined) } } : entry.body;
        const r: PlannedResource = {
          root,
          entry,
          type: entry.handle.type,
          name: entry.handle.name,
          address: entry.handle.address,
          key: `${root.id}/${entry.handle.address}`,
          body,
        };
        list.push(r);
        this.byKey.set(r.key, r);
        const sameType = this.byType.get(r.type);
        if (sameType) sameType.push(r);
        else this.byType.set(r.type, [r]);
      }
      this.byRoot.set(root.id, list);
      all.push(...list);
    }
    this.resources = all;
  }

  inRoot(root: RootPlan, type?: string): readonly PlannedResource[] {
    const list = this.byRoot.get(root.id) ?? [];
    return type ? list.filter((r) => r.type === type) : list;
  }

  ofType(type: string): readonly PlannedResource[] {
    return this.byType.get(type) ?? [];
  }

  /** {@link policyStatements}, parsed once per document. */
  statements(root: RootPlan, value: unknown): PolicyStatement[] | undefined {
    if (typeof value !== "string" || soleReference(value) !== undefined) return policyStatements(root, value);
    if (!this.documents.has(value)) this.documents.set(value, policyStatements(root, value));
    return this.documents.get(value);
  }

  /** Resources of `type` in the same root whose `attribute` refers to `target` (by reference or by its literal name). */
  referencing(target: PlannedResource, type: string, attribute: string): PlannedResource[] {
    return this.inRoot(target.root, type).filter((r) => refersTo(r.body[attribute], target));
  }

  /**
   * The resource a value stands for: `${aws_kms_key.alarms.arn}` in the same root, or an output
   * read through `terraform_remote_state`, followed into the root that produces it.
   */
  resolve(root: RootPlan, value: unknown, depth = 0): PlannedResource | undefined {
    const hcl = typeof value === "string" ? soleReference(value) : undefined;
    if (!hcl || depth > 8) return undefined;
    const remote = /^data\.terraform_remote_state\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/.exec(hcl);
    if (remote) {
      const read = root.builder.remoteReads.get(remote[1]!);
      const producer = read && rootById(this.plan, read.root);
      const output = producer?.builder.outputs.get(remote[2]!);
      return producer && output ? this.resolve(producer, output.value, depth + 1) : undefined;
    }
    const local = /^([a-z0-9_]+\.[A-Za-z0-9_-]+)(?:\.|\[|$)/.exec(hcl);
    return local ? this.byKey.get(`${root.id}/${local[1]}`) : undefined;
  }

  /** The environment a root belongs to (undefined for global roots). */
  envOf(root: RootPlan): ResolvedEnvironment | undefined {
    return root.env;
  }
}

/** The HCL of a value that is exactly one expression (a reference such as `aws_lb.main.arn`). */
export function soleReference(value: unknown): string | undefined {
  if (typeof value === "string") return soleExpression(value)?.trim();
  // A list-valued expression travels as a one-element list of a list token.
  return Array.isArray(value) && value.length === 1 && typeof value[0] === "string" ? soleExpression(value[0])?.trim() : undefined;
}

/** True when a value (a string or a list of them) refers to `target`'s attributes, or names it literally. */
export function refersTo(value: unknown, target: PlannedResource): boolean {
  if (Array.isArray(value)) return value.some((v) => refersTo(v, target));
  if (typeof value !== "string") return false;
  const ref = soleReference(value);
  if (ref !== undefined) return ref === target.address || ref.startsWith(`${target.address}.`) || ref.startsWith(`${target.address}[`);
  // A bucket written by name (`bucket = "caja-dev-web"`) rather than by reference.
  const literalName = target.body.bucket ?? target.body.name;
  return typeof literalName === "string" && isLiteral(literalName) && value === literalName;
}

/** Nested blocks as a list, whether written as one object or an array of them. */
export function blocks(value: unknown): Record<string, unknown>[] {
  if (Array.isArray(value)) return value.filter(isObject);
  return isObject(value) ? [value] : [];
}

/** The first nested block (or `{}`). */
export function block(value: unknown): Record<string, unknown> {
  return blocks(value)[0] ?? {};
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** A value for messages, as the Terraform JSON writes it: `not set`, `false`, `"TLSv1"`, `"${var.x}"`. */
export function shown(value: unknown): string {
  if (value === undefined || value === null) return "not set";
  return JSON.stringify(render(value));
}

/**
 * An IAM-style policy document: a JSON string (with `${...}` inside strings, which parse fine), or
 * a reference to an `aws_iam_policy_document` data source in the same root. Undefined when the
 * value is an expression caja cannot read.
 */
export function policyStatements(root: RootPlan, value: unknown): PolicyStatement[] | undefined {
  if (typeof value === "string") {
    const ref = soleReference(value);
    if (ref) {
      const m = /^data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json$/.exec(ref);
      const data = m ? root.builder.find(`data.aws_iam_policy_document.${m[1]}`) : undefined;
      return data ? statementsOfDataSource(data.body) : undefined;
    }
    try {
      return statementsOfJson(JSON.parse(value));
    } catch {
      return undefined;
    }
  }
  return isObject(value) ? statementsOfJson(value) : undefined;
}

function statementsOfJson(doc: unknown): PolicyStatement[] | undefined {
  if (!isObject(doc)) return undefined;
  // A large plan reads thousands of statements (every pipeline role's, per environment): built
  // field by field, and a list of strings is kept as it is instead of copied.
  const out: PolicyStatement[] = [];
  for (const s of asList(doc.Statement)) {
    if (!isObject(s)) continue;
    // In the order the fields were always made in (sid first), for anything that shows a statement.
    const statement = {} as { -readonly [K in keyof PolicyStatement]: PolicyStatement[K] };
    if (typeof s.Sid === "string") statement.sid = s.Sid;
    statement.effect = s.Effect === "Deny" ? "Deny" : "Allow";
    statement.actions = strings(s.Action);
    statement.notActions = strings(s.NotAction);
    statement.resources = strings(s.Resource);
    if (s.Principal === "*") statement.principal = "*";
    else if (isObject(s.Principal)) {
      const principal: Record<string, readonly string[]> = {};
      for (const k in s.Principal) principal[k] = strings(s.Principal[k]);
      statement.principal = principal;
    }
    const condition: Record<string, Record<string, unknown[]>> = {};
    if (isObject(s.Condition)) {
      for (const op in s.Condition) {
        const c = s.Condition[op];
        const keys: Record<string, unknown[]> = {};
        if (isObject(c)) for (const k in c) keys[k] = asList(c[k]);
        condition[op] = keys;
      }
    }
    statement.condition = condition;
    out.push(statement);
  }
  return out;
}

/** A value as the list of strings IAM reads it as: one value, or a list of them. */
function strings(value: unknown): readonly string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return [String(value)];
  for (const v of value) if (typeof v !== "string") return value.map(String);
  return value as string[];
}

/** `data "aws_iam_policy_document"`: `statement` blocks with `actions`, `resources`, `principals`, `condition`. */
function statementsOfDataSource(body: Record<string, unknown>): PolicyStatement[] {
  return blocks(body.statement).map((s) => {
    const principals = blocks(s.principals);
    const principal = principals.some((p) => p.type === "*")
      ? ("*" as const)
      : Object.fromEntries(principals.map((p) => [String(p.type), asList(p.identifiers).map(String)]));
    const condition: Record<string, Record<string, unknown[]>> = {};
    for (const c of blocks(s.condition)) (condition[String(c.test)] ??= {})[String(c.variable)] = asList(c.values);
    return {
      ...(typeof s.sid === "string" ? { sid: s.sid } : {}),
      effect: s.effect === "Deny" ? ("Deny" as const) : ("Allow" as const),
      actions: asList(s.actions).map(String),
      notActions: asList(s.not_actions).map(String),
      resources: asList(s.resources).map(String),
      ...(principals.length > 0 ? { principal } : {}),
      condition,
    };
  });
}

/** True for `Principal: "*"` or `{ AWS: "*" }`: anyone. */
export function anyonePrincipal(s: PolicyStatement): boolean {
  return s.principal === "*" || (s.principal !== undefined && Object.values(s.principal).some((ids) => ids.includes("*")));
}
