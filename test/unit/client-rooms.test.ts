import { type ChatMessage, HipochatClient, type UnreadEvent } from '@hipochat/client';
import { emptyHistoryFetch, FakeSocket } from '../support/fake-socket.js';
import { eventually } from '../support/wait.js';

const message = (room: string, id: string, body = id): ChatMessage => ({
  id,
  type: 'message',
  room,
  token: room,
  timestamp: 1,
  body,
  author: { id: 'bo' },
  senderId: 'bo',
});

function client(rooms: string[], options: { unread?: boolean } = {}) {
  return new HipochatClient({
    url: 'ws://127.0.0.1:1',
    rooms,
    token: 't',
    WebSocket: FakeSocket,
    fetch: emptyHistoryFetch,
    keepAliveMs: 0,
    reconnect: { initialDelayMs: 1, maxDelayMs: 2 },
    ...options,
  });
}

/** The frames of one type the client sent on a socket. */
function sent(socket: FakeSocket, type: string): Record<string, unknown>[] {
  return socket.sent.map((text) => JSON.parse(text)).filter((frame) => frame.type === type);
}

/** Plays the server: answers every subscribe on the socket with `subscribed`. */
async function answerSubscribes(socket: FakeSocket, count: number): Promise<Record<string, unknown>[]> {
  const frames = await eventually(
    () => sent(socket, 'subscribe').length >= count && sent(socket, 'subscribe'),
    `${count} subscribe frames`,
  );
  for (const frame of frames) socket.receive({ type: 'subscribed', room: frame.room, unread: 0 });
  return frames;
}

async function connected(rooms: string[], options: { unread?: boolean } = {}) {
  const chat = client(rooms, options);
  const live = chat.connect(5000);
  await eventually(() => FakeSocket.all.length > 0, 'a socket');
  await answerSubscribes(FakeSocket.last, rooms.length);
  await live;
  return chat;
}

