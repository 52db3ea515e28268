import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { COMMAND_OPTIONS } from '../../cli/args.js';
import { main } from '../../cli/hipochat.js';
import { COMMAND_HELP, HELP } from '../../cli/usage.js';

interface Run {
  code: number;
  out: string;
  err: string;
}

interface Request {
  url: string;
  method: string;
  authorization: string | undefined;
  body: unknown;
}

/** Runs the CLI in-process with `fetch` answering `status` and `body`; records the requests. */
async function run(argv: string[], answer: { status?: number; body?: unknown } = {}, stdin = '') {
  const requests: Request[] = [];
  const spy = jest.spyOn(globalThis, 'fetch').mockImplementation(async (url, init) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    requests.push({
      url: String(url),
      method: String(init?.method),
      authorization: headers.authorization,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    });
    return new Response(JSON.stringify(answer.body ?? {}), { status: answer.status ?? 200 });
  });
  const result: Run = { code: 0, out: '', err: '' };
  try {
    result.code = await main(argv, {
      out: (text) => {
        result.out += text;
      },
      err: (text) => {
        result.err += text;
      },
      stdin: Readable.from(stdin ? [stdin] : []),
      env: {},
    });
  } finally {
    spy.mockRestore();
  }
  return { ...result, requests };
}

const HTTP = ['--http', 'http://h:1'];
const KEY = ['--service-key', 'key'];

describe('hipochat mute, unmute, ban, unban', () => {
  it('mutes a user for --seconds with the service key and says until when', async () => {
    const answer = {
      room: 'lobby',
      user: 'mallory',
      kind: 'mute',
      restriction: { user: 'mallory', kind: 'mute', until: 1_800_000_600, secondsLeft: 600 },
    };
    const result = await run(
      ['mute', ...HTTP, '--room', 'lobby', '--user', 'mallory', '--seconds', '600', ...KEY],
      { body: answer },
    );
    expect(result).toMatchObject({
      code: 0,
      out: 'muted mallory in lobby (10 min 0 s left, until 2027-01-15T08:10:00Z)\n',
    });
    expect(result.requests).toEqual([
      {
        url: 'http://h:1/talk/mute/lobby/mallory/',
        method: 'POST',
        authorization: 'Bearer key',
        body: { seconds: 600 },
      },
    ]);
  });

  it('bans a user and prints how many of their sockets closed', async () => {
    const answer = {
      room: 'lobby',
      user: 'mallory',
      kind: 'ban',
      restriction: { user: 'mallory', kind: 'ban', until: 1_800_086_400, secondsLeft: 86_400 },
      disconnected: 2,
    };
    const result = await run(
      ['ban', ...HTTP, '--room', 'lobby', '--user', 'mallory', '--seconds', '86400', ...KEY],
      { body: answer },
    );
    expect(result.out).toBe(
      'banned mallory in lobby (1 d 0 h left, until 2027-01-16T08:00:00Z); closed 2 connections\n',
    );
  });

  it.each([
    ['unmute', 'mute', 'mallory is no longer muted in lobby\n'],
    ['unban', 'ban', 'mallory is no longer banned in lobby\n'],
  ])('%s lifts it with 0 seconds', async (command, kind, out) => {
    const answer = { room: 'lobby', user: 'mallory', kind, restriction: null };
    const result = await run([command, ...HTTP, '--room', 'lobby', '--user', 'mallory', ...KEY], {
      body: answer,
    });
    expect(result).toMatchObject({ code: 0, out });
    expect(result.requests[0]).toMatchObject({
      url: `http://h:1/talk/${kind}/lobby/mallory/`,
      body: { seconds: 0 },
    });
  });

  it.each([
    [['mute', ...HTTP, '--room', 'lobby', '--user', 'm', ...KEY], /mute: --seconds is required/],
    [
      ['mute', ...HTTP, '--room', 'lobby', '--user', 'm', '--seconds', '0', ...KEY],
      /got "0" \(unmute lifts it\)/,
    ],
    [
      ['ban', ...HTTP, '--room', 'lobby', '--user', 'm', '--seconds', '1.5', ...KEY],
      /ban: --seconds must be a whole/,
    ],
    [['ban', ...HTTP, '--room', 'lobby', '--seconds', '5', ...KEY], /ban: --user is required/],
    [
      ['unban', ...HTTP, '--room', 'lobby', '--user', 'm', '--seconds', '5', ...KEY],
      /unban does not take --seconds/,
    ],
    [
      ['mute', ...HTTP, '--room', 'lobby', '--user', 'm', '--seconds', '5'],
      /mute: --service-key is required/,
    ],
    [['moderation', ...HTTP, '--room', 'a/b', ...KEY], /moderation: invalid room "a\/b"/],
    [['moderation', ...HTTP, '--room', 'lobby', ...KEY, 'extra'], /moderation takes no arguments/],
  ])('refuses %j with exit code 2 and the usage line, sending nothing', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(message);
    expect(result.err).toContain(`usage: hipochat ${argv[0]} `);
    expect(result.requests).toEqual([]);
  });

  it("prints the server's error text and exits 1 on a refused key", async () => {
    const result = await run(['unmute', ...HTTP, '--room', 'lobby', '--user', 'm', ...KEY], {
      status: 401,
      body: { error: 'invalid service key' },
    });
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      'hipochat: POST http://h:1/talk/mute/lobby/m/ → 401: invalid service key (the token or service key was refused)\n',
    );
  });
});

