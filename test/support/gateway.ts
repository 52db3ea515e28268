import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import amqp from 'amqplib';
import { busNames } from '../../lambdas/core/bus/topology.js';

/** Where a test talks to the chat: a deployment or a local gateway it started. */
export interface ChatEndpoints {
  /** `ws://host:port` (API Gateway shape: append `/?room=R&token=T`). */
  wsUrl: string;
  /** `http://host:port` (prefix of `/talk/...`). */
  httpUrl: string;
  /** Output of the gateway process so far (empty for a deployment). */
  output(): string;
  /** Process id of a local gateway this test started (fault tests pause it with SIGSTOP). */
  pid?: number;
  stop(): Promise<void>;
}

const ROOT = resolve(__dirname, '../..');

/** The machine's Redis and RabbitMQ (CI starts them; a missing one fails the tests). */
export const REDIS_URL = process.env.HIPOCHAT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
export const AMQP_URL = process.env.HIPOCHAT_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Env that points a gateway at the machine's Redis and RabbitMQ. */
export const realServices = { HIPOCHAT_REDIS_URL: REDIS_URL, HIPOCHAT_AMQP_URL: AMQP_URL };

/** Whether the e2e suites run against a deployment (`HIPOCHAT_E2E_WS_URL` and `HIPOCHAT_E2E_HTTP_URL`). */
export const DEPLOYED = Boolean(process.env.HIPOCHAT_E2E_WS_URL && process.env.HIPOCHAT_E2E_HTTP_URL);

/** Against a deployment the stack's service key; locally the one a suite gives its gateway. */
export const E2E_SERVICE_KEY = process.env.HIPOCHAT_E2E_SERVICE_KEY ?? 'e2e-service-key';

/**
 * What an e2e suite runs on: the deployment under test, or a local gateway on the machine's Redis
 * and RabbitMQ and one on the in-memory twins.
 */
export const e2eSystems: [string, Record<string, string>][] = DEPLOYED
  ? [['the deployment under test', {}]]
  : [
      ['Redis and RabbitMQ', realServices],
      ['the in-memory store and bus', {}],
    ];

/** A namespace of exchange and queue names no other test or process uses. */
export function testNamespace(): string {
  return `hipochat-test-${randomBytes(4).toString('hex')}`;
}

/** Deletes the exchanges and queues of a test namespace. */
export async function deleteNamespace(namespace: string, shards = 4, url = AMQP_URL): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    const names = busNames(namespace);
    for (let shard = 0; shard < shards; shard += 1) await channel.deleteQueue(names.shardQueue(shard));
    await channel.deleteQueue(names.deadLetterQueue);
    await channel.deleteQueue(names.delayQueue);
    await channel.deleteExchange(names.exchange);
    await channel.deleteExchange(names.deadLetterExchange);
    await channel.deleteExchange(names.delayExchange);
  } finally {
    await connection.close();
  }
}

/**
 * Starts `npm start`'s entry point on a free port with `env`, and resolves once it listens.
 * Rejects with the process output when it exits or does not listen within `timeoutMs`.
 */
export function startGateway(env: Record<string, string> = {}, timeoutMs = 20_000): Promise<ChatEndpoints> {
  // Gateways on one broker must not consume each other's shard queues.
  const namespace = env.HIPOCHAT_AMQP_URL && !env.HIPOCHAT_AMQP_NAMESPACE ? testNamespace() : undefined;
  const shards = Number(env.HIPOCHAT_FANOUT_SHARDS ?? 4);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HIPOCHAT_LISTEN_PORT: '0',
      HIPOCHAT_LISTEN_ADDRESS: '127.0.0.1',
      HIPOCHAT_LOG_LEVEL: 'warn',
      // Suites share users (alice, carol) and one Redis, where a connect counter is per user, not
      // per gateway: a suite that tests the limit sets it.
      HIPOCHAT_CONNECT_LIMIT_PER_MINUTE: '0',
      ...(namespace ? { HIPOCHAT_AMQP_NAMESPACE: namespace } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on http:\/\/([\d.]+):(\d+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      const host = `${match[1]}:${match[2]}`;
      resolvePromise({
        wsUrl: `ws://${host}`,
        httpUrl: `http://${host}`,
        output: () => output,
        pid: child.pid,
        stop: async () => {
          await new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          });
          if (namespace) await deleteNamespace(namespace, shards, env.HIPOCHAT_AMQP_URL);
        },
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${output}`));
    });
  });
}

/**
 * The endpoints under test: `HIPOCHAT_E2E_WS_URL` / `HIPOCHAT_E2E_HTTP_URL` when set (a
 * deployment or LocalStack), otherwise a local gateway started with `env`.
 */
export async function chatEndpoints(env: Record<string, string> = {}): Promise<ChatEndpoints> {
  const wsUrl = process.env.HIPOCHAT_E2E_WS_URL;
  const httpUrl = process.env.HIPOCHAT_E2E_HTTP_URL;
  if (wsUrl && httpUrl) {
    return {
      wsUrl: wsUrl.replace(/\/$/, ''),
      httpUrl: httpUrl.replace(/\/$/, ''),
      output: () => '',
      stop: async () => {},
    };
  }
  return startGateway(env);
}

/** The URLs of a {@link suiteGateway}, read once it has started. */
export type SuiteGateway = Pick<ChatEndpoints, 'httpUrl' | 'wsUrl'>;

/**
 * A local gateway for the enclosing `describe` (or file), started with `env` before its tests and
 * stopped after them. Its URLs are read when a test uses them.
 */
export function suiteGateway(env: Record<string, string> = {}): SuiteGateway {
  let started: ChatEndpoints | undefined;
  const gateway = (): ChatEndpoints => {
    if (!started) throw new Error('the gateway starts in beforeAll');
    return started;
  };

  beforeAll(async () => {
    started = await startGateway(env);
  });

  afterAll(async () => {
    await started?.stop();
  });

  return {
    get httpUrl() {
      return gateway().httpUrl;
    },
    get wsUrl() {
      return gateway().wsUrl;
    },
  };
}
