import { loadConfig } from '../../lambdas/core/config.js';
import { ConfigError } from '../../lambdas/core/errors.js';
import { withSecrets } from '../../lambdas/core/secrets.js';

describe('configuration', () => {
  it('runs on defaults with nothing set: in-memory twins, port 8888', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      listenPort: 8888,
      listenAddress: '127.0.0.1',
      messageTypes: ['message', 'notification', 'injection'],
      regularType: 'message',
      fanoutShards: 4,
    });
    expect(config.redisUrl).toBeUndefined();
    expect(config.amqpUrl).toBeUndefined();
  });

  it("keeps Hipochat's variables: Redis host/port/db and RabbitMQ host with separate credentials", () => {
    const config = loadConfig({
      HIPOCHAT_REDIS_HOST: 'cache.internal',
      HIPOCHAT_REDIS_PORT: '6380',
      HIPOCHAT_REDIS_DB: '3',
      HIPOCHAT_RABBIT_URL: 'mq.internal',
      HIPOCHAT_RABBIT_USERNAME: 'chat',
      HIPOCHAT_RABBIT_PASS: 'p@ss word',
      HIPOCHAT_MESSAGE_TYPES: 'message,photo',
      HIPOCHAT_NOTIFIABLE_MESSAGE_TYPES: 'photo',
    });
    expect(config.redisUrl).toBe('redis://cache.internal:6380/3');
    expect(config.amqpUrl).toBe('amqp://chat:p%40ss%20word@mq.internal');
    expect(config.messageTypes).toEqual(['message', 'photo']);
    expect(config.notifiableTypes).toEqual(['photo']);
  });

  it.each([
    [{ HIPOCHAT_LISTEN_PORT: 'eighty' }, 'HIPOCHAT_LISTEN_PORT'],
    [{ HIPOCHAT_PROFILE_URL: 'not a url' }, 'HIPOCHAT_PROFILE_URL'],
    [{ HIPOCHAT_FANOUT_SHARDS: '0' }, 'HIPOCHAT_FANOUT_SHARDS'],
    [{ HIPOCHAT_LOG_LEVEL: 'verbose' }, 'HIPOCHAT_LOG_LEVEL'],
    [{ HIPOCHAT_REGULAR_MESSAGE_TYPE: 'shout' }, 'HIPOCHAT_REGULAR_MESSAGE_TYPE'],
  ])('stops start-up naming the bad variable: %j', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
});

describe('secrets by ARN', () => {
  const secrets: Record<string, string> = {
    'arn:key': 'service-key',
    'arn:push': 'push-hmac',
    'arn:redis': 'auth/token+',
    'arn:rabbit': '{"username":"hipochat","password":"s3cret"}',
  };
  const read = async (arn: string) => secrets[arn]!;

  it('fills in the service key, push key, cache AUTH token and broker user', async () => {
    const env = await withSecrets(
      {
        HIPOCHAT_SERVICE_KEY_SECRET_ARN: 'arn:key',
        HIPOCHAT_PUSH_SECRET_ARN: 'arn:push',
        HIPOCHAT_REDIS_AUTH_SECRET_ARN: 'arn:redis',
        HIPOCHAT_RABBIT_SECRET_ARN: 'arn:rabbit',
        HIPOCHAT_REDIS_URL: 'rediss://master.cache.internal:6380',
        HIPOCHAT_RABBIT_URL: 'amqps://b-1.mq.internal:5671',
      },
      read,
    );
    const config = loadConfig(env);
    expect(config.serviceKey).toBe('service-key');
    expect(config.pushSecret).toBe('push-hmac');
    expect(decodeURIComponent(new URL(config.redisUrl!).password)).toBe('auth/token+');
    expect(config.amqpUrl).toBe('amqps://hipochat:s3cret@b-1.mq.internal:5671');
  });

  it('leaves the environment alone when no secret is named', async () => {
    const env = { HIPOCHAT_SERVICE_KEY: 'plain' };
    expect(await withSecrets(env, read)).toBe(env);
  });
});
