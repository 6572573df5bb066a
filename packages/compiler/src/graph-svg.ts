/**
 * The phase graph as an SVG, drawn by caja: no external tool, the same bytes every time.
 *
 * A grid read like the plan. Columns are the phase numbers that have a root, in order; lanes are
 * scopes. Every root sits in its phase's column and its scope's lane. No two edges share a segment:
 * each has its own port on either box and its own track.
 * - Neighbours in a lane: a straight arrow from the producer's side to the consumer's.
 * - Other edges within a lane: an arc below the boxes, down from a port on the producer's bottom,
 *   along a track of the lane's street, up into a port on the consumer's bottom. Ports are ordered
 *   and tracks stacked so that arcs nest (the longer further down): they cross only where their
 *   spans interleave.
 * - Edges from another lane (mostly `global` into environments): a short arrow into a port on the
 *   consumer's top, labelled with the producer's id. Lines across lanes would run through every
 *   lane between; with many environments they could not be followed.
 *
 * Text is measured with Helvetica's advance widths and pinned with textLength, so boxes fit their
 * labels whatever font the viewer has. The drawing aims at the 1000 px GitHub shows it at, where
 * no text may render below 11 px: where full names and captions do not fit, captions shorten, then
 * names wrap, then fonts grow.
 */
import { shortName, stateBackendNote, type GraphEdge, type GraphNode, type PhaseGraph } from "./graph.js";

type Point = readonly [number, number];
type TextRole = "title" | "header" | "lane" | "name" | "caption" | "stub" | "note";

/** Font size (px at scale 1) and weight of each kind of text. */
const TEXT: Readonly<Record<TextRole, { readonly size: number; readonly bold: boolean }>> = {
  title: { size: 14, bold: true },
  header: { size: 11, bold: false },
  lane: { size: 12, bold: true },
  name: { size: 12, bold: false },
  caption: { size: 11, bold: false },
  stub: { size: 11, bold: false },
  note: { size: 11, bold: false },
};

/** Advance widths (1/1000 em) of ASCII 32–126 in Helvetica; Arial and Liberation Sans share them. */
const HELVETICA = [278,278,355,556,556,889,667,191,333,333,389,584,278,333,278,278,556,556,556,556,556,556,556,556,556,556,278,278,584,584,584,556,1015,667,667,722,722,667,611,778,722,278,500,667,556,833,722,778,667,778,722,667,611,722,667,944,667,667,611,278,278,278,469,556,333,556,556,500,556,556,278,556,556,222,222,500,222,833,556,556,556,556,333,500,278,556,500,722,500,500,500,334,260,334,584];
const HELVETICA_BOLD = [278,333,474,556,556,889,722,238,333,333,389,584,278,333,278,278,556,556,556,556,556,556,556,556,556,556,333,333,584,584,584,611,975,722,722,722,722,667,611,778,722,278,556,722,611,833,722,778,667,778,722,667,611,722,667,944,667,667,611,333,278,333,584,556,333,556,611,556,611,556,333,611,611,278,278,556,278,889,611,611,611,611,389,556,333,611,556,778,556,556,500,389,280,389,584];

const TARGET_WIDTH = 1000;
const MIN_FONT = 11;
const MARGIN = 8;
const LANE_PAD = 6;
const LANE_GAP = 6;
const BOX_PAD = 5;
/** Between columns: room for a side arrow. */
const COLUMN_GAP = 12;
/** Between phases that share a number, each with roots in the same scope. */
const SUB_GAP = 10;
const PORT_GAP = 10;
const TRACK_GAP = 8;
/** From a box's bottom to its lane's first track: the length of the shortest arrow into a bottom port. */
const STREET_TOP = 12;
/** From a stub label's end to the port it comes down to. */
const LEAD = 12;
/** Between labels, and between arcs sharing a track. */
const CLEAR = 6;

export interface SvgText {
  readonly role: TextRole;
  readonly text: string;
  readonly x: number;
  /** Baseline. */
  readonly y: number;
  readonly anchor: "start" | "middle" | "end";
  readonly size: number;
  /** The measured advance width, which the text is pinned to. */
  readonly width: number;
}

export interface SvgBox {
  readonly node: GraphNode;
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  /** Its name, on one line or wrapped at a hyphen, then its caption. */
  readonly texts: readonly SvgText[];
}

