/** caja's module contracts, their implementations and the engine types they build on. */
import { alb } from "./alb.js";
import type { ApiModule } from "./core/user-module.js";
import { bootstrap } from "./bootstrap.js";
import { cache } from "./cache.js";
import { costAllocation } from "./cost-allocation.js";
import { domain } from "./domain.js";
import { dns } from "./dns.js";
import { ecr } from "./ecr.js";
import { ecsCluster } from "./ecs-cluster.js";
import { ecsService } from "./ecs-service.js";
import { hardening } from "./hardening.js";
import { iamOidc } from "./iam-oidc.js";
import { networking } from "./networking.js";
import { observability } from "./observability.js";
import { rdsPostgres } from "./rds-postgres.js";
import { secrets } from "./secrets.js";
import { security } from "./security.js";
import { staticSite } from "./static-site.js";

export * from "./contracts.js";
export { SERVICE_VARIABLES } from "./ecs-service.js";
export { cache };
export { bootstrap, iamOidc, domain, networking, security, rdsPostgres, secrets, ecr, ecsCluster, alb, ecsService, staticSite, dns, observability, hardening, costAllocation };
export * from "./core/expr.js";
export * from "./core/module.js";
export * from "./core/naming.js";
export * from "./core/policies.js";
export * from "./core/root.js";
// The public defineModule (one spec object) is the API's (api.ts); core/module.js's builds the plan's own.
export { isApiModule, modulesOn, MODULE_MARK, type ModuleInstance, type AlarmSpec, type ApiModule, type DeployerScope, type DeployerStatement, type NewPhase, type OutputRef, type Wiring } from "./core/user-module.js";

/** Every module implementation, for the engine's phase table. */
export const MODULES = { bootstrap, iamOidc, domain, networking, security, rdsPostgres, secrets, ecr, ecsCluster, alb, ecsService, staticSite, dns, observability, hardening, costAllocation } as const;

/** caja's opt-in modules, written with the public module API (see api.ts): always registered, off until enabled. */
export const API_MODULES: readonly ApiModule[] = [cache];
