/**
 * Plan stage: place modules in roots and build every root.
 *
 * Roots are built on demand. When a module reads another module's output, the root that module
 * lives in is built first (a stack of roots under construction catches cycles, with their route).
 * A value known at compile time is inlined as a literal; anything the cloud assigns becomes an
 * `output` in the producer and a `terraform_remote_state` read in the consumer. Either way the
 * consumer records a dependency, which orders the manifest.
 */
import { MAX_RESOURCE_TAGS, type Extension, type ResolvedConfig, type ResolvedEnvironment, type Todo } from "@caja/dsl/schema";
import { isTodo } from "@caja/dsl";
import { stackFrames } from "@caja/dsl/site";
import { closest } from "@caja/dsl/suggest";
import {
  expr,
  expressionsIn,
  fromTerraformJson,
  hasReservedCharacter,
  isLiteral,
  referencesIn,
  render,
  soleExpression,
  resourceName,
  NAME_RULES,
  RootBuilder,
  API_MODULES,
  isApiModule,
  type ApiModule,
  type Contract,
  type DecideSpec,
  type EnvContext,
  type Entry,
  type ModuleDef,
  type NameRule,
} from "@caja/modules";
import { PHASES, type AnyModule, type PhaseDef } from "./phases.js";

export type BackendMode = "s3" | "local";

export interface PlanOptions {
  /** `local`: every root keeps local state and reads its siblings' local state (trying caja without AWS). */
  readonly backend?: BackendMode;
  /** Plan only these environments (global roots are always planned). */
  readonly envs?: readonly string[];
  /** The phase table; tests pass their own. */
  readonly phases?: readonly PhaseDef[];
}

export type Backend =
  | { readonly type: "local"; readonly path: string }
  | {
      readonly type: "s3";
      readonly bucket: string;
      readonly key: string;
      readonly region: string;
      readonly encrypt: true;
      readonly dynamodb_table?: string;
      readonly use_lockfile?: true;
    };

export interface Dependency {
  /** Outputs read from the producer; empty when the dependency is the state bucket itself. */
  readonly outputs: Set<string>;
  readonly reason: "reads" | "state-backend";
}

export interface TodoUse {
  readonly path: string;
  readonly reason: string;
  readonly site?: string;
  readonly variable: string;
  readonly root: string;
}

export interface RootPlan {
  /** `global/00-bootstrap`, `dev/20-network`: also the directory under `out/`. */
  readonly id: string;
  readonly scope: string;
  readonly phase: PhaseDef;
  readonly env?: ResolvedEnvironment;
  readonly builder: RootBuilder;
  readonly backend: Backend;
  readonly dependsOn: Map<string, Dependency>;
  readonly todos: TodoUse[];
}

export interface PlanIssue {
  /** Config path the problem comes from (`""` when it is not one field's fault). */
  readonly path: string;
  readonly message: string;
  /** A module's mistake: the frame of its code at fault (a `read` call, its `defineModule`). */
  readonly site?: string;
}

export interface Plan {
  /** Every root, in apply order. */
  readonly roots: readonly RootPlan[];
  readonly issues: readonly PlanIssue[];
  readonly todos: readonly TodoUse[];
}

const rootIndexes = new WeakMap<Plan["roots"], ReadonlyMap<string, RootPlan>>();

/** A root by its id (`prod/50-service`); indexed once per plan, since roots read each other by id. */
export function rootById(plan: Pick<Plan, "roots">, id: string): RootPlan | undefined {
  let index = rootIndexes.get(plan.roots);
  if (!index) rootIndexes.set(plan.roots, (index = new Map(plan.roots.map((r) => [r.id, r]))));
  return index.get(id);
}

interface Slot {
  readonly id: string;
  readonly scope: string;
  readonly phase: PhaseDef;
  /** The phase's modules that are on in this scope. */
  readonly modules: readonly AnyModule[];
  readonly env?: ResolvedEnvironment;
}

function siteOf(module: AnyModule): { site?: string } {
  return isApiModule(module) && module.site ? { site: module.site } : {};
}

