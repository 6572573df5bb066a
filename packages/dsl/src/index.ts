/**
 * caja's config DSL. Everything here is pure and light: a config file imports it at run time, so
 * it must not pull in the schema library or anything with I/O.
 */
import type { CajaConfig, EnvironmentConfig } from "./config.generated.js";
import type { ModuleShape } from "./module-shape.js";

export type { CajaConfig, EnvironmentConfig } from "./config.generated.js";
export type { ModuleShape } from "./module-shape.js";
export { todo, isTodo, relocateTodo, type Todo } from "./todo.js";
export { fnv1a } from "./hash.js";

/** What a function-form config receives. */
export interface ConfigContext {
  /** The caja command being run, e.g. `"compile"`. */
  readonly command: string;
}

export type ConfigExport = CajaConfig | Promise<CajaConfig> | ((ctx: ConfigContext) => CajaConfig | Promise<CajaConfig>);


type SectionsOf<M extends readonly ModuleShape[], S extends "global" | "env"> = {
  [X in M[number] as X extends { readonly scope: S; readonly settings?: { readonly key: infer K extends string } } ? K : never]?: NonNullable<X["~settings"]>;
};

/** The config with the sections of `modules` in place: `environments.<env>.<key>` and `defaults.<key>`, or `<key>` for a global module. */
export type ConfigWithModules<M extends readonly ModuleShape[]> = Omit<CajaConfig, "defaults" | "environments" | "modules"> & {
  /** Modules of your own (`defineModule` from `caja/module`): each adds its roots, outputs and config section. */
  modules?: M;
  defaults?: CajaConfig["defaults"] & SectionsOf<M, "env">;
  environments: { [name: string]: EnvironmentConfig & SectionsOf<M, "env"> };
} & SectionsOf<M, "global">;

/**
 * Declare the platform. An identity function: it exists so editors type-check and autocomplete
 * the object (or the function returning it).
 *
 * @example
 * export default defineConfig({
 *   project: "caja",
 *   domain: { root: "dbash.dev", namespace: "caja" },
 *   github: { repository: "dbash/caja" },
 *   tags: { Owner: "platform-engineering", Confidentiality: "internal", CostCenter: "events-eng" },
 *   environments: { dev: {}, staging: {}, prod: {} },
 * });
 */
export function defineConfig<const M extends readonly ModuleShape[] = readonly []>(
  config: ConfigWithModules<M> | Promise<ConfigWithModules<M>> | ((ctx: ConfigContext) => ConfigWithModules<M> | Promise<ConfigWithModules<M>>),
): typeof config {
  return config;
}

/**
 * Type one environment on its own, e.g. in a file of its own imported by `caja.config.ts`.
 *
 * @example
 * export const prod = environment({ db: { instanceClass: "db.t4g.large" } });
 */
export function environment(settings: EnvironmentConfig): EnvironmentConfig {
  return settings;
}
