/**
 * `phases.md` (+ `phases.svg`): one table of every root in apply order with every output folded
 * below it, the phase graph, then one section per phase in the plan's order. Most phases have one
 * root per environment and those roots are nearly identical, so a section says once what its roots
 * share and then only what differs, scope by scope: the page grows with the differences between
 * environments, not with their number. Phase 9 (the pipeline) sits in its place with its roles.
 */
import type { ResolvedConfig } from "@caja/dsl/schema";
import { isTodo } from "@caja/dsl";
import { render } from "@caja/modules";
import { deployerSubjects, plannerSubjects } from "../../../modules/src/iam-oidc.js";
import { phaseGraph, renderMermaid, stateBackendNote, type PhaseGraph } from "../graph.js";
import type { Plan, RootPlan } from "../plan.js";
import type { PhaseDef } from "../phases.js";
import { pipeline, pipelineSetup, WORKFLOW_FILE, type PipelineScope } from "../workflow.js";
import { code, pageHeader, prose, siteLabel, table, type DocsOptions } from "./markdown.js";

export const PHASES_SVG = "phases.svg";

/** Phase 9 of the plan is the pipeline, not a root. */
const PIPELINE_PHASE = { number: 9, title: "CI/CD pipeline", exitCriteria: "A pull request shows the plan comment." } as const;

/** Stands for a root's own scope in what its phase's roots share (`env/<env>/network/terraform.tfstate`). */
const SCOPE_HOLE = "<env>";

