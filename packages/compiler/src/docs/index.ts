/**
 * The reviewer docs under `out/docs/`, generated on every compile from the same compiled config
 * as the roots, so what reviewers read is what gets applied. Pure: returns files, writes nothing.
 * Linear in the size of the plan. The config's JSON Schema depends on caja alone unless the config
 * has modules of its own: the CLI build computes caja's (and its document) once (see schema.ts).
 */
import type { ApiModule } from "@caja/modules";
import type { Compiled } from "../pipeline.js";
import type { EmittedFile } from "../emit.js";
import { estimateCost } from "../cost/estimate.js";
import { stableStringify } from "../json.js";
import { phaseGraph } from "../graph.js";
import { renderSvg } from "../graph-svg.js";
import { environmentsPage } from "./environments.js";
import type { DocsOptions } from "./markdown.js";
import { PHASES_SVG, phasesPage } from "./phases.js";
import { configReferencePage } from "./reference.js";
import { projectJsonSchema } from "./schema.js";

export { DOC_PAGES, type DocsOptions } from "./markdown.js";

export { COST_FILE, DOCS_DIR } from "./paths.js";
import { COST_FILE, DOCS_DIR } from "./paths.js";

export function emitDocs(compiled: Pick<Compiled, "config" | "plan" | "todos">, options: DocsOptions = {}): EmittedFile[] {
  const { config, plan, todos } = compiled;
  const { schema, document } = projectJsonSchema(config.modules.map((m) => m.definition as ApiModule));
  const graph = phaseGraph(plan);
  const estimate = estimateCost(config, plan);
  const settings = (schema as { properties?: { defaults?: { properties?: Record<string, { description?: string }> } } }).properties?.defaults?.properties ?? {};
  const groupDescriptions = Object.fromEntries(Object.entries(settings).flatMap(([k, v]) => (v.description ? [[k, v.description]] : [])));
  return [
    { path: `${DOCS_DIR}/config-reference.md`, content: configReferencePage(schema, config) },
    { path: `${DOCS_DIR}/environments.md`, content: environmentsPage({ config, todos, groupDescriptions, estimate }, options) },
    // The estimate as data: what a pull request's plan comment compares with the base branch's.
    { path: `${DOCS_DIR}/${COST_FILE}`, content: stableStringify(estimate) },
    { path: `${DOCS_DIR}/phases.md`, content: phasesPage(config, plan, options, graph) },
    { path: `${DOCS_DIR}/${PHASES_SVG}`, content: renderSvg(graph, `${config.project}: phase graph`) },
    {
      path: `${DOCS_DIR}/caja.schema.json`,
      content: document,
    },
  ];
}
