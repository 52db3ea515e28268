import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  APIGatewayRequestAuthorizerEvent,
  Context,
} from 'aws-lambda';
import { loadConfig } from '../../lambdas/core/config.js';
import { createRuntime, setRuntime } from '../../lambdas/core/runtime.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { handler as itemHandler } from '../../lambdas/handlers/http/item.js';
import { handler as newChatRoomHandler } from '../../lambdas/handlers/http/new-chat-room.js';
import { handler as oldHandler } from '../../lambdas/handlers/http/old.js';
import { handler as ticketHandler } from '../../lambdas/handlers/http/ticket.js';
import { handler as authorizerHandler } from '../../lambdas/handlers/ws/authorizer.js';
import { type HttpRoute, httpRoutes } from '../../lambdas/routes.js';
import {
  expectedAnswer,
  pathOf,
  ROUTE_CREDENTIAL_TABLE,
  type TriedCredential,
} from '../support/credential-table.js';
import { RecordingBus } from '../support/recording-bus.js';
import { RecordingSender } from '../support/recording-sender.js';

const SERVICE_KEY = 'the-service-key-0123456789';

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(join(__dirname, '../events', `${name}.json`), 'utf8')) as T;

const lambdaContext = (): Context => ({
  ...fixture<Omit<Context, 'getRemainingTimeInMillis' | 'done' | 'fail' | 'succeed'>>('lambda-context'),
  awsRequestId: randomUUID(),
  getRemainingTimeInMillis: () => 10_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
});

type Handler<E> = (event: E, context: Context) => Promise<unknown>;
const call = async <E>(handler: Handler<E>, event: E) => {
  const result = (await handler(event, lambdaContext())) as APIGatewayProxyStructuredResultV2;
  return { status: result.statusCode, body: JSON.parse(result.body ?? 'null') as Record<string, unknown> };
};

/** What a careless customer profile endpoint answers: credentials and personal data included. */
const carelessProfile = (name: string, token: string) => ({
  id: name,
  username: name,
  name: `${name} Example`,
  avatar: { url: 'https://example.com/a.png', signedWith: token },
  accessToken: `at-${token}`,
  apiKey: `key-${token}`,
  session: { token },
  email: `${name}@example.com`,
  login: token,
});

let store: MemoryStore;
let bus: RecordingBus;
/** Authorization headers the profile endpoint saw, in order. */
let profileCalls: string[];

function start(env: Record<string, string> = {}): void {
  store = new MemoryStore();
  bus = new RecordingBus();
  const config = loadConfig({
    HIPOCHAT_PROFILE_URL: 'https://profiles.example.com/me',
    HIPOCHAT_SERVICE_KEY: SERVICE_KEY,
    ...env,
  });
  setRuntime(createRuntime(config, { store, bus, sender: new RecordingSender() }));
}

beforeEach(() => {
  profileCalls = [];
  start();
  // The customer's endpoint: `Token <name>` is user <name>, and (carelessly) any value is a name
  // but one starting `refused`.
  jest.spyOn(globalThis, 'fetch').mockImplementation(async (_url, init) => {
    const authorization = new Headers(init?.headers).get('authorization') ?? '';
    profileCalls.push(authorization);
    const token = /^Token (\S+)$/.exec(authorization)?.[1];
    return token && !token.startsWith('refused')
      ? new Response(JSON.stringify(carelessProfile(token.slice(0, 5), token)), { status: 200 })
      : new Response('{"detail":"invalid token"}', { status: 401 });
  });
});

afterEach(() => {
  jest.restoreAllMocks();
  setRuntime(undefined);
});

