import type {
  APIGatewayProxyEventV2,
  APIGatewayRequestAuthorizerEvent,
  CloudFormationCustomResourceCreateEvent,
  Context,
} from 'aws-lambda';
import { noteSuccess } from '../../lambdas/core/failure-log.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { handler as topologyHandler } from '../../lambdas/handlers/custom/topology.js';
import { handler as historyHandler } from '../../lambdas/handlers/http/history.js';
import { handler as itemHandler } from '../../lambdas/handlers/http/item.js';
import { handler as newChatRoomHandler } from '../../lambdas/handlers/http/new-chat-room.js';
import { handler as notificationHandler } from '../../lambdas/handlers/http/notification.js';
import { handler as oldHandler } from '../../lambdas/handlers/http/old.js';
import { handler as unsubscribeHandler } from '../../lambdas/handlers/http/unsubscribe.js';
import { handler as fanoutHandler } from '../../lambdas/handlers/mq/fanout.js';
import type { RabbitMqEvent } from '../../lambdas/handlers/mq/rabbitmq-event.js';
import type { WebSocketEvent } from '../../lambdas/handlers/shared/websocket.js';
import { handler as authorizerHandler } from '../../lambdas/handlers/ws/authorizer.js';
import { handler as connectHandler } from '../../lambdas/handlers/ws/connect.js';
import { handler as disconnectHandler } from '../../lambdas/handlers/ws/disconnect.js';
import { handler as messageHandler } from '../../lambdas/handlers/ws/message.js';
import type { ChatMessage } from '../../protocol/index.js';
import {
  asResult,
  bodyOf,
  fixture,
  installRuntime,
  lambdaContext,
  linesWritten,
  resetRuntime,
  stubProfileEndpoint,
} from '../support/handler-runtime.js';
import { RecordingBus } from '../support/recording-bus.js';
import { RecordingSender } from '../support/recording-sender.js';

/** Calls a handler as Lambda does: with the event and a context. */
const invoked =
  <E, R>(handler: (event: E, context?: Context) => Promise<R>) =>
  (event: E, context: Context = lambdaContext()) =>
    handler(event, context);

const authorizer = invoked(authorizerHandler);
const connect = invoked(connectHandler);
const message = invoked(messageHandler);
const disconnect = invoked(disconnectHandler);
const old = invoked(oldHandler);
const item = invoked(itemHandler);
const notification = invoked(notificationHandler);
const history = invoked(historyHandler);
const newChatRoom = invoked(newChatRoomHandler);
const unsubscribe = invoked(unsubscribeHandler);
const fanout = invoked(fanoutHandler);
const topology = invoked(topologyHandler);

let store: MemoryStore;
let bus: RecordingBus;
let sender: RecordingSender;

beforeEach(() => {
  store = new MemoryStore();
  bus = new RecordingBus();
  sender = new RecordingSender();
  installRuntime({ HIPOCHAT_SERVICE_KEY: 'service-key' }, { store, bus, sender });
  stubProfileEndpoint();
  // Each test starts with no outage logged, as after a request that succeeded.
  noteSuccess();
});

afterEach(resetRuntime);