/** The current stack, deep enough to reach a module's frame under the engine's own (a read may build other roots first). */
function deepStack(): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 200;
  try {
    return new Error().stack;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * The innermost frame of user code in a stack: the config's bundle (a `data:` URL) or any file
 * outside caja's own packages, so a module's mistake is reported in its file.
 */
export function userFrame(stack: string | undefined): string | undefined {
  return stackFrames(stack).find(({ location }) => !location.startsWith("node:") && !/[\\/](node_modules|packages[\\/](compiler|modules|dsl))[\\/]/.test(location))?.location;
}

interface Claim {
  readonly root: string;
  readonly component: string;
  readonly path: string;
}

/** Validates a resource body against the provider schema (loaded only when the escape hatch is used). */
export type BodyValidator = (type: string, body: Record<string, unknown>) => readonly { path: string; message: string }[];

export function planRoots(config: ResolvedConfig, options: PlanOptions & { validateBody?: BodyValidator } = {}): Plan {
  const phases = options.phases ?? PHASES;
  const backendMode = options.backend ?? "s3";
  const envs = Object.values(config.environments).filter((e) => !options.envs || options.envs.includes(e.name));
  const issues: PlanIssue[] = [];
  const todos: TodoUse[] = [];

  const home = new Map<string, PhaseDef>();
  for (const phase of phases) for (const module of phase.modules) home.set(module.id, phase);
  const instances = new Map(config.modules.map((m) => [m.id, m.instances]));
  /** A module-API module's section in a scope; built-in modules have none and are always on. */
  const instanceOf = (module: AnyModule, scope: string) => (isApiModule(module) ? instances.get(module.id)?.[scope] ?? { enabled: true, settings: {} } : undefined);
  const on = (module: AnyModule, scope: string) => instanceOf(module, scope)?.enabled !== false;

  const slots = new Map<string, Slot>();
  for (const phase of phases) {
    const add = (scope: string, env?: ResolvedEnvironment) => {
      const modules = phase.modules.filter((m) => on(m, scope));
      if (modules.length > 0) slots.set(`${scope}/${phase.dir}`, { id: `${scope}/${phase.dir}`, scope, phase, modules, ...(env ? { env } : {}) });
    };
    if (phase.scope === "global") add("global");
    else for (const env of envs) add(env.name, env);
  }

  reservedCharacters(config, [], new Set(), issues);

  const stateOwner = [...slots.values()].find((s) => s.phase.ownsStateBucket);
  const built = new Map<string, RootPlan>();
  const building: string[] = [];
  const claims = new Map<string, Claim>();

  for (const id of slots.keys()) build(id);

  return { roots: applyOrder([...built.values()], phases, envs), issues, todos };

  function build(id: string): RootPlan | undefined {
    const done = built.get(id);
    if (done) return done;
    const slot = slots.get(id);
    if (!slot) return undefined;
    building.push(id);
    const builder = new RootBuilder(id);
    const plan: RootPlan = {
      id,
      scope: slot.scope,
      phase: slot.phase,
      ...(slot.env ? { env: slot.env } : {}),
      builder,
      backend: backendOf(slot),
      dependsOn: new Map(),
      todos: [],
    };
    if (stateOwner && stateOwner.id !== id && plan.backend.type === "s3") {
      plan.dependsOn.set(stateOwner.id, { outputs: new Set(), reason: "state-backend" });
    }
    for (const module of slot.modules) {
      const instance = instanceOf(module, slot.scope);
      // A module of the config's own (not one of caja's, which its tests check): where it adds
      // each resource is recorded, and every body checked against the provider schema.
      const users = instance !== undefined && !API_MODULES.includes(module as ApiModule);
      builder.enter(module.id, users ? () => userFrame(deepStack()) : undefined);
      const before = builder.entries.length;
      if (!instance) {
        (module as ModuleDef).build(contextFor(slot, plan));
      } else if (!buildApiModule(module as ApiModule, contextFor(slot, plan, instance.settings), plan)) {
        continue;
      } else if (users) {
        checkBodies(builder.entries.slice(before), module);
      }
      for (const output of module.outputs) {
        if (builder.outputs.has(output)) continue;
        if (!instance) throw new Error(`internal: module ${module.id} declares output "${output}" but did not produce it in ${id}`);
        issues.push({ path: "", message: `module ${module.id} declares output "${output}" but did not produce it in ${id} (call ctx.root.output("${output}", ...) in build)`, ...siteOf(module) });
      }
    }
    checkReferences(plan);
    const extension = slot.env ? slot.env.extend[slot.phase.id] : config.extend[slot.phase.id];
    if (extension) extend(plan, extension, slot.env ? `environments.${slot.env.name}.extend.${slot.phase.id}` : `extend.${slot.phase.id}`);
    building.pop();
    built.set(id, plan);
    return plan;
  }

  /** A user's module's resources against the provider schema, each reported where the module added it. */
  function checkBodies(entries: readonly Entry[], module: AnyModule): void {
    if (!options.validateBody) throw new Error("internal: a config with modules of its own needs the schema validator");
    for (const entry of entries) {
      if (entry.handle.kind !== "resource") continue;
      for (const issue of options.validateBody(entry.handle.type, render(entry.body) as Record<string, unknown>)) {
        const at = issue.path ? `${entry.handle.address}.${issue.path}` : entry.handle.address;
        issues.push({ path: "", message: `module ${module.id}: ${at}: ${issue.message}`, ...(entry.site ? { site: entry.site } : siteOf(module)) });
      }
    }
  }

  /**
   * The references in a user's module's bodies must name what the root declares, as the escape
   * hatch's must (checked once the whole root is built: modules may refer to each other's resources).
   */
  function checkReferences(plan: RootPlan): void {
    const own = plan.builder.entries.filter((e) => e.site !== undefined);
    if (own.length === 0) return;
    const refs: PendingReference[] = [];
    for (const e of own) collectReferences(e.body, e.handle.address, scopeOf(e.body, e.options.forEach !== undefined), true, refs);
    for (const issue of unresolvedReferences(plan, refs)) {
      const entry = own.find((e) => issue.path === e.handle.address || issue.path.startsWith(`${e.handle.address}.`) || issue.path.startsWith(`${e.handle.address}[`))!;
      issues.push({ path: "", message: `module ${entry.module}: ${issue.path}: ${issue.message}`, site: entry.site! });
    }
  }

  /** A user's module: its exceptions are its mistakes, reported at the frame that threw. */
  function buildApiModule(module: ApiModule, ctx: EnvContext & { settings?: unknown }, plan: RootPlan): boolean {
    try {
      module.build(ctx as never);
      return true;
    } catch (e) {
      const site = e instanceof Error ? userFrame(e.stack) : undefined;
      issues.push({ path: "", message: `module ${module.id} threw while building ${plan.id}: ${e instanceof Error ? e.message : String(e)}`, ...(site ? { site } : siteOf(module)) });
      return false;
    }
  }

  /** The escape hatch: add raw resources, deep-merge overrides; both checked against the provider schema. */
  function extend(plan: RootPlan, extension: Extension, path: string): void {
    const { builder } = plan;
    const check = (type: string, body: Record<string, unknown>, at: string) => {
      for (const issue of options.validateBody?.(type, render(body) as Record<string, unknown>) ?? []) {
        issues.push({ path: issue.path ? `${at}.${issue.path}` : at, message: issue.message });
      }
      // AWS counts the provider's default_tags with the resource's own.
      const tags = body.tags;
      if (tags && typeof tags === "object" && !Array.isArray(tags)) {
        const count = new Set([...Object.keys(plan.env?.tags ?? config.tags), ...Object.keys(tags)]).size;
        if (count > MAX_RESOURCE_TAGS) issues.push({ path: `${at}.tags`, message: `${count} tags with the provider's default_tags: AWS allows ${MAX_RESOURCE_TAGS} on a resource` });
      }
    };
    builder.enter("extend");
    const refs: PendingReference[] = [];
    for (const [address, override] of Object.entries(extension.overrides ?? {})) {
      const entry = builder.find(address);
      const at = `${path}.overrides["${address}"]`;
      if (!entry || entry.handle.kind !== "resource") {
        const known = builder.entries.filter((e) => e.handle.kind === "resource").map((e) => e.handle.address);
        const hint = closest(address, known);
        issues.push({ path: at, message: `${plan.id} has no resource ${address}.${hint ? ` Did you mean "${hint}"?` : ` It has: ${known.join(", ")}.`}` });
        continue;
      }
      const patch = fromTerraformJson(override) as Record<string, unknown>;
      entry.body = deepMerge(entry.body, patch);
      check(entry.handle.type, entry.body, at);
      collectReferences(patch, at, scopeOf(entry.body, entry.options.forEach !== undefined), true, refs);
    }
    for (const [type, byName] of Object.entries(extension.resources ?? {})) {
      for (const [name, raw] of Object.entries(byName)) {
        const at = `${path}.resources.${type}.${name}`;
        if (builder.find(`${type}.${name}`)) {
          issues.push({ path: at, message: `${type}.${name} is generated by caja in ${plan.id}; change it under overrides instead` });
          continue;
        }
        const body = fromTerraformJson(raw) as Record<string, unknown>;
        check(type, body, at);
        collectReferences(body, at, scopeOf(body, false), true, refs);
        builder.resource(type as never, name, body as never);
      }
    }
    // Checked once every raw resource is in: they may refer to each other.
    if (refs.length > 0) issues.push(...unresolvedReferences(plan, refs));
  }

  /** What a module's build receives; `settings`: a module-API module's section in this scope. */
  function contextFor(slot: Slot, plan: RootPlan, settings?: unknown): EnvContext & { settings?: unknown } {
    const { builder } = plan;
    let account: string | undefined;
    const envPath = slot.env ? `environments.${slot.env.name}` : "";
    return {
      ...(settings !== undefined ? { settings } : {}),
      config,
      env: slot.env as ResolvedEnvironment,
      scope: slot.scope,
      root: builder,
      region: config.region,
      get accountId() {
        if (account === undefined) {
          if (config.accountId) account = config.accountId;
          else {
            const identity = builder.find("data.aws_caller_identity.current")?.handle ?? builder.data("aws_caller_identity", "current", {});
            builder.mockDataSource("aws_caller_identity", { account_id: "123456789012" });
            account = identity.attr("account_id");
          }
        }
        return account;
      },
      name(component: string, rule: NameRule = NAME_RULES.generic) {
        const name = resourceName({ pattern: config.naming.pattern, project: config.project, env: slot.scope }, component, rule);
        return claim(name, rule, component, envPath || "naming.pattern");
      },
      claimName(name: string, rule: NameRule) {
        return claim(name, rule, name, "");
      },
      read(module: Contract, output: string) {
        return read(slot, plan, module, output);
      },
      decide<T>(value: T | Todo, spec: DecideSpec): T | string {
        if (!isTodo(value)) return value;
        const use: TodoUse = { path: spec.path, reason: value.reason, ...(value.site ? { site: value.site } : {}), variable: spec.name, root: plan.id };
        plan.todos.push(use);
        todos.push(use);
        const { name, path, ...variable } = spec;
        return builder.variable(name, { ...variable, description: `TODO: ${value.reason}`, todo: { path, ...(value.site ? { site: value.site } : {}) } });
      },
    };

    function claim(name: string, rule: NameRule, component: string, path: string): string {
      const key = `${rule.kind}\u0000${name}`;
      const prior = claims.get(key);
      if (prior && !(prior.root === plan.id && prior.component === component)) {
        issues.push({
          path: path || prior.path,
          message: `two ${rule.kind} resources would both be named "${name}" (${prior.root} ${prior.component} and ${plan.id} ${component}); rename one or change naming.pattern`,
        });
      } else if (!prior) {
        claims.set(key, { root: plan.id, component, path });
      }
      return name;
    }
  }

  function read(slot: Slot, plan: RootPlan, module: Contract, output: string): unknown {
    // Only a user's module can get these wrong (the plan's own are typed and tested): say where.
    const fault = (message: string) => {
      const site = userFrame(deepStack());
      issues.push({ path: "", message, ...(site ? { site } : {}) });
      return expr("null");
    };
    const producerPhase = home.get(module.id);
    if (!producerPhase) return fault(`${plan.id} reads ${module.id}.${output}, but module ${module.id} is not placed in any phase (is it listed in the config's modules?)`);
    if (!module.outputs.includes(output)) {
      const hint = closest(output, module.outputs);
      return fault(`${plan.id} reads ${module.id}.${output}, which module ${module.id} does not declare.${hint ? ` Did you mean "${hint}"?` : ""} It declares: ${module.outputs.join(", ") || "no outputs"}`);
    }
    const scope = producerPhase.scope === "global" ? "global" : slot.scope;
    if (producerPhase.scope === "env" && slot.scope === "global") return fault(`${plan.id} is global but reads ${module.id}.${output}, which exists once per environment`);
    const producerModule = producerPhase.modules.find((m) => m.id === module.id)!;
    if (!on(producerModule, scope)) return fault(`${plan.id} reads ${module.id}.${output}, but module ${module.id} is not enabled in ${scope}`);
    const producerId = `${scope}/${producerPhase.dir}`;
    if (producerId === plan.id) {
      const spec = plan.builder.outputs.get(output);
      if (!spec) {
        if (isApiModule(producerModule)) return fault(`${plan.id} reads ${module.id}.${output} before module ${module.id} built it: a module reads only modules placed before it`);
        throw new Error(`internal: ${plan.id} reads ${module.id}.${output} before that module built`);
      }
      return spec.value;
    }
    const cycleAt = building.indexOf(producerId);
    if (cycleAt >= 0) {
      const route = [...building.slice(cycleAt), producerId].join(" => ");
      return fault(`dependency cycle between roots: ${route}`);
    }
    if (producerPhase.number > slot.phase.number) {
      fault(`${plan.id} (phase ${slot.phase.number}) reads ${output} from ${producerId} (phase ${producerPhase.number}), which applies after it: ${plan.id} => ${producerId}`);
    }
    const producer = build(producerId);
    if (!producer) {
      issues.push({ path: "", message: `${plan.id} reads ${module.id}.${output}, but ${producerId} is not compiled (is the environment filtered out?)` });
      return expr("null");
    }
    const spec = producer.builder.outputs.get(output);
    if (!spec) {
      // A user's module that failed (already reported) or left the output out (reported too).
      if (isApiModule(producerModule)) return expr("null");
      throw new Error(`internal: ${producerId} has no output "${output}"`);
    }

    const dep = plan.dependsOn.get(producerId);
    if (dep && dep.reason === "reads") dep.outputs.add(output);
    else plan.dependsOn.set(producerId, { outputs: new Set([...(dep?.outputs ?? []), output]), reason: "reads" });

    if (isLiteral(spec.value)) return spec.value;
    const name = producerPhase.id.replace(/-/g, "_");
    const existing = plan.builder.remoteReads.get(name);
    if (existing) existing.outputs.set(output, spec.example);
    else plan.builder.remoteReads.set(name, { name, root: producerId, outputs: new Map([[output, spec.example]]) });
    return expr(`data.terraform_remote_state.${name}.outputs.${output}`);
  }

  function backendOf(slot: Slot): Backend {
    if (backendMode === "local" || (slot.phase.ownsStateBucket && !config.state.bootstrapped)) {
      return { type: "local", path: "terraform.tfstate" };
    }
    const key = slot.scope === "global" ? `global/${slot.phase.id}/terraform.tfstate` : `env/${slot.scope}/${slot.phase.id}/terraform.tfstate`;
    return {
      type: "s3",
      bucket: config.state.bucket,
      key,
      region: config.region,
      encrypt: true,
      ...(config.state.locking === "dynamodb" ? { dynamodb_table: config.state.lockTable } : { use_lockfile: true as const }),
    };
  }
}

/**
 * Topological order of roots, ties broken by phase number, then global before environments,
 * then environments in config order, so the manifest reads like the plan's phase table.
 */
function applyOrder(roots: RootPlan[], phases: readonly PhaseDef[], envs: readonly ResolvedEnvironment[]): RootPlan[] {
  const envIndex = new Map(envs.map((e, i) => [e.name, i]));
  const ranks = new Map(roots.map((r) => [r, [r.phase.number, r.scope === "global" ? -1 : envIndex.get(r.scope)!, phases.indexOf(r.phase)] as const]));
  const cmp = (a: RootPlan, b: RootPlan) => {
    const ra = ranks.get(a)!;
    const rb = ranks.get(b)!;
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
    return 0;
  };
  const byId = new Map(roots.map((r) => [r.id, r]));
  const waiting = new Map(roots.map((r) => [r.id, [...r.dependsOn.keys()].filter((d) => byId.has(d)).length]));
  const dependents = new Map<string, RootPlan[]>();
  for (const r of roots) for (const d of r.dependsOn.keys()) if (byId.has(d)) dependents.set(d, [...(dependents.get(d) ?? []), r]);
  // The ready set stays sorted by inserting each newly ready root at its place (binary search):
  // re-sorting on every insert made planning quadratic at hundreds of roots.
  const ready = roots.filter((r) => waiting.get(r.id) === 0).sort(cmp);
  const insert = (r: RootPlan) => {
    let lo = 0;
    let hi = ready.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(ready[mid]!, r) <= 0) lo = mid + 1;
      else hi = mid;
    }
    ready.splice(lo, 0, r);
  };
  const out: RootPlan[] = [];
  let head = 0;
  while (head < ready.length) {
    const next = ready[head++]!;
    out.push(next);
    for (const d of dependents.get(next.id) ?? []) {
      const left = waiting.get(d.id)! - 1;
      waiting.set(d.id, left);
      if (left === 0) {
        // Everything before `head` is already emitted; only the pending tail is kept ordered.
        ready.splice(0, head);
        head = 0;
        insert(d);
      }
    }
  }
  // Roots left over sit on a cycle, which is already reported; keep them so nothing is lost.
  for (const r of [...roots].sort(cmp)) if (!out.includes(r)) out.push(r);
  return out;
}