export interface SvgRoute {
  readonly edge: GraphEdge;
  /** `side`: neighbours in a lane; `street`: an arc below the lane's boxes; `stub`: from another lane, labelled with the producer. */
  readonly kind: "side" | "street" | "stub";
  /** A polyline of horizontal and vertical segments, from the producer's box (or the stub's label) to the consumer's box. */
  readonly points: readonly Point[];
  readonly label?: SvgText;
}

export interface Layout {
  readonly width: number;
  readonly height: number;
  readonly fit: Fit;
  readonly columns: readonly { readonly phaseNumber: number; readonly x: number; readonly w: number; readonly header: SvgText }[];
  readonly lanes: readonly { readonly scope: string; readonly top: number; readonly height: number; readonly title: SvgText }[];
  readonly boxes: readonly SvgBox[];
  /** One per drawn (`reads`) edge, in the graph's order. */
  readonly routes: readonly SvgRoute[];
  readonly title: SvgText;
  readonly notes: readonly SvgText[];
}

export function renderSvg(graph: PhaseGraph, title = "Phase graph"): string {
  const layout = layoutGraph(graph, title);
  const { width, height } = layout;
  const { scale } = layout.fit;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}">`,
    `<title>${esc(title)}</title>`,
    "<style>",
    'text{font-family:Helvetica,Arial,"Liberation Sans",sans-serif;fill:#1a202c}',
    ...Object.entries(TEXT).map(([role, t]) => `.${role}{font-size:${round(t.size * scale)}px${t.bold ? ";font-weight:bold" : ""}}`),
    ".header,.caption,.note{fill:#4a5568}.lane{fill:#2d3748}.stub{fill:#2c5282}",
    ".edge{fill:none;stroke:#4a5568;stroke-width:1.2}.edge.from-lane{stroke:#2c5282}.node{fill:#fff;stroke:#2b6cb0;stroke-width:1.2}",
    "</style>",
    `<defs>${marker("arrow", "#4a5568")}${marker("arrow-stub", "#2c5282")}</defs>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    svgText(layout.title),
    ...layout.columns.map((c) => svgText(c.header)),
  ];
  layout.lanes.forEach((lane, i) => {
    out.push(
      `<rect x="${MARGIN}" y="${lane.top}" width="${round(width - 2 * MARGIN)}" height="${lane.height}" rx="6" fill="${i % 2 === 0 ? "#f7fafc" : "#edf2f7"}"/>`,
      svgText(lane.title),
    );
  });
  for (const r of layout.routes) {
    const tip = `<title>${esc(`${r.edge.from} → ${r.edge.to}: ${r.edge.outputs.join(", ")}`)}</title>`;
    if (r.label) out.push(`<g>${tip}<path class="edge from-lane" d="${pathData(r.points)}" marker-end="url(#arrow-stub)"/>${svgText(r.label)}</g>`);
    else out.push(`<path class="edge" d="${pathData(r.points)}" marker-end="url(#arrow)">${tip}</path>`);
  }
  for (const b of layout.boxes) {
    out.push(
      `<g><title>${esc(`${b.node.id}: ${b.node.title}`)}</title>`,
      `<rect class="node" x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="5"/>`,
      ...b.texts.map(svgText),
      "</g>",
    );
  }
  out.push(...layout.notes.map(svgText), "</svg>");
  return `${out.join("\n")}\n`;
}

function marker(id: string, colour: string): string {
  return `<marker id="${id}" viewBox="0 0 8 8" refX="8" refY="4" markerUnits="userSpaceOnUse" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="${colour}"/></marker>`;
}

function svgText(t: SvgText): string {
  const anchor = t.anchor === "start" ? "" : ` text-anchor="${t.anchor}"`;
  return `<text x="${t.x}" y="${t.y}" class="${t.role}"${anchor} textLength="${t.width}" lengthAdjust="spacingAndGlyphs">${esc(t.text)}</text>`;
}

function pathData(points: readonly Point[]): string {
  return points
    .map(([x, y], i) => {
      if (i === 0) return `M${x},${y}`;
      const [px, py] = points[i - 1]!;
      return y === py ? `H${x}` : x === px ? `V${y}` : `L${x},${y}`;
    })
    .join(" ");
}

/** How hard a layout squeezes to stay legible at 1000 px: shorter captions, names wrapped at a hyphen, fonts grown (`scale`, 1 or more). */
export interface Fit {
  readonly shortCaptions: boolean;
  readonly wrapNames: boolean;
  readonly scale: number;
}

