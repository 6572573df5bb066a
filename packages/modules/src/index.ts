/** caja's module contracts, their implementations and the engine types they build on. */
import { bootstrap } from "./bootstrap.js";
import { domain } from "./domain.js";

export * from "./contracts.js";
export * from "./core/expr.js";
export * from "./core/module.js";
export * from "./core/naming.js";
export * from "./core/policies.js";
export * from "./core/root.js";

/** Every module implementation, for the engine's phase table. */
export const MODULES = { bootstrap, domain } as const;
