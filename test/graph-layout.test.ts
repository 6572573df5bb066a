/**
 * The phase graph SVG's geometry, read back from the SVG where it can be: columns in phase order,
 * one lane per scope, edges that never share a segment, arrows from other lanes labelled with their
 * producer, and text legible at the 1000 px GitHub shows the drawing at. On the repository's plan,
 * on configs of one and a hundred environments, and on small made-up graphs.
 */
import { describe, expect, it } from "vitest";
import { phaseGraph, type GraphEdge, type GraphNode, type PhaseGraph } from "../packages/compiler/src/graph.js";
import { layoutGraph, renderSvg, type Layout } from "../packages/compiler/src/graph-svg.js";
import { compileWith, configWith } from "./helpers.js";

const TITLE = "caja: phase graph";

interface Segment {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
}

interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

interface Text extends Rect {
  readonly role: string;
  readonly size: number;
  readonly text: string;
}

/** The width, every edge path's segments (in drawing order) and every text with its font size and box, from the SVG itself. */
function readSvg(svg: string): { width: number; paths: Segment[][]; texts: Text[] } {
  const width = Number(/^<svg [^>]*width="([\d.]+)"/.exec(svg)![1]);
  const style = /<style>([\s\S]*?)<\/style>/.exec(svg)![1]!;
  const sizes = new Map([...style.matchAll(/\.([\w-]+)\{font-size:([\d.]+)px/g)].map((m) => [m[1]!, Number(m[2])]));
  const paths = [...svg.matchAll(/<path class="edge[^"]*" d="([^"]*)"/g)].map((m) => segments(m[1]!));
  const texts = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" class="(\w+)"(?: text-anchor="(\w+)")? textLength="([\d.]+)"[^>]*>([^<]*)<\/text>/g)].map((m) => {
    const size = sizes.get(m[3]!);
    if (size === undefined) throw new Error(`no font size for text class ${m[3]}`);
    const w = Number(m[5]);
    const x = Number(m[1]) - (m[4] === "end" ? w : m[4] === "middle" ? w / 2 : 0);
    return { role: m[3]!, size, text: m[6]!, x, y: Number(m[2]) - 0.8 * size, w, h: size };
  });
  expect(texts).toHaveLength(svg.match(/<text /g)!.length);
  return { width, paths, texts };
}

/** A path's straight segments; anything but absolute M, L, H and V fails. */
function segments(d: string): Segment[] {
  expect(d, d).toMatch(/^M[\d.]+,[\d.]+( ([LHV])[\d.,]+)*$/);
  const out: Segment[] = [];
  let [x, y] = [0, 0];
  for (const [, cmd, args] of d.matchAll(/([MLHV])([\d.,]+)/g)) {
    const n = args!.split(",").map(Number);
    const [nx, ny] = cmd === "M" || cmd === "L" ? [n[0]!, n[1]!] : cmd === "H" ? [n[0]!, y] : [x, n[0]!];
    if (cmd !== "M") out.push({ x1: x, y1: y, x2: nx, y2: ny });
    [x, y] = [nx, ny];
  }
  return out;
}

/** How long two segments run along each other: 0 unless they are collinear and overlap. */
function sharedLength(a: Segment, b: Segment): number {
  const span = (p: number, q: number, r: number, s: number) => Math.min(Math.max(p, q), Math.max(r, s)) - Math.max(Math.min(p, q), Math.min(r, s));
  if (a.y1 === a.y2 && b.y1 === b.y2 && a.y1 === b.y1) return span(a.x1, a.x2, b.x1, b.x2);
  if (a.x1 === a.x2 && b.x1 === b.x2 && a.x1 === b.x1) return span(a.y1, a.y2, b.y1, b.y2);
  return 0;
}

/** Whether a horizontal or vertical segment runs through the inside of a rectangle (touching its edge does not count). */
function crosses(s: Segment, r: Rect): boolean {
  const [lo, hi] = s.y1 === s.y2 ? [Math.min(s.x1, s.x2), Math.max(s.x1, s.x2)] : [Math.min(s.y1, s.y2), Math.max(s.y1, s.y2)];
  if (s.y1 === s.y2) return s.y1 > r.y && s.y1 < r.y + r.h && hi > r.x && lo < r.x + r.w;
  return s.x1 > r.x && s.x1 < r.x + r.w && hi > r.y && lo < r.y + r.h;
}