/** From the least squeezed to the most, before fonts grow. */
const FITS: readonly Fit[] = [
  { shortCaptions: false, wrapNames: false, scale: 1 },
  { shortCaptions: true, wrapNames: false, scale: 1 },
  { shortCaptions: true, wrapNames: true, scale: 1 },
];

/** Past this, tracks and gaps (which do not grow) would end up too close to follow. */
const MAX_SCALE = 1.5;

/**
 * The grid for `graph`, squeezed no more than it takes for its smallest text to render at 11 px or
 * more once the drawing is scaled to 1000 px wide: each of FITS in turn, then the last with fonts
 * grown, up to MAX_SCALE.
 */
export function layoutGraph(graph: PhaseGraph, title = "Phase graph"): Layout {
  const shape = shapeOf(graph);
  let layout = layoutAt(graph, title, FITS[0]!, shape);
  for (const fit of FITS.slice(1)) if (!legible(layout)) layout = layoutAt(graph, title, fit, shape);
  return legible(layout) ? layout : grown(graph, title, layout, shape);
}

/** `tightest` (laid out with the last of FITS) with fonts grown until legible, or MAX_SCALE. */
function grown(graph: PhaseGraph, title: string, tightest: Layout, shape: Shape): Layout {
  // Text grows with the scale, gaps and margins do not: the width is near enough affine in it.
  const perScale = layoutAt(graph, title, { ...tightest.fit, scale: 2 }, shape).width - tightest.width;
  const estimate = perScale < TARGET_WIDTH ? Math.ceil(((tightest.width - perScale) / (TARGET_WIDTH - perScale)) * 20) / 20 : MAX_SCALE;
  for (let scale = Math.min(MAX_SCALE, Math.max(1.05, estimate)); ; scale = Math.min(MAX_SCALE, Math.round((scale + 0.05) * 20) / 20)) {
    const layout = layoutAt(graph, title, { ...tightest.fit, scale }, shape);
    if (legible(layout) || scale === MAX_SCALE) return layout;
  }
}

function legible(layout: Layout): boolean {
  const smallest = Math.min(...Object.values(TEXT).map((t) => t.size)) * layout.fit.scale;
  return (smallest * TARGET_WIDTH) / Math.max(TARGET_WIDTH, layout.width) >= MIN_FONT - 1e-9;
}

/** Where each root stands: its column (phase number), sub-column, lane, and rank in its lane from the left. */
interface Grid {
  readonly numbers: readonly number[];
  readonly subColumns: readonly number[];
  readonly place: ReadonlyMap<string, { readonly column: number; readonly sub: number; readonly lane: number; readonly rank: number }>;
  /** Each lane's roots, left to right. */
  readonly laneNodes: readonly (readonly GraphNode[])[];
}

function gridOf(graph: PhaseGraph): Grid {
  const numbers = [...new Set(graph.nodes.map((n) => n.phaseNumber))].sort((a, b) => a - b);
  const columnOf = new Map(numbers.map((n, i) => [n, i]));
  const phaseKey = (n: GraphNode) => `${n.phaseNumber} ${n.phase}`;
  const scopesOfPhase = new Map<string, Set<string>>();
  for (const n of graph.nodes) scopesOfPhase.set(phaseKey(n), (scopesOfPhase.get(phaseKey(n)) ?? new Set()).add(n.scope));
  // Phases of one number share a sub-column unless a scope has roots in both (global and
  // per-environment hardening share one; two phases a module adds at 3.5 for every environment do not).
  const subOf = new Map<string, number>();
  const used = numbers.map(() => [] as Set<string>[]);
  for (const n of graph.nodes) {
    const key = phaseKey(n);
    if (subOf.has(key)) continue;
    const scopes = scopesOfPhase.get(key)!;
    const subs = used[columnOf.get(n.phaseNumber)!]!;
    let sub = subs.findIndex((taken) => ![...scopes].some((s) => taken.has(s)));
    if (sub < 0) sub = subs.push(new Set()) - 1;
    for (const s of scopes) subs[sub]!.add(s);
    subOf.set(key, sub);
  }
  const laneOf = new Map(graph.scopes.map((s, i) => [s, i]));
  const slot = (n: GraphNode) => columnOf.get(n.phaseNumber)! * 1e6 + subOf.get(phaseKey(n))!;
  const laneNodes = graph.scopes.map((scope) => graph.nodes.filter((n) => n.scope === scope).sort((a, b) => slot(a) - slot(b)));
  const place = new Map<string, { column: number; sub: number; lane: number; rank: number }>();
  laneNodes.forEach((nodes) =>
    nodes.forEach((n, rank) => place.set(n.id, { column: columnOf.get(n.phaseNumber)!, sub: subOf.get(phaseKey(n))!, lane: laneOf.get(n.scope)!, rank })),
  );
  return { numbers, subColumns: used.map((u) => u.length), place, laneNodes };
}

