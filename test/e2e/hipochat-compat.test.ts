import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { type ChatEndpoints, chatEndpoints, realServices, startGateway } from '../support/gateway.js';
import { listenOnLoopback } from '../support/net.js';
import { uniqueRoom } from '../support/rooms.js';
import { disconnectSettled, openSocket, type TestSocket } from '../support/socket.js';
import { eventually } from '../support/wait.js';

type Json = Record<string, unknown> & { results?: unknown; oldy?: { body: unknown }[] };

describe('an old Hipochat client', () => {
  let chat: ChatEndpoints;

  beforeAll(async () => {
    chat = await chatEndpoints(realServices);
  });
  afterAll(async () => {
    await chat?.stop();
  });

  it('runs the Hipochat test scenario unchanged: two tokens, two messages each, history and old', async () => {
    const room = uniqueRoom('room_hipo');
    const other = uniqueRoom('room_foo');
    const first = await openSocket(`${chat.wsUrl}/talk/chat/${room}/?token=TOKEN_1234`);
    first.send(JSON.stringify({ body: 'hello world', type: 'message' }));
    first.send(JSON.stringify({ body: 'hello world 2', type: 'message' }));
    const result = await first.next((f) => f.body === 'hello world');
    expect(result).toMatchObject({ body: 'hello world', type: 'message', token: room });
    await first.next((f) => f.body === 'hello world 2');
    await first.close();
    await disconnectSettled();

    const history = (await (
      await fetch(`${chat.httpUrl}/talk/history/${room},${other}?token=TOKEN_1234`)
    ).json()) as {
      results: { room_name: string; messages: { body: string }[] }[];
    };
    expect(history.results[0]!.messages[0]!.body).toBe('hello world 2');
    expect(history.results[1]!.messages).toHaveLength(0);

    const second = await openSocket(`${chat.wsUrl}/talk/chat/${room}/?token=TOKEN_5555`);
    second.send(JSON.stringify({ body: 'hello world 3333', type: 'message' }));
    second.send(JSON.stringify({ body: 'hello world 4444', type: 'message' }));
    await second.next((f) => f.body === 'hello world 4444');
    await second.close();

    const old = (await (await fetch(`${chat.httpUrl}/talk/old/${room}?token=TOKEN_1234`)).json()) as {
      oldy: { body: string }[];
      results: { read_messages: { body: string }[]; unread_messages: { body: string }[] };
    };
    expect(old.oldy.map((m) => m.body)).toEqual([
      'hello world',
      'hello world 2',
      'hello world 3333',
      'hello world 4444',
    ]);
    expect(old.results.read_messages.map((m) => m.body)).toEqual(['hello world', 'hello world 2']);
    expect(old.results.unread_messages.map((m) => m.body)).toEqual(['hello world 3333', 'hello world 4444']);
  });

  it('gets {"ERROR":"authentication error"} and a closed socket for a refused token', async () => {
    const socket = await openSocket(`${chat.wsUrl}/talk/chat/${uniqueRoom()}/?token=bad@token`);
    expect(await socket.next(() => true)).toEqual({ ERROR: 'authentication error' });
    expect(await socket.closed).toBe(1008);
  });

  it('reads Authorization: Token on HTTP routes, with or without the trailing slash', async () => {
    const room = uniqueRoom();
    for (const path of [`/talk/notification/${room}/`, `/talk/notification/${room}`]) {
      const response = await fetch(`${chat.httpUrl}${path}`, {
        headers: { Authorization: 'Token TOKEN_1234' },
      });
      // Hipochat's `notification`, and the mention count beside it, which old clients ignore.
      expect(await response.json()).toEqual({ notification: 0, mentions: 0 });
    }
  });
});