/** An HTTP API event for `routeKey` on room `lobby` with this Authorization header. */
function request(route: string, authorization: string, body?: unknown): APIGatewayProxyEventV2 {
  const [method, path] = route.split(' ') as [string, string];
  const event = fixture<APIGatewayProxyEventV2>('http-old');
  return {
    ...event,
    routeKey: route,
    rawPath: path.replace(/\{[a-z]+\+\}/, 'lobby/'),
    headers: { ...event.headers, authorization, 'content-type': 'application/json' },
    pathParameters: path.includes('{rooms+}') ? { rooms: 'lobby/' } : { room: 'lobby/' },
    requestContext: {
      ...event.requestContext,
      routeKey: route,
      http: { ...event.requestContext.http, method },
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body), isBase64Encoded: false }),
  };
}

/** An HTTP API event for `route` (room `lobby`, user `zoe`) with this Authorization header. */
function routeEvent(route: HttpRoute, authorization: string | undefined): APIGatewayProxyEventV2 {
  const event = fixture<APIGatewayProxyEventV2>('http-old');
  const routeKey = `${route.method} ${route.path}`;
  const parameter = /\{([a-z]+)\+\}/.exec(route.path)?.[1];
  const headers: Record<string, string> = { ...event.headers, 'content-type': 'application/json' };
  delete headers.authorization;
  if (authorization) headers.authorization = authorization;
  return {
    ...event,
    routeKey,
    rawPath: pathOf(route),
    headers,
    pathParameters: parameter ? { [parameter]: parameter === 'user' ? 'zoe/' : 'lobby/' } : {},
    requestContext: {
      ...event.requestContext,
      routeKey,
      http: { ...event.requestContext.http, method: route.method, path: pathOf(route) },
    },
    ...(route.method === 'POST' ? { body: '{"id":"1700000000000-0","body":{"n":1}}' } : {}),
  };
}

/** The handler module of a route of the table. */
async function handlerOf(route: HttpRoute): Promise<Handler<APIGatewayProxyEventV2>> {
  const module = (await import(join(__dirname, '../..', route.entry))) as {
    handler: Handler<APIGatewayProxyEventV2>;
  };
  return module.handler;
}

const AUTHORIZATION: Record<TriedCredential, string | undefined> = {
  'no credential': undefined,
  'a wrong key': `Bearer ${SERVICE_KEY.slice(0, -1)}x`,
  'a user token': 'Token alice-token',
  'the service key': `Bearer ${SERVICE_KEY}`,
};

describe('the credential rule of every HTTP route', () => {
  it.each(ROUTE_CREDENTIAL_TABLE)('%s with %s', async (_route, tried, route) => {
    // Act
    const answer = await call(await handlerOf(route), routeEvent(route, AUTHORIZATION[tried]));

    // Assess
    const expected = expectedAnswer(route.caller, tried);
    if (expected === 'admitted') {
      expect([401, 403]).not.toContain(answer.status);
    } else {
      expect(answer.status).toBe(expected);
      expect(answer.body.error).toContain(route.purpose);
      expect(bus.published).toEqual([]);
    }
    // A Bearer is only ever compared with the key; only a Token goes to the profile endpoint.
    expect(profileCalls).toEqual(tried === 'a user token' ? ['Token alice-token'] : []);
  });

  it("names only the purpose of the route refused, never another route's", async () => {
    const purposes = new Set(httpRoutes.map((route) => route.purpose));
    for (const route of httpRoutes) {
      const answer = await call(await handlerOf(route), routeEvent(route, undefined));
      const named = [...purposes].filter((purpose) => String(answer.body.error).includes(purpose));
      expect(named).toEqual([route.purpose]);
    }
  });

  it('lets every HTTP function read the service key it compares a Bearer with', () => {
    for (const route of httpRoutes) expect(route.secrets).toContain('serviceKey');
  });

  describe('on a server without a service key', () => {
    beforeEach(() => {
      setRuntime(undefined);
      start({ HIPOCHAT_SERVICE_KEY: '' });
    });

    it.each(ROUTE_CREDENTIAL_TABLE.filter(([, , route]) => route.caller === 'service'))(
      '%s with %s says the purpose is disabled and names the setting',
      async (_route, tried, route) => {
        const answer = await call(await handlerOf(route), routeEvent(route, AUTHORIZATION[tried]));
        expect(answer.status).toBe(tried === 'a user token' ? 403 : 401);
        expect(answer.body.error).toBe(
          `${route.purpose} is disabled: this server has no service key (set HIPOCHAT_SERVICE_KEY in the server's environment)`,
        );
      },
    );

    it('refuses a Bearer on /talk/item with 401, saying injection as the backend is disabled', async () => {
      const answer = await call(itemHandler, request('POST /talk/item/{room+}', 'Bearer anything', { n: 1 }));
      expect(answer).toEqual({
        status: 401,
        body: {
          error:
            "message injection as the backend is disabled: this server has no service key (set HIPOCHAT_SERVICE_KEY in the server's environment)",
        },
      });
      expect(profileCalls).toEqual([]);
    });

    it('still takes user tokens on /talk/item, and asks for one without a credential', async () => {
      const injected = await call(
        itemHandler,
        request('POST /talk/item/{room+}', 'Token alice-token', { n: 1 }),
      );
      const bare = await call(itemHandler, { ...request('POST /talk/item/{room+}', ''), headers: {} });
      expect(injected.status).toBe(201);
      expect(bare.status).toBe(401);
      expect(bare.body.error).toBe(
        'authentication error: message injection requires a user token ("Authorization: Token <token>")',
      );
    });
  });
});

