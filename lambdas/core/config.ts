// zod/mini keeps every handler bundle ~430 KB smaller than classic zod (cold starts).
import * as z from 'zod/mini';
import { ConfigError } from './errors.js';

const list = (fallback: string) =>
  z.pipe(
    z._default(z.string(), fallback),
    z.transform((value: string) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0),
    ),
  );

const int = (fallback: number, min: number, max: number) =>
  z._default(
    z.coerce.number().check(z.refine(Number.isInteger, 'expected an integer'), z.gte(min), z.lte(max)),
    fallback,
  );

const bool = (fallback: boolean) =>
  z.pipe(
    z._default(z.enum(['true', 'false', '1', '0', 'yes', 'no', '']), fallback ? 'true' : 'false'),
    z.transform((value: 'true' | 'false' | '1' | '0' | 'yes' | 'no' | '') =>
      ['true', '1', 'yes'].includes(value),
    ),
  );

const optionalString = z.optional(z.string());

const optionalUrl = z.optional(
  z.union([
    z.url(),
    z.pipe(
      z.literal(''),
      z.transform(() => undefined),
    ),
  ]),
);

/**
 * Every environment variable the project reads, with its default. The CDK stack builds function
 * environments from the same names, and the README lists them from here.
 */
export const envSchema = z.object({
  HIPOCHAT_PROFILE_URL: optionalUrl,
  HIPOCHAT_PROFILE_ID_FIELD: z._default(z.string().check(z.minLength(1)), 'id'),
  HIPOCHAT_PROFILE_CACHE_SECONDS: int(30, 0, 3600),
  HIPOCHAT_PUSH_NOTIFICATION_URL: optionalUrl,
  HIPOCHAT_PUSH_SECRET: optionalString,
  HIPOCHAT_SERVICE_KEY: optionalString,
  HIPOCHAT_REDIS_URL: optionalUrl,
  HIPOCHAT_REDIS_HOST: optionalString,
  HIPOCHAT_REDIS_PORT: int(6379, 1, 65535),
  HIPOCHAT_REDIS_DB: int(0, 0, 15),
  HIPOCHAT_REDIS_CLUSTER: bool(false),
  HIPOCHAT_AMQP_URL: optionalUrl,
  HIPOCHAT_RABBIT_URL: optionalString,
  HIPOCHAT_RABBIT_USERNAME: optionalString,
  HIPOCHAT_RABBIT_PASS: optionalString,
  HIPOCHAT_AMQP_NAMESPACE: z._default(z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,100}$/)), 'hipochat'),
  HIPOCHAT_CONNECTIONS_URL: optionalUrl,
  HIPOCHAT_LISTEN_PORT: int(8888, 0, 65535),
  HIPOCHAT_LISTEN_ADDRESS: z._default(z.string(), '127.0.0.1'),
  HIPOCHAT_MESSAGE_TYPES: list('message,notification,injection'),
  HIPOCHAT_NOTIFIABLE_MESSAGE_TYPES: list('message,notification'),
  HIPOCHAT_REGULAR_MESSAGE_TYPE: z._default(z.string().check(z.minLength(1)), 'message'),
  HIPOCHAT_CLOSED_ROOMS: list(''),
  HIPOCHAT_MAX_MESSAGE_BYTES: int(16_384, 64, 131_072),
  HIPOCHAT_HISTORY_LIMIT: int(1000, 1, 1_000_000),
  HIPOCHAT_FANOUT_SHARDS: int(4, 1, 64),
  HIPOCHAT_FANOUT_CONCURRENCY: int(32, 1, 1024),
  HIPOCHAT_DELIVERY_LIMIT: int(5, 1, 100),
  HIPOCHAT_CONNECTION_TTL_SECONDS: int(3 * 3600, 7200, 86_400),
  HIPOCHAT_RATE_LIMIT_PER_MINUTE: int(120, 1, 100_000),
  HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE: int(0, 0, 1_000_000),
  // Secrets by ARN (set by the CDK stack); their values are filled in by withSecrets().
  HIPOCHAT_SERVICE_KEY_SECRET_ARN: optionalString,
  HIPOCHAT_PUSH_SECRET_ARN: optionalString,
  HIPOCHAT_REDIS_AUTH_SECRET_ARN: optionalString,
  HIPOCHAT_RABBIT_SECRET_ARN: optionalString,
  // Read by the logger at module load; declared here so a typo stops start-up.
  HIPOCHAT_LOG_LEVEL: z._default(z.enum(['debug', 'info', 'warn', 'error']), 'info'),
});

/** The environment variables as declared; used by the stack and the README. */
export type HipochatEnv = z.input<typeof envSchema>;

