import { loadConfig, logSettings } from '../../lambdas/core/config.js';
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

  it.each([
    [
      'HIPOCHAT_RATE_LIMIT_PER_MINUTE',
      '1000000',
      'HIPOCHAT_RATE_LIMIT_PER_MINUTE must be an integer from 1 to 100000, got "1000000"',
    ],
    [
      'HIPOCHAT_MAX_MESSAGE_BYTES',
      '1.5',
      'HIPOCHAT_MAX_MESSAGE_BYTES must be an integer from 64 to 29696 (API Gateway closes a websocket on frames over 32 KB, and the server adds id, author, timestamp and room), got "1.5"',
    ],
    [
      'HIPOCHAT_MAX_MESSAGE_BYTES',
      '65536',
      'HIPOCHAT_MAX_MESSAGE_BYTES must be an integer from 64 to 29696 (API Gateway closes a websocket on frames over 32 KB, and the server adds id, author, timestamp and room), got "65536"',
    ],
    [
      'HIPOCHAT_LISTEN_PORT',
      'eighty',
      'HIPOCHAT_LISTEN_PORT must be an integer from 0 to 65535, got "eighty"',
    ],
    ['HIPOCHAT_PROFILE_URL', 'not a url', 'HIPOCHAT_PROFILE_URL must be a URL, got "not a url"'],
    [
      'HIPOCHAT_LOG_LEVEL',
      'verbose',
      'HIPOCHAT_LOG_LEVEL must be one of debug, info, warn, error, got "verbose"',
    ],
    ['HIPOCHAT_LOG_SAMPLE_RATE', '2', 'HIPOCHAT_LOG_SAMPLE_RATE must be a number from 0 to 1, got "2"'],
    [
      'HIPOCHAT_REDIS_CLUSTER',
      'maybe',
      'HIPOCHAT_REDIS_CLUSTER must be true or false (or 1/0, yes/no), got "maybe"',
    ],
    ['HIPOCHAT_PROFILE_ID_FIELD', '', 'HIPOCHAT_PROFILE_ID_FIELD must be a non-empty string, got ""'],
    [
      'HIPOCHAT_REGULAR_MESSAGE_TYPE',
      'shout',
      'HIPOCHAT_REGULAR_MESSAGE_TYPE must be one of HIPOCHAT_MESSAGE_TYPES (message, notification, injection), got "shout"',
    ],
  ])('says what %s must be and what it got (%j)', (name, value, expected) => {
    expect(() => loadConfig({ [name]: value })).toThrow(`invalid configuration: ${expected}`);
  });

  it('accepts up to the largest frame API Gateway takes, less what the server adds, as HIPOCHAT_MAX_MESSAGE_BYTES', () => {
    expect(loadConfig({ HIPOCHAT_MAX_MESSAGE_BYTES: '29696' }).maxMessageBytes).toBe(29_696);
  });

  it('reports every bad variable at once', () => {
    expect(() => loadConfig({ HIPOCHAT_FANOUT_SHARDS: '0', HIPOCHAT_DELIVERY_LIMIT: 'x' })).toThrow(
      'invalid configuration: HIPOCHAT_FANOUT_SHARDS must be an integer from 1 to 64, got "0"; ' +
        'HIPOCHAT_DELIVERY_LIMIT must be an integer from 1 to 100, got "x"',
    );
  });

  it('never repeats the value of a URL that may hold a password', () => {
    const load = () => loadConfig({ HIPOCHAT_REDIS_URL: 'rediss://default:hunter2@cache:port' });
    expect(load).toThrow('HIPOCHAT_REDIS_URL must be a URL');
    expect(load).not.toThrow('hunter2');
  });

  it('reads the logging settings: level, debug sample rate and stage', () => {
    const env = { HIPOCHAT_LOG_LEVEL: 'debug', HIPOCHAT_LOG_SAMPLE_RATE: '0.1', HIPOCHAT_STAGE: 'prod' };
    expect(loadConfig(env)).toMatchObject({ logLevel: 'debug', logSampleRate: 0.1, stage: 'prod' });
    expect(logSettings(env)).toEqual({ logLevel: 'debug', logSampleRate: 0.1, stage: 'prod' });
  });

  it('lets the logger start on defaults when a logging variable is bad (start-up then reports it)', () => {
    expect(logSettings({ HIPOCHAT_LOG_LEVEL: 'verbose', HIPOCHAT_LOG_SAMPLE_RATE: 'often' })).toEqual({
      logLevel: 'info',
      logSampleRate: 0,
      stage: undefined,
    });
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

  it('refuses a broker secret without a username and password', async () => {
    const env = {
      HIPOCHAT_RABBIT_SECRET_ARN: 'arn:rabbit',
      HIPOCHAT_RABBIT_URL: 'amqps://b-1.mq.internal:5671',
    };
    await expect(withSecrets(env, async () => '{"username":"hipochat"}')).rejects.toThrow(
      'HIPOCHAT_RABBIT_SECRET_ARN must hold {"username","password"}',
    );
  });

  it('leaves the environment alone when no secret is named', async () => {
    const env = { HIPOCHAT_SERVICE_KEY: 'plain' };
    expect(await withSecrets(env, read)).toBe(env);
  });
});
