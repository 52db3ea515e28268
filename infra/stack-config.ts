import type { Node } from 'constructs';
import { loadConfig } from '../lambdas/core/config.js';

/** Deployment profile: `dev` keeps the idle bill low, `prod` survives an Availability Zone outage. */
export type Profile = 'dev' | 'prod';

/**
 * How the private subnets reach the internet (profile and push endpoints) and AWS APIs: managed NAT
 * gateways, or NAT instances (an EC2 instance each; the lowest idle cost, self-managed).
 */
export type NatProviderKind = 'gateway' | 'instance';

/** How Amazon MQ runs RabbitMQ. */
export type BrokerDeploymentMode = 'SINGLE_INSTANCE' | 'CLUSTER_MULTI_AZ';

/** The Amazon MQ broker of the stack. */
export interface BrokerConfig {
  /** Broker instance type, for example `mq.t3.micro` or `mq.m5.large`. */
  readonly instanceType: string;
  readonly deploymentMode: BrokerDeploymentMode;
  /** RabbitMQ engine version; quorum queues with `x-delivery-limit` need 3.13 or later. */
  readonly engineVersion: string;
}

/** The ElastiCache replication group of the stack. */
export interface CacheConfig {
  /** Cache node type, for example `cache.t4g.micro`. */
  readonly nodeType: string;
  /** `valkey` or `redis` (Redis OSS). */
  readonly engine: 'valkey' | 'redis';
  readonly engineVersion: string;
  /** Nodes per shard (primary plus replicas); 2 or more enables automatic failover. */
  readonly nodesPerShard: number;
  /** Spread the nodes over Availability Zones with automatic failover. */
  readonly multiAz: boolean;
  /** Cluster mode: keys spread over `shards` shards (each room stays in one slot via `{room}`). */
  readonly clusterMode: boolean;
  /** Shards when cluster mode is on. */
  readonly shards: number;
  /** TCP port; a non-default port keeps casual scans away. */
  readonly port: number;
}

