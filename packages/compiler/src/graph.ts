/**
 * The phase graph: roots as nodes, "reads an output of" and "keeps its state in the bucket of"
 * as edges, from the plan (the same data as `out/manifest.json`). Rendered as Mermaid, Graphviz
 * dot, JSON, or an SVG laid out here (layered, deterministic, no external tool).
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
function shortName(node: GraphNode): string {
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

// ---------------------------------------------------------------------------------------------
// SVG: a layered (Sugiyama-style) layout with one horizontal lane per scope.
//
// 1. Layers: longest path over every dependency (state-backend included, so the bootstrap root
//    stands alone in the first column); apply order is topological, so one pass does it.
// 2. Drawn (`reads`) edges that skip layers get a waypoint in each layer they cross, in the
//    consumer's lane. Waypoints of one producer in one lane and layer are shared, so its edges
//    travel together and fan out late.
// 3. Within each (layer, lane) cell, items are ordered by the barycentre of their neighbours in
//    the previous layer, then the next, four times over; ties keep apply order.
// 4. Coordinates: columns by layer, each lane as tall as its fullest cell, cells centred.

interface Item {
  readonly key: string;
  readonly lane: number;
  readonly layer: number;
  readonly node?: GraphNode;
  /** Set by the layout. */
  x: number;
  y: number;
  order: number;
}

const NODE_H = 40;
const WAYPOINT_H = 10;
const GAP = 12;
const COLUMN_GAP = 56;
const CHAR_W = 7.2;
const MARGIN = 16;
const TITLE_H = 34;

export function renderSvg(graph: PhaseGraph, title = "Phase graph"): string {
  const layout = layoutGraph(graph);
  const { items, lanes, width, height, nodeW, paths } = layout;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}">`,
    `<title>${esc(title)}</title>`,
    "<style>",
    "text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;fill:#1a202c}",
    ".caption{font-size:10.5px;fill:#4a5568}.lane{font-size:12px;font-weight:bold;fill:#2d3748}",
    ".edge{fill:none;stroke:#4a5568;stroke-width:1.2}.node{fill:#fff;stroke:#2b6cb0;stroke-width:1.2}",
    ".note{font-size:11px;fill:#4a5568}",
    "</style>",
    '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#4a5568"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN}" y="${MARGIN + 12}" class="lane">${esc(title)}</text>`,
  );
  lanes.forEach((lane, i) => {
    out.push(
      `<rect x="${MARGIN}" y="${lane.top}" width="${width - 2 * MARGIN}" height="${lane.height}" rx="6" fill="${i % 2 === 0 ? "#f7fafc" : "#edf2f7"}"/>`,
      `<text x="${MARGIN + 10}" y="${lane.top + 18}" class="lane">${esc(lane.scope)}</text>`,
    );
  });
  for (const p of paths) out.push(`<path class="edge" d="${p.d}" marker-end="url(#arrow)"><title>${esc(p.title)}</title></path>`);
  for (const item of items) {
    const n = item.node;
    if (!n) continue;
    out.push(
      `<g><title>${esc(`${n.id}: ${n.title}`)}</title>`,
      `<rect class="node" x="${item.x}" y="${item.y}" width="${nodeW}" height="${NODE_H}" rx="6"/>`,
      `<text x="${item.x + 10}" y="${item.y + 17}">${esc(shortName(n))}</text>`,
      `<text x="${item.x + 10}" y="${item.y + 32}" class="caption">${esc(nodeCaption(n))}</text>`,
      "</g>",
    );
  }
  const note = ["Arrows point from a root to the roots that read its outputs.", stateBackendNote(graph)].filter(Boolean).join(" ");
  out.push(`<text x="${MARGIN}" y="${height - MARGIN + 2}" class="note">${esc(note)}</text>`, "</svg>");
  return `${out.join("\n")}\n`;
}

interface Layout {
  readonly items: readonly Item[];
  readonly lanes: readonly { readonly scope: string; readonly top: number; readonly height: number }[];
  readonly paths: readonly { readonly d: string; readonly title: string }[];
  readonly width: number;
  readonly height: number;
  readonly nodeW: number;
}

