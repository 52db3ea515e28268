import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { type RecordedClient, recordedClient } from './chat-client.js';
import { type SuiteGateway, suiteGateway } from './gateway.js';

const ROOT = resolve(__dirname, '../..');

/** How a CLI run ended. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Spawns `npx hipochat ...` the way a user would (the package's bin entry), without the
 * credentials of the environment, killed after 90 s.
 */
export function spawnHipochat(args: string[]): {
  child: ChildProcessWithoutNullStreams;
  output(): string;
  closed: Promise<Run>;
} {
  const child = spawn(process.execPath, ['bin/hipochat.mjs', ...args], {
    cwd: ROOT,
    env: { ...process.env, HIPOCHAT_SERVICE_KEY: '', HIPOCHAT_TOKEN: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const closed = new Promise<Run>((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
  return { child, output: () => `${stdout}${stderr}`, closed };
}

/** Runs `npx hipochat ...` with `stdin` and resolves when it exits. */
export function hipochat(args: string[], stdin = ''): Promise<Run> {
  const { child, closed } = spawnHipochat(args);
  child.stdin.end(stdin);
  return closed;
}

/** A running `hipochat` whose stdin stays open until {@link Running.end}. */
export interface Running {
  output(): string;
  end(): Promise<Run>;
}

/** Starts `npx hipochat ...` with stdin left open, for commands that follow a room. */
export function startHipochat(args: string[]): Running {
  const { child, output, closed } = spawnHipochat(args);
  return {
    output,
    end: () => {
      child.stdin.end();
      return closed;
    },
  };
}

/**
 * The local gateway of one CLI suite, for use inside its `describe`: started before the suite with
 * the service key `serviceKey`, stopped after it.
 */
export function cliGateway(serviceKey = 'cli-test-key'): SuiteGateway {
  return suiteGateway({ HIPOCHAT_SERVICE_KEY: serviceKey });
}

/**
 * Connects recorded clients to `gateway`, for use inside a `describe`: `connected(room, token)`
 * resolves once the client is live, and every client it made is closed after its test.
 */
export function cliClients(gateway: SuiteGateway) {
  const open: RecordedClient[] = [];

  afterEach(() => {
    for (const recorded of open.splice(0)) recorded.client.close();
  });

  return async function connected(room: string, token: string, signals = false): Promise<RecordedClient> {
    const recorded = recordedClient({ url: gateway.wsUrl, room, token, signals, reconnect: false });
    open.push(recorded);
    await recorded.client.connect();
    return recorded;
  };
}
