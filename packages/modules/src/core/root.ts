/**
 * The plan of one Terraform root: what modules put in it, as data. Modules add resources,
 * outputs and variables here; the compiler's emit stage turns it into `main.tf.json` and
 * `main.tftest.json`. Nothing here knows about files.
 */
import { expr, listExpr } from "./expr.js";
import type { AwsDataSources, AwsResources } from "../aws/resources.generated.js";

export type ResourceType = keyof AwsResources & string;
export type DataType = keyof AwsDataSources & string;

/** A resource or data source in a root; its attributes are expressions usable in other bodies. */
export class Handle<T extends string = string> {
  constructor(
    readonly kind: "resource" | "data",
    readonly type: T,
    readonly name: string,
  ) {}

  /** The Terraform address: `aws_vpc.main` or `data.aws_region.current`. */
  get address(): string {
    return this.kind === "data" ? `data.${this.type}.${this.name}` : `${this.type}.${this.name}`;
  }

  /** An attribute as an expression string, e.g. `vpc.attr("id")`. */
  attr(path: string): string {
    return expr(`${this.address}.${path}`);
  }

  /** A list-valued attribute, usable where a `string[]` is expected. */
  list(path: string): string[] {
    return listExpr(`${this.address}.${path}`);
  }
}

export interface Lifecycle {
  create_before_destroy?: boolean;
  prevent_destroy?: boolean;
  ignore_changes?: string[] | "all";
}

export interface ResourceOptions {
  /**
   * Resources that must exist first, beyond what the body's references imply: handles, or
   * attribute references read from another module (`aws_lb_listener.https.arn` waits for the listener).
   */
  readonly dependsOn?: readonly (Handle | string)[];
  readonly lifecycle?: Lifecycle;
  /** A provider alias declared with {@link RootBuilder.useProviderAlias}. */
  readonly provider?: string;
  /** A Terraform `for_each` expression; `each.key` / `each.value` may then appear in the body. */
  readonly forEach?: string | Record<string, unknown>;
}

export interface Entry {
  readonly handle: Handle;
  body: Record<string, unknown>;
  readonly options: ResourceOptions;
  /** The module that added it (for docs and error messages). */
  readonly module: string;
  /** Where a user's module added it (`file:line:col`, or a bundle frame), so a bad body is reported there. */
  readonly site?: string;
}

export interface OutputSpec {
  readonly value: unknown;
  readonly description: string;
  /** A realistic value, used where consumers' tests mock this output and in the docs. */
  readonly example: unknown;
  readonly sensitive?: boolean;
}

export interface VariableSpec {
  /** A Terraform type expression, e.g. `string` or `list(string)`. */
  readonly type: string;
  readonly description: string;
  readonly default?: unknown;
  /** A value the generated test passes for the variable. */
  readonly example: unknown;
  /** Each condition is an HCL boolean expression (without `${}`). */
  readonly validation?: readonly { readonly condition: string; readonly error_message: string }[];
  /** Set when the variable stands for a `todo()` in the config. */
  readonly todo?: { readonly path: string; readonly site?: string };
}

export interface Assertion {
  /** An HCL boolean expression (without `${}`), evaluated by `terraform test` after the mock apply. */
  readonly condition: string;
  readonly message: string;
}

export interface RemoteStateRead {
  /** Data source name, e.g. `bootstrap`. */
  readonly name: string;
  /** The producing root's id, e.g. `global/00-bootstrap`. */
  readonly root: string;
  readonly outputs: Map<string, unknown>;
}

export class RootBuilder {
  readonly entries: Entry[] = [];
  readonly outputs = new Map<string, OutputSpec>();
  readonly variables = new Map<string, VariableSpec>();
  readonly imports: { to: Handle; id: string }[] = [];
  readonly providerAliases = new Map<string, string>();
  readonly assertions: Assertion[] = [];
  readonly mockResources = new Map<string, Record<string, unknown>>();
  readonly mockData = new Map<string, Record<string, unknown>>();
  readonly overrides: { target: Handle; values: Record<string, unknown> }[] = [];
  readonly remoteReads = new Map<string, RemoteStateRead>();
  private readonly names = new Set<string>();
  private currentModule = "";
  private locate: (() => string | undefined) | undefined;

  constructor(readonly id: string) {}

  /**
   * Attribute what follows to `module` (the engine calls this before each module builds);
   * `locate`: where each addition was made, for a user's module (a stack read per resource).
   */
  enter(module: string, locate?: () => string | undefined): void {
    this.currentModule = module;
    this.locate = locate;
  }

  resource<T extends ResourceType>(type: T, name: string, body: AwsResources[T], options: ResourceOptions = {}): Handle<T> {
    return this.add(new Handle("resource", type, name), body as Record<string, unknown>, options);
  }

  data<T extends DataType>(type: T, name: string, body: AwsDataSources[T], options: ResourceOptions = {}): Handle<T> {
    return this.add(new Handle("data", type, name), body as Record<string, unknown>, options);
  }

  /** Find an entry to change it (the escape hatch's overrides). */
  find(address: string): Entry | undefined {
    return this.entries.find((e) => e.handle.address === address);
  }

  output(name: string, spec: OutputSpec): void {
    if (this.outputs.has(name)) throw new Error(`internal: output "${name}" declared twice in ${this.id}`);
    this.outputs.set(name, spec);
  }

  /** Declare a variable and return a reference to it. */
  variable(name: string, spec: VariableSpec): string {
    const existing = this.variables.get(name);
    if (existing && JSON.stringify(existing) !== JSON.stringify(spec)) throw new Error(`internal: variable "${name}" declared twice in ${this.id}`);
    this.variables.set(name, spec);
    return expr(`var.${name}`);
  }

  /** Adopt an existing cloud object instead of creating it (`import` block). */
  importExisting(to: Handle, id: string): void {
    this.imports.push({ to, id });
  }

  /** Declare `provider "aws" { alias = ... }` for a region; returns the `provider` meta-argument value. */
  useProviderAlias(alias: string, region: string): string {
    this.providerAliases.set(alias, region);
    return `aws.${alias}`;
  }

  /** A check that the generated `terraform test` makes after its mock apply. */
  assert(condition: string, message: string): void {
    this.assertions.push({ condition, message });
  }

  /** Realistic computed values for the mock provider (ARNs must look like ARNs to pass validation). */
  mockResource(type: ResourceType, defaults: Record<string, unknown>): void {
    this.mockResources.set(type, { ...this.mockResources.get(type), ...defaults });
  }

  mockDataSource(type: DataType, defaults: Record<string, unknown>): void {
    this.mockData.set(type, { ...this.mockData.get(type), ...defaults });
  }

  /** Fix computed values of one resource in the generated test. */
  overrideInTest(target: Handle, values: Record<string, unknown>): void {
    this.overrides.push({ target, values });
  }

  private add<T extends string>(handle: Handle<T>, body: Record<string, unknown>, options: ResourceOptions): Handle<T> {
    if (this.names.has(handle.address)) throw new Error(`internal: ${handle.address} declared twice in ${this.id}`);
    this.names.add(handle.address);
    const site = this.locate?.();
    this.entries.push({ handle, body, options, module: this.currentModule, ...(site ? { site } : {}) });
    return handle;
  }
}
