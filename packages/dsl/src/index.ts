/**
 * caja's config DSL. Everything here is pure and light: a config file imports it at run time, so
 * it must not pull in the schema library or anything with I/O.
 */
import type { CajaConfig, EnvironmentConfig } from "./config.generated.js";

export type { CajaConfig, EnvironmentConfig } from "./config.generated.js";
export { todo, isTodo, relocateTodo, type Todo } from "./todo.js";
export { fnv1a } from "./hash.js";

/** What a function-form config receives. */
export interface ConfigContext {
  /** The caja command being run, e.g. `"compile"`. */
  readonly command: string;
}

export type ConfigExport = CajaConfig | Promise<CajaConfig> | ((ctx: ConfigContext) => CajaConfig | Promise<CajaConfig>);

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
export function defineConfig<const T extends ConfigExport>(config: T): T {
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