export function phasesPage(config: ResolvedConfig, plan: Pick<Plan, "roots">, options: DocsOptions, graph: PhaseGraph = phaseGraph(plan)): string {
  const lines = pageHeader(
    "phases.md",
    "Phases",
    `Every root under \`out/\`, in apply order (that of \`out/manifest.json\`); each is a plain Terraform root. Each phase says once what its roots share, \`${SCOPE_HOLE}\` standing for each root's environment, then what differs.`,
  );
  const phases = phasesByNumber(plan.roots);
  const holes = new Map<string, (s: string) => string>();
  const hole = (scope: string) => holes.get(scope) ?? holes.set(scope, scopeHole(scope)).get(scope)!;
  const ctx: Context = { config, options, readers: readersOf(plan.roots, phases), backend: sharedBackend(plan.roots), hole };
  lines.push(...applyOrderTable(plan.roots), "");
  if (ctx.backend) lines.push(ctx.backend.sentence, "");
  lines.push(...outputsTable(phases, ctx));

  lines.push("## Phase graph", "", "```mermaid", renderMermaid(graph).trimEnd(), "```", "", `![Phase graph](${PHASES_SVG})`, "");
  // The shared backend's sentence already names the bucket's creator, which the graph leaves out.
  const note = ctx.backend ? undefined : stateBackendNote(graph);
  lines.push(`Arrows point from a root to the roots that read its outputs.${note ? ` ${prose(note)}` : ""}`, "");

  const numbers = [...new Set([...phases.keys(), PIPELINE_PHASE.number])].sort((a, b) => a - b);
  for (const n of numbers) {
    const groups = phases.get(n);
    if (!groups) lines.push(...pipelineSection(config, plan));
    else lines.push(...phaseSection(n, groups, ctx));
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

interface Context {
  readonly config: ResolvedConfig;
  readonly options: DocsOptions;
  /** `<root>#<output>` → the roots that read it, in apply order, each with the roots of its phase. */
  readonly readers: ReadonlyMap<string, readonly Reader[]>;
  /** Set when every root with S3 state shares its bucket and locking: said once, and phases give only their keys. */
  readonly backend: SharedBackend | undefined;
  /** The scope → SCOPE_HOLE replacement of each scope, made once. */
  readonly hole: (scope: string) => (s: string) => string;
}

function applyOrderTable(roots: readonly RootPlan[]): string[] {
  const creates = roots.map(creatingModules);
  return table(
    ["#", "Root", "Phase", "Resources", "Creates", "Reads from", "Exports"],
    roots.map((r, i) => [
      String(i + 1),
      code(r.id),
      String(r.phase.number),
      String(resourceCount(r)),
      // A phase's roots follow each other: its modules are named on the first row.
      i > 0 && creates[i] === creates[i - 1] ? "same" : creates[i]!,
      [...r.dependsOn].flatMap(([producer, dep]) => (dep.reason === "reads" ? [code(producer)] : [])).join(", ") || "—",
      String(r.builder.outputs.size),
    ]),
  );
}

/** The titles of the modules that add resources to the root: what a reviewer recognises before the resource types. */
function creatingModules(r: RootPlan): string {
  const titles = new Map<string, string>(r.phase.modules.map((m) => [m.id, m.title]));
  const ids = new Set(r.builder.entries.filter((e) => e.handle.kind === "resource").map((e) => e.module));
  return [...ids].map((id) => (titles.has(id) ? prose(titles.get(id)!) : code(id))).join("; ") || "nothing";
}

interface SharedBackend {
  readonly sentence: string;
  /** The file name every key ends with, said once: a phase gives only the prefix (`env/<env>/network/`). */
  readonly file: string | undefined;
}

/** The bucket and locking every root with S3 state shares, with the roots that create the bucket (they depend on those). */
function sharedBackend(roots: readonly RootPlan[]): SharedBackend | undefined {
  const s3 = roots.flatMap((r) => (r.backend.type === "s3" ? [{ root: r, backend: r.backend }] : []));
  if (s3.length === 0) return undefined;
  const lock = (b: (typeof s3)[number]["backend"]) => (b.dynamodb_table ? `locked in DynamoDB ${code(b.dynamodb_table)}` : "locked by an S3 lockfile");
  const { bucket } = s3[0]!.backend;
  if (s3.some(({ backend }) => backend.bucket !== bucket || lock(backend) !== lock(s3[0]!.backend))) return undefined;
  const owners = roots.filter((r) => r.phase.ownsStateBucket).map((r) => code(r.id));
  const by = owners.length > 0 ? `, which ${owners.join(", ")} creates,` : "";
  const file = /[^/]+$/.exec(s3[0]!.backend.key)?.[0];
  const shared = file !== undefined && s3.every(({ backend }) => backend.key.endsWith(`/${file}`)) ? file : undefined;
  const where = shared ? `as ${code(shared)} under the prefix their phase gives` : "under the key their phase gives";
  return { sentence: `Roots with S3 state keep it in the bucket ${code(bucket)}${by} ${lock(s3[0]!.backend)}, ${where}.`, file: shared };
}

/** Phase number → its phase definitions (two share 10) → their roots, all in apply order. */
function phasesByNumber(roots: readonly RootPlan[]): Map<number, Map<PhaseDef, RootPlan[]>> {
  const out = new Map<number, Map<PhaseDef, RootPlan[]>>();
  for (const r of roots) {
    const groups = out.get(r.phase.number) ?? out.set(r.phase.number, new Map()).get(r.phase.number)!;
    const group = groups.get(r.phase) ?? groups.set(r.phase, []).get(r.phase)!;
    group.push(r);
  }
  return out;
}

function phaseSection(n: number, groups: ReadonlyMap<PhaseDef, readonly RootPlan[]>, ctx: Context): string[] {
  const phases = [...groups.keys()];
  if (phases.length === 1) return [`## Phase ${n}: ${prose(phases[0]!.title)}`, "", ...groupSection(phases[0]!, groups.get(phases[0]!)!, ctx)];
  const title = phases.map((p) => p.title).sort((a, b) => a.length - b.length)[0]!;
  // Named by their roots too: two definitions of a phase may share a title.
  const heading = (p: PhaseDef) => `### ${prose(p.title)} (${code(groupLabel(groups.get(p)!, ctx))})`;
  return [`## Phase ${n}: ${prose(title)}`, "", ...phases.flatMap((p) => [heading(p), "", ...groupSection(p, groups.get(p)!, ctx)])];
}

/** `global/10-domain`, or `<env>/20-network` for the roots of a phase in several environments. */
function groupLabel(roots: readonly RootPlan[], ctx: Context): string {
  return roots.length > 1 ? ctx.hole(roots[0]!.scope)(roots[0]!.id) : roots[0]!.id;
}

/** The roots of one phase definition: what they share, then what differs by scope. */
function groupSection(phase: PhaseDef, roots: readonly RootPlan[], ctx: Context): string[] {
  const facts = roots.map((r) => factsOf(r, roots.length > 1, ctx));
  const lines = CATEGORIES.flatMap((category) => categoryLines(category, roots, facts));
  lines.push(`${manualSteps(phase.manualSteps)} · ${exitCriteria(phase.exitCriteria)}`, "");
  return lines;
}

/** Once per phase, on one line: they are the plan's, not any root's. */
function manualSteps(steps: readonly string[]): string {
  return `- **Manual steps**: ${steps.length > 0 ? steps.map(prose).join(" ") : "none"}`;
}

function exitCriteria(text: string): string {
  return `**Exit criteria** (plan): ${prose(text)}`;
}

// ---------------------------------------------------------------------------------------------
// Facts: what a phase section says of a root, one comparable statement at a time.

type Category = "state" | "creates" | "reads" | "undecided";

const CATEGORIES: readonly { readonly category: Category; readonly label: string; readonly join: string; readonly none?: string }[] = [
  { category: "state", label: "**State**", join: "; " },
  { category: "creates", label: "**Creates**", join: ", ", none: "nothing" },
  // A root that reads nothing says so in the table of roots.
  { category: "reads", label: "**Reads**", join: "; " },
  { category: "undecided", label: "**Undecided** (Terraform variables with no default)", join: "; " },
];

/** Reads of more outputs from one root are counted: the outputs' table names them, with their readers. */
const LISTED_READS = 3;

/** A text as written for one root (`raw`), and with its scope replaced by SCOPE_HOLE (`norm`). */
interface Text {
  readonly raw: string;
  readonly norm: string;
}

/**
 * One statement about a root (`aws_eip` × 2). Roots of a phase share it when its `compared` text is
 * the same for all of them, raw or normalised; `shown` is what the page writes, the same text or
 * a summary of it (`5 outputs`).
 */
interface Fact {
  readonly category: Category;
  /** Scope-free, so `dev/20-network` and `prod/20-network` compare: `reads:<env>/20-network`. */
  readonly key: string;
  readonly shown: Text;
  readonly compared: Text;
}

interface Statement {
  readonly category: Category;
  readonly subject: string;
  readonly text: string;
  /** The full statement when `text` summarises it. */
  readonly detail?: string;
}

function factsOf(r: RootPlan, shared: boolean, ctx: Context): Fact[] {
  const raw = statements(r, (s) => s, ctx);
  const norm = shared ? statements(r, ctx.hole(r.scope), ctx) : raw;
  return norm.map((s, i) => {
    const shown = { raw: raw[i]!.text, norm: s.text };
    const compared = s.detail === undefined ? shown : { raw: raw[i]!.detail!, norm: s.detail };
    return { category: s.category, key: `${s.category}:${s.subject}`, shown, compared };
  });
}

/** Every statement of a root, each piece of its data passed through `n` (identity, or the scope hole). */
function statements(r: RootPlan, n: (s: string) => string, ctx: Context): Statement[] {
  const out: Statement[] = [{ category: "state", subject: "", text: stateText(r, n, ctx) }];
  for (const [type, count] of createdTypes(r, n)) out.push({ category: "creates", subject: type, text: `${code(type)} × ${count}` });
  const remote = new Set([...r.builder.remoteReads.values()].flatMap((read) => [...read.outputs.keys()].map((o) => `${read.root}#${o}`)));
  for (const [producer, dep] of r.dependsOn) {
    // With a shared backend, the page says once that the bucket's creator comes first.
    if (dep.reason === "state-backend" && ctx.backend) continue;
    const who = code(n(producer));
    if (dep.reason === "state-backend") {
      out.push({ category: "reads", subject: n(producer), text: `${who} (its bucket holds this root's state)` });
      continue;
    }
    const outputs = [...dep.outputs].sort();
    const inlined = outputs.filter((o) => !remote.has(`${producer}#${o}`));
    const detail = `${who}: ${outputs.map((o) => `${code(o)}${inlined.includes(o) ? " (inlined)" : ""}`).join(", ")}`;
    const summary = `${who}: ${outputs.length} outputs${inlined.length > 0 ? ` (${inlined.map(code).join(", ")} inlined)` : ""}`;
    out.push({ category: "reads", subject: n(producer), text: outputs.length > LISTED_READS ? summary : detail, detail });
  }
  for (const t of r.todos) {
    const site = siteLabel(t.site, ctx.options);
    const text = `${code(t.variable)} (${code(n(t.path))}: ${prose(n(t.reason))}${site ? `, ${prose(n(site))}` : ""})`;
    out.push({ category: "undecided", subject: `${t.variable} ${n(t.path)}`, text });
  }
  return out;
}

function stateText(r: RootPlan, n: (s: string) => string, ctx: Context): string {
  const b = r.backend;
  if (b.type === "s3") {
    if (ctx.backend) return code(n(ctx.backend.file ? b.key.slice(0, -ctx.backend.file.length) : b.key));
    return `${code(n(`s3://${b.bucket}/${b.key}`))}${b.dynamodb_table ? `, locked in DynamoDB ${code(b.dynamodb_table)}` : ", S3 lockfile"}`;
  }
  return `local ${code(n(b.path))} in the root's folder${r.phase.ownsStateBucket && !ctx.config.state.bootstrapped ? " until `state.bootstrapped` (it creates the bucket)" : ""}`;
}

/** Replaces the scope where it stands as a word of its own (`env/dev/network`, `environments.dev.alarms`). */
function scopeHole(scope: string): (s: string) => string {
  const word = new RegExp(`(?<![A-Za-z0-9_])${scope.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![A-Za-z0-9_])`, "g");
  return (s) => s.replace(word, SCOPE_HOLE);
}

function resourceCount(r: RootPlan): number {
  return r.builder.entries.filter((e) => e.handle.kind === "resource").length;
}

/** Type → instance count, by type; `for_each` blocks count their instances when they are known. */
function createdTypes(r: RootPlan, n: (s: string) => string): [string, string][] {
  const byType = new Map<string, { instances: number; open: string[] }>();
  for (const e of r.builder.entries) {
    if (e.handle.kind !== "resource") continue;
    const t = byType.get(e.handle.type) ?? { instances: 0, open: [] };
    const each = e.options.forEach;
    if (each === undefined) t.instances++;
    else if (typeof each === "string") t.open.push(n(String(render(each)).replace(/^\$\{(.*)\}$/, "$1")));
    else t.instances += Object.keys(each).length;
    byType.set(e.handle.type, t);
  }
  return [...byType]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([type, t]) => {
      const open = t.open.length > 0 ? `one per value of ${t.open.map(code).join(", ")}` : "";
      return [type, t.instances > 0 ? `${t.instances}${open ? ` + ${open}` : ""}` : open];
    });
}

// ---------------------------------------------------------------------------------------------
// Shared and different: one line per category, then one nested line per set of scopes that differ
// alike. A scope is named only with what it has: one without a fact the others differ on has none.

function categoryLines(spec: (typeof CATEGORIES)[number], roots: readonly RootPlan[], facts: readonly (readonly Fact[])[]): string[] {
  const byKey = new Map<string, Fact[]>();
  for (const list of facts) for (const f of list) if (f.category === spec.category) (byKey.get(f.key) ?? byKey.set(f.key, []).get(f.key)!).push(f);
  const keys = spec.category === "creates" ? [...byKey.keys()].sort() : [...byKey.keys()];
  const common: string[] = [];
  const differing = new Set<string>();
  for (const k of keys) {
    const all = byKey.get(k)!;
    const text = all.length === roots.length ? sharedText(all) : undefined;
    if (text === undefined) differing.add(k);
    else common.push(text);
  }
  if (differing.size === 0) return common.length > 0 ? [`- ${spec.label}: ${common.join(spec.join)}`] : spec.none ? [`- ${spec.label}: ${spec.none}`] : [];
  const head = common.length > 0 ? `- ${spec.label}: ${common.join(spec.join)}; by environment:` : `- ${spec.label}, by environment:`;
  return [head, ...scopeLines(roots, facts.map((list) => list.filter((f) => differing.has(f.key))), spec.join)];
}

/** The text every fact shares (as written, else with the scope hole), or undefined. */
function sharedText(facts: readonly { readonly shown: Text; readonly compared: Text }[]): string | undefined {
  const first = facts[0]!;
  if (facts.every((f) => f.compared.raw === first.compared.raw)) return first.shown.raw;
  if (facts.every((f) => f.compared.norm === first.compared.norm)) return first.shown.norm;
  return undefined;
}

/** `dev`, `staging`: what they have alike that the phase's roots differ on. */
function scopeLines(roots: readonly RootPlan[], differing: readonly (readonly Fact[])[], join: string): string[] {
  const sets = new Map<string, number[]>();
  differing.forEach((list, i) => {
    const signature = list.map((f) => `${f.key}\u0000${f.compared.norm}`).join("\u0001");
    if (list.length > 0) (sets.get(signature) ?? sets.set(signature, []).get(signature)!).push(i);
  });
  return [...sets.values()].map((members) => {
    const texts = differing[members[0]!]!.map((f, j) => sharedText(members.map((i) => differing[i]![j]!)) ?? f.shown.norm);
    return `  - ${members.map((i) => code(roots[i]!.scope)).join(", ")}: ${texts.join(join)}`;
  });
}

// ---------------------------------------------------------------------------------------------
// Outputs: one folded table for the page, by phase, since a table per phase would cost more lines
// than the outputs themselves.

function outputsTable(phases: ReadonlyMap<number, ReadonlyMap<PhaseDef, readonly RootPlan[]>>, ctx: Context): string[] {
  const rows = [...phases.values()].flatMap((groups) => [...groups.values()].flatMap((roots) => outputRows(roots, ctx)));
  if (rows.length === 0) return [];
  return [`<details><summary>The ${rows.length} outputs and the roots that read them</summary>`, "", ...table(["Root", "Output", "Description", "Read by"], rows), "", "</details>", ""];
}

interface OutputCell {
  readonly scope: string;
  readonly description: Text;
  readonly readBy: Text;
}

/** One row per output name of a phase's roots; where they differ, a cell gives each scope's text. */
function outputRows(roots: readonly RootPlan[], ctx: Context): string[][] {
  const shared = roots.length > 1;
  const byName = new Map<string, OutputCell[]>();
  for (const r of roots) {
    const hole = shared ? ctx.hole(r.scope) : (s: string) => s;
    for (const [name, o] of r.builder.outputs) {
      const readers = ctx.readers.get(`${r.id}#${name}`) ?? [];
      const cell = {
        scope: r.scope,
        description: { raw: prose(o.description), norm: prose(hole(o.description)) },
        readBy: { raw: readerList(readers, (s) => s, ctx), norm: readerList(readers, hole, ctx) },
      };
      (byName.get(name) ?? byName.set(name, []).get(name)!).push(cell);
    }
  }
  const label = code(groupLabel(roots, ctx));
  // The root only on its first row: the rows of one root read as a block.
  return [...byName].map(([name, cells], i) => [i === 0 ? label : "", code(name), byScope(cells, roots.length, (c) => c.description), byScope(cells, roots.length, (c) => c.readBy)]);
}

/** A cell: the text all roots share, or `dev`, `staging`: one text; `prod`: another (a scope without the output is not named). */
function byScope(cells: readonly OutputCell[], roots: number, text: (c: OutputCell) => Text): string {
  const texts = cells.map((c) => ({ shown: text(c), compared: text(c) }));
  const shared = cells.length === roots ? sharedText(texts) : undefined;
  if (shared !== undefined) return shared;
  const groups = new Map<string, number[]>();
  texts.forEach((t, i) => (groups.get(t.compared.norm) ?? groups.set(t.compared.norm, []).get(t.compared.norm)!).push(i));
  return [...groups.values()].map((members) => `${members.map((i) => code(cells[i]!.scope)).join(", ")}: ${sharedText(members.map((i) => texts[i]!))!}`).join("; ");
}

interface Reader {
  readonly root: RootPlan;
  /** All roots of the reader's phase definition: read by all of them, they are named once (`<env>/70-dns`). */
  readonly siblings: readonly RootPlan[];
}

function readersOf(roots: readonly RootPlan[], phases: ReadonlyMap<number, ReadonlyMap<PhaseDef, readonly RootPlan[]>>): Map<string, Reader[]> {
  const out = new Map<string, Reader[]>();
  for (const r of roots) {
    const siblings = phases.get(r.phase.number)!.get(r.phase)!;
    for (const [producer, dep] of r.dependsOn) {
      for (const o of dep.outputs) {
        const key = `${producer}#${o}`;
        (out.get(key) ?? out.set(key, []).get(key)!).push({ root: r, siblings });
      }
    }
  }
  return out;
}

/** The readers of an output; those that are every root of a phase with several, once with the scope hole. */
function readerList(readers: readonly Reader[], n: (s: string) => string, ctx: Context): string {
  const count = new Map<readonly RootPlan[], number>();
  for (const { siblings } of readers) count.set(siblings, (count.get(siblings) ?? 0) + 1);
  const named = new Set<readonly RootPlan[]>();
  const labels: string[] = [];
  for (const { root, siblings } of readers) {
    if (siblings.length < 2 || count.get(siblings) !== siblings.length) labels.push(code(n(root.id)));
    else if (!named.has(siblings)) {
      named.add(siblings);
      labels.push(code(groupLabel(siblings, ctx)));
    }
  }
  return labels.join(", ");
}

// ---------------------------------------------------------------------------------------------

function pipelineSection(config: ResolvedConfig, plan: Pick<Plan, "roots">): string[] {
  const p = pipeline(config, plan);
  const repo = isTodo(config.github.repository) ? undefined : config.github.repository;
  const subjects = (list: readonly string[]) => list.map(code).join("<br>");
  const apply = (s: PipelineScope) =>
    s.applyOn === "dispatch"
      ? `manual dispatch only, after the ${code(s.name)} environment's approval`
      : s.approval
        ? `on push, after the scopes before it, once the ${code(s.name)} environment approves`
        : `every push to ${code(p.mainBranch)}, in the ${code(s.name)} environment`;
  const lines = [`## Phase ${PIPELINE_PHASE.number}: ${PIPELINE_PHASE.title}`, ""];
  lines.push(
    `Not a root: \`${WORKFLOW_FILE}\`, generated with the roots. Jobs authenticate with GitHub OIDC and assume the roles of phase 0.5. Plans (pull requests, the plan before each apply, drift checks) use the scope's read-only planner role; applies use its deployer role, which trusts only jobs in the GitHub environment named like the scope, so only after that environment's protection rules. Each apply applies exactly the plans saved by its plan job and shown in its summary.${repo ? "" : ` \`github.repository\` is undecided, so subjects are shown for \`OWNER/REPO\`.`}`,
    "",
  );
  lines.push(
    ...table(
      ["Scope", "Planner role (read-only)", "Trusted by", "Deployer role", "Trusted by", "Pull requests", "Apply"],
      p.scopes.map((s) => [
        code(s.name),
        code(s.planner),
        subjects(plannerSubjects(config, s.name, repo ?? "OWNER/REPO")),
        code(s.deployer),
        subjects(deployerSubjects(config, s.name, repo ?? "OWNER/REPO")),
        s.plannedOnPullRequests ? "plan of changed roots and their dependents" : "not planned (its planner trusts only the main branch)",
        apply(s),
      ]),
    ),
    "",
  );
  const administered = p.administeredRoots.length > 0 ? ` Applied from an administrator's machine, not by the pipeline (no pipeline role can change them): ${p.administeredRoots.map(code).join(", ")}.` : "";
  lines.push(`Daily, every scope is planned for drift with its planner role, outside the protected environments (no approval).${administered}`, "");
  lines.push("Set up once:", "", ...pipelineSetup(p).map((l) => `- ${prose(l)}`), "");
  lines.push(`${manualSteps([])} · ${exitCriteria(PIPELINE_PHASE.exitCriteria)}`, "");
  return lines;
}