describe('Bearer credentials', () => {
  it.each([
    ['a near miss', `${SERVICE_KEY.slice(0, -1)}x`],
    ['a user name', 'alice'],
    ['a longer key', `${SERVICE_KEY}0`],
  ])('inject nothing on /talk/item when the key is %s: 401, and no profile call', async (_what, key) => {
    // Act
    const answer = await call(itemHandler, request('POST /talk/item/{room+}', `Bearer ${key}`, { n: 1 }));

    // Assess
    expect(answer.status).toBe(401);
    expect(answer.body.error).toMatch(/^service key refused: message injection requires/);
    expect(profileCalls).toEqual([]);
    expect(bus.published).toHaveLength(0);
    expect((await store.latest('lobby', 'x', 10)).messages).toHaveLength(0);
  });

  it('inject as the backend, author null, when the key is the service key', async () => {
    // Act
    const answer = await call(
      itemHandler,
      request('POST /talk/item/{room+}', `Bearer ${SERVICE_KEY}`, { order: 42 }),
    );

    // Assess
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({ author: null, body: { order: 42 } });
    expect(answer.body).not.toHaveProperty('senderId');
    expect(profileCalls).toEqual([]);
  });

  it('are a 403 on a user route when right, saying the route takes a user token', async () => {
    const answer = await call(oldHandler, request('GET /talk/old/{room+}', `Bearer ${SERVICE_KEY}`));
    expect(answer).toEqual({
      status: 403,
      body: {
        error:
          'the service key is not allowed here: reading messages requires a user token ("Authorization: Token <token>")',
      },
    });
  });

  it('leave Token credentials going to the profile endpoint as before', async () => {
    const answer = await call(itemHandler, request('POST /talk/item/{room+}', 'Token alice-token', { n: 1 }));
    expect(answer.status).toBe(201);
    expect(profileCalls).toEqual(['Token alice-token']);
  });

  it('answer a user token on a service route with 403 once the profile endpoint accepts it, else 401', async () => {
    const member = { members: ['zoe'] };
    const accepted = await call(
      newChatRoomHandler,
      request('POST /talk/new-chat-room/{room+}', 'Token alice-token', member),
    );
    const refused = await call(
      newChatRoomHandler,
      request('POST /talk/new-chat-room/{room+}', 'Token refused-1', member),
    );
    expect(accepted).toEqual({
      status: 403,
      body: {
        error:
          'a user token is not allowed here: membership management requires the service key ("Authorization: Bearer <service key>")',
      },
    });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toMatch(/^authentication error: the token was refused; membership management/);
    expect(await store.isMember('lobby', 'zoe')).toBe(false);
  });
});

