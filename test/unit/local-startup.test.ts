import { spawn } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { createServer, type Server } from 'node:net';
import { PassThrough } from 'node:stream';
import { main } from '../../cli/hipochat.js';
import { logger } from '../../lambdas/core/logger.js';
import {
  type Dependency,
  DependencyWatch,
  failureCause,
  rabbitMqDependency,
  redisDependency,
} from '../../local/dependency-watch.js';
import { devIdentityWarning, isLoopback } from '../../local/dev-services.js';
import type { LocalFunctions } from '../../local/handler-loader.js';
import { MqPoller } from '../../local/mq-poller.js';
import { SocketRegistry } from '../../local/socket-registry.js';
import {
  applyLocalMetrics,
  DEFAULT_LOCAL_KEYS,
  defaultKeysWarning,
  redactUrl,
  startupFailure,
} from '../../local/startup-report.js';
import { WebSocketApi } from '../../local/websocket-api.js';

/** A system error as Node raises it for a refused connection. */
const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });

/** A dependency whose probe fails with each of `failures` in turn, then answers. */
function flaky(failures: unknown[], secrets: string[] = []): Dependency & { attempts: number } {
  const dependency = {
    name: 'Redis',
    address: '127.0.0.1:6390',
    secrets,
    attempts: 0,
    async probe() {
      const failure = failures[dependency.attempts];
      dependency.attempts += 1;
      if (failure !== undefined) throw failure;
    },
  };
  return dependency;
}

async function watched(dependency: Dependency): Promise<string[]> {
  const lines: string[] = [];
  const watch = new DependencyWatch([dependency], (line) => lines.push(line), {
    baseDelayMs: 1,
    maxDelayMs: 2,
  });
  watch.start();
  for (let i = 0; i < 200 && !lines.some((line) => line.endsWith(' reachable')); i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await watch.stop();
  return lines;
}

describe('start-up dependency check', () => {
  it('reports an unreachable service once per cause, with its address, then that it is reachable', async () => {
    // Prepare
    const dependency = flaky([refused(), refused(), refused(), new Error('WRONGPASS invalid password')]);

    // Act
    const lines = await watched(dependency);

    // Assess
    expect(lines).toEqual([
      'Redis at 127.0.0.1:6390 unreachable: ECONNREFUSED, retrying',
      'Redis at 127.0.0.1:6390 unreachable: WRONGPASS invalid password, retrying',
      'Redis at 127.0.0.1:6390 reachable',
    ]);
    expect(dependency.attempts).toBe(5);
  });

  it('says nothing about a service that answers at once', async () => {
    const watch = new DependencyWatch([flaky([])], (line) => {
      throw new Error(`unexpected report: ${line}`);
    });
    watch.start();
    await watch.stop();
  });

  it('stops retrying when the gateway stops', async () => {
    const lines: string[] = [];
    const dependency = flaky(Array(1000).fill(refused()));
    const watch = new DependencyWatch([dependency], (line) => lines.push(line), { baseDelayMs: 60_000 });
    watch.start();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await watch.stop();
    expect(dependency.attempts).toBe(1);
    expect(lines).toHaveLength(1);
  });

  it.each([
    ['a system error code', refused(), 'ECONNREFUSED'],
    [
      'the code inside an AggregateError',
      Object.assign(new AggregateError([refused()], 'x'), {}),
      'ECONNREFUSED',
    ],
    [
      'the first line of a message',
      new Error('NOAUTH Authentication required.\nmore'),
      'NOAUTH Authentication required.',
    ],
    ['a thrown string', 'boom', 'boom'],
  ])('names the cause by %s', (_what, error, cause) => {
    expect(failureCause(error)).toBe(cause);
  });

  it('masks a password that shows up in a cause', () => {
    expect(failureCause(new Error('login as guest:hunter2 refused'), ['hunter2'])).toBe(
      'login as guest:*** refused',
    );
  });

  it.each([
    ['Redis', 'cache.internal:6380', redisDependency('redis://user:hunter2@cache.internal:6380/2')],
    ['Redis', 'cache.internal:6379', redisDependency('rediss://cache.internal')],
    ['RabbitMQ', 'mq.internal:5671', rabbitMqDependency('amqps://app:hunter2@mq.internal')],
    ['RabbitMQ', '[::1]:5672', rabbitMqDependency('amqp://guest:guest@[::1]')],
  ])('names %s at %s by host and port, never by its URL', (name, address, dependency) => {
    expect(dependency.name).toBe(name);
    expect(dependency.address).toBe(address);
    expect(`${dependency.name} at ${dependency.address}`).not.toContain('hunter2');
  });
});

describe('dev identity warning', () => {
  const dev = { profile: true, push: true, received: [] };

  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['[::1]', true],
    ['localhost', true],
    ['0.0.0.0', false],
    ['::', false],
    ['192.168.1.20', false],
  ])('treats %s as loopback: %s', (host, loopback) => {
    expect(isLoopback(host)).toBe(loopback);
  });

  it('warns when the dev identity listens beyond loopback, naming both ways out', () => {
    const warning = devIdentityWarning(dev, '0.0.0.0');
    expect(warning).toMatch(/dev identity listens on 0\.0\.0\.0/);
    expect(warning).toMatch(/GET \/dev\/push/);
    expect(warning).toMatch(/HIPOCHAT_PROFILE_URL/);
    expect(warning).toMatch(/HIPOCHAT_LISTEN_ADDRESS=127\.0\.0\.1/);
  });

  it.each([
    ['on loopback', dev, '127.0.0.1'],
    ['with a real profile endpoint', { ...dev, profile: false }, '0.0.0.0'],
  ])('stays quiet %s', (_when, services, host) => {
    expect(devIdentityWarning(services, host)).toBeUndefined();
  });
});

