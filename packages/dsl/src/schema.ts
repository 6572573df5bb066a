/**
 * The one schema of `caja.config.ts`. It validates at run time, gives the types (`z.input` is what
 * users write, `z.output` the resolved config every module reads) and is the source of the
 * reference docs and the editor types. Everything a field means is said once, here.
 */
import { z } from "zod";
import { AWS_REGIONS, FARGATE_SIZES, LOG_RETENTION_DAYS, RDS_INSTANCE_CLASSES } from "./aws-values.js";
import { ALARM_DEFAULTS, ENV_PHASE_IDS, GLOBAL_PHASE_IDS, KNOWN_CIDR_OCTETS, TIER_DEFAULTS, TIERS, type Tier } from "./defaults.js";
import { fnv1a } from "./hash.js";
import { closest } from "./suggest.js";
import { isTodo, type Todo } from "./todo.js";

// ---------------------------------------------------------------------------------------------
// Building blocks

/**
 * Where each field's description and examples are kept (the docs and editor types are generated
 * from them). A schema made in place is registered as it is: `.meta()` would first copy it, which
 * keeps a shared schema's own metadata apart (`domainName` below), and a hundred such copies were
 * a tenth of the work of loading the compiler.
 */
const docs = z.globalRegistry;

const todoSchema = z
  .custom<Todo>(isTodo, { error: 'expected a value or todo("reason")' })
  // The reason becomes a variable's description and a line of the docs: a marker without one
  // (todo(), todo(42), or a hand-made marker) is the user's mistake, reported at the field.
  .refine((t) => typeof t.reason === "string" && t.reason.trim() !== "", {
    error: (issue) => `todo() needs a reason, got ${describe((issue.input as { reason?: unknown }).reason)}: say why the value is open and who decides, e.g. todo("alarm e-mails not decided; owner: platform-engineering")`,
    // The validate stage reports this branch of a todo-able field's union, by this mark.
    params: { todoReason: true },
  })
  .register(docs, { id: "Todo", description: 'A value not decided yet: todo("reason").' });

/** A field that may be left undecided with `todo()` (plan section 13 lists which). */
function orTodo<T extends z.ZodType>(schema: T) {
  return z.union([schema, todoSchema]);
}

/** An object that rejects unknown keys, suggesting the key the user probably meant. */
function strict<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== "unrecognized_keys") return undefined;
      return issue.keys
        .map((key) => {
          const hint = closest(key, known);
          return hint ? `unknown field "${key}". Did you mean "${hint}"?` : `unknown field "${key}". Known fields: ${known.join(", ")}.`;
        })
        .join("; ");
    },
  });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T, noun: string) {
  return z.enum(values, {
    error: (issue) => {
      if (issue.code !== "invalid_value") return undefined;
      const got = issue.input;
      if (typeof got !== "string") return `expected ${noun}, got ${describe(got)}`;
      const hint = closest(got, values);
      return `"${got}" is not ${noun}.${hint ? ` Did you mean "${hint}"?` : ""}`;
    },
  });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeof value === "string" ? `"${value}"` : typeof value;
}

/** An integer in [min, max]: both bounds in one copy of the schema (`.min().max()` makes two). */
const int = (min: number, max: number) => z.int().check(z.gte(min), z.lte(max));

const DOMAIN_LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const domainName = z
  .string()
  .regex(new RegExp(`^(?=.{4,253}$)(?:${DOMAIN_LABEL}\\.)+[a-z]{2,63}$`), "must be a lowercase domain name such as dbash.dev")
  .register(docs, { examples: ["dbash.dev"] });

const cidrBlock = z.string().refine(isCidr, "must be an IPv4 CIDR block from /16 to /24 such as 10.10.0.0/16");

const email = z.email({ error: (issue) => (typeof issue.input === "string" ? `"${issue.input}" is not an email address` : `expected an email address, got ${describe(issue.input)}`) });

/**
 * `OWNER/REPO` as GitHub allows them: the owner 1-39 letters, digits and single inner hyphens; the
 * repository up to 100 letters, digits, `.`, `_`, `-`, but not `.` or `..` (they would make the
 * OIDC subject and the pipeline name another path).
 */
const githubRepository = z
  .string()
  .regex(/^[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}\/[A-Za-z0-9._-]{1,100}$/, "must be OWNER/REPO, e.g. dbash/caja")
  .refine((r) => !/\/\.{1,2}$/.test(r) && !r.endsWith(".git"), 'must be OWNER/REPO: the repository may not be "." or ".." or end in .git');

/** A branch name git accepts (`git check-ref-format --branch`), in the characters caja allows. */
const branchName = z
  .string()
  .regex(/^[A-Za-z0-9._/-]{1,255}$/, "must be a branch name: letters, digits, . _ / -")
  .refine(
    (b) => !/(^|\/)\.|\.\.|\/\/|^\/|\/$|\.lock(\/|$)|\.$|^-/.test(b),
    "is not a branch name git accepts: no part may start with . or end in .lock, no .. or //, and it may not start with - or /, or end with / or .",
  );

const resourceName = (what: string) =>
  z.string().regex(/^[a-z][a-z0-9-]*[a-z0-9]$/, `${what} must be lowercase letters, digits and "-", starting with a letter`);

// ---------------------------------------------------------------------------------------------
// The escape hatch: raw resources and overrides per phase, checked against the provider schema
// at compile time (editor types come from the generated AWS resource types).

