/**
 * `phases.md` (+ `phases.svg`): the phase graph, then every root in the plan's phase order: what it
 * creates, what it reads from which root, its outputs, the manual steps and the plan's exit
 * criteria. Phase 9 (the pipeline) sits in its place with the roles it assumes.
 */
import type { ResolvedConfig } from "@caja/dsl/schema";
import { isTodo } from "@caja/dsl";
import { render } from "@caja/modules";
import { deployerSubjects, plannerSubjects } from "../../../modules/src/iam-oidc.js";
import { phaseGraph, renderMermaid, stateBackendNote, type PhaseGraph } from "../graph.js";
import type { Plan, RootPlan } from "../plan.js";
import { pipeline, pipelineSetup, WORKFLOW_FILE, type PipelineScope } from "../workflow.js";
import { code, pageHeader, siteLabel, table, type DocsOptions } from "./markdown.js";

export const PHASES_SVG = "phases.svg";

/** Phase 9 of the plan is the pipeline, not a root. */
const PIPELINE_PHASE = { number: 9, title: "CI/CD pipeline", exitCriteria: "A pull request shows the plan comment." } as const;

export function phasesPage(config: ResolvedConfig, plan: Pick<Plan, "roots">, options: DocsOptions, graph: PhaseGraph = phaseGraph(plan)): string {
  const lines = pageHeader(
    "phases.md",
    "Phases",
    `The roots under \`out/\`, one per phase and scope, and how they depend on each other. Apply them in the order below (the order of \`out/manifest.json\`); each is a plain Terraform root.`,
  );
  lines.push("## Phase graph", "", "```mermaid", renderMermaid(graph).trimEnd(), "```", "", `![Phase graph](${PHASES_SVG})`, "");
  const note = stateBackendNote(graph);
  lines.push(`Arrows point from a root to the roots that read its outputs.${note ? ` ${note}` : ""}`, "");

  lines.push("## Apply order", "");
  lines.push(
    ...table(
      ["#", "Root", "Phase", "Resources", "Depends on"],
      plan.roots.map((r, i) => [
        String(i + 1),
        code(r.id),
        `${r.phase.number}: ${r.phase.title}`,
        String(resourceCount(r)),
        [...r.dependsOn.keys()].map(code).join(", ") || "—",
      ]),
    ),
    "",
  );

  const byNumber = new Map<number, RootPlan[]>();
  for (const r of plan.roots) byNumber.set(r.phase.number, [...(byNumber.get(r.phase.number) ?? []), r]);
  const numbers = [...byNumber.keys(), PIPELINE_PHASE.number].sort((a, b) => a - b);
  const readers = readersOf(graph);
  for (const n of [...new Set(numbers)]) {
    if (n === PIPELINE_PHASE.number && !byNumber.has(n)) {
      lines.push(...pipelineSection(config, plan));
      continue;
    }
    const roots = byNumber.get(n)!;
    const title = [...new Set(roots.map((r) => r.phase.title))].sort((a, b) => a.length - b.length)[0]!;
    lines.push(`## Phase ${n}: ${title}`, "");
    for (const r of roots) lines.push(...rootSection(r, config, readers, options));
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

function rootSection(r: RootPlan, config: ResolvedConfig, readers: ReadonlyMap<string, readonly string[]>, options: DocsOptions): string[] {
  const lines = [`### ${code(r.id)}: ${r.phase.title}`, ""];
  lines.push(`- **State**: ${r.backend.type === "s3" ? `${code(`s3://${r.backend.bucket}/${r.backend.key}`)}${r.backend.dynamodb_table ? `, locked in DynamoDB ${code(r.backend.dynamodb_table)}` : ", S3 lockfile"}` : `local ${code(r.backend.path)} in the root's folder${r.phase.ownsStateBucket && !config.state.bootstrapped ? " until `state.bootstrapped` (it creates the bucket)" : ""}`}`);
  lines.push(`- **Creates**: ${createdTypes(r) || "nothing"} (${resourceCount(r)} resource block${resourceCount(r) === 1 ? "" : "s"})`);
  lines.push(`- **Reads**: ${reads(r)}`);
  const todos = r.todos.map((t) => `${code(t.variable)} (${code(t.path)}: ${t.reason}${siteLabel(t.site, options) ? `, ${siteLabel(t.site, options)}` : ""})`);
  if (todos.length > 0) lines.push(`- **Undecided** (Terraform variables with no default): ${todos.join("; ")}`);
  lines.push(`- **Manual steps**: ${r.phase.manualSteps.length > 0 ? r.phase.manualSteps.join(" ") : "none"}`);
  lines.push(`- **Exit criteria** (plan): ${r.phase.exitCriteria}`);
  lines.push("");
  const outputs = [...r.builder.outputs];
  if (outputs.length > 0) {
    lines.push(
      ...table(
        ["Output", "Description", "Read by"],
        outputs.map(([name, o]) => [code(name), o.description, (readers.get(`${r.id}#${name}`) ?? []).map(code).join(", ") || "—"]),
      ),
      "",
    );
  }
  return lines;
}

function resourceCount(r: RootPlan): number {
  return r.builder.entries.filter((e) => e.handle.kind === "resource").length;
}

/** `aws_route53_record` × 4, by type; `for_each` blocks count their instances when they are known. */
function createdTypes(r: RootPlan): string {
  const byType = new Map<string, { blocks: number; instances: number; open: string[] }>();
  for (const e of r.builder.entries) {
    if (e.handle.kind !== "resource") continue;
    const t = byType.get(e.handle.type) ?? { blocks: 0, instances: 0, open: [] };
    t.blocks++;
    const each = e.options.forEach;
    if (each === undefined) t.instances++;
    else if (typeof each === "string") t.open.push(String(render(each)).replace(/^\$\{(.*)\}$/, "$1"));
    else t.instances += Object.keys(each).length;
    byType.set(e.handle.type, t);
  }
  return [...byType]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([type, t]) => {
      const open = t.open.length > 0 ? `one per value of ${t.open.map(code).join(", ")}` : "";
      return `${code(type)} × ${t.instances > 0 ? `${t.instances}${open ? ` + ${open}` : ""}` : open}`;
    })
    .join(", ");
}

function reads(r: RootPlan): string {
  if (r.dependsOn.size === 0) return "nothing";
  const remote = new Set([...r.builder.remoteReads.values()].flatMap((read) => [...read.outputs.keys()].map((o) => `${read.root}#${o}`)));
  return [...r.dependsOn]
    .map(([producer, dep]) => {
      if (dep.reason === "state-backend") return `${code(producer)} (its bucket holds this root's state)`;
      const outputs = [...dep.outputs].sort().map((o) => `${code(o)}${remote.has(`${producer}#${o}`) ? "" : " (inlined)"}`);
      return `${code(producer)}: ${outputs.join(", ")}`;
    })
    .join("; ");
}

/** `<root>#<output>` → the roots that read it. */
function readersOf(graph: PhaseGraph): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of graph.edges) for (const o of e.outputs) out.set(`${e.from}#${o}`, [...(out.get(`${e.from}#${o}`) ?? []), e.to]);
  return out;
}

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
  lines.push(`Daily, every scope is planned for drift with its planner role, outside the protected environments (no approval).`, "");
  if (p.administeredRoots.length > 0) lines.push(`Applied from an administrator's machine, not by the pipeline (no pipeline role can change them): ${p.administeredRoots.map(code).join(", ")}.`, "");
  lines.push("Set up once:", "", ...pipelineSetup(p).map((l) => `- ${l}`), "");
  lines.push(`- **Manual steps**: none`, `- **Exit criteria** (plan): ${PIPELINE_PHASE.exitCriteria}`, "");
  return lines;
}
