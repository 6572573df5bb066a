/**
 * `caja init`: a starter `caja.config.ts` from a few flags, with no prompts. The starter is checked
 * against the config schema before it is written, so it compiles at once; a bad flag is reported
 * as that flag.
 */
import { existsSync } from "node:fs";
import { readFile, rename, unlink, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { todo } from "@caja/dsl";
import { CajaUserError } from "./errors.js";
import { DEFAULT_CONFIG_FILES } from "./load.js";
import { BY_DESIGN_SUPPRESSIONS } from "./policy/check.js";
import { validateConfig } from "./validate.js";

export interface StarterOptions {
  readonly project: string;
  readonly domain: string;
  readonly namespace?: string;
  readonly region: string;
  /** In apply order. */
  readonly environments: readonly string[];
  /** `OWNER/REPO`; left as `todo()` when absent. */
  readonly repository?: string;
  readonly owner: string;
  readonly costCenter: string;
}

export const STARTER_DEFAULTS = {
  domain: "example.com",
  region: "us-east-1",
  environments: ["dev", "staging", "prod"],
  owner: "platform-engineering",
} as const;

const REPOSITORY_TODO = "GitHub repository (OWNER/REPO) allowed to deploy through OIDC";
const EMAILS_TODO = "who receives alarm e-mails";

/** Which flag sets each config path, to report a bad value as the flag the user typed. */
const FLAG_OF: Readonly<Record<string, string>> = {
  project: "--project",
  region: "--region",
  "domain.root": "--domain",
  "domain.namespace": "--namespace",
  "github.repository": "--repository",
  "tags.Owner": "--owner",
  "tags.CostCenter": "--cost-center",
  environments: "--env",
};

/** A project name the schema accepts, from a folder name (`My App` → `my-app`). */
export function projectFromFolder(folder: string): string {
  const name = basename(folder)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, 24)
    .replace(/-+$/, "");
  return /^[a-z][a-z0-9-]*[a-z0-9]$/.test(name) ? name : "app";
}

/** The config value the starter file evaluates to (TODOs as markers). */
export function starterValue(o: StarterOptions): Record<string, unknown> {
  return {
    project: o.project,
    region: o.region,
    tags: { Owner: o.owner, Confidentiality: "internal", CostCenter: o.costCenter },
    domain: { root: o.domain, ...(o.namespace ? { namespace: o.namespace } : {}) },
    github: { repository: o.repository ?? todo(REPOSITORY_TODO) },
    defaults: { alarms: { emails: todo(EMAILS_TODO) } },
    policy: { suppressions: BY_DESIGN_SUPPRESSIONS.map((x) => ({ ...x })) },
    environments: Object.fromEntries(o.environments.map((e) => [e, {}])),
  };
}

/** The starter `caja.config.ts`. Throws `CajaUserError` naming the flag when a value is invalid. */
export function starterConfig(o: StarterOptions): string {
  const duplicate = o.environments.find((e, i) => o.environments.indexOf(e) !== i);
  if (duplicate) throw new CajaUserError(`--env ${duplicate} is given twice`);
  if (o.environments.length === 0) throw new CajaUserError("--env: give at least one environment");
  const result = validateConfig(starterValue(o));
  if (!result.ok) {
    const problems = result.issues.map((i) => {
      const path = i.path.map(String);
      const flag = FLAG_OF[path.join(".")] ?? FLAG_OF[path.slice(0, 2).join(".")] ?? FLAG_OF[path[0] ?? ""] ?? path.join(".");
      const env = path[0] === "environments" ? path[1] : undefined;
      // A bad environment name's message starts with the name, which the flag already shows.
      const message = i.message.replace(/\.$/, "").replace(env !== undefined ? `"${env}": ` : "", "");
      return `${flag}${env !== undefined ? ` ${env}` : ""}: ${message}`;
    });
    throw new CajaUserError(`${problems.join("; ")}.`);
  }
  const s = JSON.stringify;
  const key = (k: string) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : s(k));
  return [
    "// The platform in one typed file. `npx caja compile` writes out/ (one Terraform root per phase and",
    "// environment, reviewer docs in out/docs/) and the GitHub Actions pipeline. Hover a field for its",
    "// meaning and its default per environment; a todo() is a value still to decide (the compile lists them).",
    'import { defineConfig, todo } from "caja";',
    "",
    "export default defineConfig({",
    `  project: ${s(o.project)},`,
    `  region: ${s(o.region)},`,
    "",
    "  // Tags on every resource; caja adds Project and Environment.",
    "  tags: {",
    `    Owner: ${s(o.owner)},`,
    '    Confidentiality: "internal",',
    `    CostCenter: ${s(o.costCenter)},`,
    "  },",
    "",
    `  // Phase 0 creates the public hosted zone of the root domain; hosts are app.${o.namespace ? `${o.namespace}.` : ""}<root> and api.${o.namespace ? `${o.namespace}.` : ""}<root>.`,
    "  domain: {",
    `    root: ${s(o.domain)},`,
    ...(o.namespace ? [`    namespace: ${s(o.namespace)},`] : []),
    "  },",
    "",
    "  // GitHub Actions deploys through OIDC roles that trust only this repository.",
    "  github: {",
    `    repository: ${o.repository ? s(o.repository) : `todo(${s(REPOSITORY_TODO)})`},`,
    "  },",
    "",
    "  defaults: {",
    `    alarms: { emails: todo(${s(EMAILS_TODO)}) },`,
    "  },",
    "",
    "  // Security findings accepted by design, each with its reason (caja check lists the rules).",
    "  policy: {",
    "    suppressions: [",
    ...BY_DESIGN_SUPPRESSIONS.map((x) => `      { rule: ${s(x.rule)}, resource: ${s(x.resource)}, reason: ${s(x.reason)} },`),
    "    ],",
    "  },",
    "",
    "  // In apply order. The tier (dev, staging or prod; the name by default, else dev) picks the",
    "  // cost-aware defaults: sizes, NAT, log retention, alarm thresholds, autoscaling.",
    "  environments: {",
    ...o.environments.map((e) => `    ${key(e)}: {},`),
    "  },",
    "});",
    "",
  ].join("\n");
}

