/**
 * A module contract: a pure function of the resolved config that adds resources and outputs to
 * the root it is placed in. Modules never name roots or files: a module reads another module's
 * declared output (through its contract), and the engine decides whether that is a same-root
 * reference, a literal known at compile time, or a `terraform_remote_state` read from the root
 * the producer was placed in.
 */
// Relative, so the declarations emitted for `caja/module` carry these types along.
import type { ResolvedConfig, ResolvedEnvironment, Todo } from "../../../dsl/src/schema.js";
import type { NameRule } from "./naming.js";
import type { RootBuilder, VariableSpec } from "./root.js";

export type Scope = "global" | "env";

/** What a module promises: its id, where it lives (once, or per environment) and its outputs. */
export interface Contract<O extends string = string, S extends Scope = Scope> {
  /** Stable id, e.g. `bootstrap`, `networking`. */
  readonly id: string;
  readonly title: string;
  readonly scope: S;
  /** What the module exports: every name here must be declared with `root.output()`. */
  readonly outputs: readonly O[];
}

export interface ModuleDef<O extends string = string, S extends Scope = Scope> extends Contract<O, S> {
  readonly build: (ctx: S extends "env" ? EnvContext : GlobalContext) => void;
}

export interface GlobalContext {
  readonly config: ResolvedConfig;
  /** `global`, or the environment's name. */
  readonly scope: string;
  readonly root: RootBuilder;
  /** `{project}-{scope}-{component}`, fitted to `rule` (see `NAME_RULES`). */
  name(component: string, rule?: NameRule): string;
  /** Record a name that does not follow the pattern (e.g. the state bucket) for collision checks. */
  claimName(name: string, rule: NameRule): string;
  /**
   * An output of another module. Same root: a reference. Known at compile time: the literal.
   * Otherwise a `terraform_remote_state` read of the root that module was placed in.
   */
  read<O extends string>(contract: Contract<O>, output: NoInfer<O>): unknown;
  /**
   * A config value that may be `todo()`: the literal value, or a reference to a Terraform
   * variable with no default whose description is the TODO's reason.
   */
  decide<T>(value: T | Todo, variable: DecideSpec): T | string;
  /** The AWS account id: a literal when configured, else `data.aws_caller_identity`. */
  readonly accountId: string;
  /** The AWS region of the root's default provider. */
  readonly region: string;
}

export interface EnvContext extends GlobalContext {
  readonly env: ResolvedEnvironment;
}

export interface DecideSpec extends Omit<VariableSpec, "todo" | "default" | "description"> {
  /** Terraform variable name. */
  readonly name: string;
  /** Config path of the value, for the TODO report, e.g. `environments.prod.alarms.emails`. */
  readonly path: string;
}

/** Implement a contract. */
export function defineModule<const O extends string, S extends Scope>(
  contract: Contract<O, S>,
  build: ModuleDef<O, S>["build"],
): ModuleDef<O, S> {
  return { ...contract, build };
}
