import type { Node } from 'constructs';
import { CONTEXT_KEYS, ContextError, parseContext } from './context-schema.js';
import { profiles } from './stack-profiles.js';

/** Deployment profile: `dev` keeps the idle bill low, `prod` survives an Availability Zone outage. */
export type Profile = 'dev' | 'prod';

/**
 * How the private subnets reach the internet (profile and push endpoints) and AWS APIs: managed NAT
 * gateways, or NAT instances (an EC2 instance each; the lowest idle cost, self-managed).
 */
export type NatProviderKind = 'gateway' | 'instance';

/** What `cdk destroy` (or a replacement) does with data: cache snapshots and secrets. */
export type DataRemoval = 'retain' | 'destroy';

/**
 * Type of the fan-out shard queues: `quorum` (replicated, with `x-delivery-limit`) or `classic`,
 * for when a Lambda event source mapping does not take to quorum queues.
 */
export type QueueType = 'quorum' | 'classic';

/** How Amazon MQ runs RabbitMQ. */
export type BrokerDeploymentMode = 'SINGLE_INSTANCE' | 'CLUSTER_MULTI_AZ';

/** The Amazon MQ broker of the stack. */
export interface BrokerConfig {
  /** Broker instance type, for example `mq.t3.micro` or `mq.m7g.large`. */
  readonly instanceType: string;
  readonly deploymentMode: BrokerDeploymentMode;
  /**
   * RabbitMQ engine version; quorum queues with `x-delivery-limit` need 3.13 or later, and 4.x runs
   * only on `mq.m7g` (https://docs.aws.amazon.com/amazon-mq/latest/developer-guide/rabbitmq-4.html).
   */
  readonly engineVersion: string;
  /**
   * Identity of the broker: its name is `<stack>-Broker-<hash of the construct path>` at generation 0
   * (the name deployments had before names carried a property hash) and gets `-g<n>` above it. Bump it only for a change CloudFormation
   * must replace the broker for (deployment mode, subnets), after draining (docs/operations.md).
   * @default 0
   */
  readonly generation: number;
}

/** `serverless`: ElastiCache Serverless for Valkey; `nodes`: a replication group of cache nodes. */
export type CacheKind = 'serverless' | 'nodes';