const terraformLabel = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, "must be a Terraform name (letters, digits, _ and -)");
/** One root's escape hatch (`extend.<phase>`). */
export const extensionSchema = strict({
  resources: z
    .record(z.string().regex(/^aws_[a-z0-9_]+$/, "must be an AWS resource type such as aws_sns_topic"), z.record(terraformLabel, z.record(z.string(), z.unknown())))
    .optional()
    .register(docs, { description: "Extra resources for this root, by type then name. Values are Terraform JSON (`${...}` interpolates).", tsType: "RawResources" }),
  overrides: z
    .record(z.string().regex(/^aws_[a-z0-9_]+\.[A-Za-z_][A-Za-z0-9_-]*$/, "must be a resource address such as aws_lb.main"), z.record(z.string(), z.unknown()))
    .optional()
    .register(docs, { description: "Attributes to change on generated resources, by address; deep-merged into the generated body.", tsType: "ResourceOverrides" }),
}).register(docs, { description: "Raw resources and overrides for one phase's root: the escape hatch for what caja does not model yet." });

function extendSchema(ids: readonly string[]) {
  return strict(Object.fromEntries(ids.map((id) => [id, extensionSchema.optional()]))).register(docs, {
    description: "The escape hatch, per phase: raw resources and overrides of generated resources.",
  });
}

// ---------------------------------------------------------------------------------------------
// Security-gate suppressions: a finding of one rule on one resource, accepted with a reason.

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "must be a date written YYYY-MM-DD")
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), "is not a calendar date");

const suppressionSchema = strict({
  rule: z
    .string()
    .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, "must be a rule id such as alb-internal (see the rules table in the README)")
    .register(docs, { description: "The rule's id, as `caja check` prints it.", examples: ["alb-internal"] }),
  resource: z
    .string()
    .regex(
      // Or, for a credential written outside a resource, the config field or the file the finding names.
      /^(?:[a-z0-9-]+\/[0-9]{2}-[a-z0-9-]+\/)?aws_[a-z0-9_]+\.[A-Za-z_][A-Za-z0-9_-]*$|^[A-Za-z_$][\w$-]*(?:\.[A-Za-z_$][\w$-]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])+$|^\.?[\w-]+(?:\/[\w.-]+)+$/,
      "must be a resource address such as aws_lb.main (every root that has it) or prod/50-service/aws_lb.main (one root)",
    )
    .register(docs, {
      description: "The resource: its address in every root that has it (`aws_lb.main`), or in one root (`prod/50-service/aws_lb.main`).",
      examples: ["aws_lb.main", "prod/50-service/aws_lb.main"],
    }),
  reason: z.string().trim().min(1, "give the reason this finding is accepted").max(1000).register(docs, { description: "Why the finding is accepted: reviewers read it in the SARIF report and in out/docs." }),
  expires: isoDate.optional().register(docs, {
    description: "Last day the suppression holds (YYYY-MM-DD). After it the compile fails until the finding is fixed or the suppression renewed.",
    examples: ["2026-12-31"],
  }),
}).register(docs, { description: "One accepted finding." });

// ---------------------------------------------------------------------------------------------
// Per-environment settings. Every field is optional: a missing one takes the tier's default.

const alarmSchema = (metric: string, unit: string) =>
  strict({
    enabled: z.boolean().optional().register(docs, { description: `Create the ${metric} alarm.` }),
    threshold: z.number().min(0).optional().register(docs, { description: `Alarm when ${metric} crosses this value (${unit}).` }),
    periodSeconds: z
      .int()
      .refine((s) => s >= 60 && s % 60 === 0, "must be a multiple of 60 seconds")
      .optional()
      .register(docs, { description: "Length of one evaluation period, in seconds (a multiple of 60)." }),
    evaluationPeriods: int(1, 100).optional().register(docs, { description: "Consecutive periods over the threshold before the alarm fires." }),
  }).register(docs, { description: `Thresholds of the ${metric} alarm.` });

