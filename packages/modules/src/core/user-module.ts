/**
 * Modules written against the public API (`caja/module`): a contract (id, scope, outputs) with
 * where it goes (a phase of the plan, or a new one placed by number), its own typed config section
 * and what it adds to the service and the alarms. caja's opt-in modules are written this way too,
 * importing nothing a user could not, so the engine treats both alike.
 *
 * What `defineModule` returns is data plus functions; the engine validates it (ids, phase, section
 * key) when it compiles, so a mistake is reported with the other config issues, at the call.
 */
import type { z } from "zod";
// Relative, so the declarations emitted for `caja/module` carry these types along.
import type { Tier } from "../../../dsl/src/defaults.js";
import type { ResolvedConfig } from "../../../dsl/src/schema.js";
import { siteIn } from "../../../dsl/src/site.js";
import type { Contract, EnvContext, GlobalContext, Scope } from "./module.js";
import type { NameRule } from "./naming.js";

/** Marks a module object; registered, so the user's copy of this API and the compiler's agree. */
export const MODULE_MARK: unique symbol = Symbol.for("caja.module") as never;

/** The plan's phases a module may join, by id. */
export type PlanPhaseId =
  | "bootstrap" | "iam-oidc" | "domain" | "network" | "persistence" | "platform" | "service"
  | "static-site" | "dns" | "observability" | "hardening" | "cost-allocation";

/** A phase of its own, placed between the plan's phases by its number. */
export interface NewPhase {
  /**
   * Where it applies: between the plan's phase numbers (0, 0.5, 1 … 8, 10), one decimal place,
   * below 9 (9 is the pipeline itself). Its roots are `out/<scope>/<number × 10>-<id>/`.
   * @example 3.5
   */
  readonly number: number;
  /** Lower-case id, also the directory name after the number: `cache` → `35-cache`. */
  readonly id: string;
  readonly title: string;
  /** What must hold once it is applied (shown in the docs). */
  readonly exitCriteria?: string;
  /** What a person must do after applying, if anything. */
  readonly manualSteps?: readonly string[];
}

/** A reference to one of the module's own outputs, where wiring takes a value. */
export interface OutputRef<O extends string = string> {
  readonly output: O;
  /** For a secret: one JSON key of the secret's value (`DB_PASSWORD` from the RDS secret's `password`). */
  readonly jsonKey?: string;
}

/** What the application service gets from the module, in every environment the module is on. */
export interface ServiceWiring<O extends string = string> {
  /** Plain environment variables of the API container: literal values or the module's outputs. */
  readonly environment?: Readonly<Record<string, string | number | OutputRef<O>>>;
  /**
   * Environment variables read from Secrets Manager when a task starts: the output is a secret's
   * ARN. The task execution role may then read exactly that secret; the value never reaches the
   * generated JSON or the state.
   */
  readonly secrets?: Readonly<Record<string, OutputRef<O>>>;
  /** What the running application itself may do (its task role), e.g. connect to the cache. */
  readonly permissions?: readonly {
    readonly sid: string;
    readonly actions: readonly string[];
    readonly resources: readonly (string | OutputRef<O>)[];
  }[];
}

/** A CloudWatch alarm the observability phase creates on the environment's alarm topic. */
export interface AlarmSpec<O extends string = string> {
  /** Lower-case id, unique in the module: the alarm is named `<project>-<env>-<module>-<id>`. */
  readonly id: string;
  readonly description: string;
  /** @example "AWS/ElastiCache" */
  readonly namespace: string;
  /** @example "EngineCPUUtilization" */
  readonly metric: string;
  readonly statistic: "Average" | "Maximum" | "Minimum" | "Sum" | "SampleCount";
  readonly comparison: ">" | ">=" | "<" | "<=";
  readonly threshold: number;
  /** @default 300 */
  readonly periodSeconds?: number;
  /** @default 2 */
  readonly evaluationPeriods?: number;
  readonly dimensions: Readonly<Record<string, string | OutputRef<O>>>;
  /** @default "missing" */
  readonly treatMissingData?: "missing" | "notBreaching" | "breaching" | "ignore";
}

/** How the module connects to the plan's own modules in one environment. */
export interface Wiring<O extends string = string> {
  readonly service?: ServiceWiring<O>;
  readonly alarms?: readonly AlarmSpec<O>[];
}

/** Names in one scope, as `ctx.name` gives them in `build` (for wiring that refers to what build names). */
export interface NamesIn {
  /** `global` or the environment's name. */
  readonly scope: string;
  name(component: string, rule?: NameRule): string;
}

/** What the pipeline's deployer role of one scope may be given for this module's resources. */
export interface DeployerScope {
  readonly account: string;
  readonly region: string;
  /** `global` or the environment's name. */
  readonly scope: string;
  /** A glob matching every name caja gives in this scope, e.g. `caja-prod-*`. */
  readonly names: string;
}

/** One deployer permission: IAM statement fields, scoped as narrowly as the service allows. */
export interface DeployerStatement {
  readonly Sid: string;
  readonly Effect?: "Allow";
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[] | boolean>>>>;
}

