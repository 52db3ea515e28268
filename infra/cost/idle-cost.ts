import { HOURS_PER_MONTH, IDLE_ASSUMPTIONS, IDLE_PRICES, type Price } from './prices.js';

/** A synthesized CloudFormation template, as far as the idle cost reads it. */
export interface CostTemplate {
  readonly Resources: Record<
    string,
    { readonly Type: string; readonly Properties?: Record<string, unknown> }
  >;
}

/** The parts of an idle bill, USD per month each. */
export type IdleParts = Record<
  | 'broker'
  | 'cache'
  | 'natGateways'
  | 'natInstances'
  | 'publicIpv4'
  | 'interfaceEndpoints'
  | 'secrets'
  | 'alarms'
  | 'dashboards'
  | 'logs',
  number
>;

/** One profile's idle cost: the shape of the bench JSON's `idleCost` entries. */
export interface IdleCost {
  readonly profile: string;
  readonly usdPerMonth: number;
  readonly parts: IdleParts;
}

/** A resource type, instance type or setting the price table has no figure for. */
export class UnpricedResourceError extends Error {
  override readonly name = 'UnpricedResourceError';
}

const cents = (usd: number) => Math.round(usd * 100) / 100;

function monthly(price: Price, quantity = 1): number {
  switch (price.unit) {
    case 'hour':
    case 'GB-hour':
      return price.usd * HOURS_PER_MONTH * quantity;
    default:
      return price.usd * quantity;
  }
}

function priceOf(table: Record<string, Price>, key: unknown, what: string): Price {
  const price = typeof key === 'string' ? table[key] : undefined;
  if (!price)
    throw new UnpricedResourceError(`no price for ${what} ${JSON.stringify(key)} in infra/cost/prices.ts`);
  return price;
}

/** Nodes of an Amazon MQ RabbitMQ broker: a cluster deployment runs three. */
function brokerNodes(mode: unknown): number {
  return mode === 'CLUSTER_MULTI_AZ' ? 3 : 1;
}

/** Nodes of a replication group: shards × (replicas + 1), or the cluster count without cluster mode. */
function cacheNodes(properties: Record<string, unknown>): number {
  if (properties.NumNodeGroups !== undefined) {
    return Number(properties.NumNodeGroups) * (Number(properties.ReplicasPerNodeGroup ?? 0) + 1);
  }
  return Number(properties.NumCacheClusters ?? 1);
}

/** Whether `subnet` (a `{Ref}` to a subnet of the template) hands out public IPv4 addresses. */
function isPublicSubnet(template: CostTemplate, subnet: unknown): boolean {
  const id = (subnet as { Ref?: string } | undefined)?.Ref;
  return id !== undefined && template.Resources[id]?.Properties?.MapPublicIpOnLaunch === true;
}

/**
 * What `template` costs a month deployed and idle, from {@link IDLE_PRICES}: broker nodes, cache
 * nodes or the serverless cache's storage minimum, NAT gateways and instances (with their root
 * volumes), public IPv4 addresses, interface endpoints per Availability Zone, secrets, alarms,
 * dashboards, and the assumed idle logs.
 *
 * @throws UnpricedResourceError for an instance or node type the price table lacks
 */
export function idleCost(profile: string, template: CostTemplate): IdleCost {
  const parts: IdleParts = {
    broker: 0,
    cache: 0,
    natGateways: 0,
    natInstances: 0,
    publicIpv4: 0,
    interfaceEndpoints: 0,
    secrets: 0,
    alarms: 0,
    dashboards: 0,
    logs: monthly(IDLE_PRICES.logIngestion, IDLE_ASSUMPTIONS.logGbPerMonth),
  };
  for (const { Type: type, Properties: properties = {} } of Object.values(template.Resources)) {
    switch (type) {
      case 'AWS::AmazonMQ::Broker':
        parts.broker += monthly(
          priceOf(IDLE_PRICES.brokerNode, properties.HostInstanceType, 'broker instance type'),
          brokerNodes(properties.DeploymentMode),
        );
        break;
      case 'AWS::ElastiCache::ReplicationGroup':
        parts.cache += monthly(
          priceOf(IDLE_PRICES.cacheNode, properties.CacheNodeType, 'cache node type'),
          cacheNodes(properties),
        );
        break;
      case 'AWS::ElastiCache::ServerlessCache':
        if (properties.Engine !== 'valkey') {
          throw new UnpricedResourceError(`no price for a serverless ${String(properties.Engine)} cache`);
        }
        // Idle: the storage minimum, no ECPUs.
        parts.cache += monthly(IDLE_PRICES.serverlessValkeyStorage, IDLE_PRICES.serverlessValkeyMinimumGb);
        break;
      case 'AWS::EC2::NatGateway':
        parts.natGateways += monthly(IDLE_PRICES.natGateway);
        break;
      case 'AWS::EC2::EIP':
        parts.publicIpv4 += monthly(IDLE_PRICES.publicIpv4);
        break;
      case 'AWS::EC2::Instance': {
        parts.natInstances += monthly(
          priceOf(IDLE_PRICES.ec2Instance, properties.InstanceType, 'EC2 instance type'),
        );
        const volumes = (properties.BlockDeviceMappings ?? []) as { Ebs?: { VolumeSize?: number } }[];
        for (const volume of volumes)
          parts.natInstances += monthly(IDLE_PRICES.ebsGp3, volume.Ebs?.VolumeSize ?? 0);
        if (isPublicSubnet(template, properties.SubnetId))
          parts.publicIpv4 += monthly(IDLE_PRICES.publicIpv4);
        break;
      }
      case 'AWS::EC2::VPCEndpoint':
        if (properties.VpcEndpointType === 'Interface') {
          const zones = ((properties.SubnetIds ?? []) as unknown[]).length;
          parts.interfaceEndpoints += monthly(IDLE_PRICES.interfaceEndpointAz, zones);
        }
        break;
      case 'AWS::SecretsManager::Secret':
        parts.secrets += monthly(IDLE_PRICES.secret);
        break;
      case 'AWS::CloudWatch::Alarm':
        parts.alarms += monthly(IDLE_PRICES.alarm);
        break;
      case 'AWS::CloudWatch::Dashboard':
        parts.dashboards += monthly(IDLE_PRICES.dashboard);
        break;
    }
  }
  const rounded = Object.fromEntries(
    Object.entries(parts).map(([key, usd]) => [key, cents(usd)]),
  ) as IdleParts;
  const total = Object.values(parts).reduce((sum, usd) => sum + usd, 0);
  return { profile, usdPerMonth: cents(total), parts: rounded };
}