export const environmentSettingsSchema = strict({
  network: strict({
    cidr: cidrBlock.optional().register(docs, {
      description: "IPv4 CIDR of the environment's VPC. Must not overlap another environment's.",
      examples: ["10.10.0.0/16"],
    }),
    azCount: int(2, 6).optional().register(docs, { description: "Availability zones to spread subnets over (the ALB needs two)." }),
    nat: oneOf(["single", "per-az"], "a NAT strategy (single or per-az)")
      .optional()
      .register(docs, { description: "One shared NAT gateway (`enable_single_nat`, cheaper) or one per availability zone (no cross-AZ dependency)." }),
  })
    .optional()
    .register(docs, { description: "VPC, subnets and NAT." }),
  service: strict({
    imageTag: orTodo(z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "must be a valid container image tag"))
      .optional()
      .register(docs, {
        description: "Backend image tag deployed by Terraform (`backend_image_tag`). Becomes a Terraform variable defaulting to this value.",
        examples: ["dev-initial"],
      }),
    desiredCount: int(0, 1000).optional().register(docs, { description: "ECS tasks to run (the starting count when autoscaling is on)." }),
    cpu: z
      .union([z.literal(256), z.literal(512), z.literal(1024), z.literal(2048), z.literal(4096)], {
        error: "must be a Fargate CPU size: 256, 512, 1024, 2048 or 4096",
      })
      .optional()
      .register(docs, { description: "Fargate task CPU units." }),
    memory: int(512, 30720).optional().register(docs, { description: "Fargate task memory in MiB; must fit the CPU size." }),
    port: int(1, 65535).optional().register(docs, { description: "Port the FastAPI container listens on." }),
    healthCheckPath: z.string().regex(/^\/[\w\-./]*$/, "must be a URL path starting with /").optional().register(docs, {
      description: "Target-group health check path.",
    }),
    autoscaling: strict({
      min: int(0, 1000).optional().register(docs, { description: "Fewest tasks autoscaling may leave running." }),
      max: int(1, 1000).optional().register(docs, { description: "Most tasks autoscaling may start." }),
      cpuTarget: int(10, 95).optional().register(docs, { description: "Target average CPU utilisation, percent." }),
      memoryTarget: int(10, 95).optional().register(docs, { description: "Target average memory utilisation, percent." }),
      scaleOutCooldownSeconds: int(0, 3600).optional().register(docs, { description: "Seconds after a scale-out before another." }),
      scaleInCooldownSeconds: int(0, 3600).optional().register(docs, { description: "Seconds after a scale-in before another." }),
    })
      .optional()
      .register(docs, { description: "Application Auto Scaling of the ECS service (phase 10)." }),
  })
    .optional()
    .register(docs, { description: "The FastAPI service on ECS Fargate." }),
  db: strict({
    instanceClass: orTodo(oneOf(RDS_INSTANCE_CLASSES, "an RDS instance class"))
      .optional()
      .register(docs, { description: "RDS instance class.", examples: ["db.t4g.micro"] }),
    allocatedStorage: orTodo(int(20, 65536)).optional().register(docs, { description: "Initial storage in GiB." }),
    maxAllocatedStorage: int(20, 65536).optional().register(docs, { description: "Storage autoscaling ceiling in GiB (at least `allocatedStorage`)." }),
    backupRetentionDays: int(1, 35).optional().register(docs, { description: "Days of automated backups to keep." }),
    multiAz: z.boolean().optional().register(docs, { description: "Run a synchronous standby in a second AZ." }),
    deletionProtection: z.boolean().optional().register(docs, { description: "Refuse deletion of the instance (and keep a final snapshot)." }),
    engineVersion: z.string().regex(/^\d+(\.\d+)?$/, "must be a PostgreSQL version such as 16 or 16.4").optional().register(docs, {
      description: "PostgreSQL engine version.",
    }),
  })
    .optional()
    .register(docs, { description: "The PostgreSQL database on RDS." }),
  alb: strict({
    deletionProtection: z.boolean().optional().register(docs, { description: "Refuse deletion of the load balancer." }),
  })
    .optional()
    .register(docs, { description: "The application load balancer." }),
  logs: strict({
    retentionDays: z
      .union(LOG_RETENTION_DAYS.map((d) => z.literal(d)) as unknown as [z.ZodLiteral<30>, ...z.ZodLiteral<number>[]], {
        error: (issue) => `${describe(issue.input)} is not a CloudWatch retention period. Allowed: ${LOG_RETENTION_DAYS.join(", ")}`,
      })
      .optional()
      .register(docs, { description: "Days CloudWatch keeps application, flow and database logs." }),
  })
    .optional()
    .register(docs, { description: "Log retention." }),
  alarms: strict({
    emails: orTodo(z.array(email).max(50))
      .optional()
      .register(docs, {
        description: "Who receives alarm notifications (each confirms an SNS subscription e-mail).",
        examples: [["oncall@example.com"]],
      }),
    alb5xx: alarmSchema("ALB 5XX responses", "count per period").optional(),
    ecsCpu: alarmSchema("ECS service CPU", "percent").optional(),
    ecsMemory: alarmSchema("ECS service memory", "percent").optional(),
    rdsFreeStoragePercent: alarmSchema("RDS free storage", "percent of allocated storage; alarms below").optional(),
    rdsCpu: alarmSchema("RDS CPU", "percent").optional(),
  })
    .optional()
    .register(docs, { description: "CloudWatch alarms and who they notify (phase 8)." }),
  extend: extendSchema(ENV_PHASE_IDS).optional(),
});

const environmentSchema = environmentSettingsSchema
  .extend({
    tier: oneOf(TIERS, "a tier (dev, staging or prod)")
      .optional()
      .register(docs, { description: "Which column of cost-aware defaults applies. Defaults to the environment's name when it is dev, staging or prod, else dev." }),
  })
  .register(docs, { description: "One environment: its tier and any setting that differs from the tier's defaults." });

/**
 * Names an environment cannot take: each is already an entry of `out/` (`out/global/`, the
 * reviewer docs in `out/docs/`), so an environment of that name would write its roots among them.
 */
export const RESERVED_ENV_NAMES: readonly string[] = ["global", "docs"];

const envNameSchema = z
  .string()
  .regex(/^[a-z](?:[a-z0-9-]{0,22}[a-z0-9])?$/, "environment names are lowercase letters, digits and \"-\", 1-24 characters, starting with a letter")
  .refine((name) => !RESERVED_ENV_NAMES.includes(name), {
    error: (issue) => `"${String(issue.input)}" is reserved: out/${String(issue.input)}/ already holds ${issue.input === "global" ? "the account-wide roots" : "the reviewer docs"}. Name the environment otherwise`,
  });

// ---------------------------------------------------------------------------------------------
// The whole config

/** A module object (`defineModule` from `caja/module`); the compiler checks the rest of it. */
export const moduleSchema = z
  .custom<object>((m) => typeof m === "object" && m !== null && (m as Record<symbol, unknown>)[Symbol.for("caja.module")] === true, {
    error: "is not a module: make it with defineModule() from caja/module",
  })
  .register(docs, { description: "A module made with `defineModule` (from `caja/module`)." });

