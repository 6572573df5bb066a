/**
 * Secret-looking values: what must never be written by a compile (it ends up in git, in plan
 * files and in state). Used by the gate's `no-secret-values` rule over every resource body, and
 * over the text of every file a compile writes (`written.ts`).
 *
 * Two signals. A value that has the shape of a credential wherever it appears (a PEM private key,
 * an AWS access key id or secret key, a GitHub, Slack or Stripe token, a JWT, a password in a URL
 * or a `password=` assignment). And, in resource bodies, a literal string under a key that names a
 * secret (`password`, `secret_string`, `DB_PASSWORD`, `api_token`...) where a reference belongs:
 * a `${...}` expression, an ARN, or nothing at all.
 */

export interface SecretHit {
  /** Where in the value, e.g. `container_definitions[0].environment[2].value` or `password`. */
  readonly path: string;
  /** What it looks like; never the value itself. */
  readonly kind: string;
}

/**
 * Credential shapes that are secret wherever they appear. `show` is what a message may print of a
 * match: the ends of a token whose prefix only names its kind (`AKIA…MPLE`), or nothing. A shape
 * whose secret is part of the match has it as its first group (the password of a URL).
 */
const SHAPES: readonly { readonly kind: string; readonly pattern: RegExp; readonly show: "ends" | "none" }[] = [
  { kind: "a PEM private key", pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/, show: "none" },
  { kind: "an AWS access key id", pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/, show: "ends" },
  // 40 base64 characters right after a key naming an AWS secret key, as credentials files, env
  // files and JSON write it (`aws_secret_access_key = …`, `"SecretAccessKey": "…"`).
  {
    kind: "an AWS secret access key",
    pattern: /(?:[Ss]ecret_?(?:[Aa]ccess_?)?[Kk]ey|SECRET_?(?:ACCESS_?)?KEY)\\*["']?[ \t]*[:=][ \t]*\\*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/,
    show: "none",
  },
  { kind: "a GitHub token", pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/, show: "ends" },
  { kind: "a Slack token", pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/, show: "ends" },
  { kind: "a Stripe secret key", pattern: /\b[rs]k_live_[A-Za-z0-9]{16,}/, show: "ends" },
  { kind: "a JSON Web Token", pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, show: "ends" },
  { kind: "a URL with a password", pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@${}\uE000-\uE002]+:([^\s/@${}\uE000-\uE002]+)@/, show: "none" },
  // `password=…` in a connection string, an env file or a note; not a reference, a placeholder or a mask.
  {
    kind: "a password",
    pattern: /(?:[Pp]ass(?:word|wd)|PASS(?:WORD|WD)|[Ss]ecret|SECRET)=(?![$<{%*])([^\s"'`&;,|(){}[\]<>\\\uE000-\uE002]{3,})/,
    show: "none",
  },
];

/** One pass over a string for every shape; the individual patterns only name what matched. */
const ANY_SHAPE = new RegExp(SHAPES.map((s) => s.pattern.source).join("|"));
/**
 * What every shape above contains (a literal, the `://user:` of a URL with a password, or the
 * name before a secret key's or a password's value), so a text without it has none of them: a
 * plain search, several times faster than the shapes' word-boundary alternation. Two searches:
 * one alternation of both is slower than the two, as their first letters are common ones.
 */
const SHAPE_HINT = /PRIVATE KEY|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|xox[abprs]-|k_live_|eyJ|:\/\/[^\s/:@]+:/;
const NAMED_HINT = /ecret(?:=|_?(?:[Aa]ccess_?)?[Kk]ey)|ECRET(?:=|_?(?:ACCESS_?)?KEY)|ass(?:word|wd)=|ASS(?:WORD|WD)=/;

function mayHoldShape(text: string): boolean {
  return SHAPE_HINT.test(text) || NAMED_HINT.test(text);
}

/**
 * Keys that name a secret: the secret word ends the key (`password`, `DB_PASSWORD`, `secret_string`,
 * `JWT_SIGNING_KEY`), so `secret_status` or `password_policy` are not. Booleans such as
 * `manage_master_user_password` are not strings, so never values.
 */
const SECRET_KEY = /(?:^|[^a-z])(?:pass(?:word|wd|phrase)?|secret(?:_?string|_?key|_?value)?|(?:api|access|auth|private|signing|client)_?(?:key|token|secret)|token|credentials?|salt)$/i;
/**
 * SECRET_KEY without its leading boundary, ending at a JSON string's closing quote (escaped, inside
 * a document held in a string): a JSON text without it has no key and no variable name that
 * names a secret.
 */
const SECRET_KEY_HINT = /(?:pass(?:word|wd|phrase)?|secret(?:_?string|_?key|_?value)?|(?:api|access|auth|private|signing|client)_?(?:key|token|secret)|token|credentials?|salt)\\*"/i;
const NOT_A_VALUE_KEY = /(?:_arn|_id|_ids|_name|_names|_version|_policy|_length|_type|_enabled|_wo_version|recovery_window_in_days|valueFrom|description)$/i;

/**
 * Every secret-looking value inside `value` (a resource body, a parsed document, a string).
 * `hints: false` skips both shortcuts (the JSON-text check of `plainlyClean`, and the shape hints) and
 * walks and tests everything: the reference the tests hold the fast path to.
 */
export function findSecrets(value: unknown, path = "", { hints = true }: { hints?: boolean } = {}): SecretHit[] {
  if (hints && typeof value === "object" && value !== null && plainlyClean(value)) return [];
  const hits: SecretHit[] = [];
  const strings: string[] = [];
  walk(value, path ? [path] : [], undefined, strings, hits);
  // The shapes are tested once over every string joined by newlines (no shape spans a newline),
  // not string by string: a compile checks tens of thousands of strings and finds nothing. Only a
  // match is looked for again, string by string, to say where it is.
  if (strings.length === 0) return hits;
  const text = strings.join("\n");
  if ((!hints || mayHoldShape(text)) && ANY_SHAPE.test(text)) locateShapes(value, path, hits);
  return hits;
}

/**
 * Most bodies hold no secret-looking key and no credential shape, and their JSON text (written
 * natively, far faster than walking them) shows it. Only while no string holds a backslash: then
 * every string, those of documents held in strings included, appears in the text as it is, and
 * decoding a document (`\u0041`, `\/`) cannot make a key or a shape appear.
 */
function plainlyClean(value: object): boolean {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    return false;
  }
  return text !== undefined && cleanText(text);
}

/** A JSON text with no backslash, no secret-looking key and no credential hint (`shapes`: whether it has one, when known). */
function cleanText(text: string, shapes?: boolean): boolean {
  return !text.includes("\\\\") && !SECRET_KEY_HINT.test(text) && !(shapes ?? mayHoldShape(text));
}

/**
 * What one search of a root's written Terraform JSON tells. `clean`: {@link plainlyClean} for a
 * text already written: a root whose text is clean holds no secret-looking key or credential shape
 * in any resource body, so its bodies need no scan of their own. Rendering a body (expressions
 * become `${...}`, literal `${` is doubled) removes no key name, no quote after one, no backslash
 * and none of the hints' literals, so a hint in a body is one in its root's text; only the JSON's
 * layout differs, which no hint spans. `shapeFree`: the scan of written files would skip the text
 * (see {@link secretsInFiles}), so it need not search it again.
 */
export function writtenHints(text: string): { clean: boolean; shapeFree: boolean } {
  const shapes = mayHoldShape(text);
  return { clean: cleanText(text, shapes), shapeFree: !shapes && !text.includes("\\\\u") };
}

/** Key-based hits, with the path built only for a hit; every string is collected for the shapes. */
function walk(value: unknown, path: (string | number)[], key: string | undefined, strings: string[], hits: SecretHit[]): void {
  if (typeof value === "string") {
    strings.push(value);
    if (key !== undefined && isSecretKey(key) && isLiteralSecret(value)) hits.push({ path: joinPath(path), kind: `a literal value under "${key}"` });
    // JSON documents travel as strings (container definitions, policies): look inside them too.
    const doc = parseDocument(value);
    if (doc !== undefined) walk(doc, path, undefined, strings, hits);
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      walk(value[i], path, key, strings, hits);
      path.pop();
    }
    return;
  }
  if (value && typeof value === "object") {
    const record = value as Record<string, unknown>;
    // `{ "name": "DB_PASSWORD", "value": "..." }`: an environment variable entry names its own key.
    const named = typeof record.name === "string" && "value" in record ? record.name : undefined;
    for (const k in record) {
      path.push(k);
      walk(record[k], path, k === "value" && named !== undefined ? named : k, strings, hits);
      path.pop();
    }
  }
}

/** `a.b[0].c` */
function joinPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const segment of path) out += typeof segment === "number" ? `[${segment}]` : out === "" ? segment : `.${segment}`;
  return out;
}

