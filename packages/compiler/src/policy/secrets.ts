/**
 * Secret-looking values: what must never be written into generated Terraform JSON (it ends up in
 * git, in plan files and in state). Used by the gate's `no-secret-values` rule over every resource
 * and by the test that scans every emitted file.
 *
 * Two signals. A value that has the shape of a credential wherever it appears (a PEM private key,
 * an AWS access key id, a GitHub, Slack or Stripe token, a JWT). And a literal string under a key
 * that names a secret (`password`, `secret_string`, `DB_PASSWORD`, `api_token`...) where a
 * reference belongs: a `${...}` expression, an ARN, or nothing at all.
 */

export interface SecretHit {
  /** Where in the value, e.g. `container_definitions[0].environment[2].value` or `password`. */
  readonly path: string;
  /** What it looks like; never the value itself. */
  readonly kind: string;
}

/** Credential shapes that are secret wherever they appear. */
const SHAPES: readonly { readonly kind: string; readonly pattern: RegExp }[] = [
  { kind: "a PEM private key", pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/ },
  { kind: "an AWS access key id", pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/ },
  { kind: "a GitHub token", pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/ },
  { kind: "a Slack token", pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/ },
  { kind: "a Stripe secret key", pattern: /\b[rs]k_live_[A-Za-z0-9]{16,}/ },
  { kind: "a JSON Web Token", pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/ },
  { kind: "a URL with a password", pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@${}\uE000-\uE002]+:[^\s/@${}\uE000-\uE002]+@/ },
];

/** One pass over a string for every shape; the individual patterns only name what matched. */
const ANY_SHAPE = new RegExp(SHAPES.map((s) => s.pattern.source).join("|"));
/**
 * What every shape above contains (a literal, or the `://user:` of a URL with a password), so a
 * text without it has none of them: a plain search, several times faster than the shapes'
 * word-boundary alternation.
 */
const SHAPE_HINT = /PRIVATE KEY|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|xox[abprs]-|k_live_|eyJ|:\/\/[^\s/:@]+:/;

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
 * `hints: false` skips both shortcuts (the JSON-text check of `plainlyClean`, and SHAPE_HINT) and
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
  if ((!hints || SHAPE_HINT.test(text)) && ANY_SHAPE.test(text)) locateShapes(value, path, hits);
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
  return text !== undefined && !text.includes("\\\\") && !SECRET_KEY_HINT.test(text) && !SHAPE_HINT.test(text);
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
