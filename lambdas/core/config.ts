// zod/mini keeps every handler bundle ~430 KB smaller than classic zod (cold starts).
import * as z from 'zod/mini';
import { RESERVED_MESSAGE_TYPES } from '../../protocol/client-frames.js';
import { TYPING_TYPE } from '../../protocol/frames.js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  isOfferableReaction,
  MAX_MESSAGE_BYTES_LIMIT,
} from '../../protocol/limits.js';
import { CONTROL_FRAME_TYPES } from '../../protocol/server-frame-readers.js';
import { ConfigError } from './errors.js';

/** How one variable is read: its schema, and the rule in words for error messages. */
interface Rule<T> {
  readonly schema: z.ZodMiniType<T>;
  /** Completes "<VARIABLE> must be ...". */
  readonly rule: string;
  /** The value may carry a password: an error names the variable but never repeats it. */
  readonly secret?: boolean;
}

const rule = <T>(schema: z.ZodMiniType<T>, words: string): Rule<T> => ({ schema, rule: words });

const secret = <T>(of: Rule<T>): Rule<T> => ({ ...of, secret: true });

/** Absent and empty both mean "not set". */
const optionalText = rule(
  z.pipe(
    z.optional(z.string()),
    z.transform((value: string | undefined) => value || undefined),
  ),
  'a string',
);

const anyText = (fallback: string) => rule(z._default(z.string(), fallback), 'a string');

const text = (fallback: string, pattern = /^.+$/s, words = 'a non-empty string') =>
  rule(z._default(z.string().check(z.regex(pattern)), fallback), words);

const list = (fallback: string) =>
  rule(
    z.pipe(
      z._default(z.string(), fallback),
      z.transform((value: string) =>
        value
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0),
      ),
    ),
    'a comma-separated list',
  );

/** A comma-separated list where absent and empty mean "not set" (the caller picks the default). */
const optionalList = rule(
  z.pipe(
    z.optional(z.string()),
    z.transform((value: string | undefined) => {
      const items = (value ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0);
      return items.length > 0 ? items : undefined;
    }),
  ),
  'a comma-separated list',
);

/** An integer in a range; `why` explains a bound that is not obvious, in the error message. */
const int = (fallback: number, min: number, max: number, why?: string) =>
  rule(
    z._default(z.coerce.number().check(z.refine(Number.isInteger), z.gte(min), z.lte(max)), fallback),
    `an integer from ${min} to ${max}${why ? ` (${why})` : ''}`,
  );

const fraction = (fallback: number) =>
  rule(z._default(z.coerce.number().check(z.gte(0), z.lte(1)), fallback), 'a number from 0 to 1');

const BOOLEANS = ['true', 'false', '1', '0', 'yes', 'no', ''] as const;

const bool = (fallback: boolean) =>
  rule(
    z.pipe(
      z._default(z.enum(BOOLEANS), fallback ? 'true' : 'false'),
      z.transform((value: (typeof BOOLEANS)[number]) => ['true', '1', 'yes'].includes(value)),
    ),
    'true or false (or 1/0, yes/no)',
  );

const oneOf = <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  rule(z._default(z.enum(values), fallback), `one of ${values.join(', ')}`);

const optionalUrl = rule(
  z.optional(
    z.union([
      z.url(),
      z.pipe(
        z.literal(''),
        z.transform(() => undefined),
      ),
    ]),
  ),
  'a URL',
);

/**
 * Delivery function invocations in flight across all shards when nothing reserves them: the
 * account's unreserved pool is shared with every other function (1,000 on most accounts, as low as
 * 10 on a fresh one; Lambda keeps 100 of it unreserved).
 */
export const DEFAULT_DELIVERY_CONCURRENCY = 100;

/**
 * Every setting: its config key, the environment variable it comes from, and the rule. A new
 * variable is one line here; `ChatConfig` and the env schema follow.
 */
