/** What a saved plan would do, counted from `terraform show -json <plan>` the way terraform counts. */

export interface Changes {
  readonly add: number;
  readonly change: number;
  readonly destroy: number;
  readonly import: number;
  /** Outputs that would be added, changed or removed. */
  readonly outputs: number;
}

export const NO_CHANGES: Changes = { add: 0, change: 0, destroy: 0, import: 0, outputs: 0 };

interface PlanJson {
  readonly resource_changes?: readonly { readonly change?: { readonly actions?: readonly string[]; readonly importing?: unknown } }[];
  readonly output_changes?: Readonly<Record<string, { readonly actions?: readonly string[] }>>;
}

/** A replacement counts as one add and one destroy; reads and no-ops count as nothing. */
export function planChanges(plan: unknown): Changes {
  const doc = (plan ?? {}) as PlanJson;
  let add = 0;
  let change = 0;
  let destroy = 0;
  let imports = 0;
  for (const rc of doc.resource_changes ?? []) {
    const actions = rc.change?.actions ?? [];
    if (actions.includes("create")) add++;
    if (actions.includes("delete")) destroy++;
    if (actions.length === 1 && actions[0] === "update") change++;
    if (rc.change?.importing) imports++;
  }
  const outputs = Object.values(doc.output_changes ?? {}).filter((o) => (o.actions ?? []).some((a) => a !== "no-op")).length;
  return { add, change, destroy, import: imports, outputs };
}

/** Whether applying the plan would change anything, state outputs included. */
export function hasChanges(c: Changes): boolean {
  return c.add + c.change + c.destroy + c.import + c.outputs > 0;
}

/** A resource the plan deletes, on its own or to create it anew. */
export interface Removal {
  readonly address: string;
  readonly action: "destroy" | "replace";
}

/** Every resource the plan deletes, by address, in the plan's order. */
export function planRemovals(plan: unknown): Removal[] {
  const doc = (plan ?? {}) as { resource_changes?: readonly { address?: unknown; change?: { actions?: readonly string[] } }[] };
  return (doc.resource_changes ?? []).flatMap((rc): Removal[] => {
    const actions = rc.change?.actions ?? [];
    if (!actions.includes("delete") || typeof rc.address !== "string") return [];
    return [{ address: rc.address, action: actions.includes("create") ? "replace" : "destroy" }];
  });
}
