import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from './errors.js';

type Env = Record<string, string | undefined>;

/** Secrets the stack passes by ARN, so no secret value sits in a function's configuration. */
const SECRET_ARN_VARIABLES = [
  'HIPOCHAT_SERVICE_KEY_SECRET_ARN',
  'HIPOCHAT_PUSH_SECRET_ARN',
  'HIPOCHAT_REDIS_AUTH_SECRET_ARN',
  'HIPOCHAT_RABBIT_SECRET_ARN',
] as const;

/** Reads one secret string. */
export type SecretReader = (arn: string) => Promise<string>;

let client: SecretsManagerClient | undefined;

const secretsManager: SecretReader = async (arn) => {
  client ??= new SecretsManagerClient({});
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  if (!SecretString) throw new ConfigError(`secret ${arn} has no string value`);
  return SecretString;
};

function brokerUser(secret: string): { username: string; password: string } {
  let user: { username?: unknown; password?: unknown };
  try {
    user = JSON.parse(secret) as typeof user;
  } catch (error) {
    throw new ConfigError('HIPOCHAT_RABBIT_SECRET_ARN must hold {"username","password"}', { cause: error });
  }
  if (
    typeof user?.username !== 'string' ||
    !user.username ||
    typeof user.password !== 'string' ||
    !user.password
  ) {
    throw new ConfigError('HIPOCHAT_RABBIT_SECRET_ARN must hold {"username","password"}');
  }
  return { username: user.username, password: user.password };
}

/**
 * Returns `env` with the values behind `*_SECRET_ARN` variables filled in: the service key, the
 * push HMAC key, the cache AUTH token (into `HIPOCHAT_REDIS_URL`) and the broker user (as
 * `HIPOCHAT_RABBIT_USERNAME` / `HIPOCHAT_RABBIT_PASS`). Without such variables it returns `env`.
 *
 * @throws ConfigError when the broker secret is not `{"username","password"}`
 */
export async function withSecrets(env: Env, read: SecretReader = secretsManager): Promise<Env> {
  if (!SECRET_ARN_VARIABLES.some((name) => env[name])) return env;
  const resolved: Env = { ...env };
  const fetch = async (name: (typeof SECRET_ARN_VARIABLES)[number]) =>
    env[name] ? read(env[name]) : undefined;
  const [serviceKey, pushSecret, redisAuth, rabbit] = await Promise.all(SECRET_ARN_VARIABLES.map(fetch));
  if (serviceKey) resolved.HIPOCHAT_SERVICE_KEY = serviceKey;
  if (pushSecret) resolved.HIPOCHAT_PUSH_SECRET = pushSecret;
  if (redisAuth && env.HIPOCHAT_REDIS_URL) {
    const url = new URL(env.HIPOCHAT_REDIS_URL);
    url.password = encodeURIComponent(redisAuth);
    resolved.HIPOCHAT_REDIS_URL = url.toString();
  }
  if (rabbit) {
    const user = brokerUser(rabbit);
    resolved.HIPOCHAT_RABBIT_USERNAME = user.username;
    resolved.HIPOCHAT_RABBIT_PASS = user.password;
  }
  return resolved;
}
