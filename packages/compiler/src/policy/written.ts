/**
 * The secret scan over everything a compile writes, not only resource bodies: provider
 * `default_tags`, variables and their defaults, outputs, locals, the generated tests, the
 * manifest, the reviewer docs and the workflow. A credential found there becomes a finding of
 * `no-secret-values`, at the config field it came from when one holds it (`tags.Note`), else at
 * the file and the place in it. Messages never repeat the secret.
 */
import type { Finding } from "./finding.js";
import { formatPath, type PathSegment } from "./paths.js";
import { redactSecrets, secretsInFiles, shapesIn, type WrittenFile, type WrittenSecret } from "./secrets.js";
import type { Rule } from "./rules.js";

/** Where a finding of the scan was written, for SARIF and messages. */
export interface WrittenPlace {
  /** Relative to the output folder, or to the project folder for files outside it (the workflow). */
  readonly path: string;
  readonly base: "out" | "project";
}

/** A written file, and where its path is relative to. */
export interface WrittenInput extends WrittenFile {
  /** `project` for a file outside the output folder (the workflow); `out` by default. */
  readonly base?: "out" | "project";
}

/**
 * Findings of `rule` (no-secret-values) over the written files. `input` is the config as written,
 * to find the field each secret came from; `covered` says whether a resource's own body scan
 * already reported it (`<root>/<address>`), so the same value in `resource.<type>.<name>` of
 * that root's `main.tf.json` is not reported twice.
 */
export function writtenSecretFindings(files: readonly WrittenInput[], input: unknown, rule: Rule, covered: (key: string) => boolean, shapeFree?: ReadonlySet<string>): Finding[] {
  const hits = secretsInFiles(files, shapeFree ? { shapeFree } : {}).filter((h) => !coveredByBody(h, covered));
  if (hits.length === 0) return [];
  const bases = new Map(files.map((f) => [f.path, f.base ?? "out"]));
  const sources = configStrings(input);
  const groups = new Map<string, { configPath: string; address: string; kind: string; shown: string; hits: WrittenSecret[] }>();
  for (const hit of hits) {
    const from = sources.filter((s) => s.text.includes(hit.secret) && (hit.secret.length >= 8 || shapesIn(s.text).some((m) => m.kind === hit.kind && m.secret === hit.secret)));
    const configPaths = from.length > 0 ? from.map((s) => shownPath(s.path)) : [""];
    for (const configPath of configPaths) {
      const address = configPath || hit.file;
      const key = `${address}\u0000${hit.kind}`;
      const group = groups.get(key) ?? { configPath, address, kind: hit.kind, shown: hit.shown, hits: [] };
      group.hits.push(hit);
      groups.set(key, group);
    }
  }
  return [...groups.values()].map((g) => {
    const first = g.hits[0]!;
    const what = `${g.kind}${g.shown ? ` (${g.shown})` : ""}`;
    const message = g.configPath
      ? `holds ${what}, which would be written to ${listed(g.hits)}`
      : `${where(first)} holds ${what}${g.hits.length > 1 ? `, as do ${g.hits.length - 1} more places in the file` : ""}`;
    return {
      ruleId: rule.id,
      title: rule.title,
      checkov: rule.checkov,
      trivy: rule.trivy,
      severity: rule.severity,
      root: "",
      address: g.address,
      configPath: g.configPath,
      message,
      fix: rule.fix,
      written: { path: first.file, base: bases.get(first.file) ?? "out" },
    };
  });
}

/** A hit inside `resource.<type>.<name>` of a root's `main.tf.json` whose body scan reported it. */
function coveredByBody(hit: WrittenSecret, covered: (key: string) => boolean): boolean {
  if (typeof hit.at === "number" || hit.at[0] !== "resource" || hit.at.length < 3 || !hit.file.endsWith("/main.tf.json")) return false;
  return covered(`${hit.file.slice(0, -"/main.tf.json".length)}/${String(hit.at[1])}.${String(hit.at[2])}`);
}

/**
 * `28 roots' main.tf.json at provider.aws[0].default_tags.tags.Note and docs/environments.md line 12`:
 * the same place in several roots' files is named once.
 */
function listed(hits: readonly WrittenSecret[]): string {
  const places = new Map<string, { readonly first: WrittenSecret; readonly files: Set<string> }>();
  for (const hit of hits) {
    const inRoot = /^[^/]+\/[^/]+\/([^/]+)$/.exec(hit.file);
    const key = inRoot && typeof hit.at !== "number" ? `${inRoot[1]} ${where(hit)}` : place(hit);
    const known = places.get(key);
    if (known) known.files.add(hit.file);
    else places.set(key, { first: hit, files: new Set([hit.file]) });
  }
  const shown = [...places].map(([key, { first, files }]) => (files.size > 1 ? `${files.size} roots' ${key}` : place(first)));
  const more = shown.length > 4 ? ` and ${shown.length - 4} more places` : "";
  const named = shown.slice(0, 4);
  return more ? `${named.join(", ")}${more}` : named.length > 1 ? `${named.slice(0, -1).join(", ")} and ${named.at(-1)}` : named[0]!;
}

/** `docs/environments.md line 47`, `dev/50-service/main.tf.json at variable.backend_image_tag.default` */
function place(hit: WrittenSecret): string {
  return `${hit.file} ${where(hit)}`;
}

function where(hit: WrittenSecret): string {
  return typeof hit.at === "number" ? `line ${hit.at}` : `at ${shownPath(hit.at) || "(top level)"}`;
}

/** A path as printed, with any segment that is itself a credential redacted. */
function shownPath(path: readonly PathSegment[]): string {
  return formatPath(path.map((s) => (typeof s === "string" ? redactSecrets(s) : s)));
}

/**
 * Every string and key of the config as written, with its path (plain objects and arrays only).
 * Not `policy`: suppressions are written only into the gate's reports, which redact credentials,
 * so a reason that quotes a secret is not where a written copy came from.
 */
function configStrings(input: unknown): { path: PathSegment[]; text: string }[] {
  const out: { path: PathSegment[]; text: string }[] = [];
  const seen = new Set<object>();
  const visit = (value: unknown, path: PathSegment[]): void => {
    if (typeof value === "string") {
      out.push({ path, text: value });
      return;
    }
    if (typeof value !== "object" || value === null || seen.has(value)) return;
    seen.add(value);
    if (Array.isArray(value)) {
      value.forEach((v, i) => visit(v, [...path, i]));
      return;
    }
    for (const [k, v] of Object.entries(value)) {
      if (path.length === 0 && k === "policy") continue;
      out.push({ path: [...path, k], text: k });
      visit(v, [...path, k]);
    }
  };
  visit(input, []);
  return out;
}
