/** `caja destroy`: destroy every chosen root in reverse apply order, after asking. */
import { runAction } from "../run/command.js";
import type { Io } from "./support.js";

export const usage = `caja destroy <ENV|global>... [--phase P] [--parallel N] [--yes] [--allow-prod] [--terraform PATH] [--config FILE] [--out DIR]

  Destroys each root in reverse manifest order (terraform plan -destroy, then apply of that plan).
  A root that a root outside the run still uses (and that still has state) is kept. Asks first;
  without a terminal, pass --yes. A production (tier prod) environment also needs --allow-prod.

  --phase P        only this phase (its id or its directory)
  --parallel N     up to N roots at once where dependencies allow (default 1)
  --yes            do not ask
  --allow-prod     allow destroying a tier-prod environment
  --terraform PATH the terraform binary (default: terraform on PATH; needs >= 1.7)`;

export function run(argv: readonly string[], io: Io): Promise<number> {
  return runAction("destroy", argv, io, { "--yes": "bool", "--allow-prod": "bool" });
}
