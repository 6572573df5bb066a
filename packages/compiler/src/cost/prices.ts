/**
 * The one price table the monthly estimate uses: list prices for one region, with the day they
 * were confirmed and where. Never fetched: an estimate must come out the same on a laptop with no
 * network and in CI, and change only when this file does (a reviewed commit, dated).
 *
 * To update: check each figure against its `page` (AWS's pricing page for the service, region
 * US East (N. Virginia)), change `date`, and run `npx caja compile` (the estimate is in the docs).
 */

export interface UnitPrice {
  /** US dollars per `unit`. */
  readonly usd: number;
  /** `gateway-hour`, `GB-month`: what one `usd` buys. */
  readonly unit: string;
  /** AWS's pricing page the figure was read from. */
  readonly page: string;
}

export interface UsagePrice {
  /** What it costs per unit of use, in words (`$0.045 per GB processed`). */
  readonly price: string;
  readonly page: string;
}

export interface PriceTable {
  /** The only region the prices hold for. */
  readonly region: string;
  /** When the figures were last confirmed, `YYYY-MM-DD`. */
  readonly date: string;
  readonly currency: "USD";
  readonly source: string;
  /** The month the estimate assumes (AWS's own calculator uses 730 hours). */
  readonly hoursPerMonth: number;
  readonly fixed: Readonly<Record<FixedPriceKey, UnitPrice>>;
  /** RDS for PostgreSQL, single-AZ, per instance-hour (Multi-AZ runs a standby: twice). */
  readonly rdsPostgres: Readonly<Record<string, number>>;
  readonly usage: Readonly<Record<UsagePriceKey, UsagePrice>>;
}

export type FixedPriceKey =
  | "natGatewayHour"
  | "publicIpv4Hour"
  | "albHour"
  | "fargateVcpuHourX86"
  | "fargateGbHourX86"
  | "fargateVcpuHourArm"
  | "fargateGbHourArm"
  | "rdsGp3GbMonth"
  | "alarmMonth"
  | "secretMonth"
  | "kmsKeyMonth"
  | "hostedZoneMonth";

export type UsagePriceKey =
  | "natData"
  | "albLcu"
  | "logs"
  | "flowLogs"
  | "rdsBackup"
  | "cloudfront"
  | "s3"
  | "dynamodb"
  | "ecr"
  | "route53Queries"
  | "sns"
  | "secretsApi"
  | "kmsRequests"
  | "fargateScaling";

const VPC = "https://aws.amazon.com/vpc/pricing/";
const ELB = "https://aws.amazon.com/elasticloadbalancing/pricing/";
const FARGATE = "https://aws.amazon.com/fargate/pricing/";
const RDS = "https://aws.amazon.com/rds/postgresql/pricing/";
const CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/";

export const PRICE_TABLE: PriceTable = {
  region: "us-east-1",
  date: "2026-12-03",
  currency: "USD",
  source: "AWS list prices for US East (N. Virginia): on-demand, Linux, before free tiers, credits and savings plans",
  hoursPerMonth: 730,
  fixed: {
    natGatewayHour: { usd: 0.045, unit: "gateway-hour", page: VPC },
    publicIpv4Hour: { usd: 0.005, unit: "address-hour", page: VPC },
    albHour: { usd: 0.0225, unit: "ALB-hour", page: ELB },
    fargateVcpuHourX86: { usd: 0.04048, unit: "vCPU-hour", page: FARGATE },
    fargateGbHourX86: { usd: 0.004445, unit: "GB-hour", page: FARGATE },
    fargateVcpuHourArm: { usd: 0.03238, unit: "vCPU-hour", page: FARGATE },
    fargateGbHourArm: { usd: 0.00356, unit: "GB-hour", page: FARGATE },
    rdsGp3GbMonth: { usd: 0.115, unit: "GB-month", page: RDS },
    alarmMonth: { usd: 0.1, unit: "alarm-month", page: CLOUDWATCH },
    secretMonth: { usd: 0.4, unit: "secret-month", page: "https://aws.amazon.com/secrets-manager/pricing/" },
    kmsKeyMonth: { usd: 1, unit: "key-month", page: "https://aws.amazon.com/kms/pricing/" },
    hostedZoneMonth: { usd: 0.5, unit: "zone-month", page: "https://aws.amazon.com/route53/pricing/" },
  },
  rdsPostgres: {
    "db.t4g.micro": 0.016,
    "db.t4g.small": 0.032,
    "db.t4g.medium": 0.065,
    "db.t4g.large": 0.129,
  },
  usage: {
    natData: { price: "$0.045 per GB processed", page: VPC },
    albLcu: { price: "$0.008 per LCU-hour", page: ELB },
    logs: { price: "$0.50 per GB ingested, $0.03 per GB-month stored", page: CLOUDWATCH },
    flowLogs: { price: "vended logs, from $0.50 per GB delivered", page: CLOUDWATCH },
    rdsBackup: { price: "$0.095 per GB-month beyond the database's size", page: RDS },
    cloudfront: { price: "per GB out and per request, the first 1 TB and 10 million requests a month free", page: "https://aws.amazon.com/cloudfront/pricing/" },
    s3: { price: "$0.023 per GB-month stored, plus requests", page: "https://aws.amazon.com/s3/pricing/" },
    dynamodb: { price: "on-demand requests; point-in-time recovery $0.20 per GB-month", page: "https://aws.amazon.com/dynamodb/pricing/" },
    ecr: { price: "$0.10 per GB-month stored", page: "https://aws.amazon.com/ecr/pricing/" },
    route53Queries: { price: "$0.40 per million queries (alias queries to AWS resources are free)", page: "https://aws.amazon.com/route53/pricing/" },
    sns: { price: "e-mail notifications beyond the first 1,000 a month", page: "https://aws.amazon.com/sns/pricing/" },
    secretsApi: { price: "$0.05 per 10,000 API calls", page: "https://aws.amazon.com/secrets-manager/pricing/" },
    kmsRequests: { price: "$0.03 per 10,000 requests", page: "https://aws.amazon.com/kms/pricing/" },
    fargateScaling: { price: "tasks above the desired count while autoscaling, at the Fargate prices above", page: FARGATE },
  },
};
