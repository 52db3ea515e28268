// Full zod is fine here: the CDK app is never bundled into a function.
import * as z from 'zod';
import { loadConfig } from '../lambdas/core/config.js';
import { profiles } from './stack-profiles.js';

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
