/** caja's module contracts, their implementations and the engine types they build on. */
import { alb } from "./alb.js";
import { bootstrap } from "./bootstrap.js";
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
export { bootstrap, iamOidc, domain, networking, security, rdsPostgres, secrets, ecr, ecsCluster, alb, ecsService, staticSite, dns, observability, hardening, costAllocation };
export * from "./core/expr.js";
export * from "./core/module.js";
export * from "./core/naming.js";
export * from "./core/policies.js";
export * from "./core/root.js";

/** Every module implementation, for the engine's phase table. */
export const MODULES = { bootstrap, iamOidc, domain, networking, security, rdsPostgres, secrets, ecr, ecsCluster, alb, ecsService, staticSite, dns, observability, hardening, costAllocation } as const;