function apart(a: Rect, b: Rect): boolean {
  return a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
}

function inside(inner: Rect, outer: Rect): boolean {
  return inner.x >= outer.x && inner.y >= outer.y && inner.x + inner.w <= outer.x + outer.w && inner.y + inner.h <= outer.y + outer.h;
}

function onBorder([x, y]: readonly [number, number], r: Rect): boolean {
  const near = (a: number, b: number) => Math.abs(a - b) < 1e-6;
  const withinX = x >= r.x && x <= r.x + r.w;
  const withinY = y >= r.y && y <= r.y + r.h;
  return (withinX && (near(y, r.y) || near(y, r.y + r.h))) || (withinY && (near(x, r.x) || near(x, r.x + r.w)));
}

/** A made-up graph: nodes as `[id, phase number]` (the phase is the id's part after `NN-`), edges as `[from, to]`, all `reads`. */
function graphOf(nodes: readonly (readonly [string, number])[], edges: readonly (readonly [string, string])[]): PhaseGraph {
  const graphNodes: GraphNode[] = nodes.map(([id, phaseNumber]) => {
    const [scope, dir] = id.split("/") as [string, string];
    return { id, scope, phase: dir.replace(/^\d+-/, ""), phaseNumber, title: dir, resources: 3, outputs: ["out"] };
  });
  const graphEdges: GraphEdge[] = edges.map(([from, to]) => ({ from, to, reason: "reads", outputs: ["out"] }));
  return { nodes: graphNodes, edges: graphEdges, scopes: [...new Set(graphNodes.map((n) => n.scope))] };
}

/** The repository's graph with some roots and `reads` edges added. */
function extended(nodes: readonly (readonly [string, number])[], edges: readonly (readonly [string, string])[]): PhaseGraph {
  const extra = graphOf(nodes, edges);
  return { nodes: [...repo.nodes, ...extra.nodes], edges: [...repo.edges, ...extra.edges], scopes: repo.scopes };
}

/**
 * Everything the drawing promises, checked on `graph`'s layout and SVG. Problems are collected and
 * compared once: a hundred environments make millions of pairs.
 */