describe('an old Hipochat client on a Hipochat profile endpoint', () => {
  // Tokens of their own: the Redis identity cache outlives other suites' gateways.
  const MINE = `OLD_${randomBytes(8).toString('hex')}`;
  const THEIRS = `OLD_${randomBytes(8).toString('hex')}`;
  let chat: ChatEndpoints;
  let profiles: Server;

  beforeAll(async () => {
    // Hipochat's profile shape: the id under `user_id`, and HIPOCHAT_PROFILE_ID_FIELD left unset.
    const users: Record<string, object> = {
      [MINE]: { user_id: 1001, name: 'Old Client' },
      [THEIRS]: { user_id: 1002, name: 'Other Client' },
    };
    profiles = createServer((request, response) => {
      const user = users[/^Token (\S+)$/.exec(request.headers.authorization ?? '')?.[1] ?? ''];
      response.writeHead(user ? 200 : 401, { 'content-type': 'application/json' });
      response.end(JSON.stringify(user ?? { detail: 'invalid token' }));
    });
    const url = `http://127.0.0.1:${await listenOnLoopback(profiles)}/profile`;
    chat = await startGateway({ ...realServices, HIPOCHAT_PROFILE_URL: url });
  });
  afterAll(async () => {
    await chat?.stop();
    profiles?.closeAllConnections();
    profiles?.close();
  });

  it('finds its own messages by author.user_id, live and in /talk/old', async () => {
    const room = uniqueRoom('user_id');
    const mine = await openSocket(`${chat.wsUrl}/talk/chat/${room}/?token=${MINE}`);
    const theirs = await openSocket(`${chat.wsUrl}/talk/chat/${room}/?token=${THEIRS}`);
    mine.send(JSON.stringify({ body: 'from 1001', type: 'message' }));
    const live = await theirs.next((f) => f.body === 'from 1001');
    await mine.close();
    await theirs.close();
    const old = (await (await fetch(`${chat.httpUrl}/talk/old/${room}/?token=${THEIRS}`)).json()) as {
      oldy: Record<string, unknown>[];
    };

    expect(live.author).toEqual({ user_id: 1001, name: 'Old Client' });
    expect(live.senderId).toBe('1001');
    expect(old.oldy[0]!.author).toEqual({ user_id: 1001, name: 'Old Client' });
  });
});

describe('bad input', () => {
  let chat: ChatEndpoints;
  let socket: TestSocket;
  let room: string;

  beforeAll(async () => {
    chat = await startGateway({ ...realServices, HIPOCHAT_MAX_MESSAGE_BYTES: '1024' });
    room = uniqueRoom('bad');
    socket = await openSocket(`${chat.wsUrl}/?room=${room}&token=alice`);
    socket.send({ body: 'kept' });
    await socket.next((f) => f.body === 'kept');
  });
  afterAll(async () => {
    await socket?.close();
    await chat?.stop();
  });

  const request = async (method: string, path: string, init: RequestInit = {}) => {
    const response = await fetch(`${chat.httpUrl}${path}`, { method, ...init });
    return { status: response.status, body: (await response.json()) as Json };
  };

  describe('on the socket', () => {
    it.each([
      ['an unparsable frame', 'not json', 'frame is not valid JSON'],
      ['a frame that is not an object', '[1,2]', 'frame must be a JSON object with a body'],
      ['a missing body', '{"type":"message"}', 'missing body'],
      ['an unknown type', '{"type":"shout","body":"x"}', 'unknown message type: shout'],
      [
        'an over-size frame',
        JSON.stringify({ body: 'x'.repeat(2000) }),
        'message too large: limit is 1024 bytes',
      ],
    ])('answers %s with an error frame and keeps the connection open', async (_what, frame, error) => {
      const before = socket.frames.length;
      socket.send(frame);
      await socket.next((f) => socket.frames.indexOf(f) >= before && f.ERROR === error);
      socket.send({ body: `still open after ${error}` });
      await socket.next((f) => f.body === `still open after ${error}`);
    });

    it.each([
      // API Gateway itself answers 403 (its authorizer can only deny); locally the handshake says why.
      ['a room name with a bad character', '/?room=no%20spaces&token=alice', 400],
      ['a room name over 128 characters', `/?room=${'r'.repeat(129)}&token=alice`, 400],
      ['a bad room name on the Hipochat path', '/talk/chat/no%20spaces/?token=alice', 400],
      ['no room nor token', '/', 401],
      ['no token', '/?room=lobby', 401],
      ['an unknown path', '/somewhere?room=lobby&token=alice', 404],
    ])('refuses %s at the handshake', async (_what, path, status) => {
      await expect(openSocket(`${chat.wsUrl}${path}`)).rejects.toThrow(`handshake refused: ${status}`);
    });
  });

  describe('on HTTP', () => {
    const token = { authorization: 'Token alice' };
    const jsonHeaders = { ...token, 'content-type': 'application/json' };

    it.each([
      ['a bad room name', 'GET', '/talk/old/bad%20room/', { headers: token }, 400, /invalid room name/],
      ['a nested room path', 'GET', '/talk/old/a/b/', { headers: token }, 400, /invalid room name/],
      ['no credentials', 'GET', '/talk/notification/lobby/', {}, 401, /authentication error/],
      [
        'a malformed Authorization header',
        'GET',
        '/talk/notification/lobby/',
        { headers: { authorization: 'Basic x' } },
        400,
        /Authorization/,
      ],
      ['a non-numeric limit', 'GET', '/talk/history/lobby/?limit=abc', { headers: token }, 400, /limit/],
      ['a zero limit', 'GET', '/talk/history/lobby/?limit=0', { headers: token }, 400, /limit/],
      ['a bad since id', 'GET', '/talk/old/lobby/?since=yesterday', { headers: token }, 400, /since/],
      [
        'a page limit out of range',
        'GET',
        '/talk/old/lobby/?limit=0',
        { headers: token },
        400,
        /limit must be an integer from 1 to 1000/,
      ],
      ['a bad before id', 'GET', '/talk/old/lobby/?before=yesterday', { headers: token }, 400, /before/],
      [
        'an unknown type',
        'POST',
        '/talk/item/lobby/?type=shout',
        { headers: jsonHeaders, body: '{}' },
        400,
        /type must be one of/,
      ],
      [
        'invalid JSON',
        'POST',
        '/talk/item/lobby/?type=message',
        { headers: jsonHeaders, body: '{"a":' },
        400,
        /not valid JSON/,
      ],
      [
        'a missing body',
        'POST',
        '/talk/item/lobby/?type=message',
        { headers: jsonHeaders },
        400,
        /missing body/,
      ],
      [
        'a wrong content type',
        'POST',
        '/talk/item/lobby/?type=message',
        { headers: { ...token, 'content-type': 'text/plain' }, body: '{}' },
        415,
        /content type/,
      ],
      [
        'an over-size body',
        'POST',
        '/talk/item/lobby/?type=message',
        { headers: jsonHeaders, body: JSON.stringify({ x: 'y'.repeat(2000) }) },
        413,
        /too large/,
      ],
      [
        'membership without the service key',
        'POST',
        '/talk/new-chat-room/lobby/',
        { headers: jsonHeaders, body: '{"members":["a"]}' },
        403,
        /HIPOCHAT_SERVICE_KEY/,
      ],
    ])('answers %s with a %s JSON error', async (_what, method, path, init, status, error) => {
      const response = await request(method as string, path as string, init as RequestInit);
      expect(response.status).toBe(status);
      expect(response.body.error).toMatch(error as RegExp);
    });

    it('leaves the stored messages untouched', async () => {
      const old = await request('GET', `/talk/old/${room}/`, { headers: token });
      expect(old.body.oldy!.map((m) => m.body)).toEqual([
        'kept',
        ...socket.frames.filter((f) => String(f.body).startsWith('still open')).map((f) => f.body),
      ]);
    });
  });
});

