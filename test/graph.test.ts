/**
 * The phase graph: its model (from the plan, same as the manifest), the Mermaid, dot and JSON
 * renderings, the self-drawn SVG's layout, and `caja graph`.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { layoutGraph, phaseGraph, renderDot, renderGraph, renderMermaid, renderSvg } from "../packages/compiler/src/graph.js";
import { baseConfig, CAJA_BIN, compileWith, configWith, fileJson, repoTempDir } from "./helpers.js";

const compiled = compileWith();
const graph = phaseGraph(compiled.plan);
const manifest = fileJson(compiled, "manifest.json");

describe("the graph model", () => {
  it("has every root in apply order and every dependency of the manifest, with its reason and outputs", () => {
    expect(graph.nodes.map((n) => n.id)).toEqual(manifest.roots.map((r: any) => r.id));
    const fromManifest = manifest.roots.flatMap((r: any) => r.dependsOn.map((d: any) => `${d.root} -> ${r.id} ${d.reason} ${d.outputs.join(",")}`)).sort();
    expect(graph.edges.map((e) => `${e.from} -> ${e.to} ${e.reason} ${e.outputs.join(",")}`).sort()).toEqual(fromManifest);
    expect(graph.scopes).toEqual(["global", "dev", "staging", "prod"]);
    const service = graph.nodes.find((n) => n.id === "dev/50-service")!;
    expect(service).toMatchObject({ scope: "dev", phase: "service", phaseNumber: 5, resources: manifest.roots.find((r: any) => r.id === "dev/50-service").resources });
  });

  it("points every edge from a root applied earlier to one applied later", () => {
    const order = new Map(graph.nodes.map((n, i) => [n.id, i]));
    for (const e of graph.edges) expect(order.get(e.from)!, `${e.from} -> ${e.to}`).toBeLessThan(order.get(e.to)!);
  });
});

describe("text renderings", () => {
  it("mermaid: one box per scope, every root once, every reads edge, no state-backend edge", () => {
    const text = renderMermaid(graph);
    expect(text.split("\n")[0]).toBe("flowchart LR");
    const nodeIds = [...text.matchAll(/^ {4}(\S+)\["/gm)].map((m) => m[1]!);
    expect(nodeIds).toHaveLength(graph.nodes.length);
    expect(new Set(nodeIds).size).toBe(nodeIds.length);
    for (const id of nodeIds) expect(id).toMatch(/^[A-Za-z0-9_]+$/);
    const arrows = [...text.matchAll(/^ {2}(\S+) --> (\S+)$/gm)];
    expect(arrows).toHaveLength(graph.edges.filter((e) => e.reason === "reads").length);
    expect(text.match(/^ {2}subgraph /gm)).toHaveLength(graph.scopes.length);
    expect(text).toContain("%% Not drawn: the roots' dependency on the state bucket that global/00-bootstrap creates.");
  });

  it("dot: every edge, state-backend ones dashed", () => {
    const text = renderDot(graph);
    expect(text.match(/ -> /g)).toHaveLength(graph.edges.length);
    expect(text.match(/style=dashed/g)).toHaveLength(graph.edges.filter((e) => e.reason === "state-backend").length);
    expect(text).toContain('"global/10-domain" -> "dev/50-service" [tooltip="api_certificate_arn"];');
  });

  it("json: the model itself", () => {
    expect(JSON.parse(renderGraph(graph, "json"))).toEqual(JSON.parse(JSON.stringify(graph)));
  });
});

describe("the SVG", () => {
  const svg = renderSvg(graph, "caja: phase graph");
  const layout = layoutGraph(graph);
  const boxes = layout.items.filter((i) => i.node).map((i) => ({ id: i.node!.id, x: i.x, y: i.y, w: layout.nodeW, h: 40 }));

  it("draws every root once and every reads edge, and is the same every time", () => {
    for (const n of graph.nodes) expect(svg).toContain(`<title>${n.id}: ${n.title}</title>`);
    expect(svg.match(/<path class="edge"/g)).toHaveLength(graph.edges.filter((e) => e.reason === "reads").length);
    expect(renderSvg(phaseGraph(compileWith().plan), "caja: phase graph")).toBe(svg);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/);
    expect(svg.match(/<g>/g)?.length).toBe(svg.match(/<\/g>/g)?.length);
  });

  it("places producers left of their consumers, each scope in its own lane, with no two boxes overlapping", () => {
    const at = new Map(boxes.map((b) => [b.id, b]));
    for (const e of graph.edges) expect(at.get(e.from)!.x, `${e.from} -> ${e.to}`).toBeLessThan(at.get(e.to)!.x);
    for (const [i, a] of boxes.entries()) {
      for (const b of boxes.slice(i + 1)) {
        const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
        expect(apart, `${a.id} overlaps ${b.id}`).toBe(true);
      }
    }
    for (const lane of layout.lanes) {
      for (const b of boxes.filter((x) => graph.nodes.find((n) => n.id === x.id)!.scope === lane.scope)) {
        expect(b.y).toBeGreaterThanOrEqual(lane.top);
        expect(b.y + b.h).toBeLessThanOrEqual(lane.top + lane.height);
      }
    }
    for (const b of boxes) expect(b.x + b.w).toBeLessThanOrEqual(layout.width);
    expect(layout.lanes.at(-1)!.top + layout.lanes.at(-1)!.height).toBeLessThanOrEqual(layout.height);
  });

  it("lays out a single-environment project and a long environment name without overlap", () => {
    const small = phaseGraph(compileWith(configWith({ domain: { root: "dbash.dev" }, environments: { "customer-acceptance-eu": { tier: "prod" } } })).plan);
    const l = layoutGraph(small);
    const label = "customer-acceptance-eu".length * 7.2;
    expect(Math.min(...l.items.filter((i) => i.node).map((i) => i.x))).toBeGreaterThan(16 + label);
    expect(renderSvg(small)).toContain(">customer-acceptance-eu</text>");
  });
});

describe("caja graph", () => {
  const repo = fileURLToPath(new URL("..", import.meta.url));
  const bin = CAJA_BIN;
  const dir = repoTempDir("graph-");
  writeFileSync(join(dir, "caja.config.mjs"), `export default ${JSON.stringify(baseConfig())};\n`);
  const caja = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: "utf8" });

  it("prints mermaid by default, and dot or json on request", () => {
    const mermaid = caja("graph");
    expect(mermaid.status).toBe(0);
    expect(mermaid.stdout).toBe(renderMermaid(graph));
    expect(caja("graph", "--format", "dot").stdout).toBe(renderDot(graph));
    expect(JSON.parse(caja("graph", "--format", "json").stdout)).toEqual(JSON.parse(JSON.stringify(graph)));
  });

  it("rejects an unknown format", () => {
    const r = caja("graph", "--format", "png");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--format expects mermaid, dot, json, got "png"');
  });
});
