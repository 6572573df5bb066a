/**
 * The phase graph: roots as nodes, "reads an output of" and "keeps its state in the bucket of"
 * as edges, from the plan (the same data as `out/manifest.json`). Rendered as Mermaid, Graphviz
 * dot, JSON, or an SVG laid out by graph-svg.ts (phases by scopes, deterministic, no external tool).
 *
 * Mermaid and the SVG are for people reading Markdown: they draw only `reads` edges, because every
 * root but the bootstrap one depends on the state bucket and those edges would hide the rest.
 * Dot and JSON carry every edge.
 */
import { stableStringify } from "./json.js";
import type { Plan } from "./plan.js";

export interface GraphNode {
  /** Root id, also its directory under `out/`: `dev/20-network`. */
  readonly id: string;
  readonly scope: string;
  /** Phase id (`network`) and the plan's phase number (2). */
  readonly phase: string;
  readonly phaseNumber: number;
  readonly title: string;
  /** Resource blocks in the root. */
  readonly resources: number;
  readonly outputs: readonly string[];
}

export interface GraphEdge {
  /** The producer: the root applied first. */
  readonly from: string;
  /** The consumer. */
  readonly to: string;
  /** `reads`: outputs of `from` are used by `to`; `state-backend`: `to` keeps its state in the bucket `from` creates. */
  readonly reason: "reads" | "state-backend";
  readonly outputs: readonly string[];
}

export interface PhaseGraph {
  /** Roots in apply order. */
  readonly nodes: readonly GraphNode[];
  /** Ordered by consumer, then producer, in apply order. */
  readonly edges: readonly GraphEdge[];
  /** Scopes in the order their first root applies (`global` first, then environments). */
  readonly scopes: readonly string[];
}

export const GRAPH_FORMATS = ["mermaid", "dot", "json"] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

export function phaseGraph(plan: Pick<Plan, "roots">): PhaseGraph {
  const order = new Map(plan.roots.map((r, i) => [r.id, i]));
  const nodes = plan.roots.map((r) => ({
    id: r.id,
    scope: r.scope,
    phase: r.phase.id,
    phaseNumber: r.phase.number,
    title: r.phase.title,
    resources: r.builder.entries.filter((e) => e.handle.kind === "resource").length,
    outputs: [...r.builder.outputs.keys()].sort(),
  }));
  const edges = plan.roots.flatMap((r) =>
    [...r.dependsOn]
      .filter(([from]) => order.has(from))
      .sort(([a], [b]) => order.get(a)! - order.get(b)!)
      .map(([from, dep]) => ({ from, to: r.id, reason: dep.reason, outputs: [...dep.outputs].sort() })),
  );
  const scopes = [...new Set(nodes.map((n) => n.scope))];
  return { nodes, edges, scopes };
}

export function renderGraph(graph: PhaseGraph, format: GraphFormat): string {
  switch (format) {
    case "mermaid":
      return renderMermaid(graph);
    case "dot":
      return renderDot(graph);
    case "json":
      return stableStringify(graph);
  }
}

/** Root ids minus their scope: what a node inside its scope's box is labelled. */
export function shortName(node: GraphNode): string {
  return node.id.startsWith(`${node.scope}/`) ? node.id.slice(node.scope.length + 1) : node.id;
}

function nodeCaption(node: GraphNode): string {
  return `phase ${node.phaseNumber} · ${node.resources} resource${node.resources === 1 ? "" : "s"}`;
}

/** The sentence diagrams that leave out state-backend edges carry instead. */
export function stateBackendNote(graph: PhaseGraph): string | undefined {
  const owners = [...new Set(graph.edges.filter((e) => e.reason === "state-backend").map((e) => e.from))];
  if (owners.length === 0) return undefined;
  return `Not drawn: the roots' dependency on the state bucket that ${owners.join(", ")} creates.`;
}

/** `flowchart LR` with one box per scope. Ids never collide: scopes have no `_`, and `/` becomes `__`. */
export function renderMermaid(graph: PhaseGraph): string {
  const id = (rootId: string) => `r_${rootId.replaceAll("/", "__").replaceAll("-", "_")}`;
  const lines = ["flowchart LR"];
  for (const scope of graph.scopes) {
    lines.push(`  subgraph s_${scope.replaceAll("-", "_")}["${scope}"]`);
    for (const n of graph.nodes.filter((x) => x.scope === scope)) lines.push(`    ${id(n.id)}["${shortName(n)}<br/>${nodeCaption(n)}"]`);
    lines.push("  end");
  }
  for (const e of graph.edges.filter((x) => x.reason === "reads")) lines.push(`  ${id(e.from)} --> ${id(e.to)}`);
  const note = stateBackendNote(graph);
  if (note) lines.push(`  %% ${note}`);
  return `${lines.join("\n")}\n`;
}

export function renderDot(graph: PhaseGraph): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    "digraph caja {",
    "  rankdir=LR;",
    '  node [shape=box, style=rounded, fontname="Helvetica", fontsize=11];',
    '  edge [color="#4a5568"];',
  ];
  graph.scopes.forEach((scope, i) => {
    lines.push(`  subgraph cluster_${i} {`, `    label=${q(scope)};`, '    style=rounded; color="#cbd5e0";');
    for (const n of graph.nodes.filter((x) => x.scope === scope)) lines.push(`    ${q(n.id)} [label=${q(`${shortName(n)}\n${nodeCaption(n)}`)}];`);
    lines.push("  }");
  });
  for (const e of graph.edges) {
    const attrs = e.reason === "reads" ? `tooltip=${q(e.outputs.join(", "))}` : 'style=dashed, color="#a0aec0", tooltip="state backend"';
    lines.push(`  ${q(e.from)} -> ${q(e.to)} [${attrs}];`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