const configInputSchema = strict({
  project: resourceName("project")
    .max(24)
    // The state bucket and the static site's bucket are named `{project}-...` by default.
    .refine((p) => bucketNameProblem(p, "prefix") === undefined, {
      error: (issue) => `S3 bucket names caja derives from it would start with "${String(issue.input)}": ${bucketNameProblem(String(issue.input), "prefix")}`,
    })
    .register(docs, { description: "Project name: the first part of every resource name and the `Project` tag.", examples: ["caja"] }),
  region: oneOf(AWS_REGIONS, "an AWS region").default("us-east-1").register(docs, { description: "AWS region of every environment." }),
  accountId: z
    .string()
    .regex(/^\d{12}$/, "must be a 12-digit AWS account id")
    .optional()
    .register(docs, { description: "AWS account id. When set, ARNs are written as literals; otherwise they are read from the caller identity." }),
  naming: strict({
    pattern: z
      .string()
      .refine((p) => p.includes("{component}"), "must contain {component}")
      .refine((p) => /^(?:[a-z0-9-]|\{project\}|\{env\}|\{component\})+$/.test(p), "may only contain {project}, {env}, {component}, lowercase letters, digits and -")
      .default("{project}-{env}-{component}")
      .register(docs, { description: "How resource names are built. Names over an AWS limit are shortened with a stable hash suffix." }),
  })
    .prefault({})
    .register(docs, { description: "Resource naming." }),
  tags: strict({
    Owner: z.string().min(1).max(256).register(docs, { description: "Team that owns the infrastructure.", examples: ["platform-engineering"] }),
    Confidentiality: oneOf(["public", "internal", "confidential", "restricted"], "a confidentiality level").register(docs, {
      description: "Data classification.",
    }),
    CostCenter: z.string().min(1).max(256).register(docs, { description: "Cost allocation centre.", examples: ["events-eng"] }),
    ManagedBy: z.string().min(1).max(256).default("terraform").register(docs, { description: "What manages the resources." }),
  })
    .catchall(z.string().max(256))
    .superRefine(checkTags)
    .register(docs, { description: "The global tag set. `Project` and `Environment` are added by caja; extra keys are passed through." }),
  state: strict({
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "must be a valid S3 bucket name (3-63 lowercase letters, digits, -)")
      .refine((b) => bucketNameProblem(b, "bucket") === undefined, { error: (issue) => bucketNameProblem(String(issue.input), "bucket") })
      .optional()
      .register(docs, { description: "S3 bucket holding every root's state. Defaults to `{project}-terraform-state`.", examples: ["caja-terraform-state"] }),
    lockTable: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{3,255}$/, "must be a valid DynamoDB table name")
      .optional()
      .register(docs, { description: "DynamoDB lock table (locking `dynamodb`). Defaults to `{project}-terraform-locks`." }),
    locking: oneOf(["dynamodb", "s3"], "a locking mode (dynamodb or s3)")
      .default("dynamodb")
      .register(docs, { description: "`dynamodb` (the plan's lock table) or `s3` (Terraform >= 1.10 native lockfile, no table)." }),
    bootstrapped: z.boolean().default(false).register(docs, {
      description:
        "Set to true once phase 0 is applied and its state migrated to the bucket (`terraform init -migrate-state`). Until then the bootstrap root keeps local state.",
    }),
  })
    .prefault({})
    .register(docs, { description: "Remote state backend (phase 0 creates it)." }),
  domain: strict({
    root: domainName.meta({ description: "Root domain whose public hosted zone phase 0 creates.", examples: ["dbash.dev"] }),
    namespace: z
      .string()
      .regex(new RegExp(`^${DOMAIN_LABEL}$`), "must be one lowercase DNS label")
      .optional()
      .register(docs, { description: "Application namespace under the root domain: hosts are `app.<namespace>.<root>`.", examples: ["caja"] }),
    envSubdomains: z.boolean().default(true).register(docs, {
      description: "Give listed environments their own hosts, `app.<env>.<namespace>.<root>` (`enable_env_subdomains`).",
    }),
    environments: z.array(envNameSchema).optional().register(docs, {
      description: "Environments that get their own hosts. Defaults to every environment that is not tier prod (the prod one owns the primary hosts).",
      examples: [["dev", "staging"]],
    }),
    hostedZoneId: orTodo(z.string().regex(/^Z[A-Z0-9]{1,32}$/, "must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ"))
      .optional()
      .register(docs, { description: "An existing hosted zone to adopt (phase 0 writes an `import` block) instead of creating one." }),
  }).register(docs, { description: "Domain and DNS (plan section 2)." }),
  github: strict({
    repository: orTodo(githubRepository).register(docs, {
      description: "GitHub repository allowed to assume the deployer roles through OIDC.",
      examples: ["dbash/caja"],
    }),
    mainBranch: branchName.default("main").register(docs, {
      description: "Branch whose pushes apply the first environment.",
    }),
  }).register(docs, { description: "GitHub repository for OIDC deployer roles and the pipeline." }),
  extend: extendSchema(GLOBAL_PHASE_IDS).optional(),
  policy: strict({
    suppressions: z
      .array(suppressionSchema)
      .max(500)
      .default([])
      .register(docs, { description: "Security-gate findings accepted on purpose, each for one rule and one resource, with the reason." }),
  })
    .prefault({})
    .register(docs, { description: "The security gate that `caja compile` and `caja check` run over every generated root." }),
  modules: z
    .array(moduleSchema)
    .optional()
    .register(docs, { description: "Modules of your own (`defineModule` from `caja/module`): each adds its roots, outputs and config section." }),
  defaults: environmentSettingsSchema.optional().register(docs, {
    description: "Settings applied to every environment, over the tier defaults and under each environment's own.",
  }),
  environments: z
    .record(envNameSchema, environmentSchema)
    .refine((envs) => Object.keys(envs).length > 0, "define at least one environment")
    .register(docs, { description: "Environments by name, in apply order.", examples: [{ dev: {}, staging: {}, prod: {} }] }),
});

