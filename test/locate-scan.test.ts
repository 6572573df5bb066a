/**
 * The scanner that places a config path without TypeScript (locate-scan.ts) answers exactly as the
 * ts-morph walk of locate.ts does, or not at all: compared path by path over the repository's
 * config, the fixtures, hand-written sources full of traps and generated ones. It answers every
 * path of a config written as literals, so a compile that reports such a mistake loads neither
 * TypeScript nor ts-morph.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { Node, Project } from "ts-morph";
import { describe, expect, it } from "vitest";
import { locatePaths, locateWithTypeScript, type SourceLocation } from "../packages/compiler/src/locate.js";
import { scanLocations } from "../packages/compiler/src/locate-scan.js";
import { CAJA_BIN, lineColOf, repoTempDir, tempDir } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const probe = join(repo, "test/fixtures-probe.cjs");
type Path = readonly PropertyKey[];

interface Comparison {
  /** Paths the scanner placed differently from ts-morph. */
  readonly wrong: { path: Path; scanned: SourceLocation; typescript: SourceLocation | undefined }[];
  /** Paths the scanner left to ts-morph. */
  readonly unanswered: Path[];
}

async function compare(file: string, paths: readonly Path[]): Promise<Comparison> {
  const scanned = scanLocations(file, paths);
  const typescript = await locateWithTypeScript(file, paths);
  const wrong: Comparison["wrong"] = [];
  const unanswered: Path[] = [];
  paths.forEach((path, i) => {
    const s = scanned[i];
    if (!s) unanswered.push(path);
    else if (JSON.stringify(s) !== JSON.stringify(typescript[i])) wrong.push({ path, scanned: s, typescript: typescript[i] });
  });
  return { wrong, unanswered };
}

/**
 * Every path ts-morph can see written in the file's default export (through calls, `as`, spreads
 * and variables of the same file), each also extended by keys and indexes that are not there.
 */
