/** `caja apply`: plan and apply every chosen root in apply order, stopping at the first failure. */
import { APPLY_FLAGS, runAction } from "../run/command.js";
import type { Io } from "./support.js";

export const usage = `caja apply <global|ENV|all>... [--phase P] [--roots IDS] [--parallel N] [--terraform PATH] [--config FILE] [--out DIR]
                   [--plans DIR] [--summary FILE] [--commit SHA]

  For each root in manifest order: terraform init, terraform plan -out=caja.tfplan, and terraform
  apply of exactly that saved plan, so a root is planned only after the roots it reads are
  applied. Stops at the first failure, naming the root, the command and its log. Runs on out/,
  which must be current (caja compile).

  --phase P        only this phase (its id, e.g. network, or its directory, e.g. 20-network)
  --roots IDS      only these roots (ids such as dev/20-network, separated by spaces or commas)
  --parallel N     up to N roots at once where dependencies allow (default 1)
  --plans DIR      apply the plans caja plan --save-plans DIR saved, and nothing else: refused
                   when they were made from another commit; a root whose main.tf.json, plan file
                   or upstream outputs changed since it was planned fails as stale (plan again)
  --summary FILE   append what was applied, in Markdown, to FILE (a GitHub job summary)
  --commit SHA     the commit checked out, compared with the plans' (default: git rev-parse HEAD)
  --terraform PATH the terraform binary (default: terraform on PATH; needs >= 1.7)`;

export function run(argv: readonly string[], io: Io): Promise<number> {
  return runAction("apply", argv, io, APPLY_FLAGS);
}