/** Where each credential shape is (the rare case: the joined strings matched). */
function locateShapes(value: unknown, path: string, hits: SecretHit[]): void {
  if (typeof value === "string") {
    if (ANY_SHAPE.test(value)) for (const shape of SHAPES) if (shape.pattern.test(value)) hits.push({ path, kind: shape.kind });
    const doc = parseDocument(value);
    if (doc !== undefined) locateShapes(doc, path, hits);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => locateShapes(v, `${path}[${i}]`, hits));
  } else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) locateShapes(v, path ? `${path}.${k}` : k, hits);
  }
}

const secretKeys = new Map<string, boolean>();

function isSecretKey(key: string): boolean {
  let known = secretKeys.get(key);
  if (known === undefined) {
    // Keys with ":" are IAM condition keys (`token.actions.githubusercontent.com:sub`), never secrets.
    known = !key.includes(":") && SECRET_KEY.test(key) && !NOT_A_VALUE_KEY.test(key);
    secretKeys.set(key, known);
  }
  return known;
}

/**
 * A reference: `${...}` in Terraform JSON, or an expression token in a body caja has not rendered
 * yet (private-use characters around the HCL).
 */
const REFERENCE = /\$\{[^}]*\}|[\uE000\uE002][^\uE000\uE001\uE002]*\uE001/g;