function writtenPaths(file: string): Path[] {
  const project = new Project({ skipAddingFilesFromTsConfig: true, compilerOptions: { allowJs: true, noEmit: true } });
  const source = project.addSourceFileAtPath(file);
  const root = source.getExportAssignment((e) => !e.isExportEquals())?.getExpression();
  const paths: Path[] = [[]];
  const seen = new Set<Node>();
  const visit = (node: Node | undefined, path: Path): void => {
    const value = node && unwrap(node);
    if (!value || seen.has(value) || path.length > 12) return;
    seen.add(value);
    if (Node.isObjectLiteralExpression(value)) {
      for (const prop of value.getProperties()) {
        if (Node.isSpreadAssignment(prop)) visit(prop.getExpression(), path);
        else if (Node.isPropertyAssignment(prop) || Node.isShorthandPropertyAssignment(prop) || Node.isMethodDeclaration(prop) || Node.isGetAccessorDeclaration(prop)) {
          const key = prop.getName().replace(/^["'](.*)["']$/, "$1");
          paths.push([...path, key]);
          visit(Node.isPropertyAssignment(prop) ? prop.getInitializer() : Node.isShorthandPropertyAssignment(prop) ? prop.getNameNode() : undefined, [...path, key]);
        }
      }
    } else if (Node.isArrayLiteralExpression(value)) {
      value.getElements().forEach((element, i) => {
        paths.push([...path, i]);
        visit(element, [...path, i]);
      });
    }
    seen.delete(value);
  };
  visit(root, []);
  return withMissing(paths);
}

/** ts-morph's view through wrappers and variables, to find what is written (not the walker under test). */
function unwrap(node: Node): Node | undefined {
  if (Node.isParenthesizedExpression(node) || Node.isAsExpression(node) || Node.isSatisfiesExpression(node) || Node.isNonNullExpression(node)) return unwrap(node.getExpression());
  if (Node.isCallExpression(node)) return node.getArguments()[0] && unwrap(node.getArguments()[0]!);
  if (Node.isIdentifier(node)) {
    const decl = node.getSymbol()?.getDeclarations()[0];
    return decl && Node.isVariableDeclaration(decl) ? decl.getInitializer() : undefined;
  }
  return node;
}

/** Each path, and each extended by what is not there: a missing key, an index, a key the corpus often uses. */
function withMissing(paths: readonly Path[]): Path[] {
  const all = paths.flatMap((p) => [p, [...p, "noSuchField"], [...p, 0], [...p, 7], [...p, "a"], [...p, "0"]]);
  return [...new Map(all.map((p) => [JSON.stringify(p), p])).values()];
}

function written(name: string, text: string): string {
  const file = join(tempDir("locate-scan-"), name);
  writeFileSync(file, text);
  return file;
}

/** Sources that trip a careless scanner; each is compared with ts-morph for all its paths. */
const TRAPS: Record<string, string> = {
  "comments-strings-templates.ts": `import { defineConfig } from "caja";
/* export default { nope: 1 } */
// export default { "also": "nope" }
const tpl = \`x\`;
if (tpl) /[}]/.test(tpl);
export default defineConfig({
  // a comment with a brace } and a quote ' and a "string
  a: "a } string // not a comment",
  /* block { with [ brackets ( and \` a backtick */ b: 'it\\'s "quoted" }',
  c: \`template \${ { inner: "}" }["inner"] } with \${ \`nested \${ [1, 2].length }\` } end\`,
  "quoted key": { deep: [1, { x: 1, y: [ { z: "}" } ] }, 3,], },
  'single': 1,
  0: "zero", 12: "twelve",
  d: /[/}\\]]+/g, e: 10 / 2 / 1, f: (1 + 2) / 3, g: [4][0] / 2,
  // Read as a regex, \`/ 2, zz: 1 /\` would hide the key zz.
  yy: ({ default: 4 }).default / 2, zz: 1 / 2,
  h: [ , 1, , { i: 1 }, ],
  j: { k: 1 } as const,
  l: ({ m: [{ n: 1 }] }) satisfies object,
  o: ((({ p: 1 })))!,
  "q r": { s: -1, t: +2, u: 1e-5, v: 0x10, w: 1_000, x: .5 },
}) satisfies unknown;
`,
  "unicode-crlf-tabs.ts": "export default {\r\n\tnote: \"é😀 ü\", count: -1,\r\n\t// ✓ ünïcödé 😀😀\r\n\té: { ß: 1 },\r\n\t\"日本\": [\t1,\t{ 𝒳: 2 } ],\r\n};\r\n",
  "no-semicolon.mjs": "export default {\n  a: { b: [1, 2] },\n  c: 'x' }\nexport const other = 1\n",
  // TypeScript reads JSX in a .js file: its text \`/* \` opens no comment, so the first default export is the one.
  "jsx.js": "const el = <p>/* </p>;\nexport default { a: 1, b: { c: 2 } };\n// */ export default { a: 1 };\n",
  // A lone carriage return starts a column (not a line) for ts-morph.
  "lone-carriage-return.ts": "export default {\n  a: 1, /* \r */ b: { c: 2 },\n};\n",
  "javascript.js": "const re = /a\\/b/;\nexport default {\n  a: re.source.length > 1 ? 1 : 2,\n  b: { c: [1, 2, 3].map((x) => x / 2) },\n  d: `${1 < 2}`,\n};\n",
  "variables-spreads.ts": `const shared = { region: "us-east-1", tags: { a: "1" } };
const prod = { service: { desiredCount: 2 } };
const key = "k";
function env(name: string) { return { name }; }
export default {
  ...shared,
  [key]: 1,
  method() { return 1; },
  get getter() { return 2; },
  region: "eu-west-1",
  environments: { prod, dev: env("dev"), staging: { ...prod, service: { desiredCount: 3 } } },
  arrow: () => ({ a: 1 }),
  call: structuredClone({ a: { b: 1 } }),
  member: shared.tags,
  generic: { fresh: new Map<string, number>(), after: 1 },
  dup: { first: 1 },
  dup: { second: 2 },
  list: [...[1, 2], { a: 1 }],
  late: { a: 1, ...{ b: 1 } },
  tail: 1,
};
`,
  "through-a-variable.ts": "const config = { a: { b: 1 } };\nexport default config;\n",
  "export-default-function.ts": "export default function () {\n  return { a: 1 };\n}\n",
  "as-on-a-new-line.ts": "export default { a: { b: 1 } }\nas const;\n",
  "generic-call.ts": "declare function define<T>(c: T): T;\nexport default define<{ a: number, b: number }>({ a: 1, b: 2 });\n",
  "generic-commas.ts": "declare function f<A, B>(x: unknown): unknown;\nexport default { list: [f<string, number>(1), { a: 1 }], a: 1 };\n",
  "regex-after-brace.ts": "if (true) {}\n/}{/.test('x');\nexport default { a: 1 };\n",
  "byte-order-mark.ts": "\uFEFFexport default {\n  a: 1,\n  b: { c: 2 },\n};\n",
  "two-calls.ts": "declare function f(x: unknown): (y: unknown) => unknown;\nexport default f({ a: 1 })({ b: 2 });\n",
  "optional-call.ts": "declare const f: ((x: unknown) => unknown) | undefined;\nexport default f?.({ a: 1 });\n",
  "escaped-keys.ts": 'export default { "a\\u0062": 1, ab: { c: 1 }, 1.50: 2, 0x10: 3, "1.5": 4, 16: 5 };\n',
};

describe("the scanner against ts-morph's walk", () => {
  it("places every path written as literals in the repository's config, as ts-morph does", async () => {
    const file = join(repo, "caja.config.ts");
    const paths = writtenPaths(file);
    expect(paths.length).toBeGreaterThan(200);
    const r = await compare(file, paths);
    expect(r.wrong).toEqual([]);
    expect(r.unanswered).toEqual([]);
  });

  it("places the fixture project's config and its module file as ts-morph does (or leaves them to it)", async () => {
    for (const name of ["caja.config.ts", "modules/queue.ts"]) {
      const file = join(repo, "test/fixtures/user-module", name);
      const r = await compare(file, writtenPaths(file));
      expect(r.wrong).toEqual([]);
    }
    const config = join(repo, "test/fixtures/user-module/caja.config.ts");
    // `modules: [queue]` is a variable: only paths into it are left to ts-morph.
    expect((await compare(config, writtenPaths(config))).unanswered.every((p) => p[0] === "modules" && p.length > 2)).toBe(true);
  });

  it.each(Object.keys(TRAPS))("gives ts-morph's answer or none for every path of %s", async (name) => {
    const file = written(name, TRAPS[name]!);
    const extra: Path[] = [["environments", "prod", "service", "desiredCount"], ["environments", "staging", "service"], ["call", "a", "b"], ["arrow", "a"], ["dup", "first"], ["dup", "second"]];
    const r = await compare(file, withMissing([...writtenPaths(file), ...extra]));
    expect(r.wrong).toEqual([]);
  });

  it("answers the paths of the tricky literal sources (comments, strings, templates, holes, CRLF and CR, non-ASCII)", async () => {
    for (const name of ["comments-strings-templates.ts", "unicode-crlf-tabs.ts", "no-semicolon.mjs", "byte-order-mark.ts", "lone-carriage-return.ts"]) {
      const file = written(name, TRAPS[name]!);
      const r = await compare(file, writtenPaths(file));
      // Left to ts-morph: holes in an array (no value), and paths past arithmetic (which the walk does not enter).
      const hole = (p: Path) => p[0] === "h" && (p[1] === 0 || p[1] === 2);
      const pastArithmetic = (p: Path) => ["e", "f", "g", "yy", "zz"].includes(p[0] as string) && p.length > 1;
      expect(r.wrong).toEqual([]);
      expect(r.unanswered.filter((p) => !hole(p) && !pastArithmetic(p))).toEqual([]);
    }
  });

  it("leaves to ts-morph what a later spread, shorthand, method or computed key may supply, and answers past them", async () => {
    const file = written("spreads.ts", TRAPS["variables-spreads.ts"]!);
    const paths: Path[] = [["tail"], ["late", "a"], ["region"], ["method"], ["environments", "prod"], ["environments", "staging", "service"], ["environments", "dev", "name"], ["dup", "second"], ["dup", "first"], ["list", 1], ["call", "a", "b"], ["generic", "after"]];
    const text = TRAPS["variables-spreads.ts"]!;
    const at = (needle: string) => lineColOf(text, needle);
    expect(scanLocations(file, paths).map((l) => l && `${l.line}:${l.column}`)).toEqual([
      at("tail:"),
      // `...{ b: 1 }` comes after `a`: it may hold an `a` too.
      undefined,
      // A spread, computed key, method and getter before `region` cannot override it.
      at('region: "eu-west-1"'),
      undefined,
      // `prod` is shorthand, and the walk reaches it before `dev` and `staging`.
      undefined,
      at("service: { desiredCount: 3 }"),
      // A call's first argument is a string: the walk stops at `dev`.
      at("dev: env"),
      at("second"),
      // `dup: { second: 2 }` is the value at run time: `first` is not there, so the walk stops at `dup`.
      at("dup: { second"),
      // Elements are counted as written, the spread as one.
      at("{ a: 1 }],"),
      at("b: 1 } })"),
      // `new Map<string, number>()`: a comma between `<` and `>` may separate type arguments, not members.
      undefined,
    ]);
    expect((await compare(file, paths)).wrong).toEqual([]);
  });

  it("counts a column in UTF-16 code units, as ts-morph does, after non-ASCII text on the same line", async () => {
    const text = TRAPS["unicode-crlf-tabs.ts"]!;
    const file = written("columns.ts", text);
    const [count, nested] = scanLocations(file, [["count"], ["日本", 1, "𝒳"]]);
    // `\tnote: "é😀 ü", count`: 16 code units (the emoji is two) before `count`.
    expect(count).toEqual({ file, line: 2, column: 17 });
    expect(nested).toEqual({ file, line: 5, column: 15 });
    expect(await locateWithTypeScript(file, [["count"], ["日本", 1, "𝒳"]])).toEqual([count, nested]);
  });

  it("names the file as ts-morph does when given a relative path", async () => {
    const file = written("relative.ts", "export default { a: 1 };\n");
    const rel = relative(process.cwd(), file);
    const [scanned] = scanLocations(rel, [["a"]]);
    expect(scanned).toEqual({ file, line: 1, column: 18 });
    expect(await locateWithTypeScript(rel, [["a"]])).toEqual([scanned]);
  });

  it("leaves the whole file to ts-morph when it cannot tell a regex from a division, or the file is no script it reads", () => {
    const answers = (name: string, text: string) => scanLocations(written(name, text), [["a"]])[0];
    expect(answers("regex.ts", TRAPS["regex-after-brace.ts"]!)).toBeUndefined();
    expect(answers("jsx.js", TRAPS["jsx.js"]!)).toBeUndefined();
    expect(answers("config.tsx", "export default { a: 1 };\n")).toBeUndefined();
    expect(answers("config.cjs", "export default { a: 1 };\n")).toBeUndefined();
    expect(answers("plain.ts", "export default { a: 1 };\n")).toBeDefined();
  });
});

/** A generated config: object and array literals, some written as TypeScript a scanner may misread. */
type Tree = { kind: "leaf"; text: string } | { kind: "object"; members: Member[] } | { kind: "array"; elements: (Tree | "hole" | "spread")[]; trailingComma: boolean };
type Member = { key: string; runtime: PropertyKey; value: Tree; asConst: boolean } | { special: string; name: string };

const LITERAL_LEAVES = ["1", "-1", "0.5", '"}"', "'//'", '"/*"', "`t${ {a: \"}\"}.a }`", "/[/}]+/g", "true", "null", '"s" as const'];
const OTHER_LEAVES = ["x", "f({ a: 1, b: [2] })", "1 / 2", "() => ({ a: 1 })", "x.a", "new Map<string, number>()", "k < 1 ? 2 : 3"];
const LITERAL_KEYS: [string, PropertyKey][] = [
  ["a", "a"],
  ["b", "b"],
  ["default", "default"],
  ["é", "é"],
  ["$x", "$x"],
  ["'a'", "a"],
  ['"b c"', "b c"],
  ['"}"', "}"],
  ["'//'", "//"],
  ["0", "0"],
  ["1", "1"],
  ["10", "10"],
];
const OTHER_KEYS: [string, PropertyKey][] = [
  ["1.5", "1.5"],
  ["0x1", "1"],
  ['"a\\u0062"', "ab"],
];
const SPECIALS = [
  { special: "...x", name: "a" },
  { special: "x", name: "x" },
  { special: "m() { return { a: 1 }; }", name: "m" },
  { special: "get g() { return 1; }", name: "g" },
  { special: "[k]: 1", name: "a" },
];
const TRIVIA = [" ", "", "\n", "\r\n  ", "\t", "/* { ' \" ` } */", "// } { ' \" `\n", "\n  // é😀 ][\n  ", " /*\n*/ "];

function trees(literal: boolean): fc.Arbitrary<Tree> {
  const leaf = fc.constantFrom(...LITERAL_LEAVES, ...(literal ? [] : OTHER_LEAVES)).map((text): Tree => ({ kind: "leaf", text }));
  const key = fc.constantFrom(...LITERAL_KEYS, ...(literal ? [] : OTHER_KEYS));
  return fc.letrec<{ tree: Tree; object: Tree; array: Tree; member: Member; element: Tree | "hole" | "spread" }>((tie) => ({
    tree: fc.oneof({ depthSize: "small", maxDepth: 4 }, leaf, tie("object"), tie("array")),
    object: fc.array(tie("member"), { maxLength: 5 }).map((members): Tree => ({ kind: "object", members })),
    member: fc.oneof(
      { weight: 8, arbitrary: fc.record({ key, value: tie("tree"), asConst: fc.boolean() }).map(({ key: [k, runtime], value, asConst }): Member => ({ key: k, runtime, value, asConst })) },
      ...(literal ? [] : [{ weight: 1, arbitrary: fc.constantFrom<Member>(...SPECIALS) }]),
    ),
    array: fc.record({ elements: fc.array(tie("element"), { maxLength: 4 }), trailingComma: fc.boolean() }).map(({ elements, trailingComma }): Tree => ({ kind: "array", elements, trailingComma })),
    element: fc.oneof({ weight: 8, arbitrary: tie("tree") }, ...(literal ? [] : [{ weight: 1, arbitrary: fc.constantFrom("hole" as const, "spread" as const) }])),
  })).tree;
}

/** The source text of a tree, with trivia (comments, line breaks, tabs) from `trivia` between its tokens. */
function render(tree: Tree, trivia: readonly string[]): string {
  let n = 0;
  const t = () => trivia[n++ % trivia.length]!;
  const value = (v: Tree): string => {
    if (v.kind === "leaf") return v.text;
    if (v.kind === "object") return `{${t()}${v.members.map((m) => ("special" in m ? m.special : `${m.key}${t()}:${t()}${value(m.value)}${m.asConst ? " as const" : ""}`)).join(`${t()},${t()}`)}${t()}}`;
    const elements = v.elements.map((e) => (e === "hole" ? "" : e === "spread" ? "...[1]" : value(e)));
    const trailing = v.elements.at(-1) === "hole" || (v.trailingComma && elements.length > 0) ? "," : "";
    return `[${t()}${elements.join(`${t()},${t()}`)}${trailing}${t()}]`;
  };
  return value(tree);
}

function treePaths(tree: Tree, path: Path = []): Path[] {
  if (tree.kind === "object") {
    return [path, ...tree.members.flatMap((m) => ("special" in m ? [[...path, m.name]] : treePaths(m.value, [...path, m.runtime])))];
  }
  if (tree.kind === "array") return [path, ...tree.elements.flatMap((e, i) => (typeof e === "string" ? [[...path, i]] : treePaths(e, [...path, i])))];
  return [path];
}

const LITERAL_ROOTS = ["defineConfig(%)", "%", "(%) satisfies unknown", "% as const", "defineConfig(% as unknown)!"];
const OTHER_ROOTS = ["((defineConfig)(%))", "defineConfig<unknown>(%)", "await defineConfig(%)"];
const PRELUDE = 'declare function defineConfig<T>(c: T): T;\nconst x = { a: { b: 1 } };\nconst k = "a";\nfunction f<T>(v: T): T { return v; }\n';

describe("generated configs", () => {
  const source = (literal: boolean) =>
    fc.record({ tree: trees(literal), trivia: fc.array(fc.constantFrom(...TRIVIA), { minLength: 1, maxLength: 12 }), root: fc.constantFrom(...LITERAL_ROOTS, ...(literal ? [] : OTHER_ROOTS)) }).map(({ tree, trivia, root }) => ({
      text: `${PRELUDE}export default ${root.replace("%", render(tree, trivia))};\n`,
      paths: withMissing(treePaths(tree)),
    }));

  it("places a path as ts-morph does whenever the scanner answers", async () => {
    const dir = tempDir("locate-scan-fc-");
    let run = 0;
    await fc.assert(
      fc.asyncProperty(source(false), async ({ text, paths }) => {
        const file = join(dir, `config-${run++}.ts`);
        writeFileSync(file, text);
        expect((await compare(file, paths)).wrong).toEqual([]);
      }),
      { numRuns: 80 },
    );
  }, 120_000);

  it("answers every path of a config written as literals", async () => {
    const dir = tempDir("locate-scan-fc-");
    let run = 0;
    await fc.assert(
      fc.asyncProperty(source(true), async ({ text, paths }) => {
        const file = join(dir, `config-${run++}.ts`);
        writeFileSync(file, text);
        const r = await compare(file, paths);
        expect(r.wrong).toEqual([]);
        expect(r.unanswered).toEqual([]);
      }),
      { numRuns: 50 },
    );
  }, 120_000);
});

describe("locatePaths", () => {
  it("places what the scanner leaves with ts-morph, each issue's key appended to its path", async () => {
    const text = TRAPS["variables-spreads.ts"]!;
    const file = written("merged.ts", text);
    const located = await locatePaths(file, [["tail"], ["environments", "prod", "service", "desiredCount"], ["dup"]], [undefined, undefined, "second"]);
    expect(located).toEqual(await locateWithTypeScript(file, [["tail"], ["environments", "prod", "service", "desiredCount"], ["dup", "second"]]));
    // Through the shorthand `prod` to its variable.
    expect(`${located[1]?.line}:${located[1]?.column}`).toBe(lineColOf(text, "desiredCount: 2"));
  });
});

describe("a compile that reports a mistake", () => {
  /** The built CLI's compile in a folder of the repository (so `caja` resolves), with the modules it loaded. */
  function compileLoaded(config: string): { code: number | null; stderr: string; loaded: string[] } {
    const dir = repoTempDir("locate-scan-");
    writeFileSync(join(dir, "caja.config.ts"), config);
    const r = spawnSync(process.execPath, ["--require", probe, CAJA_BIN, "compile"], { cwd: dir, encoding: "utf8" });
    const line = /caja-probe-loaded=(.*)/.exec(r.stderr)?.[1];
    if (!line) throw new Error(`no probe output:\n${r.stderr}`);
    return { code: r.status, stderr: r.stderr, loaded: JSON.parse(line) as string[] };
  }
  const repositoryConfig = readFileSync(join(repo, "caja.config.ts"), "utf8");

  it("written as a literal is located without loading TypeScript or ts-morph", () => {
    const config = repositoryConfig.replace('service: { imageTag: "prod-initial" }', 'service: { imageTag: "prod-initial", desiredCount: -1 }');
    const r = compileLoaded(config);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`caja.config.ts:${lineColOf(config, "desiredCount: -1")}  environments.prod.service.desiredCount  Too small: expected number to be >=0`);
    // A first compile of this project bundles the config, and esbuild's client loads node:crypto.
    expect(r.loaded.filter((m) => m !== "node:crypto")).toEqual([]);
  });

  it("in a variable is located by ts-morph, loaded for it", () => {
    const config = repositoryConfig
      .replace("export default defineConfig({", "const prod = { service: { imageTag: \"prod-initial\", desiredCount: -1 } };\n\nexport default defineConfig({")
      .replace('prod: {\n      service: { imageTag: "prod-initial" },\n    },', "prod,");
    const r = compileLoaded(config);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`caja.config.ts:${lineColOf(config, "desiredCount: -1")}  environments.prod.service.desiredCount  Too small: expected number to be >=0`);
    expect(r.loaded.some((p) => p.includes("ts-morph"))).toBe(true);
  });
});