function deepMerge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const prev = out[k];
    out[k] = isObject(v) && isObject(prev) ? deepMerge(prev, v) : v;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------
// References of escape-hatch bodies: each must name something the root declares, or terraform
// validate fails after the compile succeeded.

/** Where a reference may stand: what `count.`, `each.` and `self.` mean there, and bound names. */
interface ReferenceScope {
  readonly count: boolean;
  readonly each: boolean;
  readonly self: boolean;
  /** Iterators of enclosing `dynamic` blocks. */
  readonly names: ReadonlySet<string>;
}

interface PendingReference {
  /** Config path of the field that holds it. */
  readonly at: string;
  readonly hcl: string;
  readonly parts: readonly string[];
  readonly scope: ReferenceScope;
}

function scopeOf(body: Record<string, unknown>, forEach: boolean): ReferenceScope {
  return { count: body.count !== undefined, each: forEach || body.for_each !== undefined, self: false, names: new Set() };
}

/** Meta-arguments whose strings are addresses even without `${}`. */
const ADDRESS_LISTS = new Set(["depends_on", "replace_triggered_by"]);

function collectReferences(value: unknown, at: string, scope: ReferenceScope, top: boolean, out: PendingReference[]): void {
  if (typeof value === "string") {
    for (const hcl of expressionsIn(value)) addReferences(hcl, at, scope, out);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => collectReferences(v, `${at}[${i}]`, scope, false, out));
  } else if (value && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      // A key holding an expression is shown as written (`${var.k}`), not as its token.
      const path = `${at}.${render(key) as string}`;
      collectReferences(key, path, scope, false, out);
      if (ADDRESS_LISTS.has(key) && (top || key === "replace_triggered_by") && Array.isArray(v)) {
        v.forEach((address, i) => {
          if (typeof address === "string") addReferences(soleExpression(address) ?? address, `${path}[${i}]`, scope, out);
        });
      } else if (key === "dynamic" && v && typeof v === "object" && !Array.isArray(v)) {
        for (const [block, spec] of Object.entries(v)) {
          const iterator = (spec as { iterator?: unknown } | null)?.iterator;
          const names = new Set([...scope.names, typeof iterator === "string" ? iterator : block]);
          collectReferences(spec, `${path}.${block}`, { ...scope, names }, false, out);
        }
      } else {
        const self = scope.self || (top && (key === "provisioner" || key === "connection" || key === "lifecycle"));
        collectReferences(v, path, self === scope.self ? scope : { ...scope, self }, false, out);
      }
    }
  }
}

