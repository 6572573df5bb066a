/**
 * What `import ... from "caja"` gives a config file: the DSL only. Kept tiny because every
 * compile loads it; the compiler itself lives in the CLI bundle.
 */
// A relative import, not "@caja/dsl": the declarations emitted for this file (dist/types) then
// reach the DSL's inside the package, which depends on no workspace package.
export { defineConfig, environment, todo, isTodo } from "../../dsl/src/index.js";
export type { CajaConfig, ConfigContext, ConfigExport, EnvironmentConfig, Todo } from "../../dsl/src/index.js";
