/**
 * The pure middle of the pipeline: a loaded config value → validate → plan → gate → emit (roots,
 * docs, manifest). No disk. The CLI imports this module while the config is still evaluating in
 * its worker, so the two overlap.
 */
import type { ResolvedConfig } from "@caja/dsl/schema";
import { emitDocs } from "./docs/index.js";
import { emitRoots, manifestDocument } from "./emit.js";
import { ConfigIssuesError, toDotPath, type LocatedIssue } from "./errors.js";
import { stableStringify } from "./json.js";
import { planRoots, type BodyValidator, type Plan, type TodoUse } from "./plan.js";
import { enforcePolicies, type PolicyResult } from "./policy/check.js";
import { POLICY_REPORT_FILE, policyReport } from "./policy/report.js";
import { collectTodos, validateConfig, type ConfigIssue, type ConfigTodo } from "./validate.js";
import { MANIFEST } from "./write.js";
import type { CompileOptions } from "./compile.js";
import type { EmittedFile } from "./emit.js";

export { workflowYaml, WORKFLOW_FILE } from "./workflow.js";

export interface Compiled {
  readonly config: ResolvedConfig;
  /** Every `todo()` in the config, with the variables and roots that stand for it. */
  readonly todos: readonly TodoReport[];
  /** The security gate's result (warnings and suppressed findings); absent with a custom phase table. */
  readonly policy?: PolicyResult;
  readonly plan: Plan;
  /** Every generated file, manifest included, relative to the output directory. */
  readonly files: readonly EmittedFile[];
}

export interface TodoReport extends ConfigTodo {
  /** Where it became a Terraform variable; empty while no module uses the field. */
  readonly uses: readonly Pick<TodoUse, "variable" | "root">[];
}

/** Pure: a loaded config value to the files to write. Throws `ConfigIssuesError` (unlocated). */
export interface CompileConfigOptions extends Pick<CompileOptions, "envs" | "backend" | "phases"> {
  /** Provider-schema check of escape-hatch bodies; required when the config uses `extend`. */
  readonly validateBody?: BodyValidator;
  /** The project folder: the docs show `todo()` sites relative to it. */
  readonly sourceRoot?: string;
  /** Today as `YYYY-MM-DD`, for suppression expiry (tests pin it). */
  readonly today?: string;
  /** `false` compiles without enforcing the security gate (tests that inspect the gate itself). */
  readonly enforcePolicies?: boolean;
}

export function compileConfig(value: unknown, options: CompileConfigOptions = {}): Compiled {
  const validation = validateConfig(value);
  if (!validation.ok) throw new ConfigIssuesError(validation.issues.map(unlocated));
  const { config } = validation;
  const unknownEnvs = (options.envs ?? []).filter((e) => !(e in config.environments));
  if (unknownEnvs.length > 0) {
    throw new ConfigIssuesError(unknownEnvs.map((e) => ({ path: "environments", message: `--env ${e}: no such environment (known: ${Object.keys(config.environments).join(", ")})` })));
  }
  if (usesEscapeHatch(config) && !options.validateBody) throw new Error("internal: the config uses extend but no schema validator was given");
  const plan = planRoots(config, {
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.phases ? { phases: options.phases } : {}),
    ...(options.validateBody ? { validateBody: options.validateBody } : {}),
  });
  if (plan.issues.length > 0) throw new ConfigIssuesError(plan.issues.map((i) => ({ path: i.path, message: i.message })));
  // The gate runs before anything is emitted: a blocking finding stops the compile like a config
  // error. Partial phase tables (module tests) would make every suppression look unused: skipped.
  const policy = options.phases || options.enforcePolicies === false ? undefined : enforcePolicies(plan, config, { input: value, ...(options.today ? { today: options.today } : {}) });
  const files = emitRoots(plan, config);
  const todos = reportTodos(collectTodos(value), plan.todos);
  const docs = emitDocs({ config, plan, todos }, options.sourceRoot ? { sourceRoot: options.sourceRoot } : {});
  if (policy) docs.push({ path: POLICY_REPORT_FILE, content: policyReport(policy) });
  const manifest = { path: MANIFEST, content: stableStringify(manifestDocument(plan, [...files, ...docs].map((f) => f.path).concat(MANIFEST))) };
  return { config, plan, files: [...files, ...docs, manifest], todos, ...(policy ? { policy } : {}) };
}

export async function schemaValidator(): Promise<BodyValidator> {
  const { validateResourceBody } = await import("@caja/modules/validate");
  return (type, body) => validateResourceBody("resource", type, body);
}

export function mentionsExtend(value: unknown): boolean {
  const v = value as { extend?: unknown; defaults?: { extend?: unknown }; environments?: Record<string, { extend?: unknown }> };
  return v.extend !== undefined || v.defaults?.extend !== undefined || Object.values(v.environments ?? {}).some((e) => e?.extend !== undefined);
}

function usesEscapeHatch(config: ResolvedConfig): boolean {
  return Object.keys(config.extend).length > 0 || Object.values(config.environments).some((e) => Object.keys(e.extend).length > 0);
}

/**
 * Match each config TODO to the variables standing for it. A setting under `defaults` is used
 * through each environment's path (`environments.<env>.x`), so match by the path's tail too.
 */
function reportTodos(todos: readonly ConfigTodo[], uses: readonly TodoUse[]): TodoReport[] {
  return todos.map((todo) => {
    const tail = todo.path.startsWith("defaults.") ? todo.path.slice("defaults.".length) : undefined;
    const mine = uses.filter((u) => u.path === todo.path || (tail !== undefined && /^environments\.[^.]+\./.test(u.path) && u.path.replace(/^environments\.[^.]+\./, "") === tail && u.site === todo.site));
    return { ...todo, uses: mine.map((u) => ({ variable: u.variable, root: u.root })) };
  });
}

function unlocated(issue: ConfigIssue): LocatedIssue {
  return { path: toDotPath(issue.path), message: issue.message, ...(issue.key ? { key: issue.key } : {}) } as LocatedIssue;
}
