/**
 * The public module API, what `import ... from "caja/module"` gives: {@link defineModule}, zod for
 * the module's config section, the plan's contracts (to read networking's subnets, security's
 * groups...), naming rules, expressions and IAM policy helpers. caja's own opt-in modules import
 * only this file, which keeps it sufficient; anything a module needs and cannot reach from here
 * is missing from the API, not a reason to import caja's internals.
 */
import { z } from "zod";
import { isTodo, type Todo } from "../../dsl/src/todo.js";

export { z };
export { isTodo, type Todo };

/**
 * A setting that may be left undecided with `todo("reason")` in the config: the section accepts
 * the marker, and `build` turns it into a Terraform variable with `ctx.decide(value, spec)`.
 *
 * @example
 * schema: z.strictObject({ ownerEmail: orTodo(z.email()) })
 */
export function orTodo<T extends z.ZodType>(schema: T) {
  return z.union([schema, z.custom<Todo>((v) => isTodo(v), { error: "expected the field's value or todo(\"reason\")" })]);
}
export {
  defineModule,
  isApiModule,
  type AlarmSpec,
  type ApiModule,
  type DeployerScope,
  type DeployerStatement,
  type ModuleContext,
  type ModuleSpec,
  type NamesIn,
  type NewPhase,
  type OutputRef,
  type PlanPhaseId,
  type ServiceWiring,
  type SettingsSpec,
  type Wiring,
} from "./core/user-module.js";
export type { Contract, DecideSpec, EnvContext, GlobalContext, Scope } from "./core/module.js";
export type { Handle, Lifecycle, ResourceOptions, RootBuilder, ResourceType, DataType } from "./core/root.js";
export { expr, listExpr, jsonDocument } from "./core/expr.js";
export { NAME_RULES, type NameRule } from "./core/naming.js";
export { policy, type PolicyDocument, type Statement } from "./core/policies.js";
export {
  ALB,
  BOOTSTRAP,
  COST_ALLOCATION,
  DNS,
  DOMAIN,
  ECR,
  ECS_CLUSTER,
  ECS_SERVICE,
  HARDENING,
  IAM_OIDC,
  NETWORKING,
  OBSERVABILITY,
  RDS_POSTGRES,
  SECRETS,
  SECURITY,
  STATIC_SITE,
} from "./contracts.js";
