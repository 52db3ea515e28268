import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { authorizerEvent } from '../../local/events.js';
import { faultGatewayEnv, type OwnRedis, redisCli, startRedis, TrafficCounter } from '../support/faults.js';
import { AMQP_URL, type ChatEndpoints, startGateway } from '../support/gateway.js';
import { type HttpReceiver, startReceiver } from '../support/http-receiver.js';
import { listenOnLoopback } from '../support/net.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';

jest.setTimeout(120_000);

const SERVICE_KEY = `svc-${randomBytes(16).toString('hex')}`;
const PUSH_SECRET = `push-${randomBytes(16).toString('hex')}`;
const RATE_LIMIT = 8;
const MAX_BYTES = 1024;

/** Long random secret-looking tokens, the kind that must never leak. */
const tokens = Object.fromEntries(
  ['alice', 'bob', 'mallory', 'backend', 'rater'].map((user) => [
    user,
    randomBytes(24).toString('base64url'),
  ]),
) as Record<'alice' | 'bob' | 'mallory' | 'backend' | 'rater', string>;

/** A customer profile endpoint that, carelessly, echoes the token in the profile. */
async function profileEndpoint(): Promise<{ server: Server; url: string }> {
  const byToken = new Map(Object.entries(tokens).map(([user, token]) => [token, user]));
  const server = createServer((request, response) => {
    const token = /^Token (\S+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
    const user = byToken.get(token);
    if (!user) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"detail":"invalid token"}');
      return;
    }
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ id: user, name: `${user} example`, token, api_token: token }));
  });
  return { server, url: `http://127.0.0.1:${await listenOnLoopback(server)}/profile` };
}

/** Every key and value in a Redis of this test's own, as text. */
async function dumpRedis(port: number): Promise<string> {
  const names = (await redisCli(port, '--scan')).split('\n').filter(Boolean);
  const parts: string[] = [];
  for (const name of names) {
    const type = await redisCli(port, 'type', name);
    const read: Record<string, string[]> = {
      string: ['get', name],
      hash: ['hgetall', name],
      set: ['smembers', name],
      zset: ['zrange', name, '0', '-1', 'withscores'],
      stream: ['xrange', name, '-', '+'],
      list: ['lrange', name, '0', '-1'],
    };
    parts.push(name, await redisCli(port, ...(read[type] ?? ['type', name])));
  }
  return parts.join('\n');
}

