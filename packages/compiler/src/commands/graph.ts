/** `caja graph`: the phase graph of the config, as Mermaid (default), Graphviz dot or JSON. */
import { compileFromDisk } from "../compile.js";
import { GRAPH_FORMATS, phaseGraph, renderGraph, type GraphFormat } from "../graph.js";
import { parseArgs, UsageError, type FlagSpec, type Io } from "./support.js";

export const usage = [
  "caja graph [--format mermaid|dot|json] [--config FILE]",
  "",
  "  Nodes are roots in apply order; an edge means the consumer reads the producer's outputs. dot and",
  "  json also carry every root's dependency on the state bucket, which mermaid leaves out.",
].join("\n");

const FLAGS: FlagSpec = { "--format": "value", "--config": "value" };

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  if (args.positional.length > 0) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  const format = args.value("--format") ?? "mermaid";
  if (!(GRAPH_FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format expects ${GRAPH_FORMATS.join(", ")}, got "${format}"`);
  const config = args.value("--config");
  const compiled = await compileFromDisk({ cwd: io.cwd, ...(config ? { config } : {}) });
  io.out(renderGraph(phaseGraph(compiled.plan), format as GraphFormat).trimEnd());
  return 0;
}
