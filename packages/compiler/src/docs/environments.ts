/**
 * `environments.md`: the resolved config side by side, one column per environment, so a reviewer
 * sees what each environment gets (tier defaults, `defaults` and its own block already layered)
 * and where they differ. Rows come from the resolved values themselves: a new setting shows up
 * without touching this file.
 */
import type { ResolvedConfig, ResolvedEnvironment } from "@caja/dsl/schema";
import type { ApiModule } from "@caja/modules";
import type { TodoReport } from "../compile.js";
import type { Estimate } from "../cost/estimate.js";
import { costSection } from "./cost.js";
import { code, flatten, formatValue, pageHeader, prose, siteLabel, table, type DocsOptions } from "./markdown.js";

/** Identity and bookkeeping, not settings. */
const NOT_SETTINGS = new Set(["name", "index", "primary", "tags", "extend"]);

export interface EnvironmentsInput {
  readonly config: ResolvedConfig;
  readonly todos: readonly TodoReport[];
  /** The config schema's descriptions of the environment setting groups (`network`: "VPC, subnets and NAT."). */
  readonly groupDescriptions: Readonly<Record<string, string>>;
  /** The monthly estimate, shown after the environments' summary. */
  readonly estimate?: Estimate;
}

export function environmentsPage(input: EnvironmentsInput, options: DocsOptions): string {
  const { config, todos } = input;
  const envs = Object.values(config.environments);
  const lines = pageHeader(
    "environments.md",
    "Environments",
    `What each environment gets once tier defaults, \`defaults\` and its own settings are layered, side by side. **Bold** rows differ between environments. Undecided values (\`todo()\`) are listed at the end with their source line.`,
  );

  // Not "Environments" again: the page title has it, and a repeated heading repeats its anchor.
  lines.push("## Overview", "");
  lines.push(
    ...table(
      ["", ...envs.map((e) => code(e.name))],
      [
        ["tier", ...envs.map((e) => e.tier)],
        ["apply order", ...envs.map((e) => String(e.index + 1))],
        ["owns the primary hosts", ...envs.map((e) => (e.primary ? "yes" : "no"))],
        ["`Environment` tag", ...envs.map((e) => code(e.tags.Environment ?? e.name))],
      ],
    ),
    "",
  );
  if (input.estimate) lines.push(...costSection(input.estimate, envs.map((e) => e.name)));

  const columns = envs.map((e) => flatten({ ...settingsOf(e), ...sectionsOf(config, e.name) }));
  const paths = [...new Set(columns.flatMap((c) => [...c.keys()]))];
  const groups = new Map<string, string[]>();
  for (const path of paths) {
    const group = path.split(".")[0]!;
    groups.set(group, [...(groups.get(group) ?? []), path]);
  }
  for (const [group, members] of groups) {
    const description = input.groupDescriptions[group];
    lines.push(`## ${code(group)}${description ? `: ${prose(description.replace(/\.$/, ""))}` : ""}`, "");
    const rows = members.map((path) => {
      const values = columns.map((c) => formatValue(c.get(path), options));
      const differs = new Set(values).size > 1;
      const label = path.slice(group.length + 1) || group;
      return differs ? [bold(label), ...values.map(bold)] : [label, ...values];
    });
    lines.push(...table(["Setting", ...envs.map((e) => code(e.name))], rows), "");
  }

  const extended = envs.filter((e) => Object.keys(e.extend).length > 0);
  if (extended.length > 0 || Object.keys(config.extend).length > 0) {
    lines.push("## `extend`: raw resources and overrides (escape hatch)", "");
    const rows: string[][] = [];
    for (const [scope, ext] of [["global", config.extend] as const, ...envs.map((e) => [e.name, e.extend] as const)]) {
      for (const [phase, x] of Object.entries(ext)) {
        const resources = Object.entries(x.resources ?? {}).flatMap(([type, byName]) => Object.keys(byName).map((n) => code(`${type}.${n}`)));
        const overrides = Object.keys(x.overrides ?? {}).map(code);
        rows.push([code(scope), code(phase), resources.join(", ") || "—", overrides.join(", ") || "—"]);
      }
    }
    lines.push(...table(["Scope", "Phase", "Added resources", "Overridden resources"], rows), "");
  }

  lines.push("## Shared by every environment", "");
  const shared = flatten({ ...config, environments: undefined, extend: undefined, modules: undefined, ...sectionsOf(config, "global") });
  lines.push(
    ...table(
      ["Setting", "Value"],
      [...shared].filter(([, v]) => v !== undefined).map(([path, v]) => [code(path), formatValue(v, options)]),
    ),
    "",
  );

  lines.push("## Undecided values (`todo()`)", "");
  if (todos.length === 0) lines.push("None: every value is decided.", "");
  else {
    lines.push(
      ...table(
        ["Source", "Field", "Reason", "Becomes"],
        todos.map((t) => [
          siteLabel(t.site, options) ?? "—",
          code(t.path),
          prose(t.reason),
          t.uses.length === 0 ? "not used by any root yet" : `variable ${[...new Set(t.uses.map((u) => code(u.variable)))].join(", ")} in ${t.uses.map((u) => code(u.root)).join(", ")}`,
        ]),
      ),
      "",
    );
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

/** Values that carry their own emphasis (TODOs) stay as they are: Markdown does not nest bold. */
function bold(text: string): string {
  return text.includes("**") ? text : `**${text}**`;
}

/** The config sections of the modules that have one in `scope`, by key (a module that is off shows as such). */
function sectionsOf(config: ResolvedConfig, scope: string): Record<string, unknown> {
  return Object.fromEntries(
    config.modules.flatMap((m) => {
      const key = (m.definition as ApiModule).settings?.key;
      const instance = m.instances[scope];
      return key && instance ? [[key, instance.settings]] : [];
    }),
  );
}

function settingsOf(env: ResolvedEnvironment): Record<string, unknown> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !NOT_SETTINGS.has(k) && k !== "tier"));
}
