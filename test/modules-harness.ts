/**
 * Test one module (or a phase's modules) in isolation: its dependencies are stand-ins that
 * export their contract's outputs as cloud-assigned values with example data, so the module's
 * root reads them through `terraform_remote_state` exactly as it will in the full build.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { expr, type Contract, type ModuleDef } from "@caja/modules";
import type { PhaseDef } from "../packages/compiler/src/phases.js";
import { checkRoot, findTerraform, terraformEnv, type RootCheck } from "../packages/compiler/src/terraform.js";
import type { Compiled } from "../packages/compiler/src/compile.js";
import { tempDir } from "./helpers.js";

/** A stand-in for `contract` whose outputs are only known after apply, mocked with `examples`. */
export function standIn<O extends string>(contract: Contract<O>, examples: Record<O, unknown>): ModuleDef<O> {
  return {
    ...contract,
    build: (ctx) => {
      for (const output of contract.outputs) {
        ctx.root.output(output, { value: expr(`null`), description: `stand-in for ${contract.id}.${output}`, example: examples[output] });
      }
    },
  };
}

/**
 * A phase table: stand-ins in early phases (global ones at 0, environment ones at 1), then the
 * modules under test in one phase numbered `number` (default 5) with directory `dir`.
 */
export function phasesFor(
  modules: readonly ModuleDef[],
  standIns: readonly ModuleDef[] = [],
  { number = 5, dir = "50-under-test", scope = modules[0]?.scope ?? "env" }: { number?: number; dir?: string; scope?: "global" | "env" } = {},
): PhaseDef[] {
  const phase = (id: string, n: number, d: string, s: "global" | "env", mods: readonly ModuleDef[]): PhaseDef => ({
    id, number: n, dir: d, title: id, scope: s, modules: mods, manualSteps: [], exitCriteria: "",
  });
  return [
    phase("standins-global", 0, "00-standins", "global", standIns.filter((m) => m.scope === "global")),
    phase("standins-env", 1, "01-standins", "env", standIns.filter((m) => m.scope === "env")),
    phase("under-test", number, dir, scope, modules),
  ];
}

/** Write one compiled root to a temp dir and run init/validate/mock test on it. Undefined without terraform. */
export async function terraformCheck(compiled: Compiled, rootId: string): Promise<RootCheck | undefined> {
  const bin = findTerraform();
  if (!bin) return undefined;
  const out = tempDir("caja-module-");
  for (const f of compiled.files.filter((f) => f.path.startsWith(`${rootId}/`))) {
    await mkdir(dirname(join(out, f.path)), { recursive: true });
    await writeFile(join(out, f.path), f.content);
  }
  return checkRoot(bin, join(out, rootId), await terraformEnv());
}