// ---------------------------------------------------------------------------------------------
// Resolution: defaults per tier, derived names and hosts, cross-field rules.

export type EnvironmentSettingsInput = z.input<typeof environmentSettingsSchema>;
type RawConfig = z.output<typeof configInputSchema>;
type Settings = NonNullable<z.output<typeof environmentSettingsSchema>>;

export interface AlarmSettings {
  readonly enabled: boolean;
  readonly threshold: number;
  readonly periodSeconds: number;
  readonly evaluationPeriods: number;
}

export interface ResolvedEnvironment {
  readonly name: string;
  readonly tier: Tier;
  /** Position in `environments`, in apply order. */
  readonly index: number;
  /** True for the tier-prod environment, which owns the primary hosts. */
  readonly primary: boolean;
  readonly hosts: { readonly app: readonly string[]; readonly api: readonly string[] };
  readonly network: { readonly cidr: string; readonly azCount: number; readonly nat: "single" | "per-az" };
  readonly service: {
    readonly imageTag: string | Todo;
    readonly desiredCount: number;
    readonly cpu: number;
    readonly memory: number;
    readonly port: number;
    readonly healthCheckPath: string;
    readonly autoscaling: {
      readonly min: number;
      readonly max: number;
      readonly cpuTarget: number;
      readonly memoryTarget: number;
      readonly scaleOutCooldownSeconds: number;
      readonly scaleInCooldownSeconds: number;
    };
  };
  readonly db: {
    readonly instanceClass: string | Todo;
    readonly allocatedStorage: number | Todo;
    readonly maxAllocatedStorage: number;
    readonly backupRetentionDays: number;
    readonly multiAz: boolean;
    readonly deletionProtection: boolean;
    readonly engineVersion: string;
    /** Database name (`db_name`): the project with `-` turned into `_`. */
    readonly name: string;
    readonly username: string;
  };
  readonly alb: { readonly deletionProtection: boolean };
  readonly logs: { readonly retentionDays: number };
  readonly alarms: {
    readonly emails: readonly string[] | Todo;
    readonly alb5xx: AlarmSettings;
    readonly ecsCpu: AlarmSettings;
    readonly ecsMemory: AlarmSettings;
    readonly rdsFreeStoragePercent: AlarmSettings;
    readonly rdsCpu: AlarmSettings;
  };
  /** The resource tags of this environment: the global set plus `Environment`. */
  readonly tags: Readonly<Record<string, string>>;
  /** Raw resources and overrides per phase id. */
  readonly extend: Readonly<Record<string, Extension>>;
}

/** A security-gate finding accepted on purpose (`policy.suppressions[i]`). */
export interface Suppression {
  /** Rule id, e.g. `alb-internal`. */
  readonly rule: string;
  /** `aws_lb.main` (every root that has it) or `prod/50-service/aws_lb.main` (one root). */
  readonly resource: string;
  readonly reason: string;
  /** `YYYY-MM-DD`: the last day it holds. */
  readonly expires?: string;
}

/** Raw resources (type → name → body) and overrides (address → partial body) for one root. */
export interface Extension {
  readonly resources?: Readonly<Record<string, Readonly<Record<string, Record<string, unknown>>>>>;
  readonly overrides?: Readonly<Record<string, Record<string, unknown>>>;
}

/** A module written with the module API (`caja/module`), and its resolved section per scope. */
export interface ResolvedModule {
  readonly id: string;
  /** The module object (`defineModule`'s result); the compiler reads it. */
  readonly definition: object;
  /** Per scope (`global` or an environment's name): whether it is on there, and its settings. */
  readonly instances: Readonly<Record<string, { readonly enabled: boolean; readonly settings: unknown; readonly wiring?: unknown }>>;
}

export interface ResolvedConfig {
  readonly project: string;
  readonly region: (typeof AWS_REGIONS)[number];
  readonly accountId?: string;
  readonly naming: { readonly pattern: string };
  /** Global tags: the configured set plus `Project` (no `Environment`). */
  readonly tags: Readonly<Record<string, string>>;
  readonly state: {
    readonly bucket: string;
    readonly lockTable: string;
    readonly locking: "dynamodb" | "s3";
    readonly bootstrapped: boolean;
  };
  readonly domain: {
    readonly root: string;
    readonly namespace?: string;
    /** `<namespace>.<root>`, or the root when there is no namespace. */
    readonly base: string;
    readonly envSubdomains: boolean;
    readonly environments: readonly string[];
    readonly hostedZoneId?: string | Todo;
    /** Frontend hosts, index 0 the prod primary (the domain module's `app_domains`). */
    readonly appDomains: readonly string[];
    /** API hosts, index 0 the prod primary (`api_domains`). */
    readonly apiDomains: readonly string[];
  };
  readonly github: { readonly repository: string | Todo; readonly mainBranch: string };
  /** Accepted security-gate findings. */
  readonly policy: { readonly suppressions: readonly Suppression[] };
  /** Raw resources and overrides of the global roots, per phase id. */
  readonly extend: Readonly<Record<string, Extension>>;
  readonly environments: Readonly<Record<string, ResolvedEnvironment>>;
  /** Modules written with the module API, caja's opt-in ones first, then the config's `modules`. */
  readonly modules: readonly ResolvedModule[];
}

type Issue = { message: string; path: (string | number)[] };