const settings = {
  /** Profile endpoint asked with `Authorization: Token <token>`. */
  profileUrl: ['HIPOCHAT_PROFILE_URL', optionalUrl],
  profileIdField: ['HIPOCHAT_PROFILE_ID_FIELD', text('id')],
  profileCacheSeconds: ['HIPOCHAT_PROFILE_CACHE_SECONDS', int(30, 0, 3600)],
  /** Top-level profile fields that leave the server; unset: the id field, `username`, name and avatar fields. */
  profilePublicFields: ['HIPOCHAT_PROFILE_PUBLIC_FIELDS', optionalList],
  pushUrl: ['HIPOCHAT_PUSH_NOTIFICATION_URL', optionalUrl],
  /** HMAC key of the push webhook; without it requests go unsigned. */
  pushSecret: ['HIPOCHAT_PUSH_SECRET', optionalText],
  serviceKey: ['HIPOCHAT_SERVICE_KEY', optionalText],
  /** `redis://` or `rediss://` URL (else built from `HIPOCHAT_REDIS_HOST`); absent means the in-memory store. */
  redisUrl: ['HIPOCHAT_REDIS_URL', secret(optionalUrl)],
  redisCluster: ['HIPOCHAT_REDIS_CLUSTER', bool(false)],
  /**
   * Replicas that must confirm a write (`WAIT`) before it is acknowledged or published; 0 (default)
   * acknowledges what the primary has. Set it where the cache replicates asynchronously to replicas.
   */
  redisWaitReplicas: ['HIPOCHAT_REDIS_WAIT_REPLICAS', int(0, 0, 5)],
  /** Milliseconds a write waits for `HIPOCHAT_REDIS_WAIT_REPLICAS`; past it the sender gets a retryable 503. */
  redisWaitMs: ['HIPOCHAT_REDIS_WAIT_MS', int(100, 1, 10_000)],
  /** `amqp://` or `amqps://` URL (else built from `HIPOCHAT_RABBIT_*`); absent means the in-memory bus. */
  amqpUrl: ['HIPOCHAT_AMQP_URL', secret(optionalUrl)],
  /** Prefix of the exchange and queue names; one broker can serve several deployments. */
  amqpNamespace: [
    'HIPOCHAT_AMQP_NAMESPACE',
    text('hipochat', /^[A-Za-z0-9_.-]{1,100}$/, '1-100 characters of [A-Za-z0-9_.-]'),
  ],
  /** RabbitMQ type of the shard queues; must match what the deployment declared. */
  queueType: ['HIPOCHAT_QUEUE_TYPE', oneOf(['quorum', 'classic'], 'quorum')],
  /** API Gateway management endpoint (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`). */
  connectionsUrl: ['HIPOCHAT_CONNECTIONS_URL', optionalUrl],
  listenPort: ['HIPOCHAT_LISTEN_PORT', int(8888, 0, 65535)],
  listenAddress: ['HIPOCHAT_LISTEN_ADDRESS', anyText('127.0.0.1')],
  messageTypes: ['HIPOCHAT_MESSAGE_TYPES', list('message,notification,injection')],
  notifiableTypes: ['HIPOCHAT_NOTIFIABLE_MESSAGE_TYPES', list('message,notification')],
  regularType: ['HIPOCHAT_REGULAR_MESSAGE_TYPE', text('message')],
  /** Client frame types delivered live to signals connections only: never stored, counted or pushed. */
  ephemeralTypes: ['HIPOCHAT_EPHEMERAL_TYPES', list('typing')],
  /** Milliseconds a room's read marks and presence changes are folded into one digest (`reads` frame). */
  readDigestMs: ['HIPOCHAT_READ_DIGEST_MS', int(2000, 100, 60_000)],
  /** Members above which a room sends no live typing, read or presence frames (the routes still answer). */
  signalsMaxMembers: ['HIPOCHAT_SIGNALS_MAX_MEMBERS', int(100, 0, 1_000_000)],
  /** Websocket connects per user per minute across rooms (more answer 429); 0 means no limit. */
  connectLimitPerMinute: ['HIPOCHAT_CONNECT_LIMIT_PER_MINUTE', int(60, 0, 1_000_000)],
  /** Rooms only members may connect to, read or post in; `*` closes every room, `prefix*` a family. */
  closedRooms: ['HIPOCHAT_CLOSED_ROOMS', list('')],
  maxMessageBytes: [
    'HIPOCHAT_MAX_MESSAGE_BYTES',
    int(
      DEFAULT_MAX_MESSAGE_BYTES,
      64,
      MAX_MESSAGE_BYTES_LIMIT,
      'API Gateway closes a websocket on frames over 32 KB, and the server adds id, author, timestamp and room',
    ),
  ],
  /** Nesting levels a frame's body (and each client field) or an item body may have; deeper is refused. */
  maxBodyDepth: ['HIPOCHAT_MAX_BODY_DEPTH', int(32, 1, 512)],
  historyLimit: ['HIPOCHAT_HISTORY_LIMIT', int(1000, 1, 1_000_000)],
  /**
   * Reactions offered besides every RGI emoji: names (`[a-z0-9_+-]{1,32}`) and/or single emoji;
   * unset, only emoji.
   */
  reactions: ['HIPOCHAT_REACTIONS', optionalList],
  /** Seconds after sending that an author may edit or delete a message; 0 (default) means no limit. */
  editWindowSeconds: ['HIPOCHAT_EDIT_WINDOW_SECONDS', int(0, 0, 100_000_000)],
  fanoutShards: ['HIPOCHAT_FANOUT_SHARDS', int(4, 1, 64)],
  /** Posts in flight per execution: API Gateway answers in ~20 ms, so 128 keeps the CPU, not the wait, the limit. */
  fanoutConcurrency: ['HIPOCHAT_FANOUT_CONCURRENCY', int(128, 1, 1024)],
  /** Live connections above which a room is delivered in parallel slices (docs/performance.md); 0 never. */
  fanoutSliceSize: ['HIPOCHAT_FANOUT_SLICE_SIZE', int(1000, 0, 1_000_000)],
  /** Name or ARN of the delivery function that runs fan-out slices; unset means no slices. */
  deliveryFunction: ['HIPOCHAT_DELIVERY_FUNCTION', optionalText],
  /** Lambda API endpoint for the slices (the local gateway's); unset: `https://lambda.<region>.amazonaws.com`. */
  lambdaEndpoint: ['HIPOCHAT_LAMBDA_ENDPOINT', optionalUrl],
  /**
   * Delivery function invocations (fan-out slices) in flight across all shards: each shard runs at
   * most this divided by `HIPOCHAT_FANOUT_SHARDS`. The stack sets it to the reserved concurrency.
   */
  deliveryConcurrency: ['HIPOCHAT_DELIVERY_CONCURRENCY', int(DEFAULT_DELIVERY_CONCURRENCY, 1, 10_000)],
  /** Local gateway only: milliseconds `@connections` waits before answering, like API Gateway on AWS. */
  localPostLatencyMs: ['HIPOCHAT_LOCAL_POST_LATENCY_MS', int(0, 0, 10_000)],
  /** Local gateway only: posts per second `@connections` admits (token bucket, burst half the rate), else 429; 0 no limit. */
  localPostRps: ['HIPOCHAT_LOCAL_POST_RPS', int(0, 0, 1_000_000)],
  /** Local gateway only: the share of posts `@connections` answers 500, at random. */
  localPostFailRate: ['HIPOCHAT_LOCAL_POST_FAIL_RATE', fraction(0)],
  /** Local gateway only: delivery invocations the local Invoke API runs at once, else 429; 0 no limit. */
  localInvokeConcurrency: ['HIPOCHAT_LOCAL_INVOKE_CONCURRENCY', int(0, 0, 10_000)],
  deliveryLimit: ['HIPOCHAT_DELIVERY_LIMIT', int(5, 1, 100)],
  connectionTtlSeconds: ['HIPOCHAT_CONNECTION_TTL_SECONDS', int(3 * 3600, 7200, 86_400)],
  /** Rooms one connection may follow (`?rooms=` and `subscribe` frames together). */
  maxRoomsPerConnection: ['HIPOCHAT_MAX_ROOMS_PER_CONNECTION', int(50, 1, 1000)],
  rateLimitPerMinute: ['HIPOCHAT_RATE_LIMIT_PER_MINUTE', int(120, 1, 100_000)],
  /** Messages per user per minute across all rooms; 0 (default) skips the extra Redis round trip. */
  userRateLimitPerMinute: ['HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE', int(0, 0, 1_000_000)],
  /**
   * `POST /talk/item` injections per user per minute across all rooms (the per-room limit still
   * applies in each); 0 turns it off. Backends (service key) have their own limit.
   */
  userInjectionLimitPerMinute: ['HIPOCHAT_USER_INJECTION_LIMIT_PER_MINUTE', int(120, 0, 1_000_000)],
  /** Backend (service key) injections per room per minute; 0 (default) means no limit. */
  backendRateLimitPerMinute: ['HIPOCHAT_BACKEND_RATE_LIMIT_PER_MINUTE', int(0, 0, 1_000_000)],
  logLevel: ['HIPOCHAT_LOG_LEVEL', oneOf(['debug', 'info', 'warn', 'error'], 'info')],
  /** Share of invocations that log at debug level whatever `logLevel` says. */
  logSampleRate: ['HIPOCHAT_LOG_SAMPLE_RATE', fraction(0)],
  /** Deployment stage, a key of every log line when set. */
  stage: ['HIPOCHAT_STAGE', optionalText],
} as const;

