// zod/mini keeps every handler bundle ~430 KB smaller than classic zod (cold starts).
import * as z from 'zod/mini';
import { RESERVED_MESSAGE_TYPES } from '../../protocol/client-frames.js';
import { TYPING_TYPE } from '../../protocol/frames.js';
import { isOfferableReaction } from '../../protocol/limits.js';
import { CONTROL_FRAME_TYPES } from '../../protocol/server-frame-readers.js';
import { type Doc, doc, int, optionalText, type Rule, shownDefault } from './config-rules.js';
import { DEFAULT_DELIVERY_CONCURRENCY, settings } from './config-settings.js';
import { ConfigError } from './errors.js';

export { DEFAULT_DELIVERY_CONCURRENCY };

/**
 * Variables that are no setting of their own: parts of a derived one (`redisUrl`, `amqpUrl`) or
 * the ARN of a secret whose value `withSecrets()` puts into a setting's variable.
 */
const inputs = {
  HIPOCHAT_REDIS_HOST: [
    optionalText,
    doc("host of Redis, Hipochat's form of `HIPOCHAT_REDIS_URL` (with `_PORT` and `_DB`)"),
  ],
  HIPOCHAT_REDIS_PORT: [
    int(6379, 1, 65535),
    doc("port of `HIPOCHAT_REDIS_HOST` (Hipochat's form of `HIPOCHAT_REDIS_URL`)"),
  ],
  HIPOCHAT_REDIS_DB: [
    int(0, 0, 15),
    doc("database of `HIPOCHAT_REDIS_HOST` (Hipochat's form of `HIPOCHAT_REDIS_URL`)"),
  ],
  HIPOCHAT_RABBIT_URL: [
    optionalText,
    doc("RabbitMQ host or URL, Hipochat's form of `HIPOCHAT_AMQP_URL` (with `_USERNAME` and `_PASS`)"),
  ],
  HIPOCHAT_RABBIT_USERNAME: [optionalText, doc('user name for `HIPOCHAT_RABBIT_URL`')],
  HIPOCHAT_RABBIT_PASS: [optionalText, doc('password for `HIPOCHAT_RABBIT_URL`')],
  HIPOCHAT_SERVICE_KEY_SECRET_ARN: [
    optionalText,
    doc('Secrets Manager ARN of the service key, read once per Lambda container', 'set by the stack'),
  ],
  HIPOCHAT_PUSH_SECRET_ARN: [
    optionalText,
    doc('Secrets Manager ARN of the push secret, read once per Lambda container', 'set by the stack'),
  ],
  HIPOCHAT_REDIS_AUTH_SECRET_ARN: [
    optionalText,
    doc('Secrets Manager ARN of the Redis password, read once per Lambda container', 'set by the stack'),
  ],
  HIPOCHAT_RABBIT_SECRET_ARN: [
    optionalText,
    doc('Secrets Manager ARN of the broker credentials, read once per Lambda container', 'set by the stack'),
  ],
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
  ...Object.entries(inputs).map(([name, [of]]) => [name, of] as const),
]);

const docs = new Map<string, Doc>([
  ...Object.values(settings).map(([name, , about]) => [name, about] as const),
  ...Object.entries(inputs).map(([name, [, about]]) => [name, about] as const),
]);

/** One row of docs/configuration.md. */
export interface ConfigReferenceRow {
  readonly variable: string;
  /** The default in words, or the schema's default as Markdown code. */
  readonly default: string;
  /** What the value must be, as start-up errors say it. */
  readonly rule: string;
  readonly meaning: string;
}

/** Every variable the schema reads, in table order, with its default, rule and meaning. */
export function configReference(): ConfigReferenceRow[] {
  return [...rules].map(([variable, of]) => {
    const about = docs.get(variable) as Doc;
    return {
      variable,
      default: about.shown ?? shownDefault(of.schema),
      rule: of.rule,
      meaning: about.meaning,
    };
  });
}

/**
 * Every environment variable the project reads. The CDK stack builds function environments from
 * the same names, and docs/configuration.md lists them from here (`npm run docs`).
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