describe('$connect authorizer', () => {
  it('allows a valid token and hands room, user id and profile to later routes', async () => {
    const result = await authorizer(fixture<APIGatewayRequestAuthorizerEvent>('ws-authorizer'));
    expect(result.policyDocument.Statement[0]).toMatchObject({
      Effect: 'Allow',
      Action: 'execute-api:Invoke',
    });
    expect(result.context).toEqual({
      room: 'lobby',
      userId: 'alice',
      profile: '{"id":"alice","username":"alice"}',
    });
  });

  it('answers 401 (throws Unauthorized) for a refused token', async () => {
    const event = fixture<APIGatewayRequestAuthorizerEvent>('ws-authorizer');
    event.queryStringParameters = { room: 'lobby', token: 'Bad-Token-1' };
    await expect(authorizer(event)).rejects.toThrow('Unauthorized');
  });

  it('denies a bad room name and a closed room to a non-member', async () => {
    for (const room of ['bad room', 'vip-lounge']) {
      const event = fixture<APIGatewayRequestAuthorizerEvent>('ws-authorizer');
      event.queryStringParameters = { room, token: 'alice' };
      expect((await authorizer(event)).policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny' });
    }
  });

  it('fails (500) rather than refusing when the profile endpoint is down', async () => {
    jest.spyOn(globalThis, 'fetch').mockRejectedValue(new TypeError('fetch failed'));
    await expect(authorizer(fixture<APIGatewayRequestAuthorizerEvent>('ws-authorizer'))).rejects.toThrow(
      'profile endpoint unavailable',
    );
  });
});

describe('$connect', () => {
  it('records the connection and makes the user a member', async () => {
    expect(await connect(fixture<WebSocketEvent>('ws-connect'))).toEqual({ statusCode: 200 });
    expect(await store.connections('lobby')).toEqual([{ connectionId: 'Lx1xYcDuoAMCJrg=', userId: 'alice' }]);
    expect(await store.isMember('lobby', 'alice')).toBe(true);
  });

  it('answers 401 without an authorizer context', async () => {
    const event = fixture<WebSocketEvent>('ws-connect');
    delete event.requestContext.authorizer;
    expect(asResult(await connect(event)).statusCode).toBe(401);
  });
});

describe('$default', () => {
  it('stores and publishes the message and acks the clientId', async () => {
    const result = asResult(await message(fixture<WebSocketEvent>('ws-default')));
    expect(bus.published).toHaveLength(1);
    expect(bus.published[0]).toMatchObject({
      body: 'hello',
      room: 'lobby',
      token: 'lobby',
      senderId: 'alice',
      clientId: 'c-1',
    });
    expect(bodyOf(result)).toEqual({ type: 'ack', id: bus.published[0]!.id, clientId: 'c-1' });
  });

  it('answers the keep-alive {"type":"ping"} with {"type":"pong"}, storing and publishing nothing', async () => {
    const event = { ...fixture<WebSocketEvent>('ws-default'), body: '{"type":"ping"}' };
    delete event.requestContext.authorizer;
    expect(await message(event)).toEqual({ statusCode: 200, body: '{"type":"pong"}' });
    expect(bus.published).toEqual([]);
    expect((await store.read('lobby', 'alice')).messages).toEqual([]);
  });

  it('falls back to the connection record when the authorizer context is missing', async () => {
    await connect(fixture<WebSocketEvent>('ws-connect'));
    const event = fixture<WebSocketEvent>('ws-default');
    delete event.requestContext.authorizer;
    await message(event);
    expect(bus.published[0]?.author).toEqual({ id: 'alice', username: 'alice' });
  });

  it.each([
    ['not json', 400, 'frame is not valid JSON'],
    ['{"type":"message"}', 400, 'missing body'],
    [JSON.stringify({ body: 'x'.repeat(20_000) }), 413, 'message too large: limit is 16384 bytes'],
  ])('answers %j with an error frame and publishes nothing', async (body, statusCode, error) => {
    const event = { ...fixture<WebSocketEvent>('ws-default'), body };
    const result = asResult(await message(event));
    expect(result.statusCode).toBe(statusCode);
    expect(bodyOf(result)).toEqual({ ERROR: error });
    expect(bus.published).toEqual([]);
  });

  it('refuses a user over HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE across rooms, storing nothing', async () => {
    installRuntime({ HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE: '2' }, { store, bus, sender });
    const inRoom = (room: string): WebSocketEvent => {
      const event = fixture<WebSocketEvent>('ws-default');
      event.requestContext.authorizer!.room = room;
      event.body = JSON.stringify({ body: `to ${room}` });
      return event;
    };
    await message(inRoom('lobby'));
    await message(inRoom('kitchen'));
    const refused = asResult(await message(inRoom('garden')));
    expect(refused.statusCode).toBe(429);
    expect(bodyOf(refused)).toEqual({ ERROR: 'rate limit exceeded: 2 messages per minute across rooms' });
    expect(bus.published.map((m) => m.room)).toEqual(['lobby', 'kitchen']);
    expect((await store.read('garden', 'alice')).messages).toEqual([]);
  });

  it('retracts the stored message when the broker refuses it', async () => {
    bus.down = true;
    const result = asResult(await message(fixture<WebSocketEvent>('ws-default')));
    expect(bodyOf(result)).toEqual({ ERROR: 'broker unavailable', clientId: 'c-1' });
    expect(result.statusCode).toBe(503);
    expect((await store.read('lobby', 'alice')).messages).toEqual([]);
  });
});

describe('$disconnect', () => {
  it('forgets the connection and marks the room read up to the moment it closed', async () => {
    await connect(fixture<WebSocketEvent>('ws-connect'));
    await message(fixture<WebSocketEvent>('ws-default'));
    expect(await disconnect(fixture<WebSocketEvent>('ws-disconnect'))).toEqual({ statusCode: 200 });
    expect(await store.connections('lobby')).toEqual([]);
  });
});

describe('GET /talk/old/{room}/', () => {
  it('answers both Hipochat shapes', async () => {
    await message(fixture<WebSocketEvent>('ws-default'));
    const result = asResult(await old(fixture<APIGatewayProxyEventV2>('http-old')));
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'content-type': 'application/json' });
    const body = bodyOf(result) as { oldy: ChatMessage[]; results: Record<string, ChatMessage[]> };
    expect(body.oldy.map((m) => m.body)).toEqual(['hello']);
    expect(body.results.read_messages!.map((m) => m.body)).toEqual(['hello']);
    expect(body.results.unread_messages).toEqual([]);
  });

  it('answers 401 with a JSON error for a refused token', async () => {
    const event = fixture<APIGatewayProxyEventV2>('http-old');
    event.headers.authorization = 'Token 123';
    expect(asResult(await old(event)).statusCode).toBe(401);
    expect(bodyOf(await old(event))).toEqual({
      error: expect.stringMatching(/^authentication error: the token was refused; reading messages requires/),
    });
  });
});

