import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { type ChatEndpoints, startGateway } from '../support/gateway.js';
import { freePort, listenOnLoopback } from '../support/net.js';
import { uniqueRoom } from '../support/rooms.js';

jest.setTimeout(120_000);

const ROOT = resolve(__dirname, '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npx hipochat ...` the way a user would (the package's bin entry). */
function hipochat(args: string[], stdin = ''): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
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
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

describe('hipochat CLI', () => {
  let gateway: ChatEndpoints;

  beforeAll(async () => {
    gateway = await startGateway({ HIPOCHAT_SERVICE_KEY: 'cli-test-key' });
  });

  afterAll(async () => {
    await gateway.stop();
  });

  it('passes every smoke step against a local gateway', async () => {
    // Act
    const run = await hipochat(['smoke', '--ws', gateway.wsUrl, '--http', gateway.httpUrl]);

    // Assess
    expect(run.stdout).toContain('smoke test passed');
    expect(run.code).toBe(0);
    const steps = run.stdout.split('\n').filter((line) => /^(PASS|FAIL) /.test(line));
    expect(steps.map((line) => line.split(/ \(|:/)[0])).toEqual([
      'PASS connect user A',
      'PASS connect user B',
      'PASS message A → B',
      'PASS message B → A',
      'PASS history',
      'PASS injection',
      'PASS unread count',
      'PASS reconnect catches up',
    ]);
  });

  it('fails the smoke test with a clear message and a non-zero exit against a wrong URL', async () => {
    // Prepare
    const port = await freePort();

    // Act
    const run = await hipochat([
      'smoke',
      '--ws',
      `ws://127.0.0.1:${port}`,
      '--http',
      `http://127.0.0.1:${port}`,
    ]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAIL connect user A: .*ECONNREFUSED/);
    expect(run.stdout).toContain('smoke test FAILED');
  });

  it.each([
    [['smoke', '--ws', 'http://127.0.0.1:8888'], /the scheme must be ws:\/\/ or wss:\/\//],
    [['smoke', '--ws', 'nonsense'], /invalid ws URL "nonsense"/],
    [['history', '--room', 'r', '--token', 't'], /history: --http is required/],
    [['launch'], /unknown command "launch"/],
    [['send', '--room', 'a', '--bogus', 'x'], /unknown command "send"\nusage: hipochat <command>/],
    [
      ['history', '--http', 'http://127.0.0.1:1', '--room', 'a', '--token', 't', '--bogus', 'x'],
      /history does not take --bogus\nusage: hipochat history --http URL/,
    ],
    [
      ['notification', '--http', 'http://127.0.0.1:1', '--room', 'a', '--token', 't', '--limit', '5'],
      /notification does not take --limit\nusage: hipochat notification --http URL --room R --token T/,
    ],
    [
      ['inject', '--http', 'http://127.0.0.1:1', '--room', 'a', '--type', 'x', '--token', 't', 'stray'],
      /inject takes no arguments besides its options, got "stray"\nusage: hipochat inject /,
    ],
    [
      ['chat', '--ws', 'ws://127.0.0.1:1', '--room', 'a', '--token', 't', '--json'],
      /chat does not take --json\nusage: hipochat chat /,
    ],
  ])('explains a usage mistake %j with exit code 2', async (args, message) => {
    const run = await hipochat(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it('checks in the smoke test that the backend injection has author null', async () => {
    // Act
    const run = await hipochat([
      'smoke',
      '--ws',
      gateway.wsUrl,
      '--http',
      gateway.httpUrl,
      '--service-key',
      'cli-test-key',
    ]);

    // Assess
    expect(run.stdout).toMatch(/PASS injection .*: as the backend \(service key\), author null/);
    expect(run.code).toBe(0);
  });

  it.each([
    ['a near-miss service key', 'cli-test-kez', undefined, /FAIL injection: .*401/],
    [
      'a server that treats the key as a user token',
      'cli-test-key',
      'Token',
      /FAIL injection: the backend's injection must have author null, got \{"id":"cli-test-key"/,
    ],
  ])('fails the smoke test with %s', async (_what, key, rewriteTo, failure) => {
    // Prepare: a proxy that can play a server with the old defect (Bearer forwarded as Token).
    const proxy = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const headers: Record<string, string> = {};
      for (const name of ['authorization', 'content-type', 'accept', 'idempotency-key']) {
        const value = request.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      if (rewriteTo && headers.authorization?.startsWith('Bearer ')) {
        headers.authorization = `${rewriteTo} ${headers.authorization.slice('Bearer '.length)}`;
      }
      const upstream = await fetch(`${gateway.httpUrl}${request.url}`, {
        method: request.method,
        headers,
        ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      });
      response.writeHead(upstream.status, { 'content-type': 'application/json' });
      response.end(Buffer.from(await upstream.arrayBuffer()));
    });
    const http = `http://127.0.0.1:${await listenOnLoopback(proxy)}`;

    try {
      // Act
      const run = await hipochat(['smoke', '--ws', gateway.wsUrl, '--http', http, '--service-key', key]);

      // Assess
      expect(run.stdout).toMatch(failure);
      expect(run.stdout).toContain('smoke test FAILED');
      expect(run.code).toBe(1);
    } finally {
      proxy.closeAllConnections();
      proxy.close();
    }
  });

  it('prints help listing every command', async () => {
    const run = await hipochat(['--help']);
    expect(run.code).toBe(0);
    for (const command of ['chat', 'inject', 'history', 'notification', 'members', 'smoke']) {
      expect(run.stdout).toContain(`  ${command} `);
    }
  });

  it('sends piped lines with chat and shows them in history, with an injection', async () => {
    // Prepare
    const room = uniqueRoom('cli');
    const http = ['--http', gateway.httpUrl, '--room', room];

    // Act
    const chat = await hipochat(
      ['chat', '--ws', gateway.wsUrl, '--room', room, '--token', 'zoe'],
      'one\ntwo\n',
    );
    const inject = await hipochat(
      ['inject', ...http, '--type', 'notification', '--token', 'zoe'],
      '{"order":7}',
    );
    const history = await hipochat(['history', ...http, '--token', 'yan']);
    const count = await hipochat(['notification', ...http, '--token', 'zoe']);

    // Assess
    expect(chat.code).toBe(0);
    expect(chat.stdout).toMatch(/zoe: one\n.*zoe: two\n/);
    expect(inject.code).toBe(0);
    expect(inject.stdout).toMatch(/injected notification \d+-\d+ into /);
    expect(history.stdout).toMatch(/zoe: one\n.*zoe: two\n.*\* notification from zoe: \{"order":7\}/);
    expect(count.stdout.trim()).toBe('0');
  });

  it.each([
    ['API Gateway', ''],
    ['Hipochat legacy', '/talk/chat/'],
  ])('says the token was refused when %s chat auth fails', async (_shape, suffix) => {
    const run = await hipochat([
      'chat',
      '--ws',
      `${gateway.wsUrl}${suffix}`,
      '--room',
      'lobby',
      '--token',
      'bad token!',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/hipochat: connection to .* closed: .*authentication error/);
  });

  it('manages members with the service key and refuses a wrong one', async () => {
    const room = uniqueRoom('members');
    const base = ['members', 'add', '--http', gateway.httpUrl, '--room', room];
    const added = await hipochat([...base, '--service-key', 'cli-test-key', 'ann', 'bo']);
    const refused = await hipochat([...base, '--service-key', 'wrong', 'ann']);
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toEqual({ room, added: ['ann', 'bo'] });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/403: service key required/);
  });

  it("says membership is off because of the server's HIPOCHAT_SERVICE_KEY", async () => {
    const bare = await startGateway();
    try {
      const run = await hipochat([
        'members',
        'add',
        '--http',
        bare.httpUrl,
        '--room',
        uniqueRoom('members'),
        '--service-key',
        'some-key',
        'ann',
      ]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/403: membership management is disabled: this server has no service key/);
    } finally {
      await bare.stop();
    }
  });
});
