/**
 * Types of the escape hatch (`extend`): raw resources added to a phase's root and overrides of
 * the resources caja generates, typed against the AWS provider schema. Values are Terraform JSON:
 * `${...}` is interpolation, `$${` a literal `${`. Every reference must name what the root
 * declares (its resources, including the ones added here, its data sources and variables), or the
 * compile stops at the field: caja generates no locals or module calls to refer to.
 */
// Relative, so the declarations emitted for the caja package carry these types along (see scripts/build.mjs).
import type { AwsResources } from "../../modules/src/aws/resources.generated.js";

type DeepPartial<T> = T extends readonly (infer U)[] ? DeepPartial<U>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Meta-arguments a raw resource may carry besides its provider arguments. */
export interface RawMeta {
  depends_on?: string[];
  count?: number | string;
  for_each?: string | Record<string, unknown> | string[];
  provider?: string;
  lifecycle?: { create_before_destroy?: boolean; prevent_destroy?: boolean; ignore_changes?: string[] | "all" };
}

/**
 * Extra resources for a root, by type then label.
 * @example { aws_sns_topic: { audit: { name: "caja-prod-audit" } } }
 */
export type RawResources = { [T in keyof AwsResources]?: Record<string, AwsResources[T] & RawMeta> };

/**
 * Changes to generated resources, by address (`aws_lb.main`), deep-merged into the generated
 * body: objects merge, everything else replaces.
 * @example { "aws_lb.main": { idle_timeout: 120 } }
 */
export type ResourceOverrides = { [T in keyof AwsResources as `${T & string}.${string}`]?: DeepPartial<AwsResources[T]> & RawMeta };