/** A string that is itself the secret: not empty, not a reference, not an ARN or a placeholder. */
function isLiteralSecret(value: string): boolean {
  const v = value.trim();
  if (v === "" || v.startsWith("arn:") || v.startsWith("alias/")) return false;
  // What is left around references (`${var.x}:password::`) points at a secret; it is not one.
  const rest = v.replace(REFERENCE, "");
  if (rest.length < v.length && !/[A-Za-z0-9]{12,}/.test(rest)) return false;
  return true;
}

function parseDocument(value: string): unknown {
  // The first character after JSON's white space (all JSON.parse allows), without copying the string.
  let i = 0;
  for (let c = value.charCodeAt(0); c === 32 || c === 9 || c === 10 || c === 13; c = value.charCodeAt(++i));
  const first = value.charCodeAt(i);
  if (first !== 123 /* { */ && first !== 91 /* [ */) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

// -----------------------------------------------------------------------------------------------
// What a compile writes, as text

/** A credential shape found in text, with what of it a message may show. */
export interface ShapeMatch {
  readonly kind: string;
  /** The secret itself (a URL's password, a key's value, else the whole match): compared, never printed. */
  readonly secret: string;
  /** What a message may print: `AKIA…MPLE`, or nothing. */
  readonly shown: string;
}

const EVERY_MATCH = SHAPES.map((s) => ({ ...s, global: new RegExp(s.pattern.source, "g") }));

/** Every credential shape in `text`. */
export function shapesIn(text: string): ShapeMatch[] {
  if (!ANY_SHAPE.test(text)) return [];
  const out: ShapeMatch[] = [];
  for (const shape of EVERY_MATCH) {
    for (const m of text.matchAll(shape.global)) {
      const secret = m[1] ?? m[0];
      out.push({ kind: shape.kind, secret, shown: shape.show === "ends" && secret.length >= 16 ? `${secret.slice(0, 4)}…${secret.slice(-4)}` : "" });
    }
  }
  return out;
}

/**
 * `text` with every credential in it replaced by what a message may show of it (`AKIA…MPLE`,
 * `password=…`, a PEM key through its END line): for anything the gate prints or writes that
 * quotes a value.
 */
export function redactSecrets(text: string): string {
  if (!mayHoldShape(text) || !ANY_SHAPE.test(text)) return text;
  let out = text.replace(/-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|$)/g, "[a PEM private key]");
  for (const shape of EVERY_MATCH) {
    out = out.replace(shape.global, (m: string, group: unknown) => {
      if (typeof group === "string") {
        const at = m.lastIndexOf(group);
        return `${m.slice(0, at)}…${m.slice(at + group.length)}`;
      }
      return shape.show === "ends" && m.length >= 16 ? `${m.slice(0, 4)}…${m.slice(-4)}` : "…";
    });
  }
  return out;
}

