import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { NestingTooDeepError } from '../../lambdas/core/errors.js';
import { logger } from '../../lambdas/core/logger.js';
import { nestsDeeperThan, parseJson, readFrame } from '../../lambdas/core/protocol.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { handler as historyHandler } from '../../lambdas/handlers/http/history.js';
import { handler as itemHandler } from '../../lambdas/handlers/http/item.js';
import { handler as oldHandler } from '../../lambdas/handlers/http/old.js';
import { handler as unsubscribeHandler } from '../../lambdas/handlers/http/unsubscribe.js';
import type { WebSocketEvent } from '../../lambdas/handlers/shared/websocket.js';
import { handler as connectHandler } from '../../lambdas/handlers/ws/connect.js';
import { handler as messageHandler } from '../../lambdas/handlers/ws/message.js';
import {
  asResult,
  bodyOf,
  fixture,
  installRuntime,
  resetRuntime,
  stubProfileEndpoint,
} from '../support/handler-runtime.js';
import { RecordingBus } from '../support/recording-bus.js';
import { RecordingSender } from '../support/recording-sender.js';

const SERVICE_KEY = 'service-key';
const LIMIT_TEXT = 'message too deeply nested: the limit is 32 levels';

/** `depth` levels of arrays around `inner`: `nested(2)` is `[[1]]`. */
const nested = (depth: number, inner = '1') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
/** `depth` levels of objects: `objects(2)` is `{"a":{"a":1}}`. */
const objects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

let store: MemoryStore;
let bus: RecordingBus;
let sender: RecordingSender;

/** A runtime on fresh twins with `env` on top of a profile endpoint, a service key and closed `vip-*`. */
function start(env: Record<string, string> = {}): void {
  store = new MemoryStore();
  bus = new RecordingBus();
  sender = new RecordingSender();
  installRuntime({ HIPOCHAT_SERVICE_KEY: SERVICE_KEY, ...env }, { store, bus, sender });
}

beforeEach(() => {
  start();
  stubProfileEndpoint();
});

afterEach(resetRuntime);

/** A `$default` frame from `user` in `room`. */
function frame(body: string, room = 'lobby', user = 'alice'): WebSocketEvent {
  const event = fixture<WebSocketEvent>('ws-default');
  event.requestContext.authorizer = {
    room,
    userId: user,
    profile: JSON.stringify({ id: user, username: user }),
  };
  event.body = body;
  return event;
}

/** `POST /talk/item/{room}/` with a JSON body, as a user (`Token <name>`) or the backend (`Bearer`). */
function item(
  body: string,
  {
    room = 'lobby',
    authorization = 'Token alice',
    key,
  }: { room?: string; authorization?: string; key?: string } = {},
): APIGatewayProxyEventV2 {
  const event = fixture<APIGatewayProxyEventV2>('http-item');
  event.pathParameters = { room: `${room}/` };
  event.rawPath = `/talk/item/${room}/`;
  event.headers = {
    authorization,
    'content-type': 'application/json',
    ...(key ? { 'idempotency-key': key } : {}),
  };
  event.queryStringParameters = { type: 'message' };
  event.body = body;
  event.isBase64Encoded = false;
  return event;
}

const readerGet = (path: 'old' | 'history', room: string): APIGatewayProxyEventV2 => {
  const event = fixture<APIGatewayProxyEventV2>('http-old');
  event.pathParameters = { [path === 'old' ? 'room' : 'rooms']: `${room}/` };
  event.headers = { authorization: 'Token bob' };
  event.queryStringParameters = {};
  return event;
};

const stored = async (room = 'lobby') => (await store.read(room, 'reader')).messages;