function addReferences(hcl: string, at: string, scope: ReferenceScope, out: PendingReference[]): void {
  const found = referencesIn(hcl);
  if (!found) return;
  for (const parts of found.refs) {
    if (!found.bound.has(parts[0]!) && !scope.names.has(parts[0]!)) out.push({ at, hcl, parts, scope });
  }
}

function unresolvedReferences(plan: RootPlan, refs: readonly PendingReference[]): PlanIssue[] {
  const { builder } = plan;
  const resources = builder.entries.filter((e) => e.handle.kind === "resource").map((e) => e.handle.address);
  const data = [...builder.entries.filter((e) => e.handle.kind === "data").map((e) => e.handle.address), ...[...builder.remoteReads.keys()].map((n) => `data.terraform_remote_state.${n}`)];
  const variables = [...builder.variables.keys()].map((n) => `var.${n}`);
  const issues: PlanIssue[] = [];
  const seen = new Set<string>();
  for (const ref of refs) {
    const problem = referenceProblem(plan.id, ref, { resources, data, variables });
    if (!problem) continue;
    const shown = ref.hcl.length > 60 ? `${ref.hcl.slice(0, 57)}...` : ref.hcl;
    const message = `"\${${shown}}": ${problem}`;
    if (seen.has(`${ref.at}\u0000${message}`)) continue;
    seen.add(`${ref.at}\u0000${message}`);
    issues.push({ path: ref.at, message });
  }
  return issues;
}