describe('hipochat moderation', () => {
  it('lists the active mutes and bans, one a line', async () => {
    const answer = {
      room: 'lobby',
      restrictions: [
        { user: 'bo', kind: 'mute', until: 1_800_000_045, secondsLeft: 45 },
        { user: 'mallory', kind: 'ban', until: 1_800_007_200, secondsLeft: 7200 },
      ],
    };
    const result = await run(['moderation', ...HTTP, '--room', 'lobby', ...KEY], { body: answer });
    expect(result.out).toBe(
      'mute bo (45 s left, until 2027-01-15T08:00:45Z)\nban mallory (2 h 0 min left, until 2027-01-15T10:00:00Z)\n',
    );
    expect(result.requests).toEqual([
      {
        url: 'http://h:1/talk/moderation/lobby/',
        method: 'GET',
        authorization: 'Bearer key',
        body: undefined,
      },
    ]);
  });

  it('says on stderr when nobody is restricted, and prints the JSON with --json', async () => {
    const answer = { room: 'lobby', restrictions: [] };
    const result = await run(['moderation', ...HTTP, '--room', 'lobby', ...KEY], { body: answer });
    expect(result).toMatchObject({ code: 0, out: '', err: 'nobody is muted or banned in lobby\n' });
    const json = await run(['moderation', ...HTTP, '--room', 'lobby', ...KEY, '--json'], { body: answer });
    expect(JSON.parse(json.out)).toEqual(answer);
  });
});

const root = {
  id: '1700000000000-0',
  type: 'message',
  room: 'lobby',
  token: 'lobby',
  timestamp: 1_700_000_000,
  body: 'who is on call?',
  author: { username: 'ann' },
  senderId: 'ann',
  replies: { count: 2, lastId: '1700000000002-0' },
};
const replyTo = (n: number, body: string, user: string) => ({
  ...root,
  id: `170000000000${n}-0`,
  timestamp: 1_700_000_000 + n,
  body,
  author: { username: user },
  senderId: user,
  parentId: root.id,
  replies: undefined,
});
const TOKEN = ['--token', 'ann'];