function expectReadable(graph: PhaseGraph): { layout: Layout; svg: string } {
  const layout = layoutGraph(graph, TITLE);
  const svg = renderSvg(graph, TITLE);
  const { width, paths, texts } = readSvg(svg);
  const problems: string[] = [];
  const check = (ok: boolean, problem: () => string) => {
    if (!ok) problems.push(problem());
  };
  const box = new Map(layout.boxes.map((b) => [b.node.id, b]));
  expect([...box.keys()].sort()).toEqual(graph.nodes.map((n) => n.id).sort());

  // Columns: phase numbers in order, each root in its phase's column, one x per phase.
  const numbers = [...new Set(graph.nodes.map((n) => n.phaseNumber))].sort((a, b) => a - b);
  expect(layout.columns.map((c) => c.phaseNumber)).toEqual(numbers);
  for (const [i, c] of layout.columns.entries()) {
    const members = layout.boxes.filter((b) => b.node.phaseNumber === c.phaseNumber);
    for (const b of members) check(b.x >= c.x && b.x + b.w <= c.x + c.w, () => `${b.node.id} is outside the column of phase ${c.phaseNumber}`);
    const next = layout.columns[i + 1];
    if (next) check(c.x + c.w < next.x, () => `phase ${c.phaseNumber} reaches phase ${next.phaseNumber}`);
    for (const phase of new Set(members.map((b) => b.node.phase))) {
      const xs = new Set(members.filter((b) => b.node.phase === phase).map((b) => b.x));
      check(xs.size === 1, () => `phase ${phase} stands at ${[...xs].join(", ")}`);
    }
  }

  // Lanes: one per scope, top to bottom; every root in its lane, no two boxes overlapping.
  expect(layout.lanes.map((l) => l.scope)).toEqual(graph.scopes);
  const lane = new Map(layout.lanes.map((l) => [l.scope, { x: 8, y: l.top, w: width - 16, h: l.height }]));
  for (const [i, l] of layout.lanes.entries()) if (i > 0) check(l.top > layout.lanes[i - 1]!.top + layout.lanes[i - 1]!.height, () => `lane ${l.scope} overlaps the one above`);
  for (const b of layout.boxes) check(inside(b, lane.get(b.node.scope)!), () => `${b.node.id} is outside lane ${b.node.scope}`);
  for (const [i, a] of layout.boxes.entries()) for (const b of layout.boxes.slice(i + 1)) check(apart(a, b), () => `${a.node.id} overlaps ${b.node.id}`);

  // Edges: every reads edge once, straight segments from its producer (or its label) to its
  // consumer, inside the consumer's lane, through no box, on ports of its own.
  const reads = graph.edges.filter((e) => e.reason === "reads");
  expect(layout.routes.map((r) => r.edge)).toEqual(reads);
  expect(paths).toHaveLength(reads.length);
  const ports = new Map<string, string[]>();
  const port = (id: string, [x, y]: readonly [number, number]) => ports.set(id, [...(ports.get(id) ?? []), `${x},${y}`]);
  for (const [i, r] of layout.routes.entries()) {
    const name = `${r.edge.from} -> ${r.edge.to}`;
    expect(paths[i]!.map((s) => [s.x2, s.y2]), name).toEqual(r.points.slice(1));
    for (const s of paths[i]!) check(s.x1 === s.x2 || s.y1 === s.y2, () => `${name} has a slanted segment`);
    for (const [x, y] of r.points) check(inside({ x, y, w: 0, h: 0 }, lane.get(box.get(r.edge.to)!.node.scope)!), () => `${name} leaves its consumer's lane`);
    check(onBorder(r.points.at(-1)!, box.get(r.edge.to)!), () => `${name} does not end on its consumer`);
    port(r.edge.to, r.points.at(-1)!);
    if (r.kind !== "stub") {
      check(onBorder(r.points[0]!, box.get(r.edge.from)!), () => `${name} does not start on its producer`);
      port(r.edge.from, r.points[0]!);
    }
    for (const b of layout.boxes) for (const s of paths[i]!) check(!crosses(s, b), () => `${name} runs through ${b.node.id}`);
  }
  for (const [id, points] of ports) check(new Set(points).size === points.length, () => `${id} has edges sharing a port: ${points.join(" ")}`);
  const all = paths.flatMap((p, i) => p.map((s) => ({ s, i })));
  for (const [k, a] of all.entries()) {
    for (const b of all.slice(k + 1)) {
      if (a.i !== b.i && sharedLength(a.s, b.s) > 0) problems.push(`${layout.routes[a.i]!.edge.from} -> ${layout.routes[a.i]!.edge.to} and ${layout.routes[b.i]!.edge.from} -> ${layout.routes[b.i]!.edge.to} share a segment`);
    }
  }

  // Edges from another lane: a stub whose label names the producer and ends just before the stub starts.
  for (const r of layout.routes) {
    const name = `${r.edge.from} -> ${r.edge.to}`;
    const across = box.get(r.edge.from)!.node.scope !== box.get(r.edge.to)!.node.scope;
    check((r.kind === "stub") === across, () => `${name} is drawn as ${r.kind}`);
    if (!across) continue;
    const label = r.label!;
    const [x, y] = r.points[0]!;
    check(label.text === r.edge.from && label.anchor === "end", () => `${name} is labelled ${label.text}`);
    check(x - label.x > 0 && x - label.x <= 6 && Math.abs(label.y - label.size * 0.35 - y) < 2, () => `${name}'s label is not at the start of its arrow`);
    check(svg.includes(`${r.edge.outputs.join(", ")}</title><path class="edge from-lane" d="M${x},${y}`), () => `${name}'s arrow is not drawn with its label`);
  }

  // Text: legible at 1000 px, inside the drawing, in a box only if it is that box's own, clear of other text and of every edge.
  for (const t of texts) check((t.size * 1000) / width >= 11, () => `"${t.text}" renders at ${(t.size * 1000) / width}px`);
  for (const t of texts) check(t.x >= 0 && t.x + t.w <= width, () => `"${t.text}" sticks out`);
  for (const t of texts) {
    const holder = layout.boxes.find((b) => !apart(t, b));
    if (t.role === "name" || t.role === "caption") check(!!holder && inside(t, holder) && holder.texts.some((x) => x.text === t.text), () => `"${t.text}" is not inside its box`);
    else check(!holder, () => `"${t.text}" overlaps ${holder!.node.id}`);
  }
  for (const [i, a] of texts.entries()) for (const b of texts.slice(i + 1)) check(apart(a, b), () => `"${a.text}" overlaps "${b.text}"`);
  for (const t of texts) for (const [i, p] of paths.entries()) for (const s of p) check(!crosses(s, t), () => `${layout.routes[i]!.edge.from} -> ${layout.routes[i]!.edge.to} crosses "${t.text}"`);
  expect(problems.slice(0, 20)).toEqual([]);
  return { layout, svg };
}

