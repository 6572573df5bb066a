/**
 * The execution phases of the plan (section 3), as data. Each phase becomes one root per scope:
 * `out/global/<dir>/` or `out/<env>/<dir>/`. `dir` sorts in apply order; `number` is the plan's
 * phase number. Phase 9 (the CI pipeline) is a workflow file, not a root, so it is not listed.
 */
import type { ApiModule, ModuleDef, Scope } from "@caja/modules";
import { MODULES } from "@caja/modules";

/** A built-in module, or one written with the module API (`caja/module`). */
export type AnyModule = ModuleDef | ApiModule;

export interface PhaseDef {
  readonly id: string;
  /** The plan's phase number (0, 0.5, 1, ...). */
  readonly number: number;
  /** Directory name under the scope; its `NN-` prefix orders roots. */
  readonly dir: string;
  readonly title: string;
  readonly scope: Scope;
  readonly modules: readonly AnyModule[];
  /** Keeps its own state locally until `state.bootstrapped` (it creates the bucket). */
  readonly ownsStateBucket?: boolean;
  /**
   * Applied once from an administrator's machine, never by the pipeline: the pipeline's roles
   * exist only after it, and none of them may change the state bucket or the OIDC roles.
   */
  readonly administered?: boolean;
  /** What a person must do after applying, if anything. */
  readonly manualSteps: readonly string[];
  /** The plan's exit criteria for the phase. */
  readonly exitCriteria: string;
}

export const PHASES: readonly PhaseDef[] = [
  {
    id: "bootstrap", number: 0, dir: "00-bootstrap", title: "Bootstrap foundations", scope: "global",
    modules: [MODULES.bootstrap], ownsStateBucket: true, administered: true,
    manualSteps: ["Update the registrar's name servers to the `name_servers` output, then wait for propagation."],
    exitCriteria: "`dig NS <root domain>` returns the four Route 53 name servers.",
  },
  {
    id: "iam-oidc", number: 0.5, dir: "05-iam-oidc", title: "IAM OIDC and deployer roles", scope: "global",
    modules: [MODULES.iamOidc], administered: true, manualSteps: [],
    exitCriteria: "A GitHub Actions dry-run plan job assumes its deployer role (`sts:GetCallerIdentity` succeeds).",
  },
  {
    id: "domain", number: 1, dir: "10-domain", title: "Domain and certificates", scope: "global",
    modules: [MODULES.domain], manualSteps: [],
    exitCriteria: "Both certificates have status Issued.",
  },
  {
    id: "network", number: 2, dir: "20-network", title: "Core network and security", scope: "env",
    modules: [MODULES.networking, MODULES.security], manualSteps: [],
    exitCriteria: "`terraform plan` is clean; the VPC is reachable.",
  },
  {
    id: "persistence", number: 3, dir: "30-persistence", title: "Persistence", scope: "env",
    modules: [MODULES.rdsPostgres, MODULES.secrets], manualSteps: [],
    exitCriteria: "The database is available and its secret populated.",
  },
  {
    id: "platform", number: 4, dir: "40-platform", title: "Container platform", scope: "env",
    modules: [MODULES.ecr, MODULES.ecsCluster], manualSteps: [],
    exitCriteria: "The cluster is empty but healthy; the repository exists.",
  },
  {
    id: "service", number: 5, dir: "50-service", title: "Runtime service and ALB", scope: "env",
    modules: [MODULES.alb, MODULES.ecsService], manualSteps: [],
    exitCriteria: "The health check returns 200 at the ALB DNS name.",
  },
  {
    id: "static-site", number: 6, dir: "60-static-site", title: "Static hosting and CDN", scope: "env",
    modules: [MODULES.staticSite], manualSteps: [],
    exitCriteria: "The CloudFront distribution is deployed.",
  },
  {
    id: "dns", number: 7, dir: "70-dns", title: "DNS application records", scope: "env",
    modules: [MODULES.dns], manualSteps: [],
    exitCriteria: "`curl https://api.<namespace>.<root>/health` succeeds.",
  },
  {
    id: "observability", number: 8, dir: "80-observability", title: "Observability", scope: "env",
    modules: [MODULES.observability], manualSteps: ["Optionally confirm the SNS subscription e-mails."],
    exitCriteria: "Alarms are in the OK state.",
  },
  {
    id: "hardening", number: 10, dir: "90-hardening", title: "Hardening", scope: "env",
    modules: [MODULES.hardening], manualSteps: [],
    exitCriteria: "Scaling policies are active.",
  },
  {
    // Cost allocation tags are account-wide: one root for the account, not one per environment.
    id: "cost-allocation", number: 10, dir: "90-hardening", title: "Hardening: cost allocation tags", scope: "global",
    modules: [MODULES.costAllocation], manualSteps: [],
    exitCriteria: "The cost allocation tags show as active in the Billing console.",
  },
];
