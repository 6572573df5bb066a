/**
 * Phase 10, account-wide — cost allocation (plan sections 0 and 3): activate the plan's cost tags
 * (`Project`, `Environment`, `CostCenter`, `Owner`) as cost allocation tags, so Cost Explorer and the
 * Cost and Usage Report can group spend by them.
 *
 * Inputs: none beyond the tag keys themselves; every resource already carries them through the
 * provider's `default_tags`.
 *
 * Outputs:
 * - `cost_allocation_tag_keys`: the activated keys.
 *
 * Activation is a setting of the account (of the payer account in an AWS Organization), not of an
 * environment, so it lives in one global root. AWS only accepts a key once it has appeared in
 * billing data, which can take up to a day after the first tagged resource: that is why this runs
 * in the last phase, after the environments exist.
 */
import { expr } from "./core/expr.js";
import { defineModule } from "./core/module.js";
import { COST_ALLOCATION } from "./contracts.js";

/** The plan's cost tags: `Project`/`Environment` added by caja, `CostCenter`/`Owner` from `tags`. */
export const COST_TAG_KEYS = ["Project", "Environment", "CostCenter", "Owner"] as const;

export const costAllocation = defineModule(COST_ALLOCATION, (ctx) => {
  const { root } = ctx;
  root.resource(
    "aws_ce_cost_allocation_tag",
    "cost",
    { tag_key: expr("each.key"), status: "Active" },
    { forEach: Object.fromEntries(COST_TAG_KEYS.map((k) => [k, k])) },
  );
  root.output("cost_allocation_tag_keys", {
    value: [...COST_TAG_KEYS],
    description: "Tag keys activated for cost allocation in this account.",
    example: [...COST_TAG_KEYS],
  });
  root.assert(`length(aws_ce_cost_allocation_tag.cost) == ${COST_TAG_KEYS.length}`, "every cost tag is activated");
  root.assert(`alltrue([for t in aws_ce_cost_allocation_tag.cost : t.status == "Active"])`, "every cost tag is Active");
});
