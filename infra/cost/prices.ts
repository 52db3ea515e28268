/**
 * The one price table of the idle cost (`npm run cost`, the bench's `idleCost`, docs/deploy.md):
 * us-east-1, on-demand, first pricing tier, free tiers ignored. Every price names its source and
 * the date that source shows (or when it was read). AWS's own pricing pages could not be read
 * when this table was written; `verified: false` marks a figure taken from a third-party price list
 * that could not be checked against a second source: check https://calculator.aws before
 * committing to a budget.
 */

/** One price with where it came from. */
export interface Price {
  /** USD per `unit`. */
  readonly usd: number;
  readonly unit: 'hour' | 'GB-month' | 'GB-hour' | 'month' | 'GB';
  readonly source: string;
  /** False when only one third-party list gives the figure. @default true */
  readonly verified?: boolean;
}

/** Hours in the month every monthly figure assumes. */
export const HOURS_PER_MONTH = 730;

/** The prices, as of {@link IDLE_PRICES.asOf}. */
export const IDLE_PRICES = {
  asOf: '2026-12-04',
  region: 'us-east-1',
  /** Amazon MQ for RabbitMQ, per broker node (a cluster bills three). */
  brokerNode: {
    'mq.t3.micro': {
      usd: 0.027,
      unit: 'hour',
      source: 'public AWS cost-estimator price table (us-east-1 baseline, read 2026-12-04)',
      verified: false,
    },
    'mq.m5.large': {
      usd: 0.288,
      unit: 'hour',
      source: 'public AWS cost-estimator price table (us-east-1 baseline, read 2026-12-04)',
      verified: false,
    },
    'mq.m7g.large': {
      usd: 0.2734,
      unit: 'hour',
      source: 'public AWS cost-estimator price table (us-east-1 baseline, read 2026-12-04)',
      verified: false,
    },
  } as Record<string, Price>,
  /** ElastiCache node hours, Valkey (up to 20% below Redis OSS: AWS ElastiCache FAQ). */
  cacheNode: {
    'cache.t4g.micro': {
      usd: 0.0128,
      unit: 'hour',
      source:
        'Redis OSS list price $0.016 less the 20% Valkey discount (AWS ElastiCache FAQ, read 2026-11-26)',
      verified: false,
    },
    'cache.m7g.large': {
      usd: 0.1264,
      unit: 'hour',
      source:
        'Redis OSS list price $0.158 less the 20% Valkey discount (AWS ElastiCache FAQ, read 2026-11-26)',
      verified: false,
    },
  } as Record<string, Price>,
  /** ElastiCache Serverless for Valkey data stored; metered at 100 MB at least. */
  serverlessValkeyStorage: {
    usd: 0.084,
    unit: 'GB-hour',
    source: 'usage.ai "ElastiCache Serverless pricing" (June 2026), 100 MB minimum for Valkey',
  } as Price,
  /** The least data a serverless Valkey cache is billed for, GB. */
  serverlessValkeyMinimumGb: 0.1,
  natGateway: {
    usd: 0.045,
    unit: 'hour',
    source: 'cloudburn.io/blog/aws-nat-gateway-pricing (2026-02-24)',
  } as Price,
  publicIpv4: {
    usd: 0.005,
    unit: 'hour',
    source: 'community.aws "AWS to Charge Public IPv4 Addresses" (2024-02-08)',
  } as Price,
  /** Interface VPC endpoint, per Availability Zone. */
  interfaceEndpointAz: {
    usd: 0.01,
    unit: 'hour',
    source: 'awsnegotiations.com/privatelink-cost-analysis.html (May 2026)',
  } as Price,
  ec2Instance: {
    't4g.nano': { usd: 0.0042, unit: 'hour', source: 'egresscost.com/nat-gateway (read 2026-11-26)' },
  } as Record<string, Price>,
  ebsGp3: {
    usd: 0.08,
    unit: 'GB-month',
    source: 'menuvis1-blip.github.io "Amazon EBS: Block Storage for EC2" (2026-02-24)',
  } as Price,
  secret: {
    usd: 0.4,
    unit: 'month',
    source: 'hivebook.wiki aws-secrets-manager (read 2026-11-26)',
  } as Price,
  alarm: {
    usd: 0.1,
    unit: 'month',
    source: 'c3x.dev/resources/aws/aws_cloudwatch_metric_alarm (read 2026-11-26)',
  } as Price,
  /** Over the free tier's 50 metrics per dashboard. */
  dashboard: {
    usd: 3,
    unit: 'month',
    source: 'factualminds.com "Amazon CloudWatch Pricing" (2026-06-13)',
  } as Price,
  logIngestion: {
    usd: 0.5,
    unit: 'GB',
    source: 'c3x.dev/blog/cloudwatch-logs-cost-optimization (June 2026)',
  } as Price,
} as const;

/**
 * What "idle" assumes beyond the template: deployed, nobody connected. Lambda, API Gateway,
 * broker storage (messages on disk) and cache requests are then zero; logs are not.
 */
export const IDLE_ASSUMPTIONS = {
  /**
   * GB of logs a stack writes a month with nobody connected: the rejected-traffic flow log, the
   * broker's general log and the NAT instance's boot. An assumption, not a measurement.
   */
  logGbPerMonth: 0.5,
} as const;

/** Every source the table cites, for reports. */
export function priceSources(): string[] {
  const sources = new Set<string>();
  const visit = (value: unknown) => {
    if (value && typeof value === 'object') {
      if ('source' in value && typeof value.source === 'string') sources.add(value.source);
      else for (const inner of Object.values(value)) visit(inner);
    }
  };
  visit(IDLE_PRICES);
  return [...sources];
}
