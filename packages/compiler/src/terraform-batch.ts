/**
 * Many roots' mock tests as one `terraform test`: a harness folder whose only test file has one
 * run block per generated run, each loading its root as a module (`module { source }`) with that
 * root's mocks as an aliased `mock_provider`, its own state (`state_key`), and the overrides and
 * variables its own test file gives at file level. Terraform then loads the configuration, the
 * provider's schema and the test framework once instead of once per root.
 *
 * Everything here is pure: the harness is built from the roots' test files (read back from disk,
 * so checked field by field: a test of any other shape is not batched, and its root is checked on
 * its own as before), and the per-root verdicts are read from terraform's JSON output.
 */
/** One root's `main.tftest.json`, as caja writes it. */
export interface RootTest {
  readonly mocks: Record<string, unknown>;
  readonly fileLevel: { readonly variables?: Record<string, unknown>; readonly override_data?: unknown[]; readonly override_resource?: unknown[] };
  readonly runs: readonly { readonly name: string; readonly body: Record<string, unknown> }[];
}

const RUN_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const FILE_KEYS = new Set(["//", "mock_provider", "run", "variables", "override_data", "override_resource"]);
/** What a run block of a batched test may hold; `module`, `providers` and `state_key` are the harness's. */
const RUN_KEYS = new Set(["command", "assert", "variables", "override_data", "override_resource", "expect_failures", "plan_options"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The root's test when it has the shape a batch can carry: one unaliased `aws` mock provider,
 * runs named plainly with no module or provider of their own. Anything else: undefined.
 */
export function batchableTest(text: string): RootTest | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(doc) || Object.keys(doc).some((k) => !FILE_KEYS.has(k))) return undefined;
  const providers = doc.mock_provider;
  if (!isObject(providers) || Object.keys(providers).join() !== "aws") return undefined;
  const aws = providers.aws;
  const mocks = Array.isArray(aws) && aws.length === 1 ? aws[0] : isObject(aws) ? aws : undefined;
  if (!isObject(mocks) || "alias" in mocks) return undefined;
  if (!Array.isArray(doc.run) || doc.run.length === 0) return undefined;
  const runs: { name: string; body: Record<string, unknown> }[] = [];
  for (const block of doc.run) {
    if (!isObject(block) || Object.keys(block).length !== 1) return undefined;
    const [name, body] = Object.entries(block)[0]!;
    if (!RUN_NAME.test(name) || !isObject(body) || Object.keys(body).some((k) => !RUN_KEYS.has(k))) return undefined;
    runs.push({ name, body });
  }
  const { variables, override_data, override_resource } = doc;
  if ((variables !== undefined && !isObject(variables)) || [override_data, override_resource].some((o) => o !== undefined && !Array.isArray(o))) return undefined;
  return {
    mocks,
    fileLevel: {
      ...(variables !== undefined ? { variables: variables as Record<string, unknown> } : {}),
      ...(override_data !== undefined ? { override_data: override_data as unknown[] } : {}),
      ...(override_resource !== undefined ? { override_resource: override_resource as unknown[] } : {}),
    },
    runs,
  };
}

/** A run block of the harness and the root (index into the batch) it stands for. */
export interface HarnessRun {
  readonly name: string;
  readonly root: number;
}

/** The folder of the `index`th root inside the harness, relative to it. */
export const harnessRootDir = (index: number) => `roots/${index}`;