describe('hipochat reply, thread, threads, unread', () => {
  it('replies as the backend with the service key, the text from the arguments, mentioning users', async () => {
    const result = await run(
      ['reply', ...HTTP, '--room', 'lobby', '--id', root.id, ...KEY, '--mention', 'ann,bo,ann', 'on', 'it'],
      { status: 201, body: replyTo(3, 'on it', 'backend') },
    );
    expect(result).toMatchObject({ code: 0, out: `replied 1700000000003-0 to ${root.id} in lobby\n` });
    expect(result.requests).toEqual([
      {
        url: `http://h:1/talk/item/lobby/?type=message&parentId=${root.id}&mentions=ann,bo`,
        method: 'POST',
        authorization: 'Bearer key',
        body: 'on it',
      },
    ]);
  });

  it('takes the reply from stdin without arguments', async () => {
    const result = await run(
      ['reply', ...HTTP, '--room', 'lobby', '--id', root.id, ...KEY],
      { status: 201, body: replyTo(3, 'from stdin', 'backend') },
      'from stdin\n',
    );
    expect(result.requests[0]!.body).toBe('from stdin');
  });

  it("prints a rejected reply's reason and exits 1", async () => {
    const result = await run(['reply', ...HTTP, '--room', 'lobby', '--id', root.id, ...KEY, 'buy', 'now'], {
      status: 422,
      body: { error: 'message rejected by moderation', reason: 'spam' },
    });
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/→ 422: message rejected by moderation \(reason: spam\)\n$/);
  });

  it("prints a thread's root, then its replies, indented, as the user", async () => {
    const answer = {
      room: 'lobby',
      root,
      replies: [replyTo(1, 'me', 'bo'), replyTo(2, 'thanks', 'ann')],
      page: { more: false, before: '1700000000001-0' },
    };
    const result = await run(['thread', ...HTTP, '--room', 'lobby', '--id', root.id, ...TOKEN], {
      body: answer,
    });
    const lines = result.out.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\[[\d:]{8}\] ann: who is on call\? \(2 replies, thread 1700000000000-0\)$/);
    expect(lines[1]).toMatch(/^ {2}\[[\d:]{8}\] ↳ bo: me$/);
    expect(lines[2]).toMatch(/^ {2}\[[\d:]{8}\] ↳ ann: thanks$/);
    expect(result.requests).toEqual([
      {
        url: `http://h:1/talk/thread/lobby/${root.id}/`,
        method: 'GET',
        authorization: 'Token ann',
        body: undefined,
      },
    ]);
  });

  it('pages back with --limit and --before, and says how to read older replies', async () => {
    const answer = {
      room: 'lobby',
      root,
      replies: [replyTo(2, 'thanks', 'ann')],
      page: { more: true, before: '1700000000002-0' },
    };
    const result = await run(
      [
        'thread',
        ...HTTP,
        '--room',
        'lobby',
        '--id',
        root.id,
        ...TOKEN,
        '--limit',
        '1',
        '--before',
        '1700000000003-0',
      ],
      { body: answer },
    );
    expect(result.requests[0]!.url).toBe(
      `http://h:1/talk/thread/lobby/${root.id}/?limit=1&before=1700000000003-0`,
    );
    expect(result.err).toBe('(older replies: hipochat thread ... --before 1700000000002-0)\n');
  });

  it('exits 1 with the server text for an unknown root', async () => {
    const result = await run(['thread', ...HTTP, '--room', 'lobby', '--id', '1-0', ...TOKEN], {
      status: 404,
      body: { error: 'no such message' },
    });
    expect(result.code).toBe(1);
    expect(result.err).toBe('hipochat: GET http://h:1/talk/thread/lobby/1-0/ → 404: no such message\n');
  });

  it('lists the threads, latest activity first, with the unread replies', async () => {
    const answer = {
      room: 'lobby',
      threads: [
        { root, count: 2, lastId: '1700000000002-0', unread: 1 },
        {
          root: { ...root, id: '1600000000000-0', body: 'x'.repeat(80) },
          count: 1,
          lastId: '1600000000001-0',
          unread: 0,
        },
      ],
    };
    const result = await run(['threads', ...HTTP, '--room', 'lobby', ...TOKEN, '--limit', '2'], {
      body: answer,
    });
    expect(result.out).toBe(
      `1700000000000-0  2 replies, 1 unread  ann: who is on call?\n1600000000000-0  1 reply  ann: ${'x'.repeat(59)}…\n`,
    );
    expect(result.requests[0]!.url).toBe('http://h:1/talk/threads/lobby/?limit=2');
  });

  it('says on stderr when a room has no threads', async () => {
    const result = await run(['threads', ...HTTP, '--room', 'lobby', ...TOKEN], {
      body: { room: 'lobby', threads: [] },
    });
    expect(result).toMatchObject({ code: 0, out: '', err: 'no threads in lobby\n' });
  });

  it('marks a room unread from a message and prints the counts', async () => {
    const answer = { room: 'lobby', lastRead: '1699999999999-0', notification: 3, mentions: 1 };
    const result = await run(['unread', ...HTTP, '--room', 'lobby', '--id', root.id, ...TOKEN], {
      body: answer,
    });
    expect(result.out).toBe(`lobby is unread from ${root.id}: 3 unread, 1 mention\n`);
    expect(result.requests).toEqual([
      {
        url: 'http://h:1/talk/unread/lobby/',
        method: 'POST',
        authorization: 'Token ann',
        body: { id: root.id },
      },
    ]);
  });

  it.each([
    [['reply', ...HTTP, '--room', 'lobby', '--id', root.id, ...KEY], /reply: the reply is empty/],
    [['reply', ...HTTP, '--room', 'lobby', ...KEY, 'hi'], /reply: --id is required/],
    [
      ['reply', ...HTTP, '--room', 'lobby', '--id', 'first', ...KEY, 'hi'],
      /reply: invalid message id "first"/,
    ],
    [
      [
        'reply',
        ...HTTP,
        '--room',
        'lobby',
        '--id',
        root.id,
        ...KEY,
        '--mention',
        Array.from({ length: 21 }, (_, n) => `u${n}`).join(','),
        'hi',
      ],
      /reply: --mention names 21 users, a message takes at most 20/,
    ],
    [
      ['reply', ...HTTP, '--room', 'lobby', '--id', root.id, ...KEY, '--mention', ',', 'hi'],
      /--mention takes user ids/,
    ],
    [
      ['thread', ...HTTP, '--room', 'lobby', '--id', root.id, ...TOKEN, '--before', 'yesterday'],
      /thread: invalid message id "yesterday"/,
    ],
    [['thread', ...HTTP, '--room', 'lobby', '--id', root.id, ...TOKEN, 'extra'], /thread takes no arguments/],
    [
      ['threads', ...HTTP, '--room', 'lobby', ...TOKEN, '--limit', '0'],
      /threads: --limit must be a whole number from 1 to 200/,
    ],
    [['threads', ...HTTP, '--room', 'lobby', ...TOKEN, '--id', root.id], /threads does not take --id/],
    [['unread', ...HTTP, '--room', 'lobby', ...TOKEN], /unread: --id is required/],
    [['unread', ...HTTP, '--room', 'lobby', '--id', root.id], /unread: --token is required/],
  ])('refuses %j with exit code 2 and the usage line, sending nothing', async (argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.err).toMatch(message);
    expect(result.err).toContain(`usage: hipochat ${argv[0]} `);
    expect(result.requests).toEqual([]);
  });
});

describe('the usage text and docs/cli.md', () => {
  const docs = readFileSync(resolve(__dirname, '../../docs/cli.md'), 'utf8');

  it.each(Object.keys(COMMAND_OPTIONS))(
    '%s is listed in --help, has its own help and is in docs/cli.md',
    (command) => {
      expect(HELP).toMatch(new RegExp(`^  ${command} `, 'm'));
      expect(COMMAND_HELP[command]).toMatch(new RegExp(`^hipochat ${command} `));
      expect(docs).toContain(`hipochat ${command} `);
    },
  );

  it.each(Object.keys(COMMAND_OPTIONS))('%s --help prints its help and exits 0', async (command) => {
    const result = await run([command, '--help']);
    expect(result).toMatchObject({ code: 0, out: COMMAND_HELP[command] });
  });

  it.each(Object.entries(COMMAND_OPTIONS))(
    '%s documents every option it takes in its help',
    (command, options) => {
      const help = COMMAND_HELP[command] ?? '';
      for (const option of options) {
        // --ws gives the HTTP base of HTTP commands, and --http the one of socket commands: not repeated.
        if (option === 'ws' || option === 'http') continue;
        expect(`${command}: ${help}`).toContain(`--${option}`);
      }
    },
  );
});