export function layoutGraph(graph: PhaseGraph): Layout {
  const laneOf = new Map(graph.scopes.map((s, i) => [s, i]));
  const layerOf = new Map<string, number>();
  for (const n of graph.nodes) {
    const producers = graph.edges.filter((e) => e.to === n.id).map((e) => layerOf.get(e.from) ?? 0);
    layerOf.set(n.id, producers.length === 0 ? 0 : Math.max(...producers) + 1);
  }
  const items = new Map<string, Item>();
  for (const n of graph.nodes) items.set(n.id, { key: n.id, lane: laneOf.get(n.scope)!, layer: layerOf.get(n.id)!, node: n, x: 0, y: 0, order: items.size });

  // Each drawn edge as a chain of items: producer, waypoints, consumer.
  const chains: { readonly edge: GraphEdge; readonly items: Item[] }[] = [];
  for (const edge of graph.edges) {
    if (edge.reason !== "reads") continue;
    const from = items.get(edge.from)!;
    const to = items.get(edge.to)!;
    const chain = [from];
    for (let layer = from.layer + 1; layer < to.layer; layer++) {
      const key = `${edge.from}>${to.lane}@${layer}`;
      let waypoint = items.get(key);
      if (!waypoint) {
        waypoint = { key, lane: to.lane, layer, x: 0, y: 0, order: items.size };
        items.set(key, waypoint);
      }
      chain.push(waypoint);
    }
    chain.push(to);
    chains.push({ edge, items: chain });
  }

  const all = [...items.values()];
  const layers = Math.max(0, ...all.map((i) => i.layer)) + 1;
  const cells = new Map<string, Item[]>();
  for (const i of all) cells.set(`${i.layer}:${i.lane}`, [...(cells.get(`${i.layer}:${i.lane}`) ?? []), i]);
  const cell = (layer: number, lane: number) => (cells.get(`${layer}:${lane}`) ?? []).sort((a, b) => a.order - b.order);
  const neighbours = new Map<Item, { prev: Item[]; next: Item[] }>(all.map((i) => [i, { prev: [], next: [] }]));
  for (const { items: chain } of chains) {
    for (let k = 1; k < chain.length; k++) {
      const a = chain[k - 1]!;
      const b = chain[k]!;
      if (!neighbours.get(b)!.prev.includes(a)) neighbours.get(b)!.prev.push(a);
      if (!neighbours.get(a)!.next.includes(b)) neighbours.get(a)!.next.push(b);
    }
  }
  // Crossing reduction: a vertical rank for every item, lanes first.
  const rank = () => {
    const r = new Map<Item, number>();
    for (let layer = 0; layer < layers; layer++) {
      let k = 0;
      for (let lane = 0; lane < graph.scopes.length; lane++) for (const i of cell(layer, lane)) r.set(i, k++);
    }
    return r;
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    const r = rank();
    const layerOrder = [...Array(layers).keys()];
    for (const layer of down ? layerOrder : layerOrder.reverse()) {
      for (let lane = 0; lane < graph.scopes.length; lane++) {
        const members = cell(layer, lane);
        const centre = (i: Item) => {
          const ns = down ? neighbours.get(i)!.prev : neighbours.get(i)!.next;
          return ns.length === 0 ? r.get(i)! : ns.reduce((s, n) => s + r.get(n)!, 0) / ns.length;
        };
        const sorted = members.map((i) => [i, centre(i)] as const).sort((a, b) => a[1] - b[1] || a[0].order - b[0].order);
        const slots = members.map((m) => m.order);
        sorted.forEach(([i], k) => (i.order = slots[k]!));
      }
    }
  }

  const labelW = Math.ceil(Math.max(84, ...graph.scopes.map((s) => s.length * CHAR_W + 24)));
  const nodeW = Math.ceil(Math.max(...graph.nodes.map((n) => Math.max(shortName(n).length, nodeCaption(n).length))) * CHAR_W + 20);
  const height = (i: Item) => (i.node ? NODE_H : WAYPOINT_H);
  const stack = (members: Item[]) => members.reduce((s, i) => s + height(i), 0) + GAP * Math.max(0, members.length - 1);
  const lanes: { scope: string; top: number; height: number }[] = [];
  let top = MARGIN + TITLE_H;
  graph.scopes.forEach((scope, lane) => {
    const tallest = Math.max(0, ...[...Array(layers).keys()].map((layer) => stack(cell(layer, lane))));
    const laneHeight = Math.max(NODE_H, tallest) + 2 * GAP + 14;
    for (let layer = 0; layer < layers; layer++) {
      const members = cell(layer, lane);
      let y = top + 14 + GAP + (laneHeight - 14 - 2 * GAP - stack(members)) / 2;
      for (const i of members) {
        i.x = MARGIN + labelW + layer * (nodeW + COLUMN_GAP);
        i.y = Math.round(i.node ? y : y + WAYPOINT_H / 2);
        y += height(i) + GAP;
      }
    }
    lanes.push({ scope, top, height: laneHeight });
    top += laneHeight + GAP;
  });

  const paths = chains.map(({ edge, items: chain }) => {
    const pts: [number, number][] = [];
    chain.forEach((i, k) => {
      const mid = i.node ? i.y + NODE_H / 2 : i.y;
      if (k === 0) pts.push([i.x + nodeW, mid]);
      else if (k === chain.length - 1) pts.push([i.x, mid]);
      else pts.push([i.x, mid], [i.x + nodeW, mid]);
    });
    let d = `M${pts[0]![0]},${pts[0]![1]}`;
    for (let k = 1; k < pts.length; k++) {
      const [x0, y0] = pts[k - 1]!;
      const [x1, y1] = pts[k]!;
      // Straight through a waypoint's column, a horizontal-tangent curve between columns.
      if (y0 === y1) d += ` L${x1},${y1}`;
      else d += ` C${Math.round((x0 + x1) / 2)},${y0} ${Math.round((x0 + x1) / 2)},${y1} ${x1},${y1}`;
    }
    return { d, title: `${edge.from} → ${edge.to}: ${edge.outputs.join(", ")}` };
  });

  const width = MARGIN * 2 + labelW + layers * nodeW + (layers - 1) * COLUMN_GAP + 16;
  return { items: all, lanes, paths, width: Math.ceil(width), height: Math.ceil(top + 18), nodeW };
}

function esc(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}