function routeKind(grid: Grid, edge: GraphEdge): SvgRoute["kind"] {
  const from = grid.place.get(edge.from)!;
  const to = grid.place.get(edge.to)!;
  if (from.lane !== to.lane) return "stub";
  return Math.abs(from.rank - to.rank) === 1 ? "side" : "street";
}

/** The drawn edges of one lane (their consumer's), by kind, in the graph's order. */
type LaneEdges = Readonly<Record<SvgRoute["kind"], GraphEdge[]>>;

function laneEdges(graph: PhaseGraph, grid: Grid): LaneEdges[] {
  const lanes = graph.scopes.map((): LaneEdges => ({ side: [], street: [], stub: [] }));
  for (const e of graph.edges) if (e.reason === "reads") lanes[grid.place.get(e.to)!.lane]![routeKind(grid, e)].push(e);
  return lanes;
}

/** Each root's street arcs on its bottom and stubs into its top, left to right. */
interface Ports {
  readonly bottom: ReadonlyMap<string, readonly GraphEdge[]>;
  readonly top: ReadonlyMap<string, readonly GraphEdge[]>;
}

function portsOf(grid: Grid, lanes: readonly LaneEdges[]): Ports {
  const bottom = new Map<string, GraphEdge[]>();
  const top = new Map<string, GraphEdge[]>();
  const add = (m: Map<string, GraphEdge[]>, id: string, e: GraphEdge) => m.set(id, [...(m.get(id) ?? []), e]);
  for (const lane of lanes) {
    for (const e of lane.street) {
      add(bottom, e.from, e);
      add(bottom, e.to, e);
    }
    for (const e of lane.stub) add(top, e.to, e);
  }
  const rankOf = (id: string) => grid.place.get(id)!.rank;
  for (const [id, edges] of bottom) {
    // Arcs to the left first, then to the right; in each group the farther end nearer the middle,
    // so that at every box the longer arc encloses the shorter.
    const other = (e: GraphEdge) => rankOf(e.from === id ? e.to : e.from);
    const side = (e: GraphEdge) => (other(e) < rankOf(id) ? 0 : 1);
    edges.sort((a, b) => side(a) - side(b) || other(b) - other(a));
  }
  return { bottom, top };
}

/** x of an edge's port on its box's bottom (a street arc), from the box's left. */
function bottomPort(ports: Ports, id: string, w: number, e: GraphEdge): number {
  const edges = ports.bottom.get(id)!;
  return Math.round((w * (edges.indexOf(e) + 1)) / (edges.length + 1));
}

/** x of a stub's port on its consumer's top, from the box's left: packed to the right, so labels stand over their own box. */
function topPort(ports: Ports, w: number, e: GraphEdge): number {
  const edges = ports.top.get(e.to)!;
  return w - (edges.length - edges.indexOf(e)) * PORT_GAP;
}

function textAt(role: TextRole, value: string, x: number, y: number, scale: number, anchor: SvgText["anchor"] = "start"): SvgText {
  return { role, text: value, x: round(x), y: round(y), anchor, size: round(TEXT[role].size * scale), width: textWidth(value, role, scale) };
}

/** A box's text: its name (wrapped at the hyphen that leaves the shorter longer line, if it must), then its caption. */
function boxText(n: GraphNode, fit: Fit): { readonly name: readonly string[]; readonly caption: string } {
  const caption = fit.shortCaptions ? `${n.resources} res` : `${n.resources} resource${n.resources === 1 ? "" : "s"}`;
  const name = shortName(n);
  let best = [name];
  if (!fit.wrapNames) return { name: best, caption };
  for (let i = name.indexOf("-"); i > 0 && i < name.length - 1; i = name.indexOf("-", i + 1)) {
    const parts = [name.slice(0, i + 1), name.slice(i + 1)];
    if (lineWidth(parts) < lineWidth(best)) best = parts;
  }
  return { name: best, caption };
}