/** The harness's configuration and test file for these roots' tests, in batch order. */
export function harnessDocuments(tests: readonly RootTest[]): { main: unknown; test: unknown; runs: HarnessRun[] } {
  const mocks: unknown[] = [];
  const blocks: unknown[] = [];
  const runs: HarnessRun[] = [];
  tests.forEach((t, root) => {
    const alias = `r${root}`;
    mocks.push({ ...t.mocks, alias });
    for (const run of t.runs) {
      const name = `${alias}_${run.name}`;
      runs.push({ name, root });
      const body = run.body;
      // File-level settings apply to every run of the root's own file: here they move into its
      // runs. A run's own override of the same target wins, as it does in terraform.
      const overrides = (key: "override_data" | "override_resource") => {
        const own = Array.isArray(body[key]) ? (body[key] as unknown[]) : [];
        const targets = new Set(own.map((o) => (isObject(o) ? o.target : undefined)));
        const merged = [...own, ...(t.fileLevel[key] ?? []).filter((o) => !(isObject(o) && targets.has(o.target)))];
        return merged.length > 0 ? { [key]: merged } : {};
      };
      const variables = { ...t.fileLevel.variables, ...(isObject(body.variables) ? body.variables : {}) };
      blocks.push({
        [name]: {
          ...body,
          ...(Object.keys(variables).length > 0 ? { variables } : {}),
          ...overrides("override_data"),
          ...overrides("override_resource"),
          module: { source: `./${harnessRootDir(root)}` },
          providers: { aws: `aws.${alias}` },
          state_key: alias,
        },
      });
    }
  });
  return {
    // The roots' own constraints (provider versions, Terraform version) apply as the modules' own.
    main: { terraform: { required_providers: { aws: { source: "hashicorp/aws" } } } },
    test: { mock_provider: { aws: mocks }, run: blocks },
    runs,
  };
}

export interface BatchVerdict {
  readonly ok: boolean;
  readonly runsPassed: number;
  readonly detail: string;
  readonly protectedLeftovers: string[];
  /** From the root's first run starting to its last run completing (the teardown, shared by all, aside). */
  readonly ms: number;
}

/**
 * Per-root verdicts from `terraform test -json` of the harness, judged as each root's own test
 * would be (see `judgeTest`), from the messages terraform tags with the root's runs. A root
 * whose runs did not all run to completion (terraform skips the runs after one that errors) gets
 * no verdict, and neither does any root when an error is tagged with no run (the configuration
 * did not load, say).
 */
export function judgeBatch(jsonLines: string, runs: readonly HarnessRun[], preventDestroy: readonly ReadonlySet<string>[]): (BatchVerdict | undefined)[] {
  const rootOf = new Map(runs.map((r) => [r.name, r.root]));
  const messagesOf = new Map<number, Record<string, unknown>[]>();
  const times = new Map<number, number[]>();
  const completed = new Set<string>();
  let untagged = false;
  for (const msg of jsonMessages(jsonLines)) {
    const run = typeof msg["@testrun"] === "string" ? msg["@testrun"] : undefined;
    const root = run !== undefined ? rootOf.get(run) : undefined;
    if (root === undefined) {
      if (msg["@level"] === "error") untagged = true;
      continue;
    }
    const mine = messagesOf.get(root);
    if (mine) mine.push(msg);
    else messagesOf.set(root, [msg]);
    const progress = isObject(msg.test_run) ? msg.test_run : undefined;
    const at = Date.parse(String(msg["@timestamp"]));
    if (Number.isFinite(at) && (progress?.progress === "starting" || progress?.progress === "complete")) {
      const stamps = times.get(root);
      if (stamps) stamps.push(at);
      else times.set(root, [at]);
    }
    // A run terraform skipped (an earlier one errored) completes with status "skip": not run.
    if (msg.type === "test_run" && progress?.progress === "complete" && progress.status !== "skip") completed.add(run!);
  }
  return preventDestroy.map((protectedHere, root) => {
    const mine = runs.filter((r) => r.root === root);
    if (untagged || mine.some((r) => !completed.has(r.name))) return undefined;
    const stamps = times.get(root) ?? [];
    const verdict = judgeMessages(messagesOf.get(root) ?? [], protectedHere);
    return { ...verdict, ms: stamps.length > 0 ? Math.max(...stamps) - Math.min(...stamps) : 0 };
  });
}

/**
 * Read `terraform test -json`. A file passes when every run passed and nothing errored, with one
 * exception: Terraform before 1.14 cannot tear down `prevent_destroy` resources after a test
 * (hashicorp/terraform#34960). If the only errors are exactly those, the mock apply succeeded.
 */
export function judgeTest(jsonLines: string, preventDestroy: ReadonlySet<string>): TestVerdict {
  return judgeMessages(jsonMessages(jsonLines), preventDestroy);
}

interface TestVerdict {
  readonly ok: boolean;
  readonly runsPassed: number;
  readonly detail: string;
  readonly protectedLeftovers: string[];
}

