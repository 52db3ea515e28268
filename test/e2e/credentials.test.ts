import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Redis } from 'ioredis';
import {
  expectedAnswer,
  pathOf,
  ROUTE_CREDENTIAL_TABLE,
  type TriedCredential,
} from '../support/credential-table.js';
import { type ChatEndpoints, REDIS_URL, realServices, startGateway } from '../support/gateway.js';
import { type HttpReceiver, startReceiver } from '../support/http-receiver.js';
import { listenOnLoopback } from '../support/net.js';
import { uniqueRoom } from '../support/rooms.js';
import { disconnectSettled, openSocket, type TestSocket } from '../support/socket.js';
import { eventually, pause } from '../support/wait.js';

jest.setTimeout(120_000);

const SERVICE_KEY = `svc-${randomBytes(16).toString('hex')}`;
/** The service key with its last character changed (a random key may already end in `0`). */
const NEAR_MISS = `${SERVICE_KEY.slice(0, -1)}${SERVICE_KEY.endsWith('0') ? '1' : '0'}`;
/** A long secret-looking token, and a short one the profile endpoint echoes as `login`. */
const TOKENS = { ann: randomBytes(24).toString('base64url'), bo: 'bo-tok-7' };

/**
 * A customer profile endpoint that counts its calls and, carelessly, answers with credentials and
 * personal data next to the public fields.
 */
async function profileEndpoint(): Promise<{ server: Server; url: string; calls: string[] }> {
  const calls: string[] = [];
  const byToken = new Map(Object.entries(TOKENS).map(([user, token]) => [token, user]));
  const server = createServer((request, response) => {
    calls.push(request.headers.authorization ?? '');
    const token = /^Token (\S+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '';
    const user = byToken.get(token);
    if (!user) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"detail":"invalid token"}');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: user,
        username: user,
        name: `${user} Example`,
        accessToken: `at-${token}`,
        apiKey: `ak-${token}`,
        session: { token: `st-${token}` },
        email: `${user}@example.com`,
        login: token,
        avatar: { url: 'https://example.com/a.png', signature: `sig-${token}` },
      }),
    );
  });
  return { server, url: `http://127.0.0.1:${await listenOnLoopback(server)}/profile`, calls };
}

/** What must never leave the server, whatever the route. */
const SECRETS = [
  ...Object.values(TOKENS),
  'accessToken',
  'apiKey',
  'session',
  'example.com',
  'login',
  'signature',
];