/** The ElastiCache cache of the stack. */
export interface CacheConfig {
  /** Serverless Valkey (spans AZs, billed per GB stored and per request) or cache nodes. */
  readonly kind: CacheKind;
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
  /** Stage name of the WebSocket API (the HTTP API serves `$default`) and of the stack, `Hipochat-<stage>`. */
  readonly stageName: string;
  /**
   * Set the region's API Gateway CloudWatch role (`AWS::ApiGateway::Account`, one per account and
   * region: the last stack to set it wins). Turn off when another stack or app owns it.
   * @default true
   */
  readonly apiGatewayAccount: boolean;
  /**
   * Resolve the latest Amazon Linux 2023 image for NAT instances at every deploy; otherwise the image
   * id recorded in `cdk.context.json` is reused, so a new release never replaces the instance.
   * @default false
   */
  readonly natAmiRefresh: boolean;
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
  /** Type of the shard queues. */
  readonly queueType: QueueType;
  /**
   * Bump to rotate the password of the broker's runtime user (the topology custom resource sets a
   * new one on the broker and in its secret); 0 never rotated.
   */
  readonly brokerUserRevision: number;
  /** Retain or destroy data (a final cache snapshot, the secrets) when the stack goes. */
  readonly removalPolicy: DataRemoval;
  /** Records per fan-out invocation. */
  readonly batchSize: number;
  /** Seconds Lambda gathers records before invoking; `undefined` keeps the 500 ms service default. */
  readonly batchWindowSeconds?: number;
  /**
   * Reserved concurrency of the delivery function (`-c deliverConcurrency`): fan-out slices of big
   * rooms in flight across all shards, which the fan-out keeps to (each shard runs this divided by
   * the shards). Reserving fails on an account whose quota is below this plus the 100 Lambda keeps
   * unreserved. `undefined` reserves nothing: the slices share the account's unreserved pool, and
   * the fan-out keeps to `HIPOCHAT_DELIVERY_CONCURRENCY`'s default (100).
   */
  readonly deliveryConcurrency?: number;
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

/**
 * Reads the deployment configuration from CDK context (`-c profile=prod -c shards=8 ...`, or the
 * `context` block of `cdk.json`). Every key is optional; the profile supplies the rest.
 *
 * @throws ContextError naming each context key whose value is invalid
 */
export function stackConfigFromContext(node: Node): StackConfig {
  const context = parseContext(Object.fromEntries(CONTEXT_KEYS.map((key) => [key, node.tryGetContext(key)])));
  const base = profiles[context.profile ?? 'dev'];
  const clusterMode = context.redisClusterMode ?? base.cache.clusterMode;
  const instanceType = context.brokerInstanceType ?? base.broker.instanceType;
  // RabbitMQ 4 runs only on mq.m7g: another type keeps 3.13 unless the engine is given too.
  const engineVersion =
    context.brokerEngineVersion ?? (instanceType.startsWith('mq.m7g.') ? base.broker.engineVersion : '3.13');
  const rabbitMq4 = Number(engineVersion.split('.')[0]) >= 4;
  if (rabbitMq4 && !instanceType.startsWith('mq.m7g.')) {
    throw new ContextError(
      `-c brokerInstanceType must be an mq.m7g type for RabbitMQ ${engineVersion}, got ${JSON.stringify(instanceType)}`,
    );
  }
  const queueType = context.queueType ?? base.queueType;
  if (rabbitMq4 && queueType === 'classic' && base.broker.deploymentMode === 'CLUSTER_MULTI_AZ') {
    // RabbitMQ 4 removed classic queue mirroring: a classic queue lives on one node of the cluster.
    throw new ContextError(
      `-c queueType must be quorum on a RabbitMQ ${engineVersion} cluster (classic queues are not replicated), got "classic"`,
    );
  }
  return {
    ...base,
    stageName: context.stage ?? base.stageName,
    apiGatewayAccount: context.apiGatewayAccount ?? base.apiGatewayAccount,
    natAmiRefresh: context.natAmiRefresh ?? base.natAmiRefresh,
    natGateways: context.natGateways ?? base.natGateways,
    natProvider: context.natProvider ?? base.natProvider,
    natInstanceType: context.natInstanceType ?? base.natInstanceType,
    secretsEndpoint: context.secretsEndpoint ?? base.secretsEndpoint,
    broker: {
      ...base.broker,
      instanceType,
      engineVersion,
      generation: context.brokerGeneration ?? base.broker.generation,
    },
    cache: {
      ...base.cache,
      kind: context.cache ?? base.cache.kind,
      nodeType: context.cacheNodeType ?? base.cache.nodeType,
      clusterMode,
      shards: clusterMode ? (context.redisShards ?? 2) : 1,
    },
    fanoutShards: context.shards ?? base.fanoutShards,
    deliveryLimit: context.deliveryLimit ?? base.deliveryLimit,
    queueType,
    brokerUserRevision: context.brokerUserRevision ?? base.brokerUserRevision,
    removalPolicy: context.removalPolicy ?? base.removalPolicy,
    batchSize: context.batchSize ?? base.batchSize,
    batchWindowSeconds: context.batchWindowSeconds ?? base.batchWindowSeconds,
    deliveryConcurrency: context.deliverConcurrency ?? base.deliveryConcurrency,
    logRetentionDays: context.logRetentionDays ?? base.logRetentionDays,
    corsOrigins: context.corsOrigins ?? base.corsOrigins,
    alarmEmail: context.alarmEmail,
    profileUrl: context.profileUrl,
    pushUrl: context.pushUrl,
    closedRooms: context.closedRooms ?? base.closedRooms,
    chatEnv: context.chatEnv ?? base.chatEnv,
    legacyDomain: context.legacyDomain
      ? { domainName: context.legacyDomainName, certificateArn: context.legacyCertificateArn }
      : undefined,
    webPage: context.webPage ?? base.webPage,
  };
}