/**
 * Variables that are no setting of their own: parts of a derived one (`redisUrl`, `amqpUrl`) or
 * the ARN of a secret whose value `withSecrets()` puts into a setting's variable.
 */
const inputs = {
  HIPOCHAT_REDIS_HOST: optionalText,
  HIPOCHAT_REDIS_PORT: int(6379, 1, 65535),
  HIPOCHAT_REDIS_DB: int(0, 0, 15),
  HIPOCHAT_RABBIT_URL: optionalText,
  HIPOCHAT_RABBIT_USERNAME: optionalText,
  HIPOCHAT_RABBIT_PASS: optionalText,
  HIPOCHAT_SERVICE_KEY_SECRET_ARN: optionalText,
  HIPOCHAT_PUSH_SECRET_ARN: optionalText,
  HIPOCHAT_REDIS_AUTH_SECRET_ARN: optionalText,
  HIPOCHAT_RABBIT_SECRET_ARN: optionalText,
} as const;

type Settings = typeof settings;
type Inputs = typeof inputs;
type ValueOf<R> = R extends Rule<infer T> ? T : never;
type VariableName = Settings[keyof Settings][0] | keyof Inputs;

/** Validated, typed runtime configuration: one key per entry of the settings table. */
export type ChatConfig = { -readonly [K in keyof Settings]: ValueOf<Settings[K][1]> };