function lineWidth(lines: readonly string[]): number {
  return Math.max(...lines.map((l) => textWidth(l, "name", 1)));
}

/** Lines of text in every box: room for a wrapped name where names wrap. */
function boxLines(fit: Fit): number {
  return fit.wrapNames ? 3 : 2;
}

/** Every box's x and width, and the columns'. */
interface Across {
  readonly frame: ReadonlyMap<string, { readonly x: number; readonly w: number }>;
  readonly columns: Layout["columns"];
  /** The lanes' inner left and right edges. */
  readonly left: number;
  readonly right: number;
}

function across(graph: PhaseGraph, grid: Grid, ports: Ports, headerY: number, fit: Fit): Across {
  const { scale } = fit;
  // A sub-column is as wide as its widest root's text or ports; a column at least as wide as its header.
  const widths = grid.subColumns.map((n) => Array<number>(n).fill(0));
  for (const n of graph.nodes) {
    const { column, sub } = grid.place.get(n.id)!;
    const portCount = Math.max(ports.bottom.get(n.id)?.length ?? 0, ports.top.get(n.id)?.length ?? 0);
    const { name, caption } = boxText(n, fit);
    const text = Math.max(...name.map((l) => textWidth(l, "name", scale)), textWidth(caption, "caption", scale)) + 2 * BOX_PAD;
    widths[column]![sub] = Math.max(widths[column]![sub]!, Math.ceil(text), (portCount + 1) * PORT_GAP);
  }
  const headers = grid.numbers.map((n) => `phase ${n}`);
  widths.forEach((subs, c) => {
    const short = Math.ceil(textWidth(headers[c]!, "header", scale)) - (subs.reduce((sum, w) => sum + w, 0) + (subs.length - 1) * SUB_GAP);
    if (short > 0) subs[subs.length - 1]! += short;
  });
  const offsets = widths.map(() => [] as number[]);
  let cursor = 0;
  widths.forEach((subs, c) => {
    if (c > 0) cursor += COLUMN_GAP;
    subs.forEach((w, s) => {
      if (s > 0) cursor += SUB_GAP;
      offsets[c]![s] = cursor;
      cursor += w;
    });
  });
  const relative = new Map(graph.nodes.map((n) => {
    const { column, sub } = grid.place.get(n.id)!;
    return [n.id, { x: offsets[column]![sub]!, w: widths[column]![sub]! }];
  }));
  // Shifted right where a stub label near the left edge would stick out.
  const overhang = Math.max(0, ...[...ports.top.values()].flat().map((e) => {
    const to = relative.get(e.to)!;
    return LEAD + textWidth(e.from, "stub", scale) - to.x - topPort(ports, to.w, e);
  }));
  const left = MARGIN + LANE_PAD + Math.ceil(overhang);
  const frame = new Map([...relative].map(([id, f]) => [id, { x: left + f.x, w: f.w }]));
  const columns = grid.numbers.map((phaseNumber, c) => {
    const x = left + offsets[c]![0]!;
    const w = offsets[c]!.at(-1)! + widths[c]!.at(-1)! - offsets[c]![0]!;
    return { phaseNumber, x, w, header: textAt("header", headers[c]!, x + w / 2, headerY, scale, "middle") };
  });
  return { frame, columns, left, right: left + cursor };
}

interface LaidLane {
  readonly lane: Layout["lanes"][number];
  readonly boxes: readonly SvgBox[];
  readonly routes: readonly SvgRoute[];
}

/**
 * One lane from `top` down: the stubs' label rows (the lane's title on the top one), the boxes,
 * then the street of arcs.
 */