const repo = phaseGraph(compileWith().plan);

describe("the phase graph SVG on real configs", () => {
  it("the repository's plan: phases left to right, scopes top to bottom, no shared segment, full names at 11 px or more within 1000 px", () => {
    const { layout } = expectReadable(repo);
    expect(layout.width).toBeLessThanOrEqual(1000);
    expect(layout.fit).toEqual({ shortCaptions: false, wrapNames: false, scale: 1 });
    expect(layout.columns.map((c) => c.phaseNumber)).toEqual([0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 10]);
    const x = (id: string) => layout.boxes.find((b) => b.node.id === id)!.x;
    expect(x("global/90-hardening")).toBe(x("prod/90-hardening"));
    expect(x("dev/50-service")).toBeLessThan(x("dev/60-static-site"));
  });

  it("the repository's plan: every global root an environment reads is named on an arrow into the reader", () => {
    const { layout } = expectReadable(repo);
    const stubs = layout.routes.filter((r) => r.kind === "stub").map((r) => `${r.label!.text} -> ${r.edge.to}`);
    expect(stubs).toEqual(repo.edges.filter((e) => e.reason === "reads" && e.from.startsWith("global/") && !e.to.startsWith("global/")).map((e) => `${e.from} -> ${e.to}`));
    expect(stubs).toContain("global/10-domain -> staging/50-service");
    expect(stubs).toContain("global/00-bootstrap -> prod/70-dns");
  });

  it("a single environment, and a long environment name", () => {
    expectReadable(phaseGraph(compileWith(configWith({ environments: { prod: {} } })).plan));
    const { svg } = expectReadable(phaseGraph(compileWith(configWith({ domain: { root: "dbash.dev" }, environments: { "customer-acceptance-eu": { tier: "prod" } } })).plan));
    expect(svg).toContain(">customer-acceptance-eu</text>");
  });

  it("a hundred environments: laid out in linear time, and as readable", () => {
    const envs = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`env${i}`, {}]));
    const big = phaseGraph(compileWith(configWith({ environments: envs })).plan);
    const start = performance.now();
    renderSvg(big, TITLE);
    expect(performance.now() - start).toBeLessThan(1000);
    const { layout } = expectReadable(big);
    expect(layout.lanes).toHaveLength(101);
  });
});