/** The environment variables by name, all optional strings; the stack builds function environments from it. */
export type HipochatEnv = { [K in VariableName]?: string };

const rules = new Map<string, Rule<unknown>>([
  ...Object.values(settings).map(([name, of]) => [name, of] as const),
  ...Object.entries(inputs),
]);

/**
 * Every environment variable the project reads. The CDK stack builds function environments from
 * the same names, and the README lists them from here.
 */
export const envSchema = z.object(
  Object.fromEntries([...rules].map(([name, of]) => [name, of.schema])) as {
    [K in VariableName]: z.ZodMiniType<unknown>;
  },
);

function problem(name: string, raw: string | undefined): string {
  const of = rules.get(name);
  if (!of) return `${name} is invalid`;
  return `${name} must be ${of.rule}${of.secret ? '' : `, got ${JSON.stringify(raw ?? '')}`}`;
}

function redisUrlFrom(env: Record<string, unknown>, url: string | undefined): string | undefined {
  if (url) return url;
  if (!env.HIPOCHAT_REDIS_HOST) return undefined;
  return `redis://${env.HIPOCHAT_REDIS_HOST}:${env.HIPOCHAT_REDIS_PORT}/${env.HIPOCHAT_REDIS_DB}`;
}

function amqpUrlFrom(env: Record<string, unknown>, url: string | undefined): string | undefined {
  if (url) return url;
  const host = env.HIPOCHAT_RABBIT_URL as string | undefined;
  if (!host) return undefined;
  // Hipochat gave a host plus separate credentials.
  const amqp = new URL(host.includes('://') ? host : `amqp://${host}`);
  if (env.HIPOCHAT_RABBIT_USERNAME) amqp.username = encodeURIComponent(String(env.HIPOCHAT_RABBIT_USERNAME));
  if (env.HIPOCHAT_RABBIT_PASS) amqp.password = encodeURIComponent(String(env.HIPOCHAT_RABBIT_PASS));
  return amqp.toString();
}

