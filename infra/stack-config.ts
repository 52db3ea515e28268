import type { Node } from 'constructs';
// Full zod is fine here: the CDK app is never bundled into a function.
import * as z from 'zod';
import { loadConfig } from '../lambdas/core/config.js';

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

/** The defaults of each profile. */
export const profiles: Record<Profile, StackConfig> = {
  dev: {
    profile: 'dev',
    stageName: 'dev',
    apiGatewayAccount: true,
    natAmiRefresh: false,
    natGateways: 1,
    natProvider: 'instance',
    natInstanceType: 't4g.nano',
    secretsEndpoint: false,
    // The smallest broker Amazon MQ offers; RabbitMQ 4 needs mq.m7g (mq.m7g.medium is the smallest).
    broker: {
      instanceType: 'mq.t3.micro',
      deploymentMode: 'SINGLE_INSTANCE',
      engineVersion: '3.13',
      generation: 0,
    },
    // Serverless Valkey bills its 100 MB minimum idle: below one cache.t4g.micro node.
    cache: {
      kind: 'serverless',
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
    queueType: 'quorum',
    brokerUserRevision: 0,
    removalPolicy: 'destroy',
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
    apiGatewayAccount: true,
    natAmiRefresh: false,
    natGateways: 2,
    natProvider: 'gateway',
    natInstanceType: 't4g.nano',
    secretsEndpoint: true,
    // Amazon MQ recommends mq.m7g.large and above for production; RabbitMQ 4.2 runs only on mq.m7g.
    broker: {
      instanceType: 'mq.m7g.large',
      deploymentMode: 'CLUSTER_MULTI_AZ',
      engineVersion: '4.2',
      generation: 0,
    },
    cache: {
      kind: 'serverless',
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
    queueType: 'quorum',
    brokerUserRevision: 0,
    removalPolicy: 'retain',
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

/** Behaviour variables a deployment may set; the stack owns the rest (URLs, secrets, shards). */
export const TUNABLE_VARIABLES = [
  'HIPOCHAT_PROFILE_ID_FIELD',
  'HIPOCHAT_PROFILE_CACHE_SECONDS',
  'HIPOCHAT_PROFILE_PUBLIC_FIELDS',
  'HIPOCHAT_MESSAGE_TYPES',
  'HIPOCHAT_NOTIFIABLE_MESSAGE_TYPES',
  'HIPOCHAT_REGULAR_MESSAGE_TYPE',
  'HIPOCHAT_MAX_MESSAGE_BYTES',
  'HIPOCHAT_MAX_BODY_DEPTH',
  'HIPOCHAT_HISTORY_LIMIT',
  'HIPOCHAT_FANOUT_CONCURRENCY',
  'HIPOCHAT_CONNECTION_TTL_SECONDS',
  'HIPOCHAT_RATE_LIMIT_PER_MINUTE',
  'HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE',
  'HIPOCHAT_BACKEND_RATE_LIMIT_PER_MINUTE',
  'HIPOCHAT_EDIT_WINDOW_SECONDS',
  'HIPOCHAT_LOG_LEVEL',
] as const;

/** The retention periods CloudWatch Logs accepts, in days. */
export const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * A context setting the operator got wrong; its message names the key and what it accepts, e.g.
 * `-c queueType must be one of quorum, classic, got "x"`. `infra/app.ts` prints it without a stack.
 */
export class ContextError extends Error {
  override readonly name = 'ContextError';
}

// Every schema below takes what context holds: `-c key=value` is always a string, the `context`
// block of cdk.json may hold numbers, booleans and arrays.

const got = (input: unknown) => `got ${JSON.stringify(input)}`;
/** An error callback for zod: `<what it must be>, got <input>`. */
const mustBe = (what: string) => (issue: { input?: unknown }) => `${what}, ${got(issue.input)}`;

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: mustBe(`must be one of ${values.join(', ')}`) });
}

const numeric = (value: unknown) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

function integer(min: number, max: number) {
  const error = mustBe(`must be an integer from ${min} to ${max}`);
  return z.preprocess(numeric, z.int({ error }).min(min, { error }).max(max, { error }));
}

const flags: Record<string, boolean> = {
  true: true,
  '1': true,
  yes: true,
  false: false,
  '0': false,
  no: false,
};
const flag = z.preprocess(
  (value) => (typeof value === 'string' ? (flags[value.trim().toLowerCase()] ?? value) : value),
  z.boolean({ error: mustBe('must be true or false') }),
);

const text = z.preprocess(
  (value) => (typeof value === 'number' ? String(value) : value),
  z.string({ error: mustBe('must be a string') }),
);

/** `a,b,c` or a JSON array in cdk.json. */
const list = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0)
      : value,
  z.array(z.string(), { error: mustBe('must be a comma-separated list') }),
);

const https = z.string({ error: mustBe('must be an https:// URL') }).regex(/^https:\/\/[^\s/]+/, {
  error: mustBe('must be an https:// URL'),
});

const ec2InstanceType = z
  .string()
  .regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { error: mustBe('must be an EC2 instance type such as t4g.nano') });

const retention = z.preprocess(
  numeric,
  z
    .number({ error: mustBe(`must be one of ${RETENTION_DAYS.join(', ')}`) })
    .refine((days) => (RETENTION_DAYS as readonly number[]).includes(days), {
      error: mustBe(`must be one of ${RETENTION_DAYS.join(', ')}`),
    }),
);

/** Every stack is named `Hipochat-<stage>`. */
export const STACK_PREFIX = 'Hipochat-';