/** Request throttling of an API stage. */
export interface ThrottleConfig {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** CloudFront in front of both APIs so Hipochat clients move by changing DNS only. */
export interface LegacyDomainConfig {
  /** Alternate domain name, for example `chat.example.com`; needs `certificateArn`. */
  readonly domainName?: string;
  /** ACM certificate in us-east-1 covering `domainName`. */
  readonly certificateArn?: string;
}

/** Everything a deployment can choose. */
export interface StackConfig {
  readonly profile: Profile;
  /** Stage name of the WebSocket API (the HTTP API serves `$default`). */
  readonly stageName: string;
  /** NAT devices (gateways or instances, per `natProvider`), at most one per Availability Zone. */
  readonly natGateways: number;
  /** Managed NAT gateways (`gateway`) or NAT instances (`instance`). */
  readonly natProvider: NatProviderKind;
  /** EC2 instance type of NAT instances; an ARM type (`t4g.*`) gets the ARM Amazon Linux 2023 image. */
  readonly natInstanceType: string;
  /**
   * Secrets Manager interface endpoint in every private subnet; without it the functions read their
   * secrets (once per container) through the NAT.
   */
  readonly secretsEndpoint: boolean;
  readonly broker: BrokerConfig;
  readonly cache: CacheConfig;
  /** Fan-out shard queues, one event source mapping each (`HIPOCHAT_FANOUT_SHARDS`). */
  readonly fanoutShards: number;
  /** Deliveries before a message is dead-lettered (`HIPOCHAT_DELIVERY_LIMIT`). */
  readonly deliveryLimit: number;
  /** Records per fan-out invocation. */
  readonly batchSize: number;
  /** Seconds Lambda gathers records before invoking; `undefined` keeps the 500 ms service default. */
  readonly batchWindowSeconds?: number;
  /** Days every log group keeps its events. */
  readonly logRetentionDays: number;
  readonly webSocketThrottle: ThrottleConfig;
  readonly httpThrottle: ThrottleConfig;
  /** Origins allowed to call the HTTP API from a browser; empty turns CORS off. */
  readonly corsOrigins: readonly string[];
  /** Where alarm notifications go; without it alarms exist but notify nobody. */
  readonly alarmEmail?: string;
  /** `HIPOCHAT_PROFILE_URL`. */
  readonly profileUrl?: string;
  /** `HIPOCHAT_PUSH_NOTIFICATION_URL`. */
  readonly pushUrl?: string;
  /** `HIPOCHAT_CLOSED_ROOMS`. */
  readonly closedRooms: readonly string[];
  /**
   * Chat behaviour variables for every function (`HIPOCHAT_MAX_MESSAGE_BYTES`, rate limits, message
   * types...), validated by the runtime's own schema at synth. Only {@link TUNABLE_VARIABLES}.
   * @default {}
   */
  readonly chatEnv: Readonly<Record<string, string>>;
  /** Serve the Hipochat URL layout through CloudFront; off when undefined. */
  readonly legacyDomain?: LegacyDomainConfig;
  /**
   * Host the demo chat page (`web/dist/index.html`, built by `npm run build:web`) on a private S3
   * bucket behind CloudFront; the `WebPageUrl` output opens it pointed at this stack.
   * @default false
   */
  readonly webPage: boolean;
}

/** The defaults of each profile. */
export const profiles: Record<Profile, StackConfig> = {
  dev: {
    profile: 'dev',
    stageName: 'dev',
    natGateways: 1,
    natProvider: 'instance',
    natInstanceType: 't4g.nano',
    secretsEndpoint: false,
    broker: { instanceType: 'mq.t3.micro', deploymentMode: 'SINGLE_INSTANCE', engineVersion: '3.13' },
    cache: {
      nodeType: 'cache.t4g.micro',
      engine: 'valkey',
      engineVersion: '8.0',
      nodesPerShard: 1,
      multiAz: false,
      clusterMode: false,
      shards: 1,
      port: 6380,
    },
    fanoutShards: 2,
    deliveryLimit: 5,
    batchSize: 100,
    batchWindowSeconds: 0,
    logRetentionDays: 14,
    webSocketThrottle: { rateLimit: 100, burstLimit: 200 },
    httpThrottle: { rateLimit: 100, burstLimit: 200 },
    corsOrigins: [],
    closedRooms: [],
    chatEnv: {},
    webPage: false,
  },
  prod: {
    profile: 'prod',
    stageName: 'prod',
    natGateways: 2,
    natProvider: 'gateway',
    natInstanceType: 't4g.nano',
    secretsEndpoint: true,
    broker: { instanceType: 'mq.m5.large', deploymentMode: 'CLUSTER_MULTI_AZ', engineVersion: '3.13' },
    cache: {
      nodeType: 'cache.m7g.large',
      engine: 'valkey',
      engineVersion: '8.0',
      nodesPerShard: 2,
      multiAz: true,
      clusterMode: false,
      shards: 1,
      port: 6380,
    },
    fanoutShards: 4,
    deliveryLimit: 5,
    batchSize: 100,
    batchWindowSeconds: 0,
    logRetentionDays: 90,
    webSocketThrottle: { rateLimit: 2000, burstLimit: 5000 },
    httpThrottle: { rateLimit: 2000, burstLimit: 5000 },
    corsOrigins: [],
    closedRooms: [],
    chatEnv: {},
    webPage: false,
  },
};

/** A value from CDK context: `-c key=value` arrives as a string, `cdk.json` may hold any JSON. */
type ContextValue = string | number | boolean | readonly string[] | undefined;

function text(node: Node, key: string): string | undefined {
  const value = node.tryGetContext(key) as ContextValue;
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

function integer(node: Node, key: string, fallback: number, min: number, max: number): number {
  const raw = text(node, key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`context ${key} must be an integer from ${min} to ${max}, got ${raw}`);
  }
  return value;
}

function flag(node: Node, key: string, fallback: boolean): boolean {
  const raw = text(node, key);
  if (raw === undefined) return fallback;
  if (['true', '1', 'yes'].includes(raw)) return true;
  if (['false', '0', 'no'].includes(raw)) return false;
  throw new Error(`context ${key} must be true or false, got ${raw}`);
}

function list(node: Node, key: string, fallback: readonly string[]): readonly string[] {
  const value = node.tryGetContext(key) as ContextValue;
  if (value === undefined || value === null) return fallback;
  if (Array.isArray(value)) return value.map(String);
  return String(value)
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** Behaviour variables a deployment may set; the stack owns the rest (URLs, secrets, shards). */
export const TUNABLE_VARIABLES = [
  'HIPOCHAT_PROFILE_ID_FIELD',
  'HIPOCHAT_PROFILE_CACHE_SECONDS',
  'HIPOCHAT_MESSAGE_TYPES',
  'HIPOCHAT_NOTIFIABLE_MESSAGE_TYPES',
  'HIPOCHAT_REGULAR_MESSAGE_TYPE',
  'HIPOCHAT_MAX_MESSAGE_BYTES',
  'HIPOCHAT_HISTORY_LIMIT',
  'HIPOCHAT_FANOUT_CONCURRENCY',
  'HIPOCHAT_CONNECTION_TTL_SECONDS',
  'HIPOCHAT_RATE_LIMIT_PER_MINUTE',
  'HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE',
  'HIPOCHAT_LOG_LEVEL',
] as const;

/**
 * `-c chatEnv='{"HIPOCHAT_MAX_MESSAGE_BYTES":"32768"}'` or an object in `cdk.json`: checked
 * against {@link TUNABLE_VARIABLES} and the runtime's config schema, so a bad value fails synth
 * instead of every cold start.
 */
function chatEnv(node: Node): Record<string, string> {
  const value = node.tryGetContext('chatEnv') as unknown;
  if (value === undefined || value === null || value === '') return {};
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new Error(`context chatEnv must be a JSON object of HIPOCHAT_* variables, got ${value}`);
    }
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('context chatEnv must be a JSON object of HIPOCHAT_* variables');
  }
  const env: Record<string, string> = {};
  for (const [name, raw] of Object.entries(parsed)) {
    if (!(TUNABLE_VARIABLES as readonly string[]).includes(name)) {
      throw new Error(
        `context chatEnv: ${name} cannot be set here (tunable: ${TUNABLE_VARIABLES.join(', ')})`,
      );
    }
    env[name] = String(raw);
  }
  try {
    loadConfig(env);
  } catch (error) {
    throw new Error(`context chatEnv: ${(error as Error).message}`);
  }
  return env;
}