describe("the phase graph SVG on made-up graphs", () => {
  it("a module's phase between two of the plan's gets its own column, in order", () => {
    const { layout } = expectReadable(
      extended(
        [["dev/35-queue", 3.5], ["prod/35-queue", 3.5]],
        [["dev/20-network", "dev/35-queue"], ["dev/35-queue", "dev/50-service"], ["global/10-domain", "prod/35-queue"]],
      ),
    );
    expect(layout.columns.map((c) => c.phaseNumber)).toEqual([0, 0.5, 1, 2, 3, 3.5, 4, 5, 6, 7, 8, 10]);
  });

  it("two phases of one number share its column, side by side where one scope has both", () => {
    const { layout } = expectReadable(
      graphOf(
        [["global/00-base", 0], ["global/90-cost", 10], ["dev/20-net", 2], ["dev/35-queue", 3.5], ["dev/35-search", 3.5], ["dev/90-hardening", 10]],
        [["dev/20-net", "dev/35-queue"], ["dev/35-queue", "dev/35-search"], ["dev/20-net", "dev/35-search"], ["global/00-base", "dev/35-search"]],
      ),
    );
    const at = (id: string) => layout.boxes.find((b) => b.node.id === id)!;
    expect(at("dev/35-queue").x + at("dev/35-queue").w).toBeLessThan(at("dev/35-search").x);
    expect(at("global/90-cost").x).toBe(at("dev/90-hardening").x);
  });

  it("an edge against phase order, and one within a phase across lanes, keep to the same rules", () => {
    expectReadable(
      graphOf(
        [["global/00-a", 0], ["global/90-z", 10], ["dev/20-b", 2], ["dev/30-c", 3], ["dev/40-d", 4], ["dev/80-e", 8], ["dev/90-f", 10]],
        [["dev/80-e", "dev/30-c"], ["dev/40-d", "dev/30-c"], ["dev/20-b", "dev/80-e"], ["global/90-z", "dev/90-f"], ["dev/20-b", "global/90-z"], ["global/00-a", "global/90-z"]],
      ),
    );
  });

  it("a label for a root in the first column moves the drawing right rather than past its edge", () => {
    const { layout } = expectReadable(graphOf([["global/00-bootstrap-with-a-long-name", 0], ["dev/00-x", 0]], [["global/00-bootstrap-with-a-long-name", "dev/00-x"]]));
    const label = layout.routes[0]!.label!;
    expect(label.x - label.width).toBeGreaterThanOrEqual(14);
  });

  it("a root reading several roots of another lane gets one labelled arrow per producer, each on its own port", () => {
    const { layout } = expectReadable(
      graphOf(
        [["global/00-a", 0], ["global/05-b", 0.5], ["global/10-c", 1], ["dev/20-x", 2], ["dev/30-y", 3]],
        [["global/00-a", "dev/30-y"], ["global/05-b", "dev/30-y"], ["global/10-c", "dev/30-y"], ["global/10-c", "dev/20-x"], ["dev/20-x", "dev/30-y"]],
      ),
    );
    expect(layout.routes.filter((r) => r.edge.to === "dev/30-y" && r.kind === "stub").map((r) => r.label!.text)).toEqual(["global/00-a", "global/05-b", "global/10-c"]);
  });

  /** One lane of `names` as phases 0, 1, 2 …, each read by the next. */
  const chain = (names: readonly string[]) => {
    const nodes = names.map((n, i) => [`dev/${String(i * 10).padStart(2, "0")}-${n}`, i] as const);
    return graphOf(nodes, nodes.slice(1).map(([id], i) => [nodes[i]![0], id] as const));
  };
  const longNames = ["bootstrap-things", "identity-and-access", "domain-and-certs", "network-core", "persistence-layer", "queue-workers", "search-indexing", "platform-cluster", "service-runtime", "static-site-cdn", "dns-records"];

  it("too many phases for full names: captions shorten and names wrap at a hyphen, fonts unchanged", () => {
    const { layout } = expectReadable(chain(longNames));
    expect(layout.fit).toEqual({ shortCaptions: true, wrapNames: true, scale: 1 });
    expect(layout.boxes.find((b) => b.node.id === "dev/10-identity-and-access")!.texts.map((t) => t.text)).toEqual(["10-identity-", "and-access", "3 res"]);
  });

  it("more phases still: fonts grow so that text still renders at 11 px or more at 1000 px", () => {
    const { layout } = expectReadable(chain([...longNames, "observability-stack"]));
    expect(layout.fit.wrapNames).toBe(true);
    expect(layout.fit.scale).toBeGreaterThan(1);
    expect(layout.fit.scale).toBeLessThanOrEqual(1.5);
  });
});