/**
 * The longest stage name: CDK refuses a stack name over 128 characters or outside
 * `^[A-Za-z][A-Za-z0-9-]*$` (aws-cdk-lib core/lib/stack.ts, `VALID_STACK_NAME_REGEX`), and the
 * stage is the stack name after {@link STACK_PREFIX}. That rule also fits API Gateway's stage
 * names (alphanumerics, hyphens and underscores, at most 128).
 */
export const MAX_STAGE_LENGTH = 128 - STACK_PREFIX.length;

const STAGE_PATTERN = new RegExp(`^[A-Za-z0-9-]{1,${MAX_STAGE_LENGTH}}$`);

/**
 * `-c chatEnv='{"HIPOCHAT_MAX_MESSAGE_BYTES":"32768"}'` or an object in `cdk.json`: checked
 * against {@link TUNABLE_VARIABLES} and the runtime's config schema, so a bad value fails synth
 * instead of every cold start.
 */
const chatEnv = z
  .preprocess(
    (value) => {
      if (typeof value !== 'string') return value;
      try {
        return JSON.parse(value) as unknown;
      } catch {
        return value;
      }
    },
    z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]), {
      error: mustBe('must be a JSON object of HIPOCHAT_* variables'),
    }),
  )
  .transform((raw, context) => {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(raw)) {
      if (!(TUNABLE_VARIABLES as readonly string[]).includes(name)) {
        context.issues.push({
          code: 'custom',
          input: raw,
          message: `${name} cannot be set here (tunable: ${TUNABLE_VARIABLES.join(', ')})`,
        });
        return z.NEVER;
      }
      env[name] = String(value);
    }
    try {
      loadConfig(env);
    } catch (error) {
      context.issues.push({ code: 'custom', input: raw, message: (error as Error).message });
      return z.NEVER;
    }
    return env;
  });

/**
 * Every context key the app reads (`-c key=value`, or the `context` block of `cdk.json`), all
 * optional: the profile supplies what is not given. docs/deploy.md describes each.
 */
export const contextSchema = z
  .object({
    profile: oneOf(['dev', 'prod']),
    stage: z.string().regex(STAGE_PATTERN, {
      error: mustBe(
        `must be 1-${MAX_STAGE_LENGTH} letters, digits or hyphens (the stack is named ${STACK_PREFIX}<stage>)`,
      ),
    }),
    apiGatewayAccount: flag,
    natAmiRefresh: flag,
    cache: oneOf(['serverless', 'nodes']),
    brokerGeneration: integer(0, 999),
    shards: integer(1, 64),
    deliveryLimit: integer(1, 100),
    queueType: oneOf(['quorum', 'classic']),
    batchSize: integer(1, 10_000),
    batchWindowSeconds: integer(0, 300),
    deliverConcurrency: integer(1, 10_000),
    logRetentionDays: retention,
    removalPolicy: oneOf(['retain', 'destroy']),
    natGateways: integer(1, 3),
    natProvider: oneOf(['gateway', 'instance']),
    natInstanceType: ec2InstanceType,
    secretsEndpoint: flag,
    brokerInstanceType: text,
    brokerEngineVersion: text,
    brokerUserRevision: integer(0, 1_000_000),
    cacheNodeType: text,
    redisClusterMode: flag,
    redisShards: integer(1, 500),
    corsOrigins: list,
    alarmEmail: text,
    profileUrl: https,
    pushUrl: https,
    closedRooms: list,
    chatEnv,
    legacyDomain: flag,
    legacyDomainName: text,
    legacyCertificateArn: text,
    webPage: flag,
  })
  .partial()
  .check((context) => {
    const { value } = context;
    const shards = value.shards ?? profiles[value.profile ?? 'dev'].fanoutShards;
    const concurrency = value.deliverConcurrency;
    // An out-of-range value is reported by its own rule.
    if (concurrency !== undefined && concurrency >= 1 && concurrency < shards) {
      context.issues.push({
        code: 'custom',
        input: concurrency,
        path: ['deliverConcurrency'],
        message: `must be at least the shard count (${shards}): each shard runs at least one slice at a time`,
      });
    }
    if (value.legacyDomainName !== undefined && value.legacyCertificateArn === undefined) {
      context.issues.push({
        code: 'custom',
        input: value.legacyDomainName,
        path: ['legacyDomainName'],
        message: 'needs legacyCertificateArn (an ACM certificate in us-east-1)',
      });
    }
  });

/** The context keys of {@link contextSchema}. */
export type ContextSettings = z.output<typeof contextSchema>;

/** The keys of {@link contextSchema}, e.g. for documentation checks. */
export const CONTEXT_KEYS = Object.keys(contextSchema.shape) as (keyof ContextSettings)[];

/**
 * Parses raw context values (unset, `null` and `''` count as not given).
 *
 * @throws ContextError with one line per invalid key: `-c <key> <what it must be>, got <value>`
 */
export function parseContext(raw: Record<string, unknown>): ContextSettings {
  const given = Object.fromEntries(
    CONTEXT_KEYS.flatMap((key) => {
      const value = raw[key];
      return value === undefined || value === null || value === '' ? [] : [[key, value]];
    }),
  );
  const parsed = contextSchema.safeParse(given);
  if (parsed.success) return parsed.data;
  throw new ContextError(
    parsed.error.issues.map((issue) => `-c ${String(issue.path[0] ?? '')} ${issue.message}`).join('\n'),
  );
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