/** {@link judgeTest} of messages already read. */
function judgeMessages(messages: Iterable<Record<string, unknown>>, preventDestroy: ReadonlySet<string>): TestVerdict {
  let runsPassed = 0;
  let runsFailed = 0;
  const errors: string[] = [];
  const leftovers: string[] = [];
  const notCleaned: string[] = [];
  for (const message of messages) {
    const msg = message as Record<string, any>;
    if (msg.type === "test_run" && msg.test_run?.progress === "complete") {
      if (msg.test_run.status === "pass") runsPassed++;
      else runsFailed++;
    }
    if (msg.type === "diagnostic" && msg.diagnostic?.severity === "error") {
      const detail: string = msg.diagnostic.detail ?? "";
      const address = /^Resource (\S+) has lifecycle\.prevent_destroy set/.exec(detail)?.[1];
      if (msg.diagnostic.summary === "Instance cannot be destroyed" && address && preventDestroy.has(address)) leftovers.push(address);
      else errors.push(`${msg.diagnostic.summary}: ${detail}`.trim());
    }
    if (msg.type === "test_cleanup") {
      for (const r of msg.test_cleanup?.failed_resources ?? []) notCleaned.push(String(r.instance ?? ""));
    }
  }
  // The destroy plan fails as a whole, so resources depending on protected ones stay too. That is
  // only acceptable when the refusals to destroy protected resources are the sole errors.
  if (leftovers.length === 0) errors.push(...notCleaned.map((a) => `teardown left ${a} behind`));
  const ok = runsFailed === 0 && errors.length === 0 && runsPassed > 0;
  const detail = [
    `${runsPassed} run(s) passed, ${runsFailed} failed`,
    ...errors,
    ...(leftovers.length ? [`teardown kept prevent_destroy resources (fixed in Terraform 1.14): ${leftovers.join(", ")}`] : []),
  ].join("\n");
  return { ok, runsPassed, detail, protectedLeftovers: leftovers };
}

/**
 * Whether a root's `main.tf.json` can be loaded as a module: not with import blocks, which
 * terraform accepts only in a root module, nor with a `cloud` block. (Its backend block is ignored
 * in a module, with a warning.)
 */
export function loadsAsModule(text: string): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return false;
  }
  if (!isObject(doc) || "import" in doc) return false;
  const blocks = Array.isArray(doc.terraform) ? doc.terraform : [doc.terraform];
  return !blocks.some((b) => isObject(b) && "cloud" in b);
}

/** Addresses of resources whose `lifecycle.prevent_destroy` is true in a root's `main.tf.json` (none when it does not parse). */
export function preventDestroyIn(text: string): Set<string> {
  const out = new Set<string>();
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return out;
  }
  const resources = isObject(doc) && isObject(doc.resource) ? doc.resource : {};
  for (const [type, byName] of Object.entries(resources)) {
    if (!isObject(byName)) continue;
    for (const [name, body] of Object.entries(byName)) {
      if (isObject(body) && isObject(body.lifecycle) && body.lifecycle.prevent_destroy === true) out.add(`${type}.${name}`);
    }
  }
  return out;
}

/**
 * The roots (batch positions) terraform's errors blame when the harness does not load: a file of
 * theirs (`roots/3/main.tf.json`) or one of their runs (`run[5].r3_mock_apply`). Warnings (every
 * root's ignored backend block) blame nobody.
 */
export function harnessCulprits(diagnostics: string, size: number): Set<number> {
  const found = new Set<number>();
  const errors = diagnostics.split(/^(?=(?:Error|Warning): )/m).filter((block) => block.startsWith("Error: "));
  for (const block of errors) {
    for (const m of block.matchAll(/\broots\/(\d+)\/|\brun\[\d+\]\.r(\d+)_/g)) {
      const k = Number(m[1] ?? m[2]);
      if (Number.isInteger(k) && k < size) found.add(k);
    }
  }
  return found;
}

/** Each line of `terraform ... -json` output that is a JSON object, as the object. */
function* jsonMessages(jsonLines: string): Generator<Record<string, unknown>> {
  for (const line of jsonLines.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    try {
      const msg: unknown = JSON.parse(line);
      if (isObject(msg)) yield msg;
    } catch {
      // Not a message: terraform's own text, or a cut line.
    }
  }
}
