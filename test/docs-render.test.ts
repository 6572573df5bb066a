/**
 * The reviewer docs as GitHub shows them: every page of a fresh compile of the repository's config
 * is rendered by a real Markdown renderer, and every word its source writes must survive it: a
 * `<tag>` in prose, say, is read as an HTML tag and is gone from the page, though the source looks
 * right. The same pages, and the README, must pass markdownlint with the committed config.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import MarkdownIt from "markdown-it";
import { beforeAll, describe, expect, it } from "vitest";
import { todo } from "@caja/dsl";
import { API_MODULES } from "@caja/modules";
import { compile } from "../packages/compiler/src/compile.js";
import { DOC_PAGES } from "../packages/compiler/src/docs/index.js";
import { configReferencePage } from "../packages/compiler/src/docs/reference.js";
import { projectJsonSchema } from "../packages/compiler/src/docs/schema.js";
import { baseConfig, BY_DESIGN_SUPPRESSIONS, compileWith, tempDir } from "./helpers.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const MARKDOWNLINT = fileURLToPath(new URL("../node_modules/markdownlint-cli2/markdownlint-cli2-bin.mjs", import.meta.url));
const MARKDOWNLINT_CONFIG = join(repo, ".markdownlint-cli2.jsonc");

/** Like GitHub: raw HTML passes through (GitHub then drops tags it does not know), GFM tables, bare URLs linked. */
const markdown = new MarkdownIt({ html: true, linkify: true });

/** The HTML caja writes into Markdown on purpose: line breaks in table cells, collapsed sections. */
const ALLOWED_TAG = /<\/?(?:br|details|summary)\s*\/?>/gi;

/** Words, counted: a word the source has n times must be shown at least n times. */
function countWords(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [word] of text.matchAll(/[\p{L}\p{N}]+/gu)) counts.set(word, (counts.get(word) ?? 0) + 1);
  return counts;
}