/** Validated, typed runtime configuration. */
export interface ChatConfig {
  /** Profile endpoint asked with `Authorization: Token <token>`. */
  profileUrl?: string;
  profileIdField: string;
  profileCacheSeconds: number;
  pushUrl?: string;
  pushSecret?: string;
  serviceKey?: string;
  /** `redis://` or `rediss://` URL; absent means the in-memory store. */
  redisUrl?: string;
  redisCluster: boolean;
  /** `amqp://` or `amqps://` URL; absent means the in-memory bus. */
  amqpUrl?: string;
  /** Prefix of the exchange and queue names; one broker can serve several deployments. */
  amqpNamespace: string;
  /** API Gateway management endpoint (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`). */
  connectionsUrl?: string;
  listenPort: number;
  listenAddress: string;
  messageTypes: string[];
  notifiableTypes: string[];
  regularType: string;
  /** Rooms only members may connect to, read or post in; `*` closes every room, `prefix*` a family. */
  closedRooms: string[];
  maxMessageBytes: number;
  historyLimit: number;
  fanoutShards: number;
  fanoutConcurrency: number;
  deliveryLimit: number;
  connectionTtlSeconds: number;
  rateLimitPerMinute: number;
  /** Messages per user per minute across all rooms; 0 (default) skips the extra Redis round trip. */
  userRateLimitPerMinute: number;
}

function redisUrlFrom(env: z.output<typeof envSchema>): string | undefined {
  if (env.HIPOCHAT_REDIS_URL) return env.HIPOCHAT_REDIS_URL;
  if (!env.HIPOCHAT_REDIS_HOST) return undefined;
  return `redis://${env.HIPOCHAT_REDIS_HOST}:${env.HIPOCHAT_REDIS_PORT}/${env.HIPOCHAT_REDIS_DB}`;
}

function amqpUrlFrom(env: z.output<typeof envSchema>): string | undefined {
  if (env.HIPOCHAT_AMQP_URL) return env.HIPOCHAT_AMQP_URL;
  if (!env.HIPOCHAT_RABBIT_URL) return undefined;
  // Hipochat gave a host plus separate credentials.
  const raw = env.HIPOCHAT_RABBIT_URL.includes('://')
    ? env.HIPOCHAT_RABBIT_URL
    : `amqp://${env.HIPOCHAT_RABBIT_URL}`;
  const url = new URL(raw);
  if (env.HIPOCHAT_RABBIT_USERNAME) url.username = encodeURIComponent(env.HIPOCHAT_RABBIT_USERNAME);
  if (env.HIPOCHAT_RABBIT_PASS) url.password = encodeURIComponent(env.HIPOCHAT_RABBIT_PASS);
  return url.toString();
}

/**
 * Validates the environment and returns the configuration.
 *
 * @throws ConfigError naming each invalid variable
 */
export function loadConfig(source: Record<string, string | undefined> = process.env): ChatConfig {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const env = parsed.data;
  if (!env.HIPOCHAT_MESSAGE_TYPES.includes(env.HIPOCHAT_REGULAR_MESSAGE_TYPE)) {
    throw new ConfigError(
      'invalid configuration: HIPOCHAT_REGULAR_MESSAGE_TYPE must be one of HIPOCHAT_MESSAGE_TYPES',
    );
  }
  return {
    profileUrl: env.HIPOCHAT_PROFILE_URL,
    profileIdField: env.HIPOCHAT_PROFILE_ID_FIELD,
    profileCacheSeconds: env.HIPOCHAT_PROFILE_CACHE_SECONDS,
    pushUrl: env.HIPOCHAT_PUSH_NOTIFICATION_URL,
    pushSecret: env.HIPOCHAT_PUSH_SECRET || undefined,
    serviceKey: env.HIPOCHAT_SERVICE_KEY || undefined,
    redisUrl: redisUrlFrom(env),
    redisCluster: env.HIPOCHAT_REDIS_CLUSTER,
    amqpUrl: amqpUrlFrom(env),
    amqpNamespace: env.HIPOCHAT_AMQP_NAMESPACE,
    connectionsUrl: env.HIPOCHAT_CONNECTIONS_URL,
    listenPort: env.HIPOCHAT_LISTEN_PORT,
    listenAddress: env.HIPOCHAT_LISTEN_ADDRESS,
    messageTypes: env.HIPOCHAT_MESSAGE_TYPES,
    notifiableTypes: env.HIPOCHAT_NOTIFIABLE_MESSAGE_TYPES,
    regularType: env.HIPOCHAT_REGULAR_MESSAGE_TYPE,
    closedRooms: env.HIPOCHAT_CLOSED_ROOMS,
    maxMessageBytes: env.HIPOCHAT_MAX_MESSAGE_BYTES,
    historyLimit: env.HIPOCHAT_HISTORY_LIMIT,
    fanoutShards: env.HIPOCHAT_FANOUT_SHARDS,
    fanoutConcurrency: env.HIPOCHAT_FANOUT_CONCURRENCY,
    deliveryLimit: env.HIPOCHAT_DELIVERY_LIMIT,
    connectionTtlSeconds: env.HIPOCHAT_CONNECTION_TTL_SECONDS,
    rateLimitPerMinute: env.HIPOCHAT_RATE_LIMIT_PER_MINUTE,
    userRateLimitPerMinute: env.HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE,
  };
}