describe('start-up lines', () => {
  it.each([
    [
      'the value of every query parameter',
      'https://profiles.example.com/me?api_key=s3cr3t&sig=abc',
      'https://profiles.example.com/me?api_key=***&sig=***',
    ],
    [
      'the password of the user info, and the query',
      'https://hook:s3cr3t@push.example.com/push?token=s3cr3t',
      'https://hook:***@push.example.com/push?token=***',
    ],
    ['the fragment', 'https://push.example.com/push#s3cr3t', 'https://push.example.com/push'],
    ['nothing of a URL without secrets', 'http://127.0.0.1:9000/profile', 'http://127.0.0.1:9000/profile'],
  ])('hide %s of a printed URL', (_what, url, printed) => {
    expect(redactUrl(url)).toBe(printed);
    expect(redactUrl(url)).not.toContain('s3cr3t');
  });

  it('print no part of something that is not a URL', () => {
    expect(redactUrl('s3cr3t')).toBe('<not a URL>');
  });
});

describe('default keys warning', () => {
  const own = { accessKeyId: 'AKIDOWN', secretAccessKey: 'a-secret-of-our-own' };

  it('warns when @connections and Invoke accept the documented default keys beyond loopback', () => {
    const warning = defaultKeysWarning(DEFAULT_LOCAL_KEYS, '0.0.0.0');
    expect(warning).toMatch(/@connections and Lambda Invoke endpoints listen on 0\.0\.0\.0/);
    expect(warning).toMatch(/default AWS_SECRET_ACCESS_KEY \(local\)/);
    expect(warning).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    expect(warning).toMatch(/HIPOCHAT_LISTEN_ADDRESS=127\.0\.0\.1/);
  });

  it('warns for the default secret whatever the key id, since the key id is no secret', () => {
    expect(defaultKeysWarning({ ...own, secretAccessKey: 'local' }, '192.168.1.20')).toBeDefined();
  });

  it.each([
    ['on loopback', DEFAULT_LOCAL_KEYS, '127.0.0.1'],
    ['on IPv6 loopback', DEFAULT_LOCAL_KEYS, '::1'],
    ['with keys of its own', own, '0.0.0.0'],
  ])('stays quiet %s', (_when, credentials, host) => {
    expect(defaultKeysWarning(credentials, host)).toBeUndefined();
  });
});

describe('websocket upgrade of the local gateway', () => {
  /** Runs an upgrade of `url` and resolves with the raw HTTP answer written to the socket. */
  async function upgrade(url: string): Promise<{ answer: string; authorized: boolean }> {
    let authorized = false;
    const functions = {
      authorizer: async () => {
        authorized = true;
        throw new Error('Unauthorized');
      },
    } as unknown as LocalFunctions;
    const api = new WebSocketApi(functions, new SocketRegistry());
    const socket = new PassThrough();
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    const request = {
      url,
      headers: {},
      socket: { remoteAddress: '127.0.0.1' },
    } as unknown as IncomingMessage;
    await api.upgrade(request, socket, Buffer.alloc(0));
    return { answer, authorized };
  }

  it.each([
    ['/?room=no%20spaces&token=alice'],
    ['/talk/chat/no%20spaces/?token=alice'],
    ['/talk/chat/%E0%A4%A/?token=alice'],
  ])('answers %s with 400 and the room rule, before any authorizer runs', async (url) => {
    const { answer, authorized } = await upgrade(url);
    expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer).toContain(
      '\r\n\r\n{"error":"invalid room name: use 1-128 characters of [a-zA-Z0-9-.:,_]"}',
    );
    expect(authorized).toBe(false);
  });

  it('runs the authorizer on a connect without a room (a connection that follows rooms)', async () => {
    const { answer, authorized } = await upgrade('/?token=alice');
    expect(authorized).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
  });
});