describe('POST /talk/item/{room}/', () => {
  it('injects the (base64) JSON body once per Idempotency-Key', async () => {
    const first = asResult(await item(fixture<APIGatewayProxyEventV2>('http-item')));
    const again = asResult(await item(fixture<APIGatewayProxyEventV2>('http-item')));
    expect(first.statusCode).toBe(201);
    expect(bodyOf(first)).toMatchObject({
      type: 'notification',
      body: { message: 'foobar', user: 'johndoe' },
      senderId: 'backend',
    });
    expect(bodyOf(again).id).toBe(bodyOf(first).id);
    expect((await store.read('lobby', 'x')).messages).toHaveLength(1);
  });

  it('refuses invalid UTF-8 with a 400', async () => {
    const event = {
      ...fixture<APIGatewayProxyEventV2>('http-item'),
      body: Buffer.from([0x7b, 0xff, 0x7d]).toString('base64'),
    };
    expect(bodyOf(await item(event))).toEqual({ error: 'body is not valid UTF-8' });
  });
});

describe('GET /talk/notification/{room}/ and /talk/history/{rooms}/', () => {
  it('counts unread messages and lists the latest ones per room', async () => {
    await store.addMembers('lobby', ['bob']);
    await message(fixture<WebSocketEvent>('ws-default'));
    const asBob = fixture<APIGatewayProxyEventV2>('http-old');
    asBob.headers.authorization = 'Token bob';
    expect(bodyOf(await notification(asBob))).toEqual({ notification: 1, mentions: 0 });

    const historyEvent = {
      ...asBob,
      routeKey: 'GET /talk/history/{rooms+}',
      pathParameters: { rooms: 'lobby,empty/' },
    };
    const { results } = bodyOf(await history(historyEvent)) as {
      results: { room_name: string; unread_count: number }[];
    };
    expect(results.map((r) => [r.room_name, r.unread_count])).toEqual([
      ['lobby', 1],
      ['empty', 0],
    ]);
  });
});

describe('membership routes', () => {
  const membership = (members: string[], key = 'service-key') => ({
    ...fixture<APIGatewayProxyEventV2>('http-item'),
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ members }),
    isBase64Encoded: false,
  });

  it('adds members with the service key and refuses another key with a 401', async () => {
    expect(bodyOf(await newChatRoom(membership(['zoe'])))).toEqual({ room: 'lobby', added: ['zoe'] });
    expect(asResult(await newChatRoom(membership(['zoe'], 'guess'))).statusCode).toBe(401);
  });

  it('unsubscribe removes the member and closes exactly their connections', async () => {
    await connect(fixture<WebSocketEvent>('ws-connect'));
    await store.connect('lobby', 'other', { userId: 'bob', profile: {} }, 60);
    expect(bodyOf(await unsubscribe(membership(['alice'])))).toEqual({
      room: 'lobby',
      removed: ['alice'],
      disconnected: 1,
    });
    expect(sender.closed).toEqual(['Lx1xYcDuoAMCJrg=']);
  });
});

describe('fan-out consumer (aws:rmq)', () => {
  it('delivers to every connection, removes exactly the one that answered 410, skips a malformed body', async () => {
    await store.connect('lobby', 'live', { userId: 'bob', profile: {} }, 60);
    await store.connect('lobby', 'stale', { userId: 'cat', profile: {} }, 60);
    sender.gone.add('stale');
    const report = await fanout(fixture<RabbitMqEvent>('rmq-batch'));
    expect(report).toMatchObject({ messages: 1, sent: 1, gone: 1, failed: 0 });
    expect(sender.posts).toEqual([
      { connectionId: 'live', data: expect.objectContaining({ id: '1795667293000-0', body: 'hello' }) },
    ]);
    expect(await store.connections('lobby')).toEqual([{ connectionId: 'live', userId: 'bob' }]);
  });
});

describe('topology custom resource', () => {
  it('leaves the queues alone on Delete', async () => {
    const event = {
      ...fixture<CloudFormationCustomResourceCreateEvent>('cfn-topology-create'),
      RequestType: 'Delete' as const,
      PhysicalResourceId: 'hipochat-topology',
    };
    expect(await topology(event)).toEqual({ PhysicalResourceId: 'hipochat-topology' });
  });

  it('refuses a shard count out of range by the rule of HIPOCHAT_FANOUT_SHARDS, before reaching the broker', async () => {
    const event = fixture<CloudFormationCustomResourceCreateEvent>('cfn-topology-create');
    event.ResourceProperties.Shards = '65';
    await expect(topology(event)).rejects.toThrow(
      'HIPOCHAT_FANOUT_SHARDS must be an integer from 1 to 64, got "65"',
    );
  });
});

