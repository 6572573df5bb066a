/** `caja init`: write a starter caja.config.ts in the current folder, from flags (no prompts). */
import { createRequire } from "node:module";
import { join, relative, sep } from "node:path";
import { CAJA_INSTALL_HINT } from "../errors.js";
import { ownPackageDir } from "../self.js";
import { initProject, projectFromFolder, STARTER_DEFAULTS } from "../init.js";
import { parseArgs, UsageError, type FlagSpec, type Io } from "./support.js";

export const usage = [
  "caja init [--project NAME] [--domain ROOT] [--namespace LABEL] [--region REGION] [--env NAME]...",
  "          [--repository OWNER/REPO] [--owner TEAM] [--cost-center NAME] [--force]",
  "",
  `  --project      defaults to the folder's name; --domain defaults to ${STARTER_DEFAULTS.domain} (replace it before applying)`,
  `  --env          repeat it or separate with commas, in apply order (default ${STARTER_DEFAULTS.environments.join(",")})`,
  "  --repository   left as todo() when not given; --force replaces an existing config",
].join("\n");

const FLAGS: FlagSpec = {
  "--project": "value",
  "--domain": "value",
  "--namespace": "value",
  "--region": "value",
  "--env": "value",
  "--repository": "value",
  "--owner": "value",
  "--cost-center": "value",
  "--force": "bool",
};

export async function run(argv: readonly string[], io: Io): Promise<number> {
  const args = parseArgs(argv, FLAGS);
  if (args.positional.length > 0) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  const project = args.value("--project") ?? projectFromFolder(io.cwd);
  const envs = args.values("--env").flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  const domain = args.value("--domain") ?? STARTER_DEFAULTS.domain;
  const namespace = args.value("--namespace");
  const repository = args.value("--repository");
  const own = ownPackageDir();
  const result = await initProject(
    io.cwd,
    {
      project,
      domain,
      region: args.value("--region") ?? STARTER_DEFAULTS.region,
      environments: envs.length > 0 ? envs : STARTER_DEFAULTS.environments,
      owner: args.value("--owner") ?? STARTER_DEFAULTS.owner,
      costCenter: args.value("--cost-center") ?? project,
      ...(namespace ? { namespace } : {}),
      ...(repository ? { repository } : {}),
    },
    args.has("--force"),
    own && isStableSource(own) ? `file:${relative(io.cwd, own).split(sep).join("/") || "."}` : undefined,
  );
  io.out(`caja: wrote ${result.written.join(", ")} (project ${project}, environments ${(envs.length > 0 ? envs : STARTER_DEFAULTS.environments).join(", ")}).`);
  if (result.ignored.length > 0) io.out(`  .gitignore: added ${result.ignored.join(" ")}`);
  if (domain === STARTER_DEFAULTS.domain) io.out(`  domain.root is ${domain}: replace it with your domain before applying.`);
  if (!resolvesCaja(io.cwd)) io.out(`  caja is not installed in this folder (this caja compiles it meanwhile): ${CAJA_INSTALL_HINT}.`);
  io.out("  Next: npx caja compile (writes out/, out/docs/ and .github/workflows/infra-plan-apply.yml).");
  return 0;
}

/**
 * Whether the package this CLI runs from can be named as a dependency: a checkout or an unpacked
 * folder, not a copy inside some node_modules (npx's cache, a global install) that may go away.
 */
function isStableSource(dir: string): boolean {
  return !dir.split(sep).includes("node_modules");
}

/** Whether `import "caja"` in the new config will resolve from this folder. */
function resolvesCaja(cwd: string): boolean {
  try {
    createRequire(join(cwd, "caja.config.ts")).resolve("caja/package.json");
    return true;
  } catch {
    return false;
  }
}