describe('HipochatClient with several rooms', () => {
  beforeEach(() => FakeSocket.reset());

  it('opens one socket with ?unread=1 and no room, then subscribes every room and asks for the counts', async () => {
    const chat = await connected(['a', 'b', 'c']);
    const socket = FakeSocket.last;
    const url = new URL(socket.url);
    expect(FakeSocket.all).toHaveLength(1);
    expect([
      url.searchParams.get('room'),
      url.searchParams.get('rooms'),
      url.searchParams.get('unread'),
    ]).toEqual([null, null, '1']);
    expect(sent(socket, 'unread')).toEqual([{ type: 'unread' }]);
    expect(sent(socket, 'subscribe')).toEqual([
      { type: 'subscribe', room: 'a' },
      { type: 'subscribe', room: 'b' },
      { type: 'subscribe', room: 'c' },
    ]);
    expect(chat.rooms.names()).toEqual(['a', 'b', 'c']);
    chat.close();
  });

  it('hands each room its own messages, in id order, and the client all of them', async () => {
    const chat = await connected(['a', 'b']);
    const seen: Record<string, string[]> = { a: [], b: [] };
    const all: string[] = [];
    chat.rooms.get('a')!.on('message', (m) => seen.a!.push(m.id));
    chat.rooms.get('b')!.on('message', (m) => seen.b!.push(m.id));
    chat.on('message', (m) => all.push(`${m.room}:${m.id}`));
    const socket = FakeSocket.last;
    socket.receive(message('a', '1-0'));
    socket.receive(message('b', '2-0'));
    socket.receive({ type: 'batch', room: 'a', messages: [message('a', '3-0'), message('a', '1-0')] });
    socket.receive(message('elsewhere', '4-0'));
    expect(seen).toEqual({ a: ['1-0', '3-0'], b: ['2-0'] });
    expect(all).toEqual(['a:1-0', 'b:2-0', 'a:3-0']);
    expect(chat.rooms.get('a')!.messages.map((m) => m.id)).toEqual(['1-0', '3-0']);
    chat.close();
  });

  it('sends with the room named in every frame', async () => {
    const chat = await connected(['a', 'b']);
    const socket = FakeSocket.last;
    const room = chat.rooms.get('b')!;
    const acked = room.send('hi', { clientId: 'c1' });
    socket.receive({ type: 'ack', id: '5-0', clientId: 'c1' });
    await expect(acked).resolves.toEqual({ id: '5-0', clientId: 'c1' });
    const edited = room.edit('5-0', 'hey', { clientId: 'c2' });
    socket.receive({ type: 'ack', id: '5-0', clientId: 'c2' });
    await edited;
    expect(room.sendTyping()).toBe(true);
    const frames = socket.sent.map((text) => JSON.parse(text));
    expect(
      frames.filter((f) => f.type !== 'subscribe' && f.type !== 'unread').map((f) => [f.type, f.room]),
    ).toEqual([
      ['message', 'b'],
      ['edit', 'b'],
      ['typing', 'b'],
    ]);
    await expect(chat.send('which room?')).rejects.toThrow(/follows several rooms/);
    chat.close();
  });

  it('follows a room added later and stops a removed one', async () => {
    const chat = await connected(['a']);
    const socket = FakeSocket.last;
    const b = chat.rooms.add('b');
    expect(b.live).toBe(false);
    await answerSubscribes(socket, 2);
    await eventually(() => b.live, 'room b to be live');
    const got: string[] = [];
    chat.on('message', (m) => got.push(m.id));
    socket.receive(message('b', '1-0'));
    const removed = chat.rooms.remove('b');
    expect(sent(socket, 'unsubscribe')).toEqual([{ type: 'unsubscribe', room: 'b' }]);
    socket.receive({ type: 'unsubscribed', room: 'b' });
    await expect(removed).resolves.toBe(true);
    socket.receive(message('b', '2-0'));
    expect(got).toEqual(['1-0']);
    expect(chat.rooms.has('b')).toBe(false);
    chat.close();
  });

  it('pauses a room in the background and resumes it with since, keeping its timeline', async () => {
    const chat = await connected(['a', 'b']);
    const socket = FakeSocket.last;
    const b = chat.rooms.get('b')!;
    socket.receive(message('b', '1-0'));
    chat.rooms.pause('b');
    expect(sent(socket, 'unsubscribe')).toEqual([{ type: 'unsubscribe', room: 'b' }]);
    expect(b.live).toBe(false);
    await expect(b.send('not now')).rejects.toThrow(/nothing was sent/);
    chat.rooms.resume('b');
    const frames = await answerSubscribes(socket, 3);
    expect(frames.at(-1)).toEqual({ type: 'subscribe', room: 'b', since: '1-0' });
    await eventually(() => b.live, 'room b live again');
    expect(chat.rooms.get('b')).toBe(b);
    expect(b.messages.map((m) => m.id)).toEqual(['1-0']);
    chat.close();
  });

  it('follows a room paused before it was ever followed once, then leaves it in the background', async () => {
    const chat = client(['a', 'b']);
    chat.rooms.pause('b');
    const live = chat.connect(5000);
    await eventually(() => FakeSocket.all.length > 0, 'a socket');
    const socket = FakeSocket.last;
    await answerSubscribes(socket, 2);
    await live;
    await eventually(() => sent(socket, 'unsubscribe').length === 1, 'the unsubscribe of b');
    expect(sent(socket, 'unsubscribe')).toEqual([{ type: 'unsubscribe', room: 'b' }]);
    expect([chat.rooms.get('a')!.live, chat.rooms.get('b')!.live]).toEqual([true, false]);
    chat.close();
  });

  it('gives each room object the client state and its user', async () => {
    const chat = await connected(['a']);
    const room = chat.rooms.get('a')!;
    const states: string[] = [];
    room.on('state', (change) => states.push(change.state));
    chat.setSelfId('me');
    FakeSocket.last.drop(1006, '');
    await eventually(() => states.includes('reconnecting'), 'the room hearing of the reconnect');
    expect([room.userId, room.room, room.state]).toEqual(['me', 'a', 'reconnecting']);
    chat.close();
  });

  it('keeps live unread counts as an event and a map', async () => {
    const chat = await connected(['a']);
    const events: UnreadEvent[] = [];
    chat.on('unread', (event) => events.push(event));
    const socket = FakeSocket.last;
    socket.receive({ type: 'unread', rooms: { x: 2, y: 0 } });
    socket.receive({ type: 'unread', room: 'x', count: 3 });
    socket.receive({ type: 'unread', room: 'x', count: 3 });
    expect(events).toEqual([
      { room: 'x', count: 2 },
      { room: 'y', count: 0 },
      { room: 'x', count: 3 },
    ]);
    expect(Object.fromEntries(chat.unread)).toEqual({ x: 3, y: 0 });
    chat.close();
  });

  it('drops a room whose subscribe is refused, with an error naming it, and stays live', async () => {
    const chat = client(['a', 'vip']);
    const errors: string[] = [];
    chat.on('error', (error) => errors.push(error.message));
    const live = chat.connect(5000);
    await eventually(
      () => FakeSocket.all.length > 0 && sent(FakeSocket.last, 'subscribe').length === 2,
      'subscribes',
    );
    const socket = FakeSocket.last;
    socket.receive({ type: 'subscribed', room: 'a', unread: 0 });
    socket.receive({ ERROR: 'room is closed to non-members', room: 'vip' });
    await live;
    expect(errors).toEqual(['room is closed to non-members']);
    expect(chat.rooms.names()).toEqual(['a']);
    chat.close();
  });

  it('resubscribes every room with since after a reconnect, and takes what it missed in order', async () => {
    const chat = await connected(['a', 'b']);
    const got: string[] = [];
    chat.on('message', (m) => got.push(`${m.room}:${m.id}`));
    FakeSocket.last.receive(message('a', '1-0'));
    FakeSocket.last.drop(1006, '');
    await eventually(() => FakeSocket.all.length === 2, 'a second socket');
    const again = FakeSocket.last;
    const frames = await eventually(
      () => sent(again, 'subscribe').length === 2 && sent(again, 'subscribe'),
      'subscribes',
    );
    expect(frames).toEqual([
      { type: 'subscribe', room: 'a', since: '1-0' },
      { type: 'subscribe', room: 'b' },
    ]);
    again.receive({
      type: 'subscribed',
      room: 'a',
      unread: 2,
      missed: [message('a', '3-0'), message('a', '2-0')],
    });
    again.receive({ type: 'subscribed', room: 'b', unread: 0 });
    await eventually(() => chat.state === 'live', 'live again');
    expect(got).toEqual(['a:1-0', 'a:2-0', 'a:3-0']);
    expect(sent(again, 'unread')).toEqual([{ type: 'unread' }]);
    chat.close();
  });

  it('refuses options naming both or neither of room and rooms', () => {
    const base = { url: 'ws://127.0.0.1:1', token: 't' };
    expect(() => new HipochatClient({ ...base })).toThrow(/either one room/);
    expect(() => new HipochatClient({ ...base, room: 'a', rooms: ['b'] })).toThrow(/either one room/);
    expect(() => new HipochatClient({ ...base, rooms: ['no spaces'] })).toThrow(/invalid room/);
  });
});

describe('HipochatClient with one room', () => {
  beforeEach(() => FakeSocket.reset());

  it('connects on ?room= as before and answers its room object', async () => {
    const chat = new HipochatClient({
      url: 'ws://127.0.0.1:1',
      room: 'solo',
      token: 't',
      WebSocket: FakeSocket,
      fetch: emptyHistoryFetch,
      keepAliveMs: 0,
    });
    await chat.connect(5000);
    const url = new URL(FakeSocket.last.url);
    expect([url.searchParams.get('room'), url.searchParams.get('unread')]).toEqual(['solo', null]);
    expect(FakeSocket.last.sent).toEqual([]);
    expect(chat.rooms.names()).toEqual(['solo']);
    expect(() => chat.rooms.add('other')).toThrow(/follows no other/);
    chat.close();
  });
});
