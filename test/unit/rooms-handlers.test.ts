import type { APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import type { WebSocketEvent } from '../../lambdas/handlers/shared/websocket.js';
import { handler as authorizerHandler } from '../../lambdas/handlers/ws/authorizer.js';
import { handler as connectHandler } from '../../lambdas/handlers/ws/connect.js';
import { handler as disconnectHandler } from '../../lambdas/handlers/ws/disconnect.js';
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

const invoked =
  <E, R>(handler: (event: E, context?: Context) => Promise<R>) =>
  (event: E) =>
    handler(event, lambdaContext());
const authorizer = invoked(authorizerHandler);
const connect = invoked(connectHandler);
const message = invoked(messageHandler);
const disconnect = invoked(disconnectHandler);

const ID = 'Lx1xYcDuoAMCJrg=';
const ALICE = { userId: 'alice', profile: '{"id":"alice","username":"alice"}', principalId: 'alice' };

/** A route event of the follower `ID` of alice (its authorizer context has no room). */
function followerEvent(name: 'ws-connect' | 'ws-default' | 'ws-disconnect', rooms = ''): WebSocketEvent {
  const event = fixture<WebSocketEvent>(name);
  event.requestContext.authorizer = { ...ALICE, rooms } as WebSocketEvent['requestContext']['authorizer'];
  event.requestContext.connectionId = ID;
  return event;
}

/** Alice's `frame` on her follower connection, answered as the route response. */
async function send(frame: object) {
  const event = followerEvent('ws-default');
  event.body = JSON.stringify(frame);
  return bodyOf(asResult(await message(event)));
}

let store: MemoryStore;
let bus: RecordingBus;

beforeEach(() => {
  store = new MemoryStore();
  bus = new RecordingBus();
  installRuntime(
    { HIPOCHAT_SERVICE_KEY: 'service-key', HIPOCHAT_MAX_ROOMS_PER_CONNECTION: '3' },
    { store, bus, sender: new RecordingSender() },
  );
  stubProfileEndpoint();
});

afterEach(resetRuntime);

describe('$connect authorizer with ?rooms=', () => {
  it.each([
    ['?rooms=a,b', { rooms: 'a,b', token: 'alice' }, 'a,b'],
    ['neither room nor rooms', { token: 'alice' }, ''],
  ])('hands %s to later routes as a comma-separated string, and no room', async (_what, query, rooms) => {
    const event = fixture<APIGatewayRequestAuthorizerEvent>('ws-authorizer');
    event.queryStringParameters = query;
    expect((await authorizer(event)).context).toEqual({
      rooms,
      userId: 'alice',
      profile: '{"id":"alice","username":"alice"}',
    });
  });

  it.each([
    ['a closed room', 'a,vip-1'],
    ['a bad room name', 'a,bad room'],
    ['more rooms than the cap', 'a,b,c,d'],
  ])('denies %s', async (_what, rooms) => {
    const event = fixture<APIGatewayRequestAuthorizerEvent>('ws-authorizer');
    event.queryStringParameters = { rooms, token: 'alice' };
    expect((await authorizer(event)).policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny' });
  });
});

describe('a follower connection through the routes', () => {
  it('joins its rooms at $connect, subscribes and unsubscribes by frame, and leaves every room at $disconnect', async () => {
    expect(await connect(followerEvent('ws-connect', 'a,b'))).toEqual({ statusCode: 200 });
    expect(await send({ type: 'subscribe', room: 'c' })).toEqual({
      type: 'subscribed',
      room: 'c',
      unread: 0,
    });
    expect(await send({ type: 'subscribe', room: 'd' })).toEqual({
      ERROR: 'at most 3 rooms per connection',
      room: 'd',
    });
    expect(await send({ type: 'unsubscribe', room: 'a' })).toEqual({ type: 'unsubscribed', room: 'a' });
    expect((await store.followers.follower(ID))?.rooms).toEqual(['b', 'c']);
    expect(await store.connections('a')).toEqual([]);

    await disconnect(followerEvent('ws-disconnect'));

    for (const room of ['b', 'c']) expect(await store.connections(room)).toEqual([]);
    expect(await store.followers.follower(ID)).toBeNull();
  });

  it('sends to the room a frame names, refuses one without a room on several, and stores nothing then', async () => {
    await connect(followerEvent('ws-connect', 'a,b'));
    expect(await send({ body: 'lost', clientId: 'x' })).toEqual({
      ERROR: 'room is required: this connection follows several rooms',
      clientId: 'x',
    });
    expect(bus.published).toEqual([]);
    expect(await send({ body: 'hi', clientId: 'y', room: 'b' })).toMatchObject({
      type: 'ack',
      clientId: 'y',
    });
    expect(bus.published).toEqual([expect.objectContaining({ room: 'b', body: 'hi' })]);
  });

  it('answers {"type":"unread"} with the unread count of each of the user\'s rooms', async () => {
    await connect(followerEvent('ws-connect', 'a'));
    await store.addMembers('news', ['alice']);
    await store.followers.addUserRoom('news', ['alice']);
    await store.append({
      type: 'message',
      room: 'news',
      token: 'news',
      timestamp: 1,
      body: 'x',
      author: null,
    });
    expect(await send({ type: 'unread' })).toEqual({ type: 'unread', rooms: { a: 0, news: 1 } });
  });
});