/**
 * Validates the environment and returns the configuration.
 *
 * @throws ConfigError naming each invalid variable and its rule
 */
export function loadConfig(source: Record<string, string | undefined> = process.env): ChatConfig {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const names = new Set(parsed.error.issues.map((issue) => String(issue.path[0])));
    const problems = [...names].map((name) => problem(name, source[name]));
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const env = parsed.data as Record<string, unknown>;
  const config = Object.fromEntries(
    Object.entries(settings).map(([key, [name]]) => [key, env[name]]),
  ) as ChatConfig;
  config.redisUrl = redisUrlFrom(env, config.redisUrl);
  config.amqpUrl = amqpUrlFrom(env, config.amqpUrl);
  const reserved = config.messageTypes.find((type) => RESERVED_MESSAGE_TYPES.includes(type));
  if (reserved !== undefined) {
    throw new ConfigError(
      `invalid configuration: HIPOCHAT_MESSAGE_TYPES must not name a server or control frame type (${RESERVED_MESSAGE_TYPES.join(', ')}), got ${JSON.stringify(reserved)}`,
    );
  }
  const clash = config.ephemeralTypes.find(
    (type) =>
      config.messageTypes.includes(type) ||
      type === 'ping' ||
      (CONTROL_FRAME_TYPES.includes(type) && type !== TYPING_TYPE),
  );
  if (clash !== undefined) {
    throw new ConfigError(
      `invalid configuration: HIPOCHAT_EPHEMERAL_TYPES must not name a message type (HIPOCHAT_MESSAGE_TYPES), "ping" or a server frame type, got ${JSON.stringify(clash)}`,
    );
  }
  const refused = config.reactions?.find((entry) => !isOfferableReaction(entry));
  if (refused !== undefined) {
    throw new ConfigError(
      `invalid configuration: HIPOCHAT_REACTIONS must list names of [a-z0-9_+-]{1,32} (not an Object.prototype name such as constructor) or single emoji, got ${JSON.stringify(refused)}`,
    );
  }
  if (!config.messageTypes.includes(config.regularType)) {
    throw new ConfigError(
      `invalid configuration: HIPOCHAT_REGULAR_MESSAGE_TYPE must be one of HIPOCHAT_MESSAGE_TYPES (${config.messageTypes.join(', ')}), got ${JSON.stringify(config.regularType)}`,
    );
  }
  return config;
}

/** The settings the logger needs before (and whether or not) the whole config loads. */
export type LogSettings = Pick<ChatConfig, 'logLevel' | 'logSampleRate' | 'stage'>;

function lenient<K extends keyof Settings>(key: K, source: Record<string, string | undefined>) {
  const [name, { schema }] = settings[key];
  const value = schema.safeParse(source[name]);
  return (value.success ? value.data : schema.parse(undefined)) as ChatConfig[K];
}

/**
 * The logging settings by the same rules as `loadConfig`, for the process logger at module load.
 * An invalid value falls back to its default here; `loadConfig` reports it at start-up.
 */
export function logSettings(source: Record<string, string | undefined> = process.env): LogSettings {
  return {
    logLevel: lenient('logLevel', source),
    logSampleRate: lenient('logSampleRate', source),
    stage: lenient('stage', source),
  };
}
