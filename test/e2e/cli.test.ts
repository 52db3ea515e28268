import { createServer } from 'node:http';
import { COMMAND_HELP } from '../../cli/usage.js';
import { type ChatEndpoints, startGateway } from '../support/gateway.js';
import { cliGateway, hipochat } from '../support/hipochat-cli.js';
import { freePort, listenOnLoopback } from '../support/net.js';

jest.setTimeout(120_000);

describe('hipochat CLI', () => {
  const gateway = cliGateway();

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
    [
      ['presence', '--http', 'http://127.0.0.1:1', '--room', 'a', '--token', 't', '--limit', '5'],
      /presence does not take --limit\nusage: hipochat presence --http URL --room R --token T/,
    ],
    [
      ['broadcast', '--http', 'http://127.0.0.1:1', '--room', 'a', '--type', 'x', '--service-key', 'k'],
      /broadcast does not take --room\nusage: hipochat broadcast --http URL --rooms R1,R2/,
    ],
    [
      ['broadcast', '--http', 'http://127.0.0.1:1', '--rooms', 'a,b', '--type', 'x'],
      /broadcast: --service-key is required/,
    ],
    [
      ['disconnect', '--http', 'http://127.0.0.1:1', '--service-key', 'k'],
      /disconnect: --user is required \(see hipochat disconnect --help\)/,
    ],
    [
      ['disconnect', '--http', 'http://127.0.0.1:1', '--user', 'u', '--service-key', 'k', 'more'],
      /disconnect takes no arguments besides its options, got "more"/,
    ],
    [
      ['delete', '--http', 'http://127.0.0.1:1', '--room', 'a', '--service-key', 'k'],
      /delete: --id is required \(see hipochat delete --help\)/,
    ],
    [
      ['delete', '--http', 'http://127.0.0.1:1', '--room', 'a', '--id', '1-0'],
      /delete: --service-key is required/,
    ],
    [
      ['delete', '--http', 'http://127.0.0.1:1', '--room', 'a', '--id', 'yesterday', '--service-key', 'k'],
      /invalid message id "yesterday"/,
    ],
    [
      [
        'delete',
        '--http',
        'http://127.0.0.1:1',
        '--room',
        'a',
        '--id',
        '1-0',
        '--service-key',
        'k',
        '--token',
        't',
      ],
      /delete does not take --token\nusage: hipochat delete --http URL --room R --id MESSAGE_ID --service-key K/,
    ],
    [
      ['history', '--http', 'http://127.0.0.1:1', '--room', 'no spaces', '--token', 't'],
      /history: invalid room "no spaces": use 1-128 characters of .*\nusage: hipochat history /,
    ],
    [['chat', '--ws', 'ws://127.0.0.1:1', '--room', 'a/b', '--token', 't'], /chat: invalid room "a\/b"/],
    [
      ['notification', '--http', 'http://127.0.0.1:1', '--room', 'a', '--token', 'bad token!'],
      /notification: invalid token "bad token!": a token is 1-4096 printable ASCII characters without spaces/,
    ],
    [
      ['react', '--ws', 'ws://127.0.0.1:1', '--room', 'a', '--id', '1-0', '--token', 't'],
      /react: --emoji is required/,
    ],
    [
      ['edit', '--ws', 'ws://127.0.0.1:1', '--room', 'a', '--id', 'last', '--token', 't', '--body', '"x"'],
      /edit: invalid message id "last"/,
    ],
    [
      ['tail', '--ws', 'ws://127.0.0.1:1', '--room', 'a', '--token', 't', '--body', '"x"'],
      /tail does not take --body\nusage: hipochat tail --ws URL --room R --token T/,
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
    const commands = Object.keys(COMMAND_HELP);
    expect(commands).toEqual(expect.arrayContaining(['chat', 'tail', 'edit', 'react', 'inject', 'smoke']));
    expect(commands.filter((command) => !run.stdout.includes(`  ${command} `))).toEqual([]);
  });

  it('names the full URL, base path kept, of a route that answers 404', async () => {
    const run = await hipochat([
      'history',
      '--http',
      `${gateway.httpUrl}/stage`,
      '--room',
      'lobby',
      '--token',
      'ann',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`GET ${gateway.httpUrl}/stage/talk/history/lobby/?limit=20 → 404`);
  });

  describe('against a gateway whose Redis is down', () => {
    let down: ChatEndpoints;

    beforeAll(async () => {
      down = await startGateway({ HIPOCHAT_REDIS_URL: `redis://127.0.0.1:${await freePort()}/0` });
    });

    afterAll(async () => {
      await down.stop();
    });

    it('prints the server\'s 503 "store unavailable" within a one-second budget', async () => {
      const run = await hipochat([
        'history',
        '--http',
        down.httpUrl,
        '--room',
        'lobby',
        '--token',
        'ann',
        '--timeout',
        '1',
      ]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('→ 503: store unavailable');
    });

    it('prints the refused upgrade\'s 503 "store unavailable", not only its status', async () => {
      const run = await hipochat([
        'chat',
        '--ws',
        down.wsUrl,
        '--room',
        'lobby',
        '--token',
        'ann',
        '--timeout',
        '2',
      ]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('server answered 503: store unavailable');
      expect(run.stderr).not.toContain('Unexpected server response');
    });

    it('prints the same for chat --rooms, which speaks the wire directly', async () => {
      const run = await hipochat([
        'chat',
        '--ws',
        down.wsUrl,
        '--rooms',
        'lobby,news',
        '--token',
        'ann',
        '--timeout',
        '2',
      ]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('server answered 503: store unavailable');
    });
  });
});