describe('nesting depth of a JSON value', () => {
  it.each([
    { what: 'a string', text: '"x"', depth: 0 },
    { what: 'an empty array', text: '[]', depth: 1 },
    { what: 'an object holding an array', text: '{"a":[1]}', depth: 2 },
    { what: '32 levels of arrays', text: nested(32), depth: 32 },
    { what: '32 levels of objects', text: objects(32), depth: 32 },
    {
      what: 'a wide, shallow array',
      text: `[${Array.from({ length: 1000 }, () => '[]').join(',')}]`,
      depth: 2,
    },
    { what: 'a deep branch after a shallow one', text: `[1,{"b":2},${nested(40)}]`, depth: 41 },
  ])('measures $what as $depth levels', ({ text, depth }) => {
    const value = JSON.parse(text) as unknown;
    expect(nestsDeeperThan(value, depth)).toBe(false);
    if (depth > 0) expect(nestsDeeperThan(value, depth - 1)).toBe(true);
  });

  it('checks a body 100,000 levels deep without a RangeError', () => {
    const value = JSON.parse(nested(100_000)) as unknown;
    expect(nestsDeeperThan(value, 32)).toBe(true);
    expect(() => parseJson(nested(100_000), 1_000_000, 'body', 32)).toThrow(NestingTooDeepError);
  });

  it('refuses an item body one level past the limit with the limit in the message', () => {
    expect(parseJson(nested(32), 1024, 'body', 32)).toBeDefined();
    expect(() => parseJson(nested(33), 1024, 'body', 32)).toThrow(LIMIT_TEXT);
  });

  it('lets a frame body and every client field nest as deep as the limit, not deeper', () => {
    const rules = { maxMessageBytes: 4096, maxBodyDepth: 32, messageTypes: ['message'], ephemeralTypes: [] };
    expect(readFrame(`{"body":${objects(32)},"meta":${nested(32)}}`, rules)).toBeDefined();
    expect(() => readFrame(`{"body":${objects(33)}}`, rules)).toThrow(LIMIT_TEXT);
    expect(() => readFrame(`{"body":"x","meta":${nested(33)}}`, rules)).toThrow(LIMIT_TEXT);
  });
});

describe('$default', () => {
  it.each([
    ['33 levels of objects', objects(33)],
    ['5,000 levels of arrays', nested(5000)],
  ])(
    'refuses a frame whose body nests %s with a 400 error frame naming the clientId, storing nothing',
    async (_what, body) => {
      const result = asResult(await messageHandler(frame(`{"body":${body},"clientId":"deep"}`)));
      expect(result.statusCode).toBe(400);
      expect(bodyOf(result)).toEqual({ ERROR: LIMIT_TEXT, clientId: 'deep' });
      expect(bus.published).toEqual([]);
      expect(await stored()).toEqual([]);
    },
  );

  it('stores a body nested exactly HIPOCHAT_MAX_BODY_DEPTH levels', async () => {
    start({ HIPOCHAT_MAX_BODY_DEPTH: '3' });
    const result = asResult(await messageHandler(frame(`{"body":${nested(3)},"clientId":"ok"}`)));
    expect(bodyOf(result)).toMatchObject({ type: 'ack', clientId: 'ok' });
    const refused = asResult(await messageHandler(frame(`{"body":${nested(4)},"clientId":"no"}`)));
    expect(bodyOf(refused)).toEqual({
      ERROR: 'message too deeply nested: the limit is 3 levels',
      clientId: 'no',
    });
  });

  it('acks a retried clientId with the first id and publishes the message once', async () => {
    const first = bodyOf(await messageHandler(frame('{"body":"once","clientId":"r-1"}')));
    const again = bodyOf(await messageHandler(frame('{"body":"once","clientId":"r-1"}')));
    expect(again).toEqual(first);
    expect(bus.published.map((m) => m.id)).toEqual([first.id]);
  });

  it('keeps the clientId records of two users apart', async () => {
    await messageHandler(frame('{"body":"from alice","clientId":"c-9"}', 'lobby', 'alice'));
    const bob = bodyOf(await messageHandler(frame('{"body":"from bob","clientId":"c-9"}', 'lobby', 'bob')));
    expect(bus.published.map((m) => m.body)).toEqual(['from alice', 'from bob']);
    expect(bob.id).toBe(bus.published[1]!.id);
  });

  it('refuses a member removed from a closed room whose socket could not be closed', async () => {
    // Prepare: alice is a member with an open socket; closing it fails when she is removed.
    jest.spyOn(logger, 'warn').mockImplementation(() => {});
    jest.spyOn(sender, 'disconnect').mockRejectedValue(new Error('GoneException? no: timeout'));
    const connect = fixture<WebSocketEvent>('ws-connect');
    connect.requestContext.authorizer = { ...connect.requestContext.authorizer, room: 'vip-1' };
    await store.addMembers('vip-1', ['alice']);
    await connectHandler(connect);
    expect(
      bodyOf(await messageHandler(frame('{"body":"while a member","clientId":"m-1"}', 'vip-1'))).type,
    ).toBe('ack');
    const removal = {
      ...item(JSON.stringify({ members: ['alice'] }), {
        room: 'vip-1',
        authorization: `Bearer ${SERVICE_KEY}`,
      }),
      routeKey: 'POST /talk/unsubscribe/{room+}',
    };
    expect(bodyOf(await unsubscribeHandler(removal))).toMatchObject({ removed: ['alice'], disconnected: 1 });

    // Act
    const result = asResult(
      await messageHandler(frame('{"body":"after removal","clientId":"m-2"}', 'vip-1')),
    );

    // Assess
    expect(result.statusCode).toBe(403);
    expect(bodyOf(result)).toEqual({ ERROR: 'room is closed to non-members', clientId: 'm-2' });
    expect(bus.published.map((m) => m.body)).toEqual(['while a member']);
  });

  it('asks the store nothing about membership in an open room', async () => {
    const isMember = jest.spyOn(store, 'isMember');
    await messageHandler(frame('{"body":"open room"}'));
    expect(isMember).not.toHaveBeenCalled();
    expect(bus.published).toHaveLength(1);
  });
});