/** A file as a compile writes it: its path (relative to the output folder) and its text. */
export interface WrittenFile {
  readonly path: string;
  readonly content: string;
}

/** A credential shape in a written file, at a JSON path (JSON files) or a line (1-based). */
export interface WrittenSecret extends ShapeMatch {
  readonly file: string;
  readonly at: readonly (string | number)[] | number;
}

/**
 * Every credential shape in the files a compile writes. The plain searches of the hints find
 * nothing in almost every file; only a file that matches is read closely: JSON parsed and
 * walked (keys, strings and the documents strings hold), other text line by line. `hints: false`
 * reads every file so: the reference the tests hold the hints to.
 */
export function secretsInFiles(files: readonly WrittenFile[], { hints = true, shapeFree }: { hints?: boolean; shapeFree?: ReadonlySet<string> } = {}): WrittenSecret[] {
  const hits: WrittenSecret[] = [];
  for (const file of files) {
    // Searched already (writtenHints), and found without what the test below looks for.
    if (hints && shapeFree?.has(file.path)) continue;
    // An escaped backslash before `u`: a string holding a JSON document written with `\u`
    // escapes, which its reader decodes into whatever they spell.
    if (hints && !mayHoldShape(file.content) && !file.content.includes("\\\\u")) continue;
    if (file.path.endsWith(".json")) {
      let doc: unknown;
      try {
        doc = JSON.parse(file.content);
      } catch {
        doc = undefined;
      }
      if (doc !== undefined) {
        shapesInValue(doc, [], (at, m) => hits.push({ ...m, file: file.path, at }));
        continue;
      }
    }
    file.content.split("\n").forEach((line, i) => {
      for (const m of shapesIn(line)) hits.push({ ...m, file: file.path, at: i + 1 });
    });
  }
  return hits;
}

/**
 * Every credential shape in a value's keys and strings (and the JSON documents its strings hold),
 * with its path. Plain objects and arrays only; a value met twice is read once.
 */
export function shapesInValue(value: unknown, path: (string | number)[], found: (at: readonly (string | number)[], m: ShapeMatch) => void, seen = new Set<object>()): void {
  if (typeof value === "string") {
    for (const m of shapesIn(value)) found([...path], m);
    const doc = parseDocument(value);
    if (doc !== undefined) shapesInValue(doc, path, found, seen);
    return;
  }
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      path.push(i);
      shapesInValue(v, path, found, seen);
      path.pop();
    });
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    path.push(k);
    for (const m of shapesIn(k)) found([...path], m);
    shapesInValue(v, path, found, seen);
    path.pop();
  }
}
