import { createServer } from 'node:http';
import { COMMAND_HELP } from '../../cli/usage.js';
import { type RecordedClient, recordedClient } from '../support/chat-client.js';
import { type ChatEndpoints, startGateway } from '../support/gateway.js';
import { hipochat, type Run, spawnHipochat } from '../support/hipochat-cli.js';
import { freePort, listenOnLoopback } from '../support/net.js';
import { uniqueRoom } from '../support/rooms.js';
import { eventually } from '../support/wait.js';

jest.setTimeout(120_000);

/** A running `hipochat` whose stdin stays open until {@link Running.end}. */
interface Running {
  output(): string;
  end(): Promise<Run>;
}

function startHipochat(args: string[]): Running {
  const { child, output, closed } = spawnHipochat(args);
  return {
    output,
    end: () => {
      child.stdin.end();
      return closed;
    },
  };
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

  it('follows several rooms on one connection with chat --rooms, each line naming its room', async () => {
    // Prepare
    const [lobby, news] = [uniqueRoom('cli-a'), uniqueRoom('cli-b')];

    // Act
    const chat = await hipochat(
      ['chat', '--ws', gateway.wsUrl, '--rooms', `${lobby},${news}`, '--token', 'zoe'],
      `to the first\n@${news} to the second\n@elsewhere lost\n`,
    );

    // Assess
    expect(chat.code).toBe(1);
    expect(chat.stdout).toMatch(new RegExp(`\\[${lobby}\\] \\[[\\d:]+\\] zoe: to the first\n`));
    expect(chat.stdout).toMatch(new RegExp(`\\[${news}\\] \\[[\\d:]+\\] zoe: to the second\n`));
    expect(chat.stdout).not.toContain('lost');
    expect(chat.stderr).toContain('! not sent: follow a room with --rooms');
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
      // A well-formed token the dev identity does not know (it takes [A-Za-z0-9_-] only).
      'not-a-user!',
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
    expect(refused.stderr).toMatch(
      /401: service key refused: membership management requires the service key/,
    );
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
      expect(run.stderr).toMatch(/401: membership management is disabled: this server has no service key/);
    } finally {
      await bare.stop();
    }
  });

  describe('live signals and backend calls', () => {
    const open: RecordedClient[] = [];

    afterEach(() => {
      for (const recorded of open.splice(0)) recorded.client.close();
    });

    async function connected(room: string, token: string, signals = false): Promise<RecordedClient> {
      const recorded = recordedClient({ url: gateway.wsUrl, room, token, signals, reconnect: false });
      open.push(recorded);
      await recorded.client.connect();
      return recorded;
    }

    it('prints who is online in a room, each user once however many tabs', async () => {
      // Prepare
      const room = uniqueRoom('cli-presence');
      await connected(room, 'ann');
      await connected(room, 'bo');
      await connected(room, 'bo');
      const http = ['--http', gateway.httpUrl, '--room', room, '--token', 'ann'];

      // Act
      const lines = await hipochat(['presence', ...http]);
      const json = await hipochat(['presence', ...http, '--json']);

      // Assess
      expect(lines.code).toBe(0);
      expect(lines.stdout.trim().split('\n').sort()).toEqual(['ann', 'bo']);
      const answer = JSON.parse(json.stdout) as { room: string; online: { id: string }[] };
      expect(answer.room).toBe(room);
      expect(answer.online.map((user) => user.id).sort()).toEqual(['ann', 'bo']);
    });

    it('broadcasts the JSON on stdin into several rooms in one call with the service key', async () => {
      // Prepare
      const [first, second] = [uniqueRoom('cli-cast-a'), uniqueRoom('cli-cast-b')];
      const listener = await connected(second, 'cy');
      const base = ['broadcast', '--http', gateway.httpUrl, '--rooms', `${first},${second}`];

      // Act
      const sent = await hipochat(
        [...base, '--type', 'notification', '--service-key', 'cli-test-key'],
        '{"text":"maintenance at 22:00"}',
      );
      const refused = await hipochat([...base, '--type', 'notification', '--service-key', 'wrong'], '{}');
      const history = await hipochat([
        'history',
        '--http',
        gateway.httpUrl,
        '--room',
        first,
        '--token',
        'cy',
      ]);

      // Assess
      expect(sent.code).toBe(0);
      expect(sent.stdout).toMatch(
        new RegExp(
          `^broadcast notification \\d+-\\d+ into ${first}\nbroadcast notification \\d+-\\d+ into ${second}\n$`,
        ),
      );
      await eventually(() => listener.messages.length === 1, 'the broadcast to reach the second room');
      expect(listener.messages[0]!.message).toMatchObject({
        type: 'notification',
        body: { text: 'maintenance at 22:00' },
        author: null,
      });
      expect(history.stdout).toContain('* notification from backend: {"text":"maintenance at 22:00"}');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/401: service key refused: broadcast requires the service key/);
    });

    it('disconnects every connection of a user in every room with the service key', async () => {
      // Prepare
      const [one, two] = [uniqueRoom('cli-kick-a'), uniqueRoom('cli-kick-b')];
      const kicked = [await connected(one, 'mallory'), await connected(two, 'mallory')];
      const bystander = await connected(one, 'nia');

      // Act
      const run = await hipochat([
        'disconnect',
        '--http',
        gateway.httpUrl,
        '--user',
        'mallory',
        '--service-key',
        'cli-test-key',
      ]);

      // Assess
      expect(run.code).toBe(0);
      expect(run.stdout).toBe('disconnected 2 connections of mallory\n');
      await eventually(
        () => kicked.every((recorded) => recorded.client.state === 'closed'),
        "both of mallory's sockets to close",
      );
      expect(bystander.client.state).toBe('live');
    });

    it('deletes a message for moderation with the service key, leaving a tombstone live and in history', async () => {
      // Prepare
      const room = uniqueRoom('cli-delete');
      const author = await connected(room, 'troll');
      const watcher = await connected(room, 'mod', true);
      const deleted: string[] = [];
      watcher.client.on('delete', (event) => deleted.push(event.id));
      const { id } = await author.client.send('something rude');
      await eventually(() => watcher.messages.length === 1, 'the message to reach the watcher');
      const base = ['delete', '--http', gateway.httpUrl, '--room', room, '--id', id];

      // Act
      const refused = await hipochat([...base, '--service-key', 'wrong']);
      const run = await hipochat([...base, '--service-key', 'cli-test-key']);
      const unknown = await hipochat([...base.slice(0, -1), '1-0', '--service-key', 'cli-test-key']);
      const history = await hipochat([
        'history',
        '--http',
        gateway.httpUrl,
        '--room',
        room,
        '--token',
        'mod',
      ]);

      // Assess
      expect(refused.code).toBe(1);
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`deleted ${id} in ${room}\n`);
      await eventually(() => deleted.includes(id), 'the watcher to see the delete');
      expect(watcher.client.getMessage(id)).toMatchObject({ id, deleted: true });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/404/);
      expect(history.stdout).not.toContain('something rude');
    });

    it('shows edits and deletes in chat --signals, and marks them in history', async () => {
      // Prepare
      const room = uniqueRoom('cli-changes');
      const chat = startHipochat([
        'chat',
        '--ws',
        gateway.wsUrl,
        '--room',
        room,
        '--token',
        'zoe',
        '--signals',
      ]);
      await eventually(() => chat.output().includes('* live'), 'chat to go live');
      const bob = await connected(room, 'bob', true);
      const first = await bob.client.send('helo');
      const second = await bob.client.send('oops');
      await eventually(() => chat.output().includes('bob: oops'), 'the messages');

      // Act
      await bob.client.edit(first.id, 'hello');
      await bob.client.delete(second.id);
      await eventually(() => chat.output().includes('* deleted:'), 'the delete');
      const run = await chat.end();
      const history = await hipochat([
        'history',
        '--http',
        gateway.httpUrl,
        '--room',
        room,
        '--token',
        'zoe',
      ]);

      // Assess
      expect(run.stdout).toMatch(/^\* edited: \[\d\d:\d\d:\d\d\] bob: hello \(edited\)$/m);
      expect(run.stdout).toMatch(/^\* deleted: \[\d\d:\d\d:\d\d\] bob: \(this message was deleted\)$/m);
      expect(history.stdout).toMatch(/bob: hello \(edited\)\n.*bob: \(this message was deleted\)/);
      expect(history.stdout).not.toContain('oops');
    });

    it('shows joins, leaves and typing in chat --signals', async () => {
      // Prepare
      const room = uniqueRoom('cli-signals');
      const chat = startHipochat([
        'chat',
        '--ws',
        gateway.wsUrl,
        '--room',
        room,
        '--token',
        'zed',
        '--signals',
      ]);
      await eventually(() => chat.output().includes('* live'), 'chat to go live');

      // Act
      const bob = await connected(room, 'bob', true);
      await eventually(() => chat.output().includes('* bob joined'), 'the join');
      bob.client.sendTyping();
      await eventually(() => chat.output().includes('* bob is typing…'), 'the typing notice');
      bob.client.close();
      await eventually(() => chat.output().includes('* bob left'), 'the leave');
      const run = await chat.end();

      // Assess
      expect(run.code).toBe(0);
      const signals = run.stdout.split('\n').filter((line) => line.startsWith('* bob'));
      expect(signals).toEqual(['* bob joined', '* bob is typing…', '* bob left']);
    });

    it('follows a room with tail, printing each message, and exits 0 on SIGINT', async () => {
      // Prepare
      const room = uniqueRoom('cli-tail');
      const author = await connected(room, 'ann');
      await author.client.send('before tail');
      const tail = spawnHipochat(['tail', '--ws', gateway.wsUrl, '--room', room, '--token', 'reader']);
      await eventually(() => tail.output().includes('* live'), 'tail to connect');

      // Act
      await author.client.send('while tailing');
      await eventually(() => tail.output().includes('ann: while tailing'), 'the live message');
      tail.child.kill('SIGINT');
      const run = await tail.closed;

      // Assess
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/ann: before tail\n.*ann: while tailing\n/);
    });

    it('edits a message as its author or as the backend, and toggles a reaction', async () => {
      // Prepare
      const room = uniqueRoom('cli-edit');
      const author = await connected(room, 'ann');
      const { id } = await author.client.send('first draft');
      const target = ['--ws', gateway.wsUrl, '--room', room, '--id', id];
      const read = async () => {
        const run = await hipochat([
          'history',
          '--http',
          gateway.httpUrl,
          '--room',
          room,
          '--token',
          'ann',
          '--json',
        ]);
        return (JSON.parse(run.stdout) as { messages: Record<string, unknown>[] }[])[0]!.messages[0]!;
      };

      // Act
      const byAuthor = await hipochat(['edit', ...target, '--token', 'ann'], '"final words"');
      const afterAuthor = await read();
      const byOther = await hipochat(['edit', ...target, '--token', 'bo', '--body', '"hijacked"']);
      const reacted = await hipochat(['react', ...target, '--token', 'bo', '--emoji', '👍']);
      const afterReaction = await read();
      const byBackend = await hipochat([
        'edit',
        ...target,
        '--service-key',
        'cli-test-key',
        '--body',
        '"moderated"',
      ]);
      const unreacted = await hipochat(['react', ...target, '--token', 'bo', '--emoji', '👍']);
      const last = await read();

      // Assess
      expect(byAuthor.code).toBe(0);
      expect(byAuthor.stdout).toBe(`edited ${id} in ${room}\n`);
      expect(afterAuthor.body).toBe('final words');
      expect(byOther.code).toBe(1);
      expect(reacted.code).toBe(0);
      expect(reacted.stdout).toBe(`toggled 👍 on ${id} in ${room}\n`);
      expect(afterReaction.reactions).toEqual({ '👍': { count: 1, users: ['bo'] } });
      expect(byBackend.code).toBe(0);
      expect(unreacted.code).toBe(0);
      expect(last.body).toBe('moderated');
      expect(last.reactions ?? {}).toEqual({});
    });
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
