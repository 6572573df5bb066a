/**
 * The phase graph: its model (from the plan, same as the manifest), the Mermaid, dot and JSON
 * renderings, the self-drawn SVG (its geometry: graph-layout.test.ts), and `caja graph`.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { phaseGraph, renderDot, renderGraph, renderMermaid, stateBackendNote } from "../packages/compiler/src/graph.js";
import { layoutGraph, renderSvg } from "../packages/compiler/src/graph-svg.js";
import { baseConfig, CAJA_BIN, compileWith, fileJson, repoTempDir } from "./helpers.js";

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
  const texts = (role: string) => [...svg.matchAll(new RegExp(`class="${role}"[^>]*>([^<]*)</text>`, "g"))].map((m) => m[1]!);

  it("draws every root once and every reads edge once, each with its tooltip, and is the same every time", () => {
    for (const n of graph.nodes) expect(svg).toContain(`<title>${n.id}: ${n.title}</title>`);
    const reads = graph.edges.filter((e) => e.reason === "reads");
    expect(svg.match(/<path class="edge/g)).toHaveLength(reads.length);
    for (const e of reads) expect(svg).toContain(`<title>${e.from} → ${e.to}: ${e.outputs.join(", ")}</title>`);
    expect(renderSvg(phaseGraph(compileWith().plan), "caja: phase graph")).toBe(svg);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+"/);
    expect(svg.match(/<g>/g)?.length).toBe(svg.match(/<\/g>/g)?.length);
  });

  it("heads each column with its phase and each lane with its scope, under the title", () => {
    expect(texts("title")).toEqual(["caja: phase graph"]);
    expect(texts("header")).toEqual(["phase 0", "phase 0.5", "phase 1", "phase 2", "phase 3", "phase 4", "phase 5", "phase 6", "phase 7", "phase 8", "phase 10"]);
    expect(texts("lane")).toEqual(graph.scopes);
  });

  it("names each root in its box by its directory, with its resource count", () => {
    expect(texts("name")).toEqual(layoutGraph(graph, "caja: phase graph").boxes.map((b) => b.node.id.slice(b.node.scope.length + 1)));
    const service = graph.nodes.find((n) => n.id === "dev/50-service")!;
    expect(svg).toContain(`>${service.resources} resources</text>`);
  });

  it("ends with what the drawing means and the state-backend note", () => {
    const note = texts("note").join(" ");
    expect(note).toContain("Columns are the plan's phases, lanes its scopes.");
    expect(note).toContain("Arrows point from a root to the roots that read its outputs; a labelled arrow comes from the root it names, in another lane.");
    expect(note).toContain(stateBackendNote(graph)!);
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
