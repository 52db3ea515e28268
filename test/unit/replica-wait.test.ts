import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createStore } from '../../lambdas/core/adapters.js';
import { loadConfig } from '../../lambdas/core/config.js';
import { ConfigError, NotAcknowledgedError, toHttpError } from '../../lambdas/core/errors.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { handler as itemHandler } from '../../lambdas/handlers/http/item.js';
import { handler as newChatRoomHandler } from '../../lambdas/handlers/http/new-chat-room.js';
import { handler as unsubscribeHandler } from '../../lambdas/handlers/http/unsubscribe.js';
import type { WebSocketEvent } from '../../lambdas/handlers/shared/websocket.js';
import { handler as messageHandler } from '../../lambdas/handlers/ws/message.js';
import {
  asResult,
  bodyOf,
  fixture,
  installRuntime,
  lambdaContext,
  resetRuntime,
  stubProfileEndpoint,
} from '../support/handler-runtime.js';
import { RecordingBus } from '../support/recording-bus.js';
import { RecordingSender } from '../support/recording-sender.js';

const NOT_ACKNOWLEDGED = 'not acknowledged: the store could not replicate it in time; it may be retried';

let store: MemoryStore;
let bus: RecordingBus;

/** A `$default` frame of alice in the lobby. */
function frame(fields: Record<string, unknown>): WebSocketEvent {
  return { ...fixture<WebSocketEvent>('ws-default'), body: JSON.stringify(fields) };
}

/** A backend call with the service key. */
function backend(body: unknown): APIGatewayProxyEventV2 {
  return {
    ...fixture<APIGatewayProxyEventV2>('http-item'),
    headers: { authorization: 'Bearer service-key', 'content-type': 'application/json' },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

const send = async (event: WebSocketEvent) => asResult(await messageHandler(event, lambdaContext()));
const http = async (
  handler: (event: APIGatewayProxyEventV2, context: ReturnType<typeof lambdaContext>) => Promise<unknown>,
  event: APIGatewayProxyEventV2,
) => asResult(await handler(event, lambdaContext()));

beforeEach(() => {
  store = new MemoryStore();
  bus = new RecordingBus();
  installRuntime({ HIPOCHAT_SERVICE_KEY: 'service-key' }, { store, bus, sender: new RecordingSender() });
  stubProfileEndpoint();
});

afterEach(() => {
  resetRuntime();
  jest.restoreAllMocks();
});

describe('a write the replicas did not confirm (NotAcknowledgedError)', () => {
  it('answers a message frame with a retryable error frame naming its clientId, and publishes nothing', async () => {
    jest.spyOn(store, 'append').mockRejectedValue(new NotAcknowledgedError());
    const result = await send(frame({ type: 'message', body: 'hello', clientId: 'c-1' }));
    expect(result.statusCode).toBe(503);
    expect(bodyOf(result)).toEqual({ ERROR: NOT_ACKNOWLEDGED, clientId: 'c-1' });
    expect(bus.published).toEqual([]);
  });

  it.each([
    ['an edit', { type: 'edit', body: 'hello!' }, 'replace'],
    ['a delete', { type: 'delete' }, 'replace'],
    ['a reaction', { type: 'react', emoji: '👍' }, 'react'],
  ] as const)(
    'answers %s with the same error frame, and announces nothing',
    async (_what, change, method) => {
      expect((await send(frame({ type: 'message', body: 'hello' }))).statusCode).toBe(200);
      const [stored] = bus.published;
      bus.published = [];
      jest.spyOn(store.changes, method).mockRejectedValue(new NotAcknowledgedError());
      const result = await send(frame({ ...change, id: stored!.id, clientId: 'x-1' }));
      expect(bodyOf(result)).toEqual({ ERROR: NOT_ACKNOWLEDGED, clientId: 'x-1' });
      expect(bus.published).toEqual([]);
    },
  );

  it('answers an injection with 503, Retry-After and retryAfter, and publishes nothing', async () => {
    jest.spyOn(store, 'append').mockRejectedValue(new NotAcknowledgedError());
    const result = await http(itemHandler, backend({ text: 'notice' }));
    expect(result.statusCode).toBe(503);
    expect(result.headers).toMatchObject({ 'retry-after': '1' });
    expect(bodyOf(result)).toEqual({ error: NOT_ACKNOWLEDGED, retryAfter: 1 });
    expect(bus.published).toEqual([]);
  });

  it.each([
    ['POST /talk/new-chat-room', newChatRoomHandler, 'addMembers'],
    ['POST /talk/unsubscribe', unsubscribeHandler, 'removeMembers'],
  ] as const)('answers %s with 503 and Retry-After', async (_route, handler, method) => {
    jest.spyOn(store, method).mockRejectedValue(new NotAcknowledgedError());
    const result = await http(handler, backend({ members: ['zoe'] }));
    expect(result.statusCode).toBe(503);
    expect(result.headers).toMatchObject({ 'retry-after': '1' });
    expect(bodyOf(result)).toEqual({ error: NOT_ACKNOWLEDGED, retryAfter: 1 });
  });

  it('is a 503 (ServiceUnavailableError) with its Retry-After', () => {
    const error = toHttpError(new NotAcknowledgedError(2));
    expect(error.statusCode).toBe(503);
    expect(error.headers()).toEqual({ 'retry-after': '2' });
  });
});

describe('HIPOCHAT_REDIS_WAIT_REPLICAS and HIPOCHAT_REDIS_WAIT_MS', () => {
  it('are off (0 replicas) by default, 100 ms when on', () => {
    expect(loadConfig({})).toMatchObject({ redisWaitReplicas: 0, redisWaitMs: 100 });
    expect(loadConfig({ HIPOCHAT_REDIS_WAIT_REPLICAS: '1', HIPOCHAT_REDIS_WAIT_MS: '250' })).toMatchObject({
      redisWaitReplicas: 1,
      redisWaitMs: 250,
    });
  });

  it.each([
    ['HIPOCHAT_REDIS_WAIT_REPLICAS', '-1'],
    ['HIPOCHAT_REDIS_WAIT_MS', '0'],
  ])('refuses %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('leave the in-memory store alone: it has no replicas and acknowledges at once', async () => {
    const memory = createStore(loadConfig({ HIPOCHAT_REDIS_WAIT_REPLICAS: '1' }));
    expect(memory).toBeInstanceOf(MemoryStore);
    const { duplicate } = await memory.append({
      type: 'message',
      room: 'lobby',
      token: 'lobby',
      timestamp: 1,
      body: 'hi',
      author: null,
    });
    expect(duplicate).toBe(false);
  });
});
