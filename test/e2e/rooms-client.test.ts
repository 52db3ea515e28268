import type { ChatMessage, HipochatClient, WebSocketConstructor } from '@hipochat/client';
import WebSocket from 'ws';
import { type RecordedClient, recordedClient } from '../support/chat-client.js';
import {
  type ChatEndpoints,
  chatEndpoints,
  E2E_SERVICE_KEY as SERVICE_KEY,
  e2eSystems as systems,
} from '../support/gateway.js';
import { httpApi } from '../support/http-api.js';
import { uniqueRoom } from '../support/rooms.js';
import { eventually } from '../support/wait.js';

jest.setTimeout(90_000);

/** `ws` sockets that remember what they sent, and let a test cut them like a network would. */
class WatchedSocket extends WebSocket {
  static all: WatchedSocket[] = [];
  readonly frames: Record<string, unknown>[] = [];
  constructor(url: string) {
    super(url);
    WatchedSocket.all.push(this);
  }
  override send(data: string): void {
    this.frames.push(JSON.parse(data));
    super.send(data);
  }
}
const Watched = WatchedSocket as unknown as WebSocketConstructor;

describe.each(systems)('HipochatClient following several rooms on %s', (_name, services) => {
  let chat: ChatEndpoints;
  const open: HipochatClient[] = [];
  const api = httpApi(() => chat.httpUrl);

  /** A one-room writer. */
  const writer = async (room: string, token = 'bob'): Promise<RecordedClient> => {
    const recorded = recordedClient({ url: chat.wsUrl, room, token });
    open.push(recorded.client);
    await recorded.client.connect();
    return recorded;
  };
  /** A client of several rooms on a watched socket; `messages` by room, as the room objects emit them. */
  const reader = (rooms: string[], token: string, extra: { reconnect?: { initialDelayMs: number } } = {}) => {
    const recorded = recordedClient({ url: chat.wsUrl, rooms, token, WebSocket: Watched, ...extra });
    open.push(recorded.client);
    const byRoom: Record<string, unknown[]> = {};
    const follow = (room: string) => {
      byRoom[room] = [];
      recorded.client.rooms.get(room)!.on('message', (m: ChatMessage) => byRoom[room]!.push(m.body));
    };
    for (const room of rooms) follow(room);
    return { ...recorded, byRoom, follow };
  };

  beforeAll(async () => {
    chat = await chatEndpoints({ ...services, HIPOCHAT_SERVICE_KEY: SERVICE_KEY });
  });

  beforeEach(() => {
    WatchedSocket.all = [];
  });

  afterEach(() => {
    for (const client of open.splice(0)) client.close();
  });

  afterAll(async () => {
    await chat?.stop();
  });

  it("hands each room object its room's messages, in order, on one socket", async () => {
    // Prepare
    const rooms = [uniqueRoom('a'), uniqueRoom('b'), uniqueRoom('c')];
    const alice = reader(rooms, 'alice');
    await alice.client.connect();
    const bobs = await Promise.all(rooms.map((room) => writer(room)));

    // Act
    for (let n = 1; n <= 3; n += 1) for (const [i, bob] of bobs.entries()) await bob.client.send(`${i}-${n}`);
    await alice.client.rooms.get(rooms[1]!)!.send('from alice');

    // Assess
    await eventually(() => alice.messages.length === 10, 'every message');
    expect(rooms.map((room) => alice.byRoom[room])).toEqual([
      ['0-1', '0-2', '0-3'],
      ['1-1', '1-2', '1-3', 'from alice'],
      ['2-1', '2-2', '2-3'],
    ]);
    expect(WatchedSocket.all).toHaveLength(1);
    expect(alice.errors).toEqual([]);
  });

  it('stops a removed room at once and keeps its unread count live instead', async () => {
    // Prepare: alice follows a and c; she also belongs to r9, which she does not follow.
    const [a, c, r9] = [uniqueRoom('a'), uniqueRoom('c'), uniqueRoom('r9')];
    const user = uniqueRoom('user');
    await api.post(
      `/talk/new-chat-room/${r9}/`,
      { members: [user] },
      { authorization: `Bearer ${SERVICE_KEY}` },
    );
    const alice = reader([a, c], user);
    const counts: [string, number][] = [];
    alice.client.on('unread', ({ room, count }) => counts.push([room, count]));
    await alice.client.connect();
    const bob = { a: await writer(a), c: await writer(c), r9: await writer(r9) };

    // Act
    await expect(alice.client.rooms.remove(c)).resolves.toBe(true);
    await bob.c.client.send('after leaving');
    await bob.r9.client.send('elsewhere');
    await bob.a.client.send('still here');

    // Assess
    await eventually(() => alice.client.unread.get(r9) === 1, 'the live unread count of r9');
    await eventually(() => alice.client.unread.get(c) === 1, 'the live unread count of c');
    await eventually(() => alice.byRoom[a]!.length === 1, 'the message of a');
    expect(alice.messages.map((m) => m.message.room)).toEqual([a]);
    expect(alice.client.rooms.names()).toEqual([a]);
    expect(counts).toEqual(expect.arrayContaining([[r9, 1]]));
  });

  it('answers the starting unread counts after connecting', async () => {
    const r9 = uniqueRoom('r9');
    const user = uniqueRoom('user');
    await api.post(
      `/talk/new-chat-room/${r9}/`,
      { members: [user] },
      { authorization: `Bearer ${SERVICE_KEY}` },
    );
    const bob = await writer(r9);
    await bob.client.send('one');
    await bob.client.send('two');
    const alice = reader([], user);
    await alice.client.connect();
    await eventually(() => alice.client.unread.get(r9) === 2, 'the starting count of r9');
  });

  it('resubscribes every room with since after a reconnect and misses nothing', async () => {
    // Prepare
    const [a, b] = [uniqueRoom('a'), uniqueRoom('b')];
    const alice = reader([a, b], 'alice', { reconnect: { initialDelayMs: 1000 } });
    await alice.client.connect();
    const bob = { a: await writer(a), b: await writer(b) };
    const first = await bob.a.client.send('before');
    await eventually(() => alice.byRoom[a]!.length === 1, 'the first message');

    // Act: the network drops alice's socket; bob goes on writing while she is away.
    WatchedSocket.all[0]!.terminate();
    await eventually(() => alice.client.state === 'reconnecting', 'alice noticing');
    for (const n of [1, 2, 3]) {
      await bob.a.client.send(`a away ${n}`);
      await bob.b.client.send(`b away ${n}`);
    }
    await eventually(() => alice.client.state === 'live', 'alice back');
    await bob.a.client.send('after');

    // Assess
    await eventually(() => alice.byRoom[a]!.length === 5, 'every message of a');
    expect(alice.byRoom[a]).toEqual(['before', 'a away 1', 'a away 2', 'a away 3', 'after']);
    expect(alice.byRoom[b]).toEqual(['b away 1', 'b away 2', 'b away 3']);
    const again = WatchedSocket.all[1]!;
    expect(again.frames.filter((f) => f.type === 'subscribe')).toEqual([
      { type: 'subscribe', room: a, since: first.id },
      { type: 'subscribe', room: b },
    ]);
    expect(again.frames.filter((f) => f.type === 'unread')).toEqual([{ type: 'unread' }]);
  });
});