describe('POST /talk/item/{room}/', () => {
  it.each([
    ['a user', 'Token alice'],
    ['the backend', `Bearer ${SERVICE_KEY}`],
  ])('refuses a body 5,000 levels deep from %s with 400, storing nothing', async (_who, authorization) => {
    const result = asResult(await itemHandler(item(nested(5000), { authorization })));
    expect(result.statusCode).toBe(400);
    expect(bodyOf(result)).toEqual({ error: LIMIT_TEXT });
    expect(bus.published).toEqual([]);
    expect(await stored()).toEqual([]);
  });

  it('leaves /talk/old and /talk/history answering after deep bodies were refused', async () => {
    for (const depth of [3000, 3500, 4000, 4500, 5000]) {
      expect(asResult(await itemHandler(item(nested(depth)))).statusCode).toBe(400);
    }
    await itemHandler(item('{"fine":true}'));
    expect(asResult(await oldHandler(readerGet('old', 'lobby'))).statusCode).toBe(200);
    expect(asResult(await historyHandler(readerGet('history', 'lobby'))).statusCode).toBe(200);
  });

  it("does not answer the backend's Idempotency-Key with a user's message of the same key", async () => {
    // Prepare
    const user = bodyOf(await itemHandler(item('{"from":"alice"}', { key: 'order-42' })));

    // Act
    const backend = asResult(
      await itemHandler(
        item('{"from":"backend"}', { key: 'order-42', authorization: `Bearer ${SERVICE_KEY}` }),
      ),
    );

    // Assess
    expect(backend.statusCode).toBe(201);
    expect(bodyOf(backend)).toMatchObject({ body: { from: 'backend' }, author: null });
    expect(bodyOf(backend).id).not.toBe(user.id);
    expect((await stored()).map((m) => m.body)).toEqual([{ from: 'alice' }, { from: 'backend' }]);
  });

  it("does not answer a user's Idempotency-Key with another user's message", async () => {
    await itemHandler(item('{"from":"alice"}', { key: 'k-1' }));
    const bob = bodyOf(await itemHandler(item('{"from":"bob"}', { key: 'k-1', authorization: 'Token bob' })));
    expect(bob).toMatchObject({ body: { from: 'bob' }, senderId: 'bob' });
    expect(await stored()).toHaveLength(2);
  });

  it.each([
    ['a user', 'Token alice'],
    ['the backend', `Bearer ${SERVICE_KEY}`],
  ])(
    'answers a retry by %s from its Idempotency-Key with 201, publishing nothing again',
    async (_who, authorization) => {
      const first = bodyOf(await itemHandler(item('{"n":1}', { key: 'retry-me', authorization })));
      for (let i = 0; i < 2; i += 1) {
        const retry = asResult(await itemHandler(item('{"n":1}', { key: 'retry-me', authorization })));
        expect(retry.statusCode).toBe(201);
        expect(bodyOf(retry).id).toBe(first.id);
      }
      expect(bus.published.map((m) => m.id)).toEqual([first.id]);
    },
  );

  it('stores and publishes a retry whose first attempt failed to publish', async () => {
    bus.down = true;
    expect(asResult(await itemHandler(item('{"n":1}', { key: 'after-failure' }))).statusCode).toBe(503);
    bus.down = false;
    const retry = asResult(await itemHandler(item('{"n":1}', { key: 'after-failure' })));
    expect(retry.statusCode).toBe(201);
    expect(bus.published.map((m) => m.id)).toEqual([bodyOf(retry).id]);
    expect(await stored()).toHaveLength(1);
  });

  it("shares a user's per-room budget with their frames and refuses the rest with 429 and Retry-After", async () => {
    // Prepare
    start({ HIPOCHAT_RATE_LIMIT_PER_MINUTE: '3' });
    await messageHandler(frame('{"body":"frame 1"}'));
    await messageHandler(frame('{"body":"frame 2"}'));
    expect(asResult(await itemHandler(item('{"n":3}'))).statusCode).toBe(201);

    // Act
    const refused = asResult(await itemHandler(item('{"n":4}')));

    // Assess
    expect(refused.statusCode).toBe(429);
    const retryAfter = Number(refused.headers?.['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(bodyOf(refused)).toEqual({ error: 'rate limit exceeded', retryAfter });
    expect(await stored()).toHaveLength(3);
    const frameAfter = asResult(await messageHandler(frame('{"body":"frame 5","clientId":"f5"}')));
    expect(bodyOf(frameAfter)).toEqual({ ERROR: 'rate limit exceeded', clientId: 'f5' });
  });

  it("counts a user's injections in the cross-room budget when it is on", async () => {
    start({ HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE: '2' });
    await messageHandler(frame('{"body":"in lobby"}', 'lobby'));
    expect(asResult(await itemHandler(item('{"n":1}', { room: 'kitchen' }))).statusCode).toBe(201);
    const refused = asResult(await itemHandler(item('{"n":2}', { room: 'garden' })));
    expect(refused.statusCode).toBe(429);
    expect(bodyOf(refused)).toEqual({
      error: 'rate limit exceeded: 2 messages per minute across rooms',
      retryAfter: Number(refused.headers?.['retry-after']),
    });
    expect(await stored('garden')).toEqual([]);
  });

  it('does not limit the backend by default, whatever the user budget', async () => {
    start({ HIPOCHAT_RATE_LIMIT_PER_MINUTE: '2', HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE: '2' });
    for (let n = 0; n < 10; n += 1) {
      const result = asResult(
        await itemHandler(item(`{"n":${n}}`, { authorization: `Bearer ${SERVICE_KEY}` })),
      );
      expect(result.statusCode).toBe(201);
    }
    expect(await stored()).toHaveLength(10);
  });

  it('limits the backend per room with HIPOCHAT_BACKEND_RATE_LIMIT_PER_MINUTE, apart from users', async () => {
    // Prepare
    start({ HIPOCHAT_BACKEND_RATE_LIMIT_PER_MINUTE: '2', HIPOCHAT_RATE_LIMIT_PER_MINUTE: '100' });
    const asBackend = (n: number, room = 'lobby') =>
      itemHandler(item(`{"n":${n}}`, { room, authorization: `Bearer ${SERVICE_KEY}` }));
    await asBackend(1);
    await asBackend(2);

    // Act
    const refused = asResult(await asBackend(3));

    // Assess
    expect(refused.statusCode).toBe(429);
    expect(refused.headers?.['retry-after']).toMatch(/^\d+$/);
    expect(bodyOf(refused)).toMatchObject({ error: 'rate limit exceeded' });
    expect(asResult(await itemHandler(item('{"user":true}'))).statusCode).toBe(201);
    expect(asResult(await asBackend(4, 'kitchen')).statusCode).toBe(201);
    expect(await stored()).toHaveLength(3);
  });
});