function crossChecks(raw: RawConfig): Issue[] {
  const issues: Issue[] = [];
  const names = Object.keys(raw.environments);
  const prod = names.filter((n) => tierOf(n, raw.environments[n]?.tier) === "prod");
  if (prod.length > 1) {
    issues.push({
      path: ["environments", prod[1]!, "tier"],
      message: `only one environment may be tier prod (it owns the primary hosts); "${prod[0]}" already is`,
    });
  }
  raw.domain.environments?.forEach((name, i) => {
    if (!names.includes(name)) {
      const hint = closest(name, names);
      issues.push({
        path: ["domain", "environments", i],
        message: `"${name}" is not a configured environment.${hint ? ` Did you mean "${hint}"?` : ` Known: ${names.join(", ")}.`}`,
      });
    }
  });
  if (raw.domain.environments && new Set(raw.domain.environments).size !== raw.domain.environments.length) {
    issues.push({ path: ["domain", "environments"], message: "lists an environment twice, which would give two environments the same hosts" });
  }
  // The certificates need at least one host: the prod environment's, or an environment's own subdomain.
  const subdomainEnvs = raw.domain.envSubdomains ? (raw.domain.environments ?? names.filter((n) => !prod.includes(n))) : [];
  if (prod.length === 0 && subdomainEnvs.length === 0) {
    issues.push({
      path: raw.domain.envSubdomains ? ["domain", "environments"] : ["domain", "envSubdomains"],
      message: `no environment gets a host: none is tier prod and ${raw.domain.envSubdomains ? "domain.environments is empty" : "env subdomains are off"}. Give one environment tier prod, or list environments under domain.environments`,
    });
  }
  const tagKeys = Object.keys(raw.tags);
  for (const reserved of ["Project", "Environment"]) {
    if (tagKeys.includes(reserved)) issues.push({ path: ["tags", reserved], message: `is set by caja from ${reserved === "Project" ? "project" : "the environment name"}; remove it` });
  }
  for (const key of tagKeys) {
    if (key.length > 128 || key.startsWith("aws:")) issues.push({ path: ["tags", key], message: "tag keys are at most 128 characters and must not start with aws:" });
  }
  // The project's own prefix is checked at `project`; a pattern that starts otherwise puts an
  // environment name or literal text at the head of the bucket names caja derives.
  if (!raw.naming.pattern.startsWith("{project}")) {
    for (const name of names) {
      const head = raw.naming.pattern.replaceAll("{project}", raw.project).replaceAll("{env}", name).split("{component}")[0]!;
      const problem = bucketNameProblem(head, "prefix");
      if (problem) {
        issues.push({ path: raw.naming.pattern.startsWith("{env}") ? ["environments", name] : ["naming", "pattern"], message: `S3 bucket names caja derives from it would start with "${head}": ${problem}` });
        if (!raw.naming.pattern.startsWith("{env}")) break;
      }
    }
  }
  return issues;
}

/** Characters and count of the global tag set, as AWS checks them on every resource. */
function checkTags(tags: Record<string, string>, ctx: z.RefinementCtx<Record<string, string>>): void {
  const keys = Object.keys(tags);
  for (const key of keys) {
    if (!TAG_TEXT.test(key)) ctx.addIssue({ code: "custom", path: [key], message: `tag key ${JSON.stringify(key)} ${TAG_TEXT_RULE}` });
    else if (!TAG_TEXT.test(tags[key]!)) ctx.addIssue({ code: "custom", path: [key], message: `tag value ${JSON.stringify(tags[key])} ${TAG_TEXT_RULE}` });
  }
  const count = keys.filter((k) => k !== "Project" && k !== "Environment").length;
  if (count > MAX_CONFIG_TAGS) {
    ctx.addIssue({
      code: "custom",
      path: [],
      message: `${count} tags: AWS allows ${MAX_RESOURCE_TAGS} on a resource, its provider default_tags included, and caja adds Project and Environment to every resource and up to ${CAJA_RESOURCE_TAGS} of its own (Name, Tier), so at most ${MAX_CONFIG_TAGS} fit here`,
    });
  }
}

/** Characters AWS accepts in tag keys and values (the common rule of the tagging APIs). */
const TAG_TEXT = { test: (text: string) => ASCII_TAG_TEXT.test(text) || UNICODE_TAG_TEXT.test(text) };
// Most tags are ASCII: the Unicode-class pattern (slower to compile and run) only for the rest.
const ASCII_TAG_TEXT = /^[A-Za-z0-9 _.:/=+\-@]*$/;
const UNICODE_TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const TAG_TEXT_RULE = "has characters AWS rejects in tags: only letters, digits, spaces and _ . : / = + - @ are allowed";
/** AWS's limit of tags on one resource, provider `default_tags` included. */
export const MAX_RESOURCE_TAGS = 50;
/** Tags a module adds to some resources beside the default tags (`Name`, `Tier`). */
const CAJA_RESOURCE_TAGS = 2;
const MAX_CONFIG_TAGS = MAX_RESOURCE_TAGS - 2 - CAJA_RESOURCE_TAGS;

/**
 * Why S3 refuses a bucket name it otherwise allows: prefixes and suffixes it reserves
 * (internationalised domain names, access point aliases, directory and table buckets).
 * `kind: "prefix"` checks only the head of a longer name.
 */
export function bucketNameProblem(name: string, kind: "bucket" | "prefix"): string | undefined {
  const prefix = ["xn--", "sthree-", "amzn-s3-demo-"].find((p) => name.startsWith(p));
  if (prefix) return `S3 reserves bucket names that start with "${prefix}"`;
  if (kind === "prefix") return undefined;
  const suffix = ["-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap"].find((p) => name.endsWith(p));
  return suffix ? `S3 reserves bucket names that end with "${suffix}"` : undefined;
}