describe('security', () => {
  let redis: OwnRedis;
  let chat: ChatEndpoints;
  let profile: Awaited<ReturnType<typeof profileEndpoint>>;
  let push: HttpReceiver;
  /** Every push request as it went over the wire: headers, then the raw body. */
  const pushRequests = () =>
    push.received.map((request) => `${JSON.stringify(request.headers)}\n${request.body}`).join('\n');
  const sockets: TestSocket[] = [];

  const url = (room: string, query: string) => `${chat.wsUrl}/?room=${room}&${query}`;
  const connect = async (room: string, query: string) => {
    const socket = await openSocket(url(room, query));
    sockets.push(socket);
    return socket;
  };
  const handshake = (room: string, query: string) =>
    connect(room, query).then(
      () => 101,
      (error: Error) => Number(/handshake refused: (\d+)/.exec(error.message)?.[1] ?? 0),
    );
  const call = async (method: string, path: string, authorization: string, body?: string) => {
    const response = await fetch(`${chat.httpUrl}${path}`, {
      method,
      headers: { authorization, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    redis = await startRedis();
    profile = await profileEndpoint();
    push = await startReceiver('/push');
    chat = await startGateway({
      ...faultGatewayEnv,
      HIPOCHAT_LOG_LEVEL: 'debug',
      HIPOCHAT_REDIS_URL: redis.url,
      HIPOCHAT_AMQP_URL: AMQP_URL,
      HIPOCHAT_PROFILE_URL: profile.url,
      HIPOCHAT_PUSH_NOTIFICATION_URL: push.url,
      HIPOCHAT_PUSH_SECRET: PUSH_SECRET,
      HIPOCHAT_SERVICE_KEY: SERVICE_KEY,
      HIPOCHAT_CLOSED_ROOMS: 'club-*,vault',
      HIPOCHAT_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
      HIPOCHAT_MAX_MESSAGE_BYTES: String(MAX_BYTES),
    });
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.close()));
    await chat?.stop();
    profile?.server.close();
    await push?.close();
    await redis?.stop();
  });

  describe('closed rooms', () => {
    const room = uniqueRoom('club');

    beforeAll(async () => {
      // Hipochat's way: the backend names members by their tokens.
      const added = await call(
        'POST',
        `/talk/new-chat-room/${room}/`,
        `Bearer ${SERVICE_KEY}`,
        JSON.stringify({ tokens: [tokens.alice, tokens.bob] }),
      );
      expect(added).toEqual({ status: 200, body: { room, added: ['alice', 'bob'] } });
    });

    it.each([
      ['connect', () => handshake(room, `token=${tokens.mallory}`), 403],
      [
        'read old messages',
        async () => (await call('GET', `/talk/old/${room}/`, `Token ${tokens.mallory}`)).status,
        403,
      ],
      [
        'read history',
        async () =>
          (await call('GET', `/talk/history/open-${room},${room}/`, `Token ${tokens.mallory}`)).status,
        403,
      ],
      [
        'post an item',
        async () => (await call('POST', `/talk/item/${room}/`, `Token ${tokens.mallory}`, '{"x":1}')).status,
        403,
      ],
      [
        'get the unread count',
        async () => (await call('GET', `/talk/notification/${room}/`, `Token ${tokens.mallory}`)).status,
        403,
      ],
      [
        'get a connect ticket',
        async () => (await call('POST', `/talk/ticket/${room}/`, `Token ${tokens.mallory}`)).status,
        403,
      ],
    ])('refuses a non-member who tries to %s', async (_what, attempt, status) => {
      expect(await attempt()).toBe(status);
    });

    it('lets members connect, read, post, count and get tickets', async () => {
      expect(await handshake(room, `token=${tokens.alice}`)).toBe(101);
      expect((await call('GET', `/talk/old/${room}/`, `Token ${tokens.bob}`)).status).toBe(200);
      expect((await call('GET', `/talk/history/${room}/`, `Token ${tokens.bob}`)).status).toBe(200);
      expect((await call('POST', `/talk/item/${room}/`, `Token ${tokens.bob}`, '{"x":1}')).status).toBe(201);
      expect((await call('GET', `/talk/notification/${room}/`, `Token ${tokens.alice}`)).body).toEqual({
        notification: 1,
        mentions: 0,
      });
      expect((await call('POST', `/talk/ticket/${room}/`, `Token ${tokens.alice}`)).status).toBe(201);
    });

    it('closes exactly the rooms named, by name or prefix', async () => {
      expect(await handshake('vault', `token=${tokens.mallory}`)).toBe(403);
      expect(await handshake(`open-${room}`, `token=${tokens.mallory}`)).toBe(101);
    });

    it('shuts out a member who was unsubscribed', async () => {
      await call('POST', `/talk/unsubscribe/${room}/`, `Bearer ${SERVICE_KEY}`, '{"members":["bob"]}');
      expect(await handshake(room, `token=${tokens.bob}`)).toBe(403);
      expect((await call('GET', `/talk/old/${room}/`, `Token ${tokens.bob}`)).status).toBe(403);
    });
  });

  describe('connect tickets', () => {
    const room = uniqueRoom('tickets');
    const ticket = async (forRoom = room) => {
      const answer = await call('POST', `/talk/ticket/${forRoom}/`, `Token ${tokens.alice}`);
      expect(answer.status).toBe(201);
      return answer.body as { ticket: string; expiresIn: number };
    };

    it('issues a single-use ticket valid for 30 seconds', async () => {
      const issued = await ticket();
      expect(issued).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{16,64}$/), expiresIn: 30 });
      const key = `hc:ticket:${createHash('sha256').update(issued.ticket).digest('hex')}`;
      const ttl = Number(await redisCli(redis.port, 'ttl', key));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(30);

      const socket = await connect(room, `ticket=${issued.ticket}`);
      const traffic = new TrafficCounter('tk');
      expect((await traffic.send(socket, 'via ticket')).acked).toBe(true);
      const delivered = await socket.next((f) => f.body === 'via ticket');
      expect(delivered.senderId).toBe('alice');
      expect(await handshake(room, `ticket=${issued.ticket}`)).toBe(401);
    });

    it('binds a ticket to its room', async () => {
      const issued = await ticket();
      expect(await handshake(uniqueRoom('elsewhere'), `ticket=${issued.ticket}`)).toBe(401);
    });

    it('refuses a made-up ticket and a request without credentials', async () => {
      expect(await handshake(room, `ticket=${randomBytes(24).toString('base64url')}`)).toBe(401);
      expect(await handshake(room, 'ticket=short')).toBe(401);
      const response = await fetch(`${chat.httpUrl}/talk/ticket/${room}/`, { method: 'POST' });
      expect(response.status).toBe(401);
    });

    it('keeps ?token= working for Hipochat clients', async () => {
      expect(await handshake(room, `token=${tokens.alice}`)).toBe(101);
      const legacy = await openSocket(`${chat.wsUrl}/talk/chat/${room}/?token=${tokens.bob}`);
      sockets.push(legacy);
      expect(legacy.ws.readyState).toBe(legacy.ws.OPEN);
    });
  });

  describe('rate and size limits', () => {
    it(`answers the ${RATE_LIMIT + 1}th message of a minute with a rate limit error frame`, async () => {
      const socket = await connect(uniqueRoom('rate'), `token=${tokens.rater}`);
      const traffic = new TrafficCounter('rl');
      const outcomes = [];
      for (let i = 0; i < RATE_LIMIT + 3; i += 1) outcomes.push(await traffic.send(socket, `m${i}`));
      expect(outcomes.filter((o) => o.acked)).toHaveLength(RATE_LIMIT);
      // Each refusal names the frame it refuses (the counter numbers sends from 1).
      expect(outcomes.slice(RATE_LIMIT)).toEqual(
        [RATE_LIMIT + 1, RATE_LIMIT + 2, RATE_LIMIT + 3].map((n) => ({
          acked: false,
          clientId: `rl-${n}`,
          error: 'rate limit exceeded',
        })),
      );
      expect(socket.ws.readyState).toBe(socket.ws.OPEN);
    });

    it('answers an over-size frame with an error frame and an over-size body with 413', async () => {
      const room = uniqueRoom('size');
      const socket = await connect(room, `token=${tokens.alice}`);
      socket.send({ body: 'x'.repeat(MAX_BYTES + 10), clientId: 'big' });
      expect(await socket.next((f) => f.clientId === 'big' && 'ERROR' in f)).toEqual({
        ERROR: `message too large: limit is ${MAX_BYTES} bytes`,
        clientId: 'big',
      });
      const item = await call(
        'POST',
        `/talk/item/${room}/`,
        `Token ${tokens.alice}`,
        JSON.stringify({ b: 'x'.repeat(MAX_BYTES) }),
      );
      expect(item).toEqual({
        status: 413,
        body: { error: `message too large: limit is ${MAX_BYTES} bytes` },
      });
    });
  });

  describe('tokens', () => {
    const room = uniqueRoom('secrets');
    let authorizerResult = '';

    beforeAll(async () => {
      // An e2e flow: members connect (token and ticket), talk, one goes offline (push), a backend
      // injects, everyone reads old, history and counts.
      const alice = await connect(room, `token=${tokens.alice}`);
      const bobFirst = await connect(room, `token=${tokens.bob}`);
      await bobFirst.close();
      const issued = (await call('POST', `/talk/ticket/${room}/`, `Token ${tokens.alice}`)).body;
      await connect(room, `ticket=${issued.ticket as string}`);
      const traffic = new TrafficCounter('sec');
      for (let i = 0; i < 3; i += 1) await traffic.send(alice, `secret-free ${i}`);
      await call('POST', `/talk/item/${room}/?type=notification`, `Token ${tokens.backend}`, '{"n":1}');
      await call('GET', `/talk/old/${room}/`, `Token ${tokens.bob}`);
      await call('GET', `/talk/history/${room}/?limit=5`, `Token ${tokens.alice}`);
      await call('GET', `/talk/notification/${room}/?token=${tokens.bob}`, '');
      await traffic.waitUntilDelivered([alice], () => chat.output());
      for (let i = 0; i < 100 && push.received.length < 3; i += 1)
        await new Promise((done) => setTimeout(done, 50));

      // The authorizer runs in this process too, to see the context API Gateway would pass on.
      process.env.HIPOCHAT_REDIS_URL = redis.url;
      process.env.HIPOCHAT_PROFILE_URL = profile.url;
      const { handler } = await import('../../lambdas/handlers/ws/authorizer.js');
      const { runtime, setRuntime } = await import('../../lambdas/core/runtime.js');
      const info = {
        connectionId: 'sec-test=',
        connectedAt: Date.now(),
        sourceIp: '127.0.0.1',
        userAgent: 'jest',
        domainName: 'localhost',
      };
      const result = await handler(
        authorizerEvent(info, {}, new URL(`http://localhost/?room=${room}&token=${tokens.alice}`)),
      );
      authorizerResult = JSON.stringify(result);
      await (await runtime()).close();
      setRuntime(undefined);
    });

    it('reaches the push receiver, signed', () => {
      expect(push.received.length).toBeGreaterThan(0);
      expect(pushRequests()).toContain('x-hipochat-signature');
    });

    it.each([
      ['stored messages and every other Redis key', () => dumpRedis(redis.port)],
      ['push requests', async () => pushRequests()],
      ['gateway logs', async () => chat.output()],
      ['frames sent to sockets', async () => JSON.stringify(sockets.map((socket) => socket.frames))],
      ['the authorizer context', async () => authorizerResult],
    ])('never appear in %s', async (_where, collect) => {
      const text = await collect();
      expect(text.length).toBeGreaterThan(0);
      for (const token of Object.values(tokens)) expect(text).not.toContain(token);
    });
  });
});