describe('the public profile', () => {
  const token = 'ann-0123456789abcdef';
  const leaks = [token, 'accessToken', 'apiKey', 'session', 'email', 'example.com/a.png', 'login'];

  it('is all that reaches author, history, the identity cache and tickets', async () => {
    // Act
    const injected = await call(itemHandler, request('POST /talk/item/{room+}', `Token ${token}`, { n: 1 }));
    const ticket = await call(ticketHandler, request('POST /talk/ticket/{room+}', `Token ${token}`));
    const old = await call(oldHandler, request('GET /talk/old/{room+}', `Token ${token}`));
    const cached = await store.cachedIdentity(createHash('sha256').update(token).digest('hex'));

    // Assess
    expect(injected.body.author).toEqual({ id: 'ann-0', username: 'ann-0', name: 'ann-0 Example' });
    expect(cached).toEqual({ userId: 'ann-0', profile: injected.body.author });
    const redeemed = await store.takeTicket(
      createHash('sha256')
        .update(ticket.body.ticket as string)
        .digest('hex'),
    );
    const everything = JSON.stringify([injected, old, cached, redeemed, bus.published]);
    for (const leak of leaks) expect(everything).not.toContain(leak);
  });

  it('is what the $connect authorizer hands on to later routes', async () => {
    const event = fixture<APIGatewayRequestAuthorizerEvent>('ws-authorizer');
    event.queryStringParameters = { room: 'lobby', token };
    const result = (await authorizerHandler(event, lambdaContext())) as { context: Record<string, string> };
    expect(JSON.parse(result.context.profile!)).toEqual({
      id: 'ann-0',
      username: 'ann-0',
      name: 'ann-0 Example',
    });
  });

  it('follows HIPOCHAT_PROFILE_PUBLIC_FIELDS, and HIPOCHAT_PROFILE_ID_FIELD in its default', async () => {
    // Prepare
    setRuntime(undefined);
    start({ HIPOCHAT_PROFILE_PUBLIC_FIELDS: 'username, email' });
    const chosen = await call(itemHandler, request('POST /talk/item/{room+}', `Token ${token}`, { n: 1 }));
    setRuntime(undefined);
    start({ HIPOCHAT_PROFILE_ID_FIELD: 'email' });
    const byDefault = await call(itemHandler, request('POST /talk/item/{room+}', `Token ${token}`, { n: 1 }));

    // Assess
    // The field the user id was read from always stays: old clients know their own messages by it.
    expect(chosen.body.author).toEqual({ id: 'ann-0', username: 'ann-0', email: 'ann-0@example.com' });
    expect(byDefault.body).toMatchObject({ senderId: 'ann-0@example.com' });
    // The id field heads the default list, before `id` and `user_id`.
    expect(byDefault.body.author).toEqual({
      email: 'ann-0@example.com',
      id: 'ann-0',
      username: 'ann-0',
      name: 'ann-0 Example',
    });
  });

  it('narrows an identity cached before the allowlist was', async () => {
    // Prepare: an entry the old denylist let through, still in the cache.
    const tokenHash = createHash('sha256').update(token).digest('hex');
    await store.cacheIdentity(tokenHash, { userId: 'ann-0', profile: carelessProfile('ann-0', token) }, 30);

    // Act
    const answer = await call(oldHandler, request('GET /talk/old/{room+}', `Token ${token}`));
    const injected = await call(itemHandler, request('POST /talk/item/{room+}', `Token ${token}`, { n: 1 }));

    // Assess
    expect(answer.status).toBe(200);
    expect(profileCalls).toEqual([]);
    expect(injected.body.author).toEqual({ id: 'ann-0', username: 'ann-0', name: 'ann-0 Example' });
  });
});