/** An environment's tier: the one given, else its name when that is a tier, else dev. */
export function tierOf(name: string, tier: Tier | undefined): Tier {
  return tier ?? ((TIERS as readonly string[]).includes(name) ? (name as Tier) : "dev");
}

/** Deep merge of plain objects; later layers win, arrays and todo markers are replaced whole. */
export function merge<T>(...layers: unknown[]): T {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    if (layer === undefined) continue;
    for (const [key, value] of Object.entries(layer as Record<string, unknown>)) {
      if (value === undefined) continue;
      const prev = out[key];
      out[key] = isPlainObject(value) && isPlainObject(prev) ? merge(prev, value) : value;
    }
  }
  return out as T;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !isTodo(v) && Object.getPrototypeOf(v) === Object.prototype;
}

function resolveConfig(raw: RawConfig, ctx: z.RefinementCtx<RawConfig>): ResolvedConfig {
  for (const issue of crossChecks(raw)) ctx.addIssue({ code: "custom", ...issue });

  const names = Object.keys(raw.environments);
  const primaryName = names.find((n) => tierOf(n, raw.environments[n]?.tier) === "prod");
  const base = raw.domain.namespace ? `${raw.domain.namespace}.${raw.domain.root}` : raw.domain.root;
  const subdomainEnvs = raw.domain.envSubdomains ? (raw.domain.environments ?? names.filter((n) => n !== primaryName)) : [];
  const hostsOf = (name: string) => {
    const own = subdomainEnvs.includes(name) ? [name] : [];
    return {
      app: [...(name === primaryName ? [`app.${base}`] : []), ...own.map((e) => `app.${e}.${base}`)],
      api: [...(name === primaryName ? [`api.${base}`] : []), ...own.map((e) => `api.${e}.${base}`)],
    };
  };
  const globalTags = { Project: raw.project, ...raw.tags };
  const octets = cidrOctets(names);
  const unranged = new Set<string>();

  const environments: Record<string, ResolvedEnvironment> = {};
  names.forEach((name, index) => {
    const input = raw.environments[name]!;
    const tier = tierOf(name, input.tier);
    const { tier: _tier, ...own } = input;
    const layered = merge<Settings>(raw.defaults, own);
    const d = TIER_DEFAULTS[tier];
    const s = merge<Required<{ [K in keyof Settings]-?: NonNullable<Settings[K]> }>>(
      {
        network: { ...d.network, ...(octets.has(name) ? { cidr: `10.${octets.get(name)}.0.0/16` } : {}) },
        service: { ...d.service, imageTag: `${name}-initial` },
        db: d.db,
        alb: d.alb,
        logs: d.logs,
        alarms: { emails: [], ...ALARM_DEFAULTS },
      },
      layered,
    );
    const path = (...rest: (string | number)[]) => {
      const explicit = own as Record<string, Record<string, unknown> | undefined>;
      return explicit[rest[0] as string]?.[rest[1] as string] !== undefined ? ["environments", name, ...rest] : ["environments", name];
    };
    if (s.network.cidr === undefined) {
      unranged.add(name);
      ctx.addIssue({
        code: "custom",
        path: ["environments", name],
        message: `no default VPC range is left for "${name}": caja gives an environment without network.cidr one of ${AUTO_CIDR_OCTETS} /16 ranges (10.100.0.0/16 to 10.254.0.0/16), and ${names.length} environments were given. Set environments.${name}.network.cidr`,
      });
      s.network.cidr = "10.0.0.0/16";
    }
    const svc = s.service;
    const scaling = svc.autoscaling as ResolvedEnvironment["service"]["autoscaling"];
    if (scaling.min > scaling.max) ctx.addIssue({ code: "custom", path: path("service", "autoscaling"), message: `autoscaling min (${scaling.min}) is above max (${scaling.max})` });
    if (svc.desiredCount! > scaling.max) ctx.addIssue({ code: "custom", path: path("service", "desiredCount"), message: `desiredCount (${svc.desiredCount}) is above autoscaling max (${scaling.max})` });
    if (svc.desiredCount! < scaling.min) ctx.addIssue({ code: "custom", path: path("service", "desiredCount"), message: `desiredCount (${svc.desiredCount}) is below autoscaling min (${scaling.min})` });
    const memories = FARGATE_SIZES[svc.cpu!] ?? [];
    if (!memories.includes(svc.memory!)) {
      ctx.addIssue({ code: "custom", path: path("service", "memory"), message: `${svc.memory} MiB does not fit ${svc.cpu} CPU units; Fargate allows ${memories[0]}-${memories.at(-1)} MiB` });
    }
    const db = s.db;
    if (typeof db.allocatedStorage === "number" && db.maxAllocatedStorage! < db.allocatedStorage) {
      ctx.addIssue({ code: "custom", path: path("db", "maxAllocatedStorage"), message: `maxAllocatedStorage (${db.maxAllocatedStorage}) is below allocatedStorage (${db.allocatedStorage})` });
    }
    environments[name] = {
      name,
      tier,
      index,
      primary: name === primaryName,
      hosts: hostsOf(name),
      network: s.network as ResolvedEnvironment["network"],
      service: s.service as ResolvedEnvironment["service"],
      db: { ...(s.db as Omit<ResolvedEnvironment["db"], "name" | "username">), name: raw.project.replace(/-/g, "_"), username: `${raw.project.replace(/-/g, "_")}_app` },
      alb: s.alb as ResolvedEnvironment["alb"],
      logs: s.logs as ResolvedEnvironment["logs"],
      alarms: s.alarms as ResolvedEnvironment["alarms"],
      tags: { ...globalTags, Environment: name },
      extend: (s.extend ?? {}) as ResolvedEnvironment["extend"],
    };
  });

  checkCidrs(environments, raw, ctx, unranged);

  const listed = [primaryName, ...subdomainEnvs.filter((n) => n !== primaryName)].filter((n): n is string => n !== undefined);
  return {
    project: raw.project,
    region: raw.region,
    ...(raw.accountId ? { accountId: raw.accountId } : {}),
    naming: raw.naming,
    tags: globalTags,
    state: {
      bucket: raw.state.bucket ?? `${raw.project}-terraform-state`,
      lockTable: raw.state.lockTable ?? `${raw.project}-terraform-locks`,
      locking: raw.state.locking,
      bootstrapped: raw.state.bootstrapped,
    },
    domain: {
      root: raw.domain.root,
      ...(raw.domain.namespace ? { namespace: raw.domain.namespace } : {}),
      base,
      envSubdomains: raw.domain.envSubdomains,
      environments: subdomainEnvs,
      ...(raw.domain.hostedZoneId !== undefined ? { hostedZoneId: raw.domain.hostedZoneId } : {}),
      appDomains: primaryName ? [`app.${base}`, ...listed.slice(1).map((e) => `app.${e}.${base}`)] : subdomainEnvs.map((e) => `app.${e}.${base}`),
      apiDomains: primaryName ? [`api.${base}`, ...listed.slice(1).map((e) => `api.${e}.${base}`)] : subdomainEnvs.map((e) => `api.${e}.${base}`),
    },
    github: raw.github,
    policy: { suppressions: raw.policy.suppressions.map(({ expires, ...s }) => ({ ...s, ...(expires !== undefined ? { expires } : {}) })) },
    extend: (raw.extend ?? {}) as ResolvedConfig["extend"],
    environments,
    // Resolved by the compiler, which knows the module objects and their section schemas.
    modules: [],
  };
}