/** A module's config section: `environments.<env>.<key>` (and `defaults.<key>`), or `<key>` for a global module. */
export interface SettingsSpec<K extends string = string, Z extends z.ZodType = z.ZodType> {
  /** The section's key, camelCase. @example "cache" */
  readonly key: K;
  /** The section's schema: validation, editor types, docs and JSON Schema all come from it. */
  readonly schema: Z;
  /** Values per tier under `defaults` and the environment's own (env-scoped modules only). */
  readonly tierDefaults?: Readonly<Partial<Record<Tier, z.input<Z>>>>;
  /** One sentence for the docs and the editor. */
  readonly description: string;
}

type ContextOf<S extends Scope> = S extends "env" ? EnvContext : GlobalContext;

/** What `build` receives: the engine's context plus this module's resolved section. */
export type ModuleContext<S extends Scope, Settings> = ContextOf<S> & {
  /** This module's config section, validated, defaults applied. */
  readonly settings: Settings;
};

export interface ModuleSpec<O extends string, S extends Scope, K extends string, Z extends z.ZodType> {
  /** Stable, lower-case id (`cache`); names its roots' outputs in docs and errors. */
  readonly id: string;
  readonly title: string;
  /** `env`: one instance per environment; `global`: one for the account. */
  readonly scope: S;
  /** An existing phase, joined (same root), or a new one. */
  readonly phase: PlanPhaseId | NewPhase;
  /** What the module exports: each must be declared with `ctx.root.output()`; others read them with `ctx.read`. */
  readonly outputs: readonly O[];
  readonly settings?: SettingsSpec<K, Z>;
  /** Off in an environment (or globally): no resources, no wiring. Reading its outputs there is an error. @default always on */
  readonly enabled?: (settings: z.output<Z>) => boolean;
  /** What the module gives the service and the alarms in one scope (`names` gives the names `ctx.name` would). */
  readonly wiring?: (settings: z.output<Z>, names: NamesIn) => Wiring<NoInfer<O>>;
  /** The deployer's permissions for what `build` creates; the planner gets their read-only part. */
  readonly permissions?: (scope: DeployerScope, settings: z.output<Z>) => readonly DeployerStatement[];
  readonly build: (ctx: ModuleContext<S, z.output<Z>>) => void;
}

/** A module written with {@link defineModule}; `In` is its section's input type, for the config's types. */
export interface ApiModule<O extends string = string, S extends Scope = Scope, K extends string = string, In = unknown, Out = any>
  extends Contract<O, S> {
  readonly [MODULE_MARK]: true;
  readonly phase: PlanPhaseId | NewPhase;
  readonly settings?: SettingsSpec<K>;
  /** Type-only: the section's input type (never set). */
  readonly "~settings"?: In;
  readonly enabled?: (settings: Out) => boolean;
  readonly wiring?: (settings: Out, names: NamesIn) => Wiring<O>;
  readonly permissions?: (scope: DeployerScope, settings: Out) => readonly DeployerStatement[];
  readonly build: (ctx: ModuleContext<S, Out>) => void;
  /** `file:line:col` of the `defineModule` call, where its definition errors are reported. */
  readonly site?: string;
}

/**
 * Define a module. Register it in the config with `modules: [myModule]`; its section is then
 * typed in `caja.config.ts` and validated on every compile.
 *
 * @example
 * export const queue = defineModule({
 *   id: "queue", title: "Job queue", scope: "env", phase: "persistence", outputs: ["queue_url"],
 *   build(ctx) {
 *     const q = ctx.root.resource("aws_sqs_queue", "jobs", { name: ctx.name("jobs"), sqs_managed_sse_enabled: true });
 *     ctx.root.output("queue_url", { value: q.attr("url"), description: "Job queue URL.", example: "https://sqs.us-east-1.amazonaws.com/123456789012/caja-dev-jobs" });
 *   },
 * });
 */
export function defineModule<const O extends string, S extends Scope, const K extends string = never, Z extends z.ZodType = z.ZodObject<{}>>(
  spec: ModuleSpec<O, S, K, Z>,
): ApiModule<O, S, K, z.input<Z>, z.output<Z>> {
  // Where it is defined, for its mistakes: the stack is captured now, and read (formatted and
  // parsed, the costly part, for every module caja defines too) only when a mistake needs it. Not
  // enumerable, so walking a config's values (spread, JSON, its checks) never formats it.
  const call = new Error();
  let site: string | undefined | null = null;
  const module = { ...spec, [MODULE_MARK]: true as const };
  Object.defineProperty(module, "site", {
    get() {
      if (site === null) site = siteIn(call.stack, /\bdefineModule\b/);
      return site;
    },
  });
  return Object.freeze(module) as unknown as ApiModule<O, S, K, z.input<Z>, z.output<Z>>;
}

export function isApiModule(value: unknown): value is ApiModule {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[MODULE_MARK] === true;
}

/** A module that is on in one scope, with its settings and wiring there. */
export interface ModuleInstance {
  readonly module: ApiModule;
  readonly settings: unknown;
  readonly wiring: Wiring;
}

/** The module-API modules on in `scope` (`global` or an environment), in registration order. */
export function modulesOn(config: Pick<ResolvedConfig, "modules">, scope: string): ModuleInstance[] {
  return config.modules.flatMap((m) => {
    const instance = m.instances[scope];
    if (!instance?.enabled) return [];
    return [{ module: m.definition as ApiModule, settings: instance.settings, wiring: (instance.wiring ?? {}) as Wiring }];
  });
}