/** What a caja project keeps out of git: installs, caja's caches and logs, terraform's working files and state. */
export const STARTER_GITIGNORE: readonly string[] = [
  "node_modules/",
  ".caja/",
  "**/.terraform/",
  "*.tfstate*",
  "*.tfplan",
  "**/.caja-apply-journal.jsonl",
  "**/caja_adopt.tf.json",
  "**/.caja-adopt/",
];

/**
 * The starter `package.json`: caja's commands as scripts and caja as a dev dependency, named by
 * `cajaSpec` (e.g. `file:../caja-0.1.0.tgz`). Without a spec there is no dependency to name: no
 * caja package is published, and a bare name would install whatever is published under it later.
 */
export function starterPackageJson(project: string, cajaSpec: string | undefined): string {
  const pkg = {
    name: project,
    private: true,
    scripts: { check: "caja check", compile: "caja compile", docs: "caja docs" },
    ...(cajaSpec ? { devDependencies: { caja: cajaSpec } } : {}),
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}

/** What `initProject` wrote, relative to the folder. */
export interface InitResult {
  readonly written: readonly string[];
  /** `.gitignore` lines that were missing and were appended to an existing one. */
  readonly ignored: readonly string[];
}

/**
 * Write the starter into `cwd`: `caja.config.ts` (refused over an existing config unless `force`),
 * `package.json` when there is none, and `.gitignore`, or the lines an existing one lacks.
 */
export async function initProject(cwd: string, options: StarterOptions, force = false, cajaSpec?: string): Promise<InitResult> {
  const text = starterConfig(options);
  const existing = DEFAULT_CONFIG_FILES.find((name) => existsSync(join(cwd, name)));
  if (existing && !force) throw new CajaUserError(`${existing} already exists in ${cwd}; pass --force to replace it`);
  const written: string[] = [];
  await replaceWith(join(cwd, "caja.config.ts"), text);
  written.push("caja.config.ts");
  if (!existsSync(join(cwd, "package.json"))) {
    await replaceWith(join(cwd, "package.json"), starterPackageJson(options.project, cajaSpec));
    written.push("package.json");
  }
  const ignoreFile = join(cwd, ".gitignore");
  const present = existsSync(ignoreFile) ? await readFile(ignoreFile, "utf8") : undefined;
  const have = new Set((present ?? "").split("\n").map((l) => l.trim()));
  const missing = STARTER_GITIGNORE.filter((line) => !have.has(line));
  if (present === undefined) {
    await replaceWith(ignoreFile, `${STARTER_GITIGNORE.join("\n")}\n`);
    written.push(".gitignore");
  } else if (missing.length > 0) {
    await replaceWith(ignoreFile, `${present}${present === "" || present.endsWith("\n") ? "" : "\n"}# caja\n${missing.join("\n")}\n`);
  }
  return { written, ignored: present === undefined ? [] : missing };
}

/** Replace `file` with `text` through a temporary file, so a failure leaves the old one whole. */
async function replaceWith(file: string, text: string): Promise<void> {
  const temp = `${file}.caja-${process.pid}.tmp`;
  try {
    await writeFile(temp, text, { flag: "wx" });
    await rename(temp, file);
  } catch (e) {
    await unlink(temp).catch(() => {});
    throw new CajaUserError(`cannot write ${file}: ${(e as Error).message}`);
  }
}