describe('invocation log', () => {
  /** The JSON lines written to stderr (warnings and errors) while `act` runs. */
  async function errorLines(act: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
    return (await linesWritten(process.stderr, act))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('logs a failed request as one line with its request id, route, connection, room, user and error', async () => {
    // Prepare
    bus.down = true;

    // Act
    const lines = await errorLines(() =>
      message(fixture<WebSocketEvent>('ws-default'), lambdaContext('req-1')),
    );

    // Assess
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'request failed',
        service: 'hipochat',
        function_request_id: 'req-1',
        function_name: 'hipochat-prod-message',
        route: '$default',
        connectionId: 'Lx1xYcDuoAMCJrg=',
        room: 'lobby',
        userId: 'alice',
        status: 503,
        error: expect.objectContaining({ name: 'ServiceUnavailableError', message: 'broker unavailable' }),
      }),
    ]);
  });

  it('keeps the keys of each invocation to its own lines, overlapping or not', async () => {
    // Prepare: the lobby's publish meets a broker outage, the kitchen's append a bug.
    bus.down = true;
    const append = store.append.bind(store);
    jest
      .spyOn(store, 'append')
      .mockImplementation((message, options) =>
        message.room === 'kitchen' ? Promise.reject(new TypeError('boom')) : append(message, options),
      );
    const inRoom = (room: string): WebSocketEvent => {
      const event = fixture<WebSocketEvent>('ws-default');
      event.requestContext.authorizer!.room = room;
      return event;
    };
    const profileDown = fixture<APIGatewayRequestAuthorizerEvent>('ws-authorizer');
    profileDown.queryStringParameters = { room: 'garden', token: 'alice' };

    // Act
    const lines = await errorLines(async () => {
      await Promise.all([
        message(inRoom('lobby'), lambdaContext('req-lobby')),
        message(inRoom('kitchen'), lambdaContext('req-kitchen')),
      ]);
      jest.spyOn(globalThis, 'fetch').mockRejectedValue(new TypeError('fetch failed'));
      await authorizer(profileDown, lambdaContext('req-garden')).catch(() => undefined);
    });

    // Assess
    const byRequest = Object.fromEntries(lines.map((line) => [line.function_request_id, line]));
    expect(byRequest['req-lobby']).toMatchObject({ room: 'lobby', userId: 'alice' });
    expect(byRequest['req-kitchen']).toMatchObject({ room: 'kitchen', userId: 'alice' });
    expect(byRequest['req-garden']).toMatchObject({ route: 'authorizer', room: 'garden', status: 503 });
    expect(byRequest['req-garden']).not.toHaveProperty('userId');
  });

  it('logs an outage once while its cause stays the same, and again once a request succeeded', async () => {
    // Prepare
    bus.down = true;
    // Each send its own clientId, so none is answered as a resend of an earlier one.
    const send = (id: string) =>
      message(
        { ...fixture<WebSocketEvent>('ws-default'), body: JSON.stringify({ body: 'hi', clientId: id }) },
        lambdaContext(id),
      );

    // Act
    const during = await errorLines(async () => {
      for (const id of ['req-1', 'req-2', 'req-3']) await send(id);
    });
    bus.down = false;
    await send('req-4');
    bus.down = true;
    const after = await errorLines(() => send('req-5'));

    // Assess
    expect(during.map((line) => line.function_request_id)).toEqual(['req-1']);
    expect(during[0]).toMatchObject({ status: 503, error: { message: 'broker unavailable' } });
    expect(after.map((line) => line.function_request_id)).toEqual(['req-5']);
  });

  it('logs every failure that is no outage, such as a bug', async () => {
    // Prepare
    jest.spyOn(store, 'append').mockRejectedValue(new TypeError('boom'));

    // Act
    const lines = await errorLines(async () => {
      for (const id of ['req-1', 'req-2'])
        await message(fixture<WebSocketEvent>('ws-default'), lambdaContext(id));
    });

    // Assess
    expect(lines).toEqual([
      expect.objectContaining({ function_request_id: 'req-1', status: 500 }),
      expect.objectContaining({ function_request_id: 'req-2', status: 500 }),
    ]);
  });

  it("logs nothing for a request refused for the caller's mistake", async () => {
    // Prepare
    const event = { ...fixture<WebSocketEvent>('ws-default'), body: 'not json' };

    // Act
    const lines = await errorLines(() => message(event));

    // Assess
    expect(lines).toEqual([]);
  });
});
