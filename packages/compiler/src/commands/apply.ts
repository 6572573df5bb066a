/** `caja apply`: plan and apply every chosen root in apply order, stopping at the first failure. */
import { runAction } from "../run/command.js";
import type { Io } from "./support.js";

export const usage = `caja apply <global|ENV|all>... [--phase P] [--parallel N] [--terraform PATH] [--config FILE] [--out DIR]

  For each root in manifest order: terraform init, terraform plan -out=caja.tfplan, and terraform
  apply of exactly that saved plan, so a root is planned only after the roots it reads are
  applied. Stops at the first failure, naming the root, the command and its log. Runs on out/,
  which must be current (caja compile).

  --phase P        only this phase (its id, e.g. network, or its directory, e.g. 20-network)
  --parallel N     up to N roots at once where dependencies allow (default 1)
  --terraform PATH the terraform binary (default: terraform on PATH; needs >= 1.7)`;

export function run(argv: readonly string[], io: Io): Promise<number> {
  return runAction("apply", argv, io);
}
