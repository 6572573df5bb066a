// Cost-aware defaults per environment tier: plan section 14 (sizes, NAT, retention), section 5
// (autoscaling targets and cooldowns) and section 7 (alarm thresholds). Data, not code, so the
// reference docs and the editor hover text read the same numbers the compiler applies.

export const TIERS = ["dev", "staging", "prod"] as const;
export type Tier = (typeof TIERS)[number];

export const TIER_DEFAULTS = {
  dev: {
    network: { azCount: 2, nat: "single" },
    service: {
      desiredCount: 1, cpu: 256, memory: 512, port: 8000, healthCheckPath: "/health",
      autoscaling: { min: 1, max: 2, cpuTarget: 60, memoryTarget: 70, scaleOutCooldownSeconds: 60, scaleInCooldownSeconds: 300 },
    },
    db: {
      instanceClass: "db.t4g.micro", allocatedStorage: 20, maxAllocatedStorage: 100, backupRetentionDays: 7,
      multiAz: false, deletionProtection: false, engineVersion: "16",
    },
    alb: { deletionProtection: false },
    logs: { retentionDays: 30 },
  },
  staging: {
    network: { azCount: 2, nat: "single" },
    service: {
      desiredCount: 2, cpu: 256, memory: 512, port: 8000, healthCheckPath: "/health",
      autoscaling: { min: 2, max: 4, cpuTarget: 60, memoryTarget: 70, scaleOutCooldownSeconds: 60, scaleInCooldownSeconds: 300 },
    },
    db: {
      instanceClass: "db.t4g.small", allocatedStorage: 20, maxAllocatedStorage: 200, backupRetentionDays: 7,
      multiAz: false, deletionProtection: false, engineVersion: "16",
    },
    alb: { deletionProtection: false },
    logs: { retentionDays: 60 },
  },
  prod: {
    network: { azCount: 2, nat: "per-az" },
    service: {
      desiredCount: 3, cpu: 512, memory: 1024, port: 8000, healthCheckPath: "/health",
      autoscaling: { min: 3, max: 6, cpuTarget: 60, memoryTarget: 70, scaleOutCooldownSeconds: 60, scaleInCooldownSeconds: 300 },
    },
    db: {
      instanceClass: "db.t4g.medium", allocatedStorage: 50, maxAllocatedStorage: 500, backupRetentionDays: 14,
      multiAz: true, deletionProtection: true, engineVersion: "16",
    },
    alb: { deletionProtection: true },
    logs: { retentionDays: 90 },
  },
} as const;

/** Plan section 7 thresholds; the same for every tier unless a config overrides them. */
export const ALARM_DEFAULTS = {
  alb5xx: { enabled: true, threshold: 5, periodSeconds: 300, evaluationPeriods: 1 },
  ecsCpu: { enabled: true, threshold: 80, periodSeconds: 300, evaluationPeriods: 1 },
  ecsMemory: { enabled: true, threshold: 80, periodSeconds: 300, evaluationPeriods: 1 },
  rdsFreeStoragePercent: { enabled: true, threshold: 10, periodSeconds: 300, evaluationPeriods: 1 },
  rdsCpu: { enabled: true, threshold: 80, periodSeconds: 600, evaluationPeriods: 1 },
} as const;

/**
 * Second octet of the default VPC CIDR (`10.<n>.0.0/16`) for the well-known environment names.
 * Other names get one derived from the name itself, so adding an environment never moves another.
 */
export const KNOWN_CIDR_OCTETS: Readonly<Record<string, number>> = { dev: 10, staging: 20, prod: 30, sandbox: 40 };

/** Phase ids a config may extend (`extend`), per scope. The compiler's phase table must match. */
export const GLOBAL_PHASE_IDS = ["bootstrap", "iam-oidc", "domain", "cost-allocation"] as const;
export const ENV_PHASE_IDS = ["network", "persistence", "platform", "service", "static-site", "dns", "observability", "hardening"] as const;
