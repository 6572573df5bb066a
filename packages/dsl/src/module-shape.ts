/**
 * What the config's types need of a module made with `defineModule` (from `caja/module`): its
 * scope and its section's key and input type. Structural, so the DSL needs no schema library.
 */
export interface ModuleShape {
  readonly id: string;
  readonly scope: "global" | "env";
  readonly settings?: { readonly key: string };
  readonly "~settings"?: unknown;
}
