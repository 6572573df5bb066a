/**
 * What `import ... from "caja"` gives a config file: the DSL only. Kept tiny because every
 * compile loads it; the compiler itself lives in the CLI bundle.
 */
export { defineConfig, environment, todo, isTodo } from "@caja/dsl";
export type { CajaConfig, ConfigContext, ConfigExport, EnvironmentConfig, Todo } from "@caja/dsl";