/** The retention periods CloudWatch Logs accepts, in days. */
const retentionDays = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

function retention(node: Node, fallback: number): number {
  const value = integer(node, 'logRetentionDays', fallback, 1, 3653);
  if (!retentionDays.includes(value)) {
    throw new Error(`context logRetentionDays must be one of ${retentionDays.join(', ')}, got ${value}`);
  }
  return value;
}

function natProvider(node: Node, fallback: NatProviderKind): NatProviderKind {
  const raw = text(node, 'natProvider');
  if (raw === undefined) return fallback;
  if (raw !== 'gateway' && raw !== 'instance') {
    throw new Error(`context natProvider must be gateway or instance, got ${raw}`);
  }
  return raw;
}

function instanceType(node: Node, key: string, fallback: string): string {
  const raw = text(node, key);
  if (raw === undefined) return fallback;
  if (!/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(raw)) {
    throw new Error(`context ${key} must be an EC2 instance type such as t4g.nano, got ${raw}`);
  }
  return raw;
}

function url(node: Node, key: string): string | undefined {
  const raw = text(node, key);
  if (raw === undefined) return undefined;
  if (!/^https:\/\/[^\s/]+/.test(raw)) throw new Error(`context ${key} must be an https:// URL, got ${raw}`);
  return raw;
}

/**
 * Reads the deployment configuration from CDK context (`-c profile=prod -c shards=8 ...`, or the
 * `context` block of `cdk.json`). Every key is optional; the profile supplies the rest.
 *
 * @throws Error naming the context key whose value is invalid
 */
export function stackConfigFromContext(node: Node): StackConfig {
  const profileName = text(node, 'profile') ?? 'dev';
  if (profileName !== 'dev' && profileName !== 'prod') {
    throw new Error(`context profile must be dev or prod, got ${profileName}`);
  }
  const base = profiles[profileName];
  const stageName = text(node, 'stage') ?? base.stageName;
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName))
    throw new Error(`context stage must match [A-Za-z0-9_-]+, got ${stageName}`);
  const clusterMode = flag(node, 'redisClusterMode', base.cache.clusterMode);
  const legacy = flag(node, 'legacyDomain', false);
  const legacyDomainName = text(node, 'legacyDomainName');
  const legacyCertificateArn = text(node, 'legacyCertificateArn');
  if (legacyDomainName !== undefined && legacyCertificateArn === undefined) {
    throw new Error('context legacyDomainName needs legacyCertificateArn (an ACM certificate in us-east-1)');
  }
  const batchWindow = text(node, 'batchWindowSeconds');
  return {
    ...base,
    stageName,
    natGateways: integer(node, 'natGateways', base.natGateways, 1, 3),
    natProvider: natProvider(node, base.natProvider),
    natInstanceType: instanceType(node, 'natInstanceType', base.natInstanceType),
    secretsEndpoint: flag(node, 'secretsEndpoint', base.secretsEndpoint),
    broker: {
      ...base.broker,
      instanceType: text(node, 'brokerInstanceType') ?? base.broker.instanceType,
      engineVersion: text(node, 'brokerEngineVersion') ?? base.broker.engineVersion,
    },
    cache: {
      ...base.cache,
      nodeType: text(node, 'cacheNodeType') ?? base.cache.nodeType,
      clusterMode,
      shards: clusterMode ? integer(node, 'redisShards', 2, 1, 500) : 1,
    },
    fanoutShards: integer(node, 'shards', base.fanoutShards, 1, 64),
    deliveryLimit: integer(node, 'deliveryLimit', base.deliveryLimit, 1, 100),
    batchSize: integer(node, 'batchSize', base.batchSize, 1, 10_000),
    batchWindowSeconds:
      batchWindow === undefined ? base.batchWindowSeconds : integer(node, 'batchWindowSeconds', 0, 0, 300),
    logRetentionDays: retention(node, base.logRetentionDays),
    corsOrigins: list(node, 'corsOrigins', base.corsOrigins),
    alarmEmail: text(node, 'alarmEmail'),
    profileUrl: url(node, 'profileUrl'),
    pushUrl: url(node, 'pushUrl'),
    closedRooms: list(node, 'closedRooms', base.closedRooms),
    chatEnv: chatEnv(node),
    legacyDomain: legacy ? { domainName: legacyDomainName, certificateArn: legacyCertificateArn } : undefined,
    webPage: flag(node, 'webPage', base.webPage),
  };
}
