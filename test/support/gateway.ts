import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

/** Where a test talks to the chat: a deployment or a local gateway it started. */
export interface ChatEndpoints {
  /** `ws://host:port` (API Gateway shape: append `/?room=R&token=T`). */
  wsUrl: string;
  /** `http://host:port` (prefix of `/talk/...`). */
  httpUrl: string;
  /** Output of the gateway process so far (empty for a deployment). */
  output(): string;
  stop(): Promise<void>;
}

const ROOT = resolve(__dirname, '../..');

/** Env that points a gateway at the machine's Redis and RabbitMQ. */
export const realServices = {
  HIPOCHAT_REDIS_URL: process.env.HIPOCHAT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
  HIPOCHAT_AMQP_URL: process.env.HIPOCHAT_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
};

/**
 * Starts `npm start`'s entry point on a free port with `env`, and resolves once it listens.
 * Rejects with the process output when it exits or does not listen within `timeoutMs`.
 */
export function startGateway(env: Record<string, string> = {}, timeoutMs = 20_000): Promise<ChatEndpoints> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'infra/local/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      HIPOCHAT_LISTEN_PORT: '0',
      HIPOCHAT_LISTEN_ADDRESS: '127.0.0.1',
      HIPOCHAT_LOG_LEVEL: 'warn',
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
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }),
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