describe('when a dependency is down', () => {
  it.each([
    [
      'the profile endpoint',
      { HIPOCHAT_PROFILE_URL: 'http://127.0.0.1:1/profile' },
      'profile endpoint unavailable',
    ],
    [
      'Redis',
      { HIPOCHAT_REDIS_URL: 'redis://127.0.0.1:1', HIPOCHAT_PROFILE_CACHE_SECONDS: '0' },
      'store unavailable',
    ],
  ])('answers 503 when %s is unreachable', async (_what, env, error) => {
    const chat = await startGateway(env);
    try {
      const response = await fetch(`${chat.httpUrl}/talk/notification/lobby/`, {
        headers: { authorization: 'Token alice' },
      });
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error });
    } finally {
      await chat.stop();
    }
  });

  it('says at start-up that RabbitMQ is unreachable, and accepts no message until it is back', async () => {
    const chat = await startGateway({
      HIPOCHAT_AMQP_URL: 'amqp://guest:guest@127.0.0.1:1',
      HIPOCHAT_AMQP_NAMESPACE: 'hipochat-test-unreachable',
    });
    try {
      await eventually(
        () => chat.output().includes('RabbitMQ at 127.0.0.1:1 unreachable: ECONNREFUSED, retrying'),
        'the start-up report',
      );
      // Publishing needs the broker too: nothing is stored that nobody would deliver.
      const response = await fetch(`${chat.httpUrl}/talk/item/lobby/`, {
        method: 'POST',
        headers: { authorization: 'Token alice', 'content-type': 'application/json' },
        body: '{"n":1}',
      });
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: 'broker unavailable' });
    } finally {
      await chat.stop();
    }
  });
});