describe('hipochat CLI arguments', () => {
  const run = async (argv: string[]) => {
    let err = '';
    const code = await main(argv, {
      out: () => {},
      err: (text) => {
        err += text;
      },
      stdin: new PassThrough(),
      env: {},
    });
    return { code, err };
  };

  it.each([
    [['history', '--room', 'a', '--token', 't', '--bogus', 'x'], 'history does not take --bogus'],
    [['notification', '--room', 'a', '--token', 't', '--limit', '3'], 'notification does not take --limit'],
    [['smoke', '--json'], 'smoke does not take --json'],
    [['members', 'add', '--room', 'a', '--type', 'x', 'ann'], 'members does not take --type'],
    [
      ['history', '--room', 'a', '--token', 't', 'extra'],
      'history takes no arguments besides its options, got "extra"',
    ],
  ])('refuses %j with exit code 2 and the usage line', async (argv, message) => {
    const { code, err } = await run(argv);
    expect(code).toBe(2);
    expect(err).toBe(`hipochat: ${message}\nusage: ${await helpFirstLine(argv[0]!)}\n`);
  });

  /** The first line of `hipochat <command> --help`. */
  async function helpFirstLine(command: string): Promise<string> {
    let out = '';
    await main([command, '--help'], {
      out: (text) => {
        out += text;
      },
      err: () => {},
      stdin: new PassThrough(),
      env: {},
    });
    return out.split('\n')[0]!;
  }
});

/** A loopback server holding a port; `close()` frees it. */
async function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}

describe('local metrics', () => {
  it('are off unless HIPOCHAT_LOCAL_METRICS is on', () => {
    const env: Record<string, string | undefined> = { POWERTOOLS_METRICS_DISABLED: 'false' };
    applyLocalMetrics(env, false);
    expect(env.POWERTOOLS_METRICS_DISABLED).toBe('true');
  });

  it('leave Powertools as configured when HIPOCHAT_LOCAL_METRICS is on', () => {
    const env: Record<string, string | undefined> = {};
    applyLocalMetrics(env, true);
    expect(env).toEqual({});
  });
});

describe('start-up failure', () => {
  const listen = { port: 8888, host: '127.0.0.1' };

  it('names HIPOCHAT_LISTEN_PORT for a port in use, in one line', () => {
    const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8888'), {
      code: 'EADDRINUSE',
    });
    expect(startupFailure(inUse, listen)).toBe(
      'port 8888 on 127.0.0.1 is already in use: stop what holds it or set HIPOCHAT_LISTEN_PORT to another port (0 picks a free one)',
    );
  });

  it('names HIPOCHAT_LISTEN_ADDRESS for an address the machine does not have', () => {
    const missing = Object.assign(new Error('listen EADDRNOTAVAIL'), { code: 'EADDRNOTAVAIL' });
    expect(startupFailure(missing, listen)).toContain('HIPOCHAT_LISTEN_ADDRESS');
  });

  it('keeps the stack of an unexpected failure', () => {
    const unexpected = new Error('something else');
    expect(startupFailure(unexpected, listen)).toBe(unexpected.stack);
  });

  it('stops `npm start` on a port in use with that one line and exit code 1', async () => {
    // Prepare
    const { server, port } = await holdPort();

    // Act
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
      env: {
        ...process.env,
        HIPOCHAT_LISTEN_PORT: String(port),
        HIPOCHAT_LISTEN_ADDRESS: '127.0.0.1',
        HIPOCHAT_REDIS_URL: '',
        HIPOCHAT_AMQP_URL: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((done) => child.on('exit', done));
    server.close();

    // Assess
    expect({ code, stderr }).toEqual({
      code: 1,
      stderr: `hipochat local gateway failed to start: port ${port} on 127.0.0.1 is already in use: stop what holds it or set HIPOCHAT_LISTEN_PORT to another port (0 picks a free one)\n`,
    });
  });
});

describe('mq poller with an unreachable broker', () => {
  afterEach(() => jest.restoreAllMocks());

  it('warns once with the cause and no stack, then logs each retry at debug level only', async () => {
    // Prepare: a port nothing listens on.
    const { server, port } = await holdPort();
    await new Promise((done) => server.close(done));
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => {});
    const debug = jest.spyOn(logger, 'debug').mockImplementation(() => {});
    const poller = new MqPoller({
      url: `amqp://guest:s3cret-pass@127.0.0.1:${port}`,
      shards: 1,
      deliveryLimit: 5,
      namespace: 'hipochat-unreachable',
    });

    // Act: the first attempt and two retries.
    await poller.start(async () => {});
    for (let i = 0; i < 400 && debug.mock.calls.length < 2; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await poller.stop();

    // Assess
    expect(warn.mock.calls).toEqual([
      ['mq poller cannot reach the broker; retrying', { attempt: 0, cause: 'ECONNREFUSED' }],
    ]);
    expect(debug.mock.calls.slice(0, 2)).toEqual([
      ['mq poller still cannot reach the broker; retrying', { attempt: 1, cause: 'ECONNREFUSED' }],
      ['mq poller still cannot reach the broker; retrying', { attempt: 2, cause: 'ECONNREFUSED' }],
    ]);
  });
});
