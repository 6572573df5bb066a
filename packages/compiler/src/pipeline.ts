/**
 * The pure middle of the pipeline: a loaded config value → validate → plan → emit (roots, docs,
 * manifest, and the workflow when the caller writes one) → gate over the plan and those files.
 * No disk. The CLI imports this module while the config is still evaluating in
 * its worker, so the two overlap.
 */
import type { ResolvedConfig } from "@caja/dsl/schema";
import { emitDocs } from "./docs/index.js";
import { emitRoots, manifestDocument } from "./emit.js";
import { ConfigIssuesError, toDotPath, type LocatedIssue } from "./errors.js";
import { stableStringify } from "./json.js";
import type { ApiModule } from "@caja/modules";
import { phaseTable } from "./modules.js";
import { planRoots, type BodyValidator, type Plan, type TodoUse } from "./plan.js";
import { enforcePolicies, type PolicyResult } from "./policy/check.js";
import { POLICY_REPORT_FILE, policyReport } from "./policy/report.js";
import type { WrittenInput } from "./policy/written.js";
import { collectTodos, validateConfig, type ConfigIssue, type ConfigTodo } from "./validate.js";
import { WORKFLOW_FILE } from "./workflow.js";
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
  /** The workflow file (absolute path), when `CompileConfigOptions.workflow` made one. */
  readonly workflowFile?: EmittedFile;
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
  /**
   * The workflow file, from the compiled config, when the caller writes one (it knows where):
   * returned as `workflowFile`, and scanned for secrets with the rest of what is written.
   */
  readonly workflow?: (compiled: Pick<Compiled, "config" | "plan">) => EmittedFile | undefined;
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
    phases: options.phases ?? phaseTable(config.modules.map((m) => m.definition as ApiModule)),
    ...(options.validateBody ? { validateBody: options.validateBody } : {}),
  });
  if (plan.issues.length > 0) throw new ConfigIssuesError(plan.issues.map((i) => ({ path: i.path, message: i.message, ...(i.site ? { site: i.site } : {}) })));
  // Partial phase tables (module tests) would make every suppression look unused: no gate.
  const gate = !options.phases && options.enforcePolicies !== false;
  const { roots, docs, manifest, todos, workflowFile, written } = emitWritten(value, config, plan, { ...options, gate });
  // The gate sees what would be written before anything is: a blocking finding stops the compile
  // like a config error. Its own report is written from findings whose messages redact secrets.
  const policy = gate ? enforcePolicies(plan, config, { input: value, written, ...(options.today ? { today: options.today } : {}) }) : undefined;
  if (policy) docs.push({ path: POLICY_REPORT_FILE, content: policyReport(policy) });
  return { config, plan, files: [...roots, ...docs, manifest], todos, ...(policy ? { policy } : {}), ...(workflowFile ? { workflowFile } : {}) };
}

/**
 * Everything a compile writes but the gate's report (roots and their tests, docs, the manifest,
 * the workflow), and the same as the gate scans it. `gate`: the manifest lists the report too.
 */
export function emitWritten(
  value: unknown,
  config: ResolvedConfig,
  plan: Plan,
  options: Pick<CompileConfigOptions, "sourceRoot" | "workflow"> & { readonly gate: boolean },
): { roots: EmittedFile[]; docs: EmittedFile[]; manifest: EmittedFile; todos: TodoReport[]; workflowFile?: EmittedFile; written: WrittenInput[] } {
  const roots = emitRoots(plan, config);
  const todos = reportTodos(collectTodos(value), plan.todos);
  const docs = emitDocs({ config, plan, todos }, options.sourceRoot ? { sourceRoot: options.sourceRoot } : {});
  const paths = [...roots, ...docs].map((f) => f.path).concat(options.gate ? [POLICY_REPORT_FILE] : [], MANIFEST);
  const manifest = { path: MANIFEST, content: stableStringify(manifestDocument(plan, paths)) };
  const workflowFile = options.workflow?.({ config, plan });
  const written: WrittenInput[] = [...roots, ...docs, manifest, ...(workflowFile ? [{ path: WORKFLOW_FILE, content: workflowFile.content, base: "project" as const }] : [])];
  return { roots, docs, manifest, todos, ...(workflowFile ? { workflowFile } : {}), written };
}

export async function schemaValidator(): Promise<BodyValidator> {
  const { validateResourceBody } = await import("@caja/modules/validate");
  return (type, body) => validateResourceBody("resource", type, body);
}

/** True when the config adds resources of its own (the escape hatch, or modules it defines), which are checked against the provider schema. */
export function addsOwnResources(value: unknown): boolean {
  const v = value as { extend?: unknown; modules?: unknown; defaults?: { extend?: unknown }; environments?: Record<string, { extend?: unknown }> };
  if (Array.isArray(v.modules) && v.modules.length > 0) return true;
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
  return { path: toDotPath(issue.path), message: issue.message, ...(issue.key ? { key: issue.key } : {}), ...(issue.site ? { site: issue.site } : {}) } as LocatedIssue;
}
