/** `caja plan`: init and plan every chosen root in apply order, each plan saved beside its root. */
import { PLAN_FLAGS, runAction } from "../run/command.js";
import type { Io } from "./support.js";

export const usage = `caja plan <global|ENV|all>... [--phase P] [--roots IDS] [--parallel N] [--backend local] [--terraform PATH] [--config FILE] [--out DIR]
                  [--save-plans DIR] [--summary FILE] [--github-output FILE] [--detailed-exitcode] [--commit SHA]

  Plans each root in manifest order (terraform init, terraform plan -out=caja.tfplan) and ends
  with a table of adds, changes and destroys. A root whose upstream roots are not applied yet is
  reported as waiting for them. Runs on out/, which must be current (caja compile).

  --phase P             only this phase (its id, e.g. network, or its directory, e.g. 20-network)
  --roots IDS           only these roots (ids such as dev/20-network, separated by spaces or commas)
  --parallel N          up to N roots at once where dependencies allow (default 1)
  --backend local       trial mode: compile with local state into .caja/local/ and plan there with
                        fake AWS credentials, so no AWS account is needed; roots that read AWS data
                        sources cannot be planned this way and are reported
  --save-plans DIR      copy each plan with changes into DIR with plans.json: the commit, every
                        plan's digest, what it destroys and the upstream outputs it was made
                        against. caja apply --plans DIR applies exactly these plans
  --summary FILE        append the plan in Markdown to FILE: adds, changes and destroys per root,
                        every destroyed or replaced resource by address, and each plan folded
  --github-output FILE  append changes=true|false and changed_roots=<ids> to FILE (a GitHub step's
                        $GITHUB_OUTPUT)
  --detailed-exitcode   exit 2 when any root has changes (a drift check), 0 when none, 1 on failure
  --commit SHA          the commit recorded with --save-plans (default: git rev-parse HEAD)
  --terraform PATH      the terraform binary (default: terraform on PATH; needs >= 1.7)`;

export function run(argv: readonly string[], io: Io): Promise<number> {
  return runAction("plan", argv, io, PLAN_FLAGS);
}