describe('credentials', () => {
  let profile: Awaited<ReturnType<typeof profileEndpoint>>;
  let push: HttpReceiver;
  let chat: ChatEndpoints;
  const sockets: TestSocket[] = [];

  const connect = async (room: string, token: string) => {
    const socket = await openSocket(`${chat.wsUrl}/?room=${room}&token=${token}`);
    sockets.push(socket);
    return socket;
  };
  const call = async (method: string, path: string, authorization: string, body?: unknown) => {
    const response = await fetch(`${chat.httpUrl}${path}`, {
      method,
      headers: { authorization, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    profile = await profileEndpoint();
    push = await startReceiver('/push');
    chat = await startGateway({
      ...realServices,
      HIPOCHAT_PROFILE_URL: profile.url,
      HIPOCHAT_SERVICE_KEY: SERVICE_KEY,
      HIPOCHAT_PUSH_NOTIFICATION_URL: push.url,
    });
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.close()));
    await chat?.stop();
    profile?.server.closeAllConnections();
    profile?.server.close();
    await push?.close();
  });

  describe('the credential rule of every HTTP route', () => {
    const authorization: Record<TriedCredential, string | undefined> = {
      'no credential': undefined,
      'a wrong key': `Bearer ${NEAR_MISS}`,
      'a user token': `Token ${TOKENS.ann}`,
      'the service key': `Bearer ${SERVICE_KEY}`,
    };

    it.each(ROUTE_CREDENTIAL_TABLE)('%s with %s', async (_route, tried, route) => {
      // Prepare
      const room = uniqueRoom('rule');
      const before = profile.calls.length;

      // Act
      const response = await fetch(`${chat.httpUrl}${pathOf(route, room)}`, {
        method: route.method,
        headers: {
          'content-type': 'application/json',
          ...(authorization[tried] ? { authorization: authorization[tried] } : {}),
        },
        ...(route.method === 'POST' ? { body: JSON.stringify({ rooms: [room], body: { n: 1 } }) } : {}),
      });
      const body = (await response.json()) as { error?: string };

      // Assess
      const expected = expectedAnswer(route.caller, tried);
      if (expected === 'admitted') {
        expect([401, 403]).not.toContain(response.status);
      } else {
        expect(response.status).toBe(expected);
        expect(body.error).toContain(route.purpose);
      }
      // A Bearer is only ever compared with the key: the profile endpoint never hears of it.
      expect(profile.calls.slice(before).every((call) => call === `Token ${TOKENS.ann}`)).toBe(true);
    });
  });

  describe('a Bearer credential', () => {
    it('that is not the service key injects nothing: 401, no profile call, no frame', async () => {
      // Prepare
      const room = uniqueRoom('bearer');
      const listener = await connect(room, TOKENS.ann);
      const before = profile.calls.length;

      // Act
      const answers = await Promise.all(
        [NEAR_MISS, TOKENS.bo, 'x'].map((key) =>
          call('POST', `/talk/item/${room}/?type=notification`, `Bearer ${key}`, { n: 1 }),
        ),
      );
      await pause(300);

      // Assess
      expect(answers.map((answer) => answer.status)).toEqual([401, 401, 401]);
      for (const answer of answers) {
        expect(answer.body.error).toMatch(/^service key refused: message injection requires/);
      }
      expect(profile.calls.length).toBe(before);
      expect(listener.frames).toEqual([]);
      expect((await call('GET', `/talk/old/${room}/`, `Token ${TOKENS.ann}`)).body.oldy).toEqual([]);
    });

    it('that is the service key injects as the backend, author null, without a profile call', async () => {
      const before = profile.calls.length;
      const answer = await call('POST', `/talk/item/${uniqueRoom('bearer')}/`, `Bearer ${SERVICE_KEY}`, {
        n: 2,
      });
      expect(answer.status).toBe(201);
      expect(answer.body.author).toBeNull();
      expect(profile.calls.length).toBe(before);
    });

    it('that is not the service key is a 401 on the membership routes, naming them, without a profile call', async () => {
      const before = profile.calls.length;
      const answer = await call('POST', '/talk/new-chat-room/lobby/', 'Bearer guess', { members: ['x'] });
      expect(answer.status).toBe(401);
      expect(answer.body.error).toMatch(
        /^service key refused: membership management requires the service key/,
      );
      expect(profile.calls.length).toBe(before);
    });
  });

  it('never lets a profile field outside the allowlist leave the server', async () => {
    // Prepare: bo is a member who went offline, so a message to the room is pushed to him.
    const room = uniqueRoom('profile');
    const bo = await connect(room, TOKENS.bo);
    await bo.close();
    await disconnectSettled();
    const ann = await connect(room, TOKENS.ann);

    // Act: every way a profile can travel.
    ann.send({ body: 'hello', clientId: 'p-1' });
    const frame = await ann.next((f) => f.body === 'hello');
    const injected = await call('POST', `/talk/item/${room}/`, `Token ${TOKENS.bo}`, { n: 1 });
    const ticket = await call('POST', `/talk/ticket/${room}/`, `Token ${TOKENS.ann}`);
    const viaTicket = await openSocket(`${chat.wsUrl}/?room=${room}&ticket=${ticket.body.ticket as string}`);
    sockets.push(viaTicket);
    viaTicket.send({ body: 'via ticket' });
    await viaTicket.next((f) => f.body === 'via ticket');
    const old = await call('GET', `/talk/old/${room}/`, `Token ${TOKENS.bo}`);
    const history = await call('GET', `/talk/history/${room}/?limit=10`, `Token ${TOKENS.ann}`);
    await eventually(() => push.received.length > 0, 'a push to the offline member');
    const redis = new Redis(REDIS_URL);
    const cached = await Promise.all(
      Object.values(TOKENS).map((token) =>
        redis.get(`hc:auth:${createHash('sha256').update(token).digest('hex')}`),
      ),
    );
    const stored = JSON.stringify(await redis.xrange(`hc:{${room}}:log`, '-', '+'));
    redis.disconnect();

    // Assess
    expect(frame.author).toEqual({ id: 'ann', username: 'ann', name: 'ann Example' });
    expect(injected.body.author).toEqual({ id: 'bo', username: 'bo', name: 'bo Example' });
    expect(cached.every((entry) => entry !== null)).toBe(true);
    const everything = JSON.stringify([
      sockets.map((socket) => socket.frames),
      injected,
      old,
      history,
      push.received.map((request) => request.body),
      cached,
      stored,
    ]);
    for (const secret of SECRETS) expect(everything).not.toContain(secret);
  });
});

describe('credentials with the dev identity', () => {
  let chat: ChatEndpoints;

  beforeAll(async () => {
    chat = await startGateway({ HIPOCHAT_SERVICE_KEY: SERVICE_KEY });
  });

  afterAll(async () => {
    await chat?.stop();
  });

  it('never turns a near-miss service key into a user named after it', async () => {
    // Prepare
    const room = uniqueRoom('near-miss');
    const listener = await openSocket(`${chat.wsUrl}/?room=${room}&token=carol`);
    const nearMiss = NEAR_MISS;

    // Act
    const response = await fetch(`${chat.httpUrl}/talk/item/${room}/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${nearMiss}`, 'content-type': 'application/json' },
      body: '{"n":1}',
    });
    await pause(300);

    // Assess
    expect(response.status).toBe(401);
    expect(JSON.stringify(listener.frames)).not.toContain(nearMiss);
    expect(listener.frames).toEqual([]);
    await listener.close();
  });
});