/** The text of a Markdown source a reader is meant to see, before rendering: no comments, allowed tags, link targets or fence languages. */
function sourceText(source: string): string {
  const text = source
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(ALLOWED_TAG, " ")
    // Link and image targets are attributes once rendered; the link text and alt text stay.
    .replace(/\]\([^)\s]*(?:\s+"[^"]*")?\)/g, "] ")
    .replace(/^(\s*(?:```+|~~~+))\S*/gm, "$1")
    // An ordered list's numbers are drawn by the list, not written into its text.
    .replace(/^(\s*)\d+[.)](?=\s)/gm, "$1");
  return markdown.utils.unescapeAll(text);
}

/** What a reader sees of rendered HTML: its text, entities decoded, an image as its alt text. */
function renderedText(source: string): string {
  const html = markdown
    .render(source)
    .replace(/<img\b[^>]*\balt="([^"]*)"[^>]*>/g, " $1 ")
    .replace(/<[^>]*>/g, " ");
  return markdown.utils.unescapeAll(html);
}

/** Each word the rendered page shows fewer times than its source has it, with the source lines that have it. */
function lostWords(source: string): string[] {
  const rendered = countWords(renderedText(source));
  const lines = source.split("\n");
  const lost: string[] = [];
  for (const [word, n] of countWords(sourceText(source))) {
    const shown = rendered.get(word) ?? 0;
    if (shown >= n) continue;
    // The lines that lose it when rendered alone; else (a loss that needs context) every line with it.
    const having = lines.flatMap((line, i) => (countWords(sourceText(line)).has(word) ? [i] : []));
    const losing = having.filter((i) => (countWords(renderedText(lines[i]!)).get(word) ?? 0) < countWords(sourceText(lines[i]!)).get(word)!);
    const where = (losing.length > 0 ? losing : having).slice(0, 10).map((i) => `  ${i + 1}: ${lines[i]!.length > 200 ? `${lines[i]!.slice(0, 197)}...` : lines[i]}`);
    lost.push([`"${word}" is written ${n} times and shown ${shown}:`, ...where].join("\n"));
  }
  return lost;
}

/**
 * Angle brackets a renderer could take for HTML: every `<` or `>` outside code spans and fences,
 * but for the allowed tags and the first line's generated-file comment. Prose escapes them.
 */
function strayAngleBrackets(source: string): string[] {
  const found: string[] = [];
  let fence: string | undefined;
  source.split("\n").forEach((line, i) => {
    const opens = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (opens !== undefined && opens[0] === fence[0] && opens.length >= fence.length) fence = undefined;
      return;
    }
    if (opens !== undefined) {
      fence = opens;
      return;
    }
    if (i === 0 && /^<!-- Generated .* -->$/.test(line)) return;
    const rest = line.replace(/(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g, "").replace(ALLOWED_TAG, "");
    if (/[<>]/.test(rest)) found.push(`${i + 1}: ${line}`);
  });
  return found;
}

/** markdownlint-cli2 with the repository's config over `globs` in `cwd`: its findings, one a line. */
function markdownlint(cwd: string, globs: readonly string[]): { code: number | null; findings: string[]; output: string } {
  const r = spawnSync(process.execPath, [MARKDOWNLINT, "--config", MARKDOWNLINT_CONFIG, ...globs], { cwd, encoding: "utf8", timeout: 120_000 });
  const output = `${r.stdout}${r.stderr}`;
  return { code: r.status, findings: output.split("\n").filter((l) => / MD\d{3}\//.test(l)), output };
}

describe("the reviewer docs of a fresh compile", () => {
  let outDir = "";
  let pages: Record<string, string> = {};

  beforeAll(async () => {
    // The repository's config compiled now, not the committed out/ (which may lag the generators).
    outDir = tempDir("caja-render-");
    await compile({ cwd: repo, outDir, docsOnly: true });
    const docs = join(outDir, "docs");
    pages = Object.fromEntries(readdirSync(docs).filter((f) => f.endsWith(".md")).sort().map((f) => [f, readFileSync(join(docs, f), "utf8")]));
  }, 120_000);

  it("are the pages the header links, and nothing else in Markdown", () => {
    expect(Object.keys(pages)).toEqual(DOC_PAGES.map((p) => p.file).sort());
  });

  for (const { file } of DOC_PAGES) {
    it(`${file} shows every word its source writes, rendered as GitHub does`, () => {
      expect(lostWords(pages[file]!), file).toEqual([]);
    });

    it(`${file} has no angle bracket outside code but the tags caja writes on purpose`, () => {
      expect(strayAngleBrackets(pages[file]!), file).toEqual([]);
    });
  }

  it("pass markdownlint with the repository's config", () => {
    const lint = markdownlint(outDir, ["docs/*.md"]);
    expect(lint.output).toContain(`Linting: ${DOC_PAGES.length} file(s)`);
    expect(lint.findings).toEqual([]);
    expect(lint.code, lint.output).toBe(0);
  });
});

describe("the README", () => {
  it("shows every word its source writes, rendered as GitHub does", () => {
    expect(lostWords(readFileSync(join(repo, "README.md"), "utf8"))).toEqual([]);
  });

  it("passes markdownlint with the repository's config", () => {
    const lint = markdownlint(repo, ["README.md"]);
    expect(lint.output).toContain("Linting: 1 file(s)");
    expect(lint.findings).toEqual([]);
    expect(lint.code, lint.output).toBe(0);
  });
});

describe("prose from the config and the modules", () => {
  const BRACKETED = "push <tag> to <cluster>/<service>, or `repo:<tag>` in code";

  it("keeps its angle-bracketed words in environments.md (a TODO's reason) and security.md (a suppression's reason)", () => {
    const config = {
      ...baseConfig(),
      environments: { dev: {}, staging: {}, prod: { alarms: { emails: todo(BRACKETED) } } },
      policy: { suppressions: BY_DESIGN_SUPPRESSIONS.map((s) => (s.rule === "alb-waf" ? { ...s, reason: BRACKETED } : s)) },
    };
    const compiled = compileWith(config);
    for (const file of ["environments.md", "security.md"]) {
      const page = compiled.files.find((f) => f.path === `docs/${file}`)!.content;
      expect(page, file).toContain("push &lt;tag&gt; to &lt;cluster&gt;/&lt;service&gt;, or `repo:<tag>` in code");
      expect(lostWords(page), file).toEqual([]);
      expect(strayAngleBrackets(page), file).toEqual([]);
    }
  });

  it("keeps its angle-bracketed words in config-reference.md (a field's description)", () => {
    const { schema } = projectJsonSchema(API_MODULES);
    const described = structuredClone(schema) as { properties: { project: { description: string } } };
    described.properties.project.description = BRACKETED;
    const page = configReferencePage(described, compileWith().config);
    expect(page).toContain("push &lt;tag&gt; to &lt;cluster&gt;/&lt;service&gt;, or `repo:<tag>` in code");
    expect(lostWords(page)).toEqual([]);
    expect(strayAngleBrackets(page)).toEqual([]);
  });
});

describe("the word check itself", () => {
  it("finds a word written as an HTML tag, with its line, and not one escaped or in code", () => {
    const lost = lostWords("# Title\n\nPush the image tag, then set <tag> in the config.\n");
    expect(lost).toEqual(['"tag" is written 2 times and shown 1:\n  3: Push the image tag, then set <tag> in the config.']);
    expect(lostWords("# Title\n\nSet &lt;tag&gt; or `<tag>`; a <br> and <details><summary>more</summary>text</details> are fine.\n")).toEqual([]);
  });

  it("finds a stray angle bracket in prose, not in code spans, fences or allowed tags", () => {
    const source = ["<!-- Generated by caja. -->", "# T", "", "`a <b>` and ``x`<y>`` are code<br>", "", "```ts", "const x = a < b;", "```", "", "Use <cluster>/<service> here."].join("\n");
    expect(strayAngleBrackets(source)).toEqual(["10: Use <cluster>/<service> here."]);
  });
});