/** How many environments can get a default VPC range (second octets 100 to 254). */
const AUTO_CIDR_OCTETS = 155;

/**
 * The second octet of each environment's default VPC range. Known names have their own; others
 * hash into 100-254 and probe linearly in name order, so the result depends on the names only.
 * Once those 155 ranges are taken, later names get none (the caller reports it): the probe is
 * bounded by the pool, never an endless search.
 */
function cidrOctets(names: readonly string[]): Map<string, number> {
  const taken = new Set<number>();
  const out = new Map<string, number>();
  for (const name of names) {
    const known = KNOWN_CIDR_OCTETS[name];
    if (known !== undefined) {
      out.set(name, known);
      taken.add(known);
    }
  }
  let pooled = 0;
  for (const name of [...names].filter((n) => !out.has(n)).sort()) {
    if (pooled === AUTO_CIDR_OCTETS) break;
    let octet = 100 + (fnv1a(name) % AUTO_CIDR_OCTETS);
    while (taken.has(octet)) octet = octet === 254 ? 100 : octet + 1;
    out.set(name, octet);
    taken.add(octet);
    pooled++;
  }
  return out;
}

/** Each environment's first overlap with an earlier one; `unranged` ones were reported already. */
function checkCidrs(envs: Record<string, ResolvedEnvironment>, raw: RawConfig, ctx: z.RefinementCtx<RawConfig>, unranged: ReadonlySet<string>): void {
  const list = Object.values(envs).filter((e) => !unranged.has(e.name));
  // Each range parsed once: every pair is compared, and a large organisation has hundreds.
  const ranges = list.map((e) => parseCidr(e.network.cidr));
  for (let i = 0; i < list.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = list[i]!;
      const b = list[j]!;
      if (rangesOverlap(ranges[i]!, ranges[j]!)) {
        const explicit = raw.environments[a.name]?.network?.cidr !== undefined;
        ctx.addIssue({
          code: "custom",
          path: explicit ? ["environments", a.name, "network", "cidr"] : ["environments", a.name],
          message: `VPC CIDR ${a.network.cidr} overlaps ${b.name}'s ${b.network.cidr}; give each environment its own range`,
        });
        break;
      }
    }
  }
}

export function isCidr(value: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits < 16 || bits > 24) return false;
  const addr = ipToInt(octets);
  return (addr & maskOf(bits)) >>> 0 === addr;
}

function ipToInt(octets: number[]): number {
  return (((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0) as number;
}

function maskOf(bits: number): number {
  return bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
}

/** A CIDR block as its first address and prefix length. */
function parseCidr(cidr: string): readonly [address: number, bits: number] {
  const [ip, len] = cidr.split("/");
  return [ipToInt(ip!.split(".").map(Number)), Number(len)];
}

function rangesOverlap([ia, ba]: readonly [number, number], [ib, bb]: readonly [number, number]): boolean {
  const bits = Math.min(ba, bb);
  return (ia & maskOf(bits)) >>> 0 === (ib & maskOf(bits)) >>> 0;
}

/**
 * The config schema. Parse with `configSchema.safeParse(value, { reportInput: true })`;
 * its output is the {@link ResolvedConfig}.
 */
export const configSchema = configInputSchema.transform(resolveConfig);

/** What users write in `caja.config.ts`. */
export type CajaConfigInput = z.input<typeof configSchema>;
/** Per-environment settings as users write them. */
export type EnvironmentInput = z.input<typeof environmentSchema>;
export { configInputSchema, environmentSchema };
export type { Todo } from "./todo.js";
export type { Tier } from "./defaults.js";
export { TIERS } from "./defaults.js";