function referenceProblem(
  rootId: string,
  { parts, scope }: PendingReference,
  declared: { readonly resources: readonly string[]; readonly data: readonly string[]; readonly variables: readonly string[] },
): string | undefined {
  const [head, second, third] = parts;
  const missing = (kind: string, address: string, candidates: readonly string[], otherwise = "") => {
    const hint = closest(address, candidates);
    const type = address.split(".").slice(0, -1).join(".");
    const sameType = candidates.filter((c) => c.startsWith(`${type}.`));
    const more = hint ? ` Did you mean "${hint}"?` : sameType.length > 0 ? ` It has ${sameType.join(", ")}.` : otherwise;
    return `${rootId} declares no ${kind} ${address}.${more}`;
  };
  switch (head) {
    case "path":
    case "terraform":
      return undefined;
    case "count":
      return scope.count ? undefined : `count.${second ?? "index"} is only known in a resource that sets "count"`;
    case "each":
      return scope.each ? undefined : `each.${second ?? "key"} is only known in a resource that sets "for_each"`;
    case "self":
      return scope.self ? undefined : `self is only known in provisioner, connection and lifecycle condition blocks`;
    case "local":
      return `caja declares no locals, so local.${second ?? ""} cannot resolve; write its value here instead`;
    case "module":
      return `caja calls no modules, so module.${second ?? ""} cannot resolve`;
    case "var": {
      const address = `var.${second ?? ""}`;
      return declared.variables.includes(address) ? undefined : missing("variable", address, declared.variables);
    }
    case "data": {
      const address = `data.${second ?? ""}.${third ?? ""}`;
      // extend adds resources only, so the usual fix is to write the value in place.
      const otherwise = " The escape hatch adds no data sources: write the value itself (a policy with jsonencode(...), for one).";
      return declared.data.includes(address) ? undefined : missing("data source", address, declared.data, otherwise);
    }
    default: {
      if (second === undefined) return `"${head}" names nothing here: refer to a resource as TYPE.NAME, a data source as data.TYPE.NAME, a variable as var.NAME`;
      const address = `${head}.${second}`;
      return declared.resources.includes(address) ? undefined : missing("resource", address, declared.resources);
    }
  }
}

/**
 * Refuses config strings holding the private-use characters caja marks expressions with (see
 * `core/expr.ts`): one would otherwise turn the text between them into Terraform code. Global
 * values come first in the resolved config, so a value copied into each environment (the tags) is
 * reported once, at the field it is written in.
 */
function reservedCharacters(value: unknown, path: string[], reported: Set<string>, issues: PlanIssue[]): void {
  // A todo()'s reason is reported at its field.
  if (isTodo(value)) value = value.reason;
  if (typeof value === "string") {
    if (hasReservedCharacter(value) && !reported.has(value)) {
      reported.add(value);
      issues.push({ path: path.join("."), message: "holds a character from U+E000 to U+E002, which caja reserves to mark Terraform expressions; remove it" });
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => reservedCharacters(v, [...path.slice(0, -1), `${path.at(-1) ?? ""}[${i}]`], reported, issues));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      path.push(k);
      reservedCharacters(k, path, reported, issues);
      reservedCharacters(v, path, reported, issues);
      path.pop();
    }
  }
}