function layLane(scope: string, nodes: readonly GraphNode[], edges: LaneEdges, ports: Ports, x: Across, top: number, fit: Fit): LaidLane {
  const { scale } = fit;
  const frame = (id: string) => x.frame.get(id)!;
  const rowH = 15 * scale;
  const boxH = round((8 + 14 * boxLines(fit)) * scale);
  const titleLeft = MARGIN + LANE_PAD;
  const stubs = edges.stub
    .map((e) => ({ edge: e, port: frame(e.to).x + topPort(ports, frame(e.to).w, e), width: textWidth(e.from, "stub", scale) }))
    .sort((a, b) => a.port - b.port);
  const starts = stubs.map((s) => s.port - LEAD - s.width);
  const rows = labelRows(stubs.map((s) => s.port), starts);
  // The title goes on the top row, above every stub whose label reaches under it.
  const titleEnd = titleLeft + textWidth(scope, "lane", scale);
  const titleRow = Math.max(0, ...rows.map((r, i) => (starts[i]! < titleEnd + CLEAR ? r + 1 : 0)));
  const rowCount = Math.max(titleRow, ...rows) + 1;
  const drop = (stubs.length > 0 ? 14 : 8) * scale;
  const boxTop = round(top + LANE_PAD + rowH / 2 + (rowCount - 1) * rowH + drop);
  const boxBottom = round(boxTop + boxH);
  const rowY = (row: number) => round(boxTop - drop - row * rowH);

  const boxes = nodes.map((n): SvgBox => {
    const { x: bx, w } = frame(n.id);
    const { name, caption } = boxText(n, fit);
    const line = (i: number) => boxTop + (15 + 14 * i) * scale;
    const texts = [...name.map((l, i) => textAt("name", l, bx + BOX_PAD, line(i), scale)), textAt("caption", caption, bx + BOX_PAD, line(boxLines(fit) - 1), scale)];
    return { node: n, x: bx, y: boxTop, w, h: boxH, texts };
  });
  const routes: SvgRoute[] = stubs.map((s, i) => {
    const y = rowY(rows[i]!);
    const label = textAt("stub", s.edge.from, s.port - LEAD, y + 4 * scale, scale, "end");
    return { edge: s.edge, kind: "stub", label, points: [[s.port - LEAD + 3, y], [s.port, y], [s.port, boxTop]] };
  });
  const arcs = edges.street.map((e) => ({
    edge: e,
    from: frame(e.from).x + bottomPort(ports, e.from, frame(e.from).w, e),
    to: frame(e.to).x + bottomPort(ports, e.to, frame(e.to).w, e),
  }));
  const tracks = streetTracks(arcs.map((a) => ({ lo: Math.min(a.from, a.to), hi: Math.max(a.from, a.to) })));
  arcs.forEach((a, i) => {
    const y = boxBottom + STREET_TOP + (tracks[i]! - 1) * TRACK_GAP;
    routes.push({ edge: a.edge, kind: "street", points: [[a.from, boxBottom], [a.from, y], [a.to, y], [a.to, boxBottom]] });
  });
  const mid = round(boxTop + boxH / 2);
  for (const e of edges.side) {
    const from = frame(e.from);
    const to = frame(e.to);
    const points: Point[] = from.x < to.x ? [[from.x + from.w, mid], [to.x, mid]] : [[from.x, mid], [to.x + to.w, mid]];
    routes.push({ edge: e, kind: "side", points });
  }
  const street = tracks.length > 0 ? STREET_TOP + (Math.max(...tracks) - 1) * TRACK_GAP : 0;
  const height = round(boxBottom + street + LANE_PAD + 4 - top);
  const title = textAt("lane", scope, titleLeft, rowY(rowCount - 1) + 4 * scale, scale);
  return { lane: { scope, top, height, title }, boxes, routes };
}

/** What every fit lays out alike: where each root stands, the edges each lane draws, and their ports. */
interface Shape {
  readonly grid: Grid;
  readonly edges: readonly LaneEdges[];
  readonly ports: Ports;
}

function shapeOf(graph: PhaseGraph): Shape {
  const grid = gridOf(graph);
  const edges = laneEdges(graph, grid);
  return { grid, edges, ports: portsOf(grid, edges) };
}

