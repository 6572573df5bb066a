/** `caja plan`: init and plan every chosen root in apply order, each plan saved beside its root. */
import { runAction } from "../run/command.js";
import type { Io } from "./support.js";

export const usage = `caja plan <global|ENV|all>... [--phase P] [--parallel N] [--backend local] [--terraform PATH] [--config FILE] [--out DIR]

  Plans each root in manifest order (terraform init, terraform plan -out=caja.tfplan) and ends
  with a table of adds, changes and destroys. A root whose upstream roots are not applied yet is
  reported as waiting for them. Runs on out/, which must be current (caja compile).

  --phase P        only this phase (its id, e.g. network, or its directory, e.g. 20-network)
  --parallel N     up to N roots at once where dependencies allow (default 1)
  --backend local  trial mode: compile with local state into .caja/local/ and plan there with
                   fake AWS credentials, so no AWS account is needed; roots that read AWS data
                   sources cannot be planned this way and are reported
  --terraform PATH the terraform binary (default: terraform on PATH; needs >= 1.7)`;

export function run(argv: readonly string[], io: Io): Promise<number> {
  return runAction("plan", argv, io);
}
