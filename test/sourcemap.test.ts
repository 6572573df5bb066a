/**
 * The loader maps positions in the in-memory config bundle back to the config's source with
 * esbuild's inline source map (Node applies none to a `data:` URL). Checked against esbuild's own
 * output: every identifier of a two-file config, found in the bundle, maps to where it is written.
 */
import { buildSync } from "esbuild";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { inlineSourceMap, SourceMapper } from "../packages/compiler/src/sourcemap.js";
import { tempDir } from "./helpers.js";

/** 1-based line and column of the first `needle` in `text`, or undefined. */
function positionOf(text: string, needle: string): { line: number; column: number } | undefined {
  const at = text.indexOf(needle);
  if (at < 0) return undefined;
  const before = text.slice(0, at).split("\n");
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

describe("the config bundle's source map", () => {
  const dir = tempDir("sourcemap-");
  const helper = ["export function widen(cidrBlock: string): string {", "  return cidrBlock.replace(/\\/\\d+$/, '/16');", "}", ""].join("\n");
  const config = [
    'import { widen } from "./helper";',
    "",
    "const networkCidr = widen('10.1.0.0/24');",
    "export default {",
    "  network: { cidr: networkCidr },",
    "  alarmEmails: ['oncall@example.org'].map((address) => address.toLowerCase()),",
    "};",
    "",
  ].join("\n");
  writeFileSync(join(dir, "helper.ts"), helper);
  writeFileSync(join(dir, "caja.config.ts"), config);
  const code = buildSync({ entryPoints: [join(dir, "caja.config.ts")], absWorkingDir: dir, bundle: true, write: false, format: "esm", sourcemap: "inline", sourcesContent: false, keepNames: true }).outputFiles[0]!.text;
  const map = inlineSourceMap(code)!;
  const mapper = new SourceMapper(map);

  it.each([
    ["widen", "helper.ts", helper],
    ["cidrBlock.replace", "helper.ts", helper],
    ["networkCidr = ", "caja.config.ts", config],
    ["address.toLowerCase", "caja.config.ts", config],
  ])("maps %s back to %s, at its line and column", (needle, file, source) => {
    const generated = positionOf(code, needle)!;
    const original = positionOf(source, needle)!;
    expect(mapper.original(generated.line, generated.column)).toEqual({ source: file, ...original });
  });

  it("maps nothing on a line past the end, and refuses a map that is not base64 VLQ", () => {
    expect(mapper.original(code.split("\n").length + 10, 1)).toBeUndefined();
    expect(() => new SourceMapper({ sources: ["a.ts"], mappings: "AAAA;A!AA" }).original(1, 1)).toThrow(/bad source map character !/);
  });
});