function layoutAt(graph: PhaseGraph, titleText: string, fit: Fit, { grid, edges, ports }: Shape): Layout {
  const { scale } = fit;
  const title = textAt("title", titleText, MARGIN, MARGIN + 14 * scale, scale);
  const headerY = title.y + 22 * scale;
  const x = across(graph, grid, ports, headerY, fit);
  const width = Math.ceil(
    Math.max(x.right + LANE_PAD + MARGIN, title.width + 2 * MARGIN, ...graph.scopes.map((s) => textWidth(s, "lane", scale) + 2 * (MARGIN + LANE_PAD))),
  );
  const lanes: LaidLane[] = [];
  let y = round(headerY + 8 * scale);
  graph.scopes.forEach((scope, i) => {
    const laid = layLane(scope, grid.laneNodes[i]!, edges[i]!, ports, x, y, fit);
    lanes.push(laid);
    y = round(y + laid.lane.height + LANE_GAP);
  });
  const routes = new Map(lanes.flatMap((l) => l.routes.map((r) => [r.edge, r] as const)));
  const note = [
    "Columns are the plan's phases, lanes its scopes. Arrows point from a root to the roots that read its outputs;",
    "a labelled arrow comes from the root it names, in another lane.",
    stateBackendNote(graph),
  ]
    .filter(Boolean)
    .join(" ");
  const notes = wrapWords(note, width - 2 * MARGIN, "note", scale).map((line, i) => textAt("note", line, MARGIN, y + (10 + i * 15) * scale, scale));
  return {
    width,
    height: Math.ceil((notes.at(-1)?.y ?? y) + MARGIN),
    fit,
    columns: x.columns,
    lanes: lanes.map((l) => l.lane),
    boxes: lanes.flatMap((l) => l.boxes),
    routes: graph.edges.filter((e) => e.reason === "reads").map((e) => routes.get(e)!),
    title,
    notes,
  };
}

/**
 * Rows (0 nearest the boxes) for stub labels that end LEAD before their port, ports ascending. A
 * label goes one row above every stub whose port it would reach over: that stub's arrow comes down
 * through the rows below its own, so no arrow crosses a label and no two labels meet.
 */
function labelRows(ports: readonly number[], starts: readonly number[]): number[] {
  const rows: number[] = [];
  ports.forEach((_, i) => {
    let row = 0;
    for (let j = 0; j < i; j++) if (ports[j]! >= starts[i]! - CLEAR) row = Math.max(row, rows[j]! + 1);
    rows.push(row);
  });
  return rows;
}

/**
 * Tracks (1 nearest the boxes) for arcs below a lane. Shortest first, each on the first free track
 * below every arc it encloses: nested arcs never cross, and arcs on one track stay CLEAR apart.
 */
function streetTracks(arcs: readonly { readonly lo: number; readonly hi: number }[]): number[] {
  const order = arcs.map((_, i) => i).sort((i, j) => arcs[i]!.hi - arcs[i]!.lo - (arcs[j]!.hi - arcs[j]!.lo) || arcs[i]!.lo - arcs[j]!.lo);
  const tracks: number[] = arcs.map(() => 0);
  const placed: number[] = [];
  for (const i of order) {
    const a = arcs[i]!;
    const near = placed.filter((j) => arcs[j]!.lo < a.hi + CLEAR && a.lo < arcs[j]!.hi + CLEAR);
    let track = 1 + Math.max(0, ...near.filter((j) => arcs[j]!.lo >= a.lo && arcs[j]!.hi <= a.hi).map((j) => tracks[j]!));
    while (near.some((j) => tracks[j] === track)) track++;
    tracks[i] = track;
    placed.push(i);
  }
  return tracks;
}

function textWidth(value: string, role: TextRole, scale: number): number {
  return widthOfUnits(textUnits(value, role), role, scale);
}

/** Advance width in 1/1000 em: additive, so a line's is the sum of its words' and spaces'. */
function textUnits(value: string, role: TextRole): number {
  const table = TEXT[role].bold ? HELVETICA_BOLD : HELVETICA;
  let units = 0;
  for (const ch of value) units += table[ch.codePointAt(0)! - 32] ?? 1000;
  return units;
}

function widthOfUnits(units: number, role: TextRole, scale: number): number {
  return round((units * TEXT[role].size * scale) / 1000);
}

/** Words into lines no wider than `maxWidth`, each line measured as it grows, not again from its start. */
function wrapWords(value: string, maxWidth: number, role: TextRole, scale: number): string[] {
  const lines: string[] = [];
  const space = textUnits(" ", role);
  let units = 0;
  for (const word of value.split(" ")) {
    const w = textUnits(word, role);
    if (lines.length > 0 && widthOfUnits(units + space + w, role, scale) <= maxWidth) {
      lines[lines.length - 1] += ` ${word}`;
      units += space + w;
    } else {
      lines.push(word);
      units = w;
    }
  }
  return lines;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function esc(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}
