/** The terraform a run uses: from `--terraform PATH` or PATH, at least the version the roots need. */
import { resolve } from "node:path";
import { CajaUserError } from "../errors.js";
import { findTerraform, runTerraform } from "../terraform.js";

/** The roots declare `required_version = ">= 1.7"` and their tests use `mock_provider` (1.7). */
export const MIN_TERRAFORM = "1.7.0";

export interface TerraformBinary {
  readonly bin: string;
  readonly version: string;
}

/** `explicit` is a path, relative to `cwd`; without it, terraform is looked up on PATH. */
export async function resolveTerraform(explicit: string | undefined, cwd: string): Promise<TerraformBinary> {
  const bin = findTerraform(explicit === undefined ? undefined : resolve(cwd, explicit));
  if (!bin) {
    throw new CajaUserError(
      explicit
        ? `--terraform ${explicit}: no such file. Point it at a terraform binary (>= ${short(MIN_TERRAFORM)}).`
        : `terraform is not on PATH. Install Terraform >= ${short(MIN_TERRAFORM)} (https://developer.hashicorp.com/terraform/install) or pass --terraform PATH.`,
    );
  }
  const version = await versionOf(bin);
  if (compareVersions(version, MIN_TERRAFORM) < 0) {
    throw new CajaUserError(`${bin} is Terraform ${version}; caja's roots need Terraform >= ${short(MIN_TERRAFORM)}. Upgrade it or pass --terraform PATH.`);
  }
  return { bin, version };
}

/** `terraform version -json` → `1.11.4`. */
async function versionOf(bin: string): Promise<string> {
  const { code, stdout, stderr } = await runTerraform(bin, ["version", "-json"], process.cwd(), { ...process.env, CHECKPOINT_DISABLE: "1" }).catch((e: Error) => ({ code: 127, stdout: "", stderr: e.message }));
  const version = code === 0 ? parseVersionJson(stdout) : undefined;
  if (!version) throw new CajaUserError(`${bin} did not report a Terraform version (terraform version -json exited ${code}${stderr.trim() ? `: ${stderr.trim().split("\n")[0]}` : ""}); is it terraform?`);
  return version;
}

export function parseVersionJson(stdout: string): string | undefined {
  try {
    const v = (JSON.parse(stdout) as { terraform_version?: unknown }).terraform_version;
    return typeof v === "string" && /^\d+\.\d+\.\d+/.test(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Compare `1.7.0` with `1.11.4-beta1` numerically, part by part (pre-release suffixes ignored). */
export function compareVersions(a: string, b: string): number {
  const parts = (v: string) => v.split(/[-+]/)[0]!.split(".").map((n) => Number(n));
  const [pa, pb] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function short(v: string): string {
  return v.replace(/\.0$/, "");
}
