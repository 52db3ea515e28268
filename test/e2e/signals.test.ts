import { e2eChat, type ConnectionShape as Shape } from '../support/e2e-chat.js';
import { E2E_SERVICE_KEY as SERVICE_KEY, e2eSystems as systems } from '../support/gateway.js';
import { uniqueRoom } from '../support/rooms.js';
import { disconnectSettled, openSocket, type TestSocket } from '../support/socket.js';
import { pause } from '../support/wait.js';

// biome-ignore lint/suspicious/noExplicitAny: frames and bodies are checked field by field below
type Json = Record<string, any>;

/** The dev identity's public profile of a token. */
const profile = (name: string) => ({ id: name, username: name });

// The digest window of this suite: long enough for a connect and close (or a round of reads) to
// fall in one window, short enough to keep the suite quick.
const WINDOW_MS = 1000;
// Connects per user per minute of this suite; `carol` connects in many tests, well below it.
const CONNECT_LIMIT = 40;

describe.each(systems)('live signals on %s', (_name, services: Record<string, string>) => {
  const { connect, urlOf, track, api } = e2eChat(services, {
    HIPOCHAT_CLOSED_ROOMS: 'vip-*',
    HIPOCHAT_READ_DIGEST_MS: String(WINDOW_MS),
    HIPOCHAT_CONNECT_LIMIT_PER_MINUTE: String(CONNECT_LIMIT),
  });
  const get = api.get;
  /** Posts `body` as JSON (a string too: `'one'` goes as `"one"`). */
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    api.post(path, JSON.stringify(body), headers);
  const asBackend = { authorization: `Bearer ${SERVICE_KEY}` };
  /** The presence events a socket got about `user`, in order. */
  const presenceOf = (socket: TestSocket, user: string) =>
    socket.frames.filter((f) => f.type === 'presence' && (f.user as Json).id === user).map((f) => f.event);
  const joined = (user: string) => (f: Json) =>
    f.type === 'presence' && f.event === 'join' && f.user.id === user;
  const left = (user: string) => (f: Json) =>
    f.type === 'presence' && f.event === 'leave' && f.user.id === user;

  describe('presence frames', () => {
    it.each<[string, Shape]>([
      ['the API Gateway URL', {}],
      ['the Hipochat URL', { legacy: true }],
    ])(
      'tells a signals connection on %s who comes online and goes offline, once per user',
      async (_shape, shape) => {
        const room = uniqueRoom();
        const carol = await connect(room, 'carol', { ...shape, signals: true });
        const alice1 = await connect(room, 'alice', { legacy: !shape.legacy, signals: true });
        await carol.next(joined('alice'));
        const alice2 = await connect(room, 'alice', shape);
        await alice1.close();
        // bob's join comes after anything alice's second tab or first close could have caused.
        await connect(room, 'bob', shape);
        await carol.next(joined('bob'));
        expect(presenceOf(carol, 'alice')).toEqual(['join']);
        await alice2.close();
        expect(await carol.next(left('alice'))).toEqual({
          type: 'presence',
          event: 'leave',
          room,
          user: profile('alice'),
        });
        expect(presenceOf(carol, 'alice')).toEqual(['join', 'leave']);
      },
    );

    it('tells nothing of a user who comes and goes within one window', async () => {
      const room = uniqueRoom();
      const carol = await connect(room, 'carol', { signals: true });
      const dave = await connect(room, 'dave');
      await dave.close();
      await disconnectSettled();
      // eve's join comes in the digest that would have told of dave, or a later one.
      await connect(room, 'eve');
      await carol.next(joined('eve'));
      expect(presenceOf(carol, 'dave')).toEqual([]);
    });

    it('answers 429 to a connect and close loop past the connect limit, so it cannot flood presence', async () => {
      const room = uniqueRoom();
      const user = `loop${Date.now().toString(36)}`;
      for (let n = 0; n < CONNECT_LIMIT; n += 1)
        await (await openSocket(urlOf(room, `token=${user}`))).close();
      await expect(openSocket(urlOf(room, `token=${user}`))).rejects.toThrow('handshake refused: 429');
      // Others connect as before.
      await connect(room, 'carol');
    });

    it('reaches a connection that asked for batch frames as a frame of its own', async () => {
      const room = uniqueRoom();
      const carol = await connect(room, 'carol', { signals: true, batch: true });
      await connect(room, 'alice');
      expect(await carol.next(joined('alice'))).toEqual({
        type: 'presence',
        event: 'join',
        room,
        user: profile('alice'),
      });
    });

    it('reaches a connection opened with a ticket and signals=1', async () => {
      const room = uniqueRoom();
      const { body } = await post(`/talk/ticket/${room}/`, {}, { authorization: 'Token carol' });
      const carol = track(await openSocket(urlOf(room, `ticket=${body.ticket}`, { signals: true })));
      await connect(room, 'alice', { legacy: true });
      await carol.next(joined('alice'));
    });
  });

  describe('GET /talk/presence/{room}/', () => {
    it('lists each online user once, and no one who left', async () => {
      const room = uniqueRoom();
      await connect(room, 'alice');
      await connect(room, 'alice', { legacy: true });
      const bob = await connect(room, 'bob', { signals: true });
      const { status, body } = await get(`/talk/presence/${room}/`, 'carol');
      expect(status).toBe(200);
      expect(body.room).toBe(room);
      expect(body.online).toHaveLength(2);
      expect(body.online).toEqual(expect.arrayContaining([profile('alice'), profile('bob')]));
      await bob.close();
      await disconnectSettled();
      expect((await get(`/talk/presence/${room}`, 'carol')).body.online).toEqual([profile('alice')]);
    });

    it('answers 403 to a non-member of a closed room', async () => {
      expect((await get(`/talk/presence/vip-${uniqueRoom()}/`, 'carol')).status).toBe(403);
    });
  });

  describe('typing frames', () => {
    it('delivers typing with author and senderId, acks its clientId without an id and stores nothing', async () => {
      const room = uniqueRoom();
      const carol = await connect(room, 'carol', { signals: true });
      const alice = await connect(room, 'alice', { legacy: true });
      alice.send({ type: 'typing', clientId: 't-1' });
      expect(await alice.next((f) => f.type === 'ack')).toEqual({ type: 'ack', clientId: 't-1' });
      const typing = await carol.next((f) => f.type === 'typing');
      expect(typing).toEqual({
        type: 'typing',
        room,
        author: profile('alice'),
        senderId: 'alice',
        clientId: 't-1',
        timestamp: expect.any(Number),
      });
      const old = await get(`/talk/old/${room}/`, 'carol');
      expect(old.body.oldy).toEqual([]);
      expect((await get(`/talk/notification/${room}/`, 'carol')).body).toEqual({
        notification: 0,
        mentions: 0,
      });
    });

    it('delivers at most one per user and room per 2 s, acking the dropped ones too', async () => {
      const room = uniqueRoom();
      const carol = await connect(room, 'carol', { signals: true });
      const alice = await connect(room, 'alice', { signals: true });
      alice.send({ type: 'typing', body: { n: 1 } });
      alice.send({ type: 'typing', body: { n: 2 }, clientId: 't-2' });
      expect(await alice.next((f) => f.type === 'ack')).toEqual({ type: 'ack', clientId: 't-2' });
      // A message right after: delivered in order after any typing frame the two could have caused.
      alice.send({ body: 'marker' });
      await carol.next((f) => f.body === 'marker');
      expect(carol.frames.filter((f) => f.type === 'typing').map((f) => f.body)).toEqual([{ n: 1 }]);
      await pause(2100);
      alice.send({ type: 'typing', body: { n: 3 } });
      await carol.next((f) => f.type === 'typing' && (f.body as Json).n === 3);
    });
  });

  describe('read digests and GET /talk/receipts/{room}/', () => {
    /** The marks of every read digest a socket got (alone or in a batch frame), in order. */
    const marksOf = (socket: TestSocket) =>
      socket.frames.flatMap((f) =>
        f.type === 'reads' ? [f.marks as Json[]] : f.type === 'batch' && f.reads ? [f.reads as Json[]] : [],
      );

    it("tells signals connections when a member's read mark moves, and lists the marks", async () => {
      const room = uniqueRoom();
      const carol = await connect(room, 'carol', { signals: true });
      const bob = await connect(room, 'bob', { legacy: true });
      const first = (await post(`/talk/item/${room}/?type=message`, 'one', asBackend)).body;
      await bob.next((f) => f.id === first.id);
      await get(`/talk/old/${room}/`, 'bob');
      expect(await carol.next((f) => f.type === 'reads')).toEqual({
        type: 'reads',
        room,
        marks: [{ user: profile('bob'), id: first.id }],
      });
      const second = (await post(`/talk/item/${room}/?type=message`, 'two', asBackend)).body;
      await bob.next((f) => f.id === second.id);
      await pause(5);
      await bob.close();
      await carol.next(left('bob'));
      await carol.next(() => marksOf(carol).length === 2);
      expect(marksOf(carol)).toEqual([
        [{ user: profile('bob'), id: first.id }],
        [{ user: profile('bob'), id: second.id }],
      ]);
      const { status, body } = await get(`/talk/receipts/${room}/`, 'carol');
      expect(status).toBe(200);
      expect(body).toEqual({ room, receipts: [{ user: profile('bob'), lastRead: second.id }], next: null });
    });

    it('folds the marks of many readers into few frames, the newest per member, and loses none', async () => {
      const room = uniqueRoom();
      const carol = await connect(room, 'carol', { signals: true, batch: true });
      const readers = ['ann', 'bob', 'dan', 'eve', 'fay'];
      let last = '';
      for (let round = 0; round < 3; round += 1) {
        last = (await post(`/talk/item/${room}/?type=message`, `news ${round}`, asBackend)).body.id;
        await Promise.all(readers.map((reader) => get(`/talk/old/${room}/`, reader)));
      }
      // The last marks arrive after their window, whichever window they fell in.
      const newest = () =>
        new Map(
          marksOf(carol)
            .flat()
            .map((m) => [m.user.id as string, m.id as string]),
        );
      await carol.next(() => readers.every((reader) => newest().get(reader) === last));
      // 15 marks moved; each digest names a member once, and there are fewer digests than marks.
      expect(marksOf(carol).length).toBeLessThan(readers.length * 3);
      for (const marks of marksOf(carol)) {
        expect(new Set(marks.map((m) => m.user.id)).size).toBe(marks.length);
      }
      expect(carol.frames.some((f) => f.type === 'read')).toBe(false);
    });

    it('leaves the room unread for a reader who is not looking (`?mark=0`), and tells no one', async () => {
      const room = uniqueRoom();
      const carol = await connect(room, 'carol', { signals: true });
      const bob = await connect(room, 'bob');
      const news = (await post(`/talk/item/${room}/?type=message`, 'news', asBackend)).body;
      await bob.next((f) => f.id === news.id);
      const away = await get(`/talk/old/${room}/?mark=0`, 'bob');
      expect(away.body.results.unread_messages.map((m: Json) => m.id)).toEqual([news.id]);
      expect((await get(`/talk/notification/${room}/`, 'bob')).body).toEqual({
        notification: 1,
        mentions: 0,
      });
      // bob looks: the room is read, and carol hears of it.
      await get(`/talk/old/${room}/`, 'bob');
      expect(await carol.next((f) => f.type === 'reads')).toEqual({
        type: 'reads',
        room,
        marks: [{ user: profile('bob'), id: news.id }],
      });
    });

    it('answers 403 to a non-member of a closed room', async () => {
      expect((await get(`/talk/receipts/vip-${uniqueRoom()}/`, 'carol')).status).toBe(403);
    });
  });

  describe('a room above HIPOCHAT_SIGNALS_MAX_MEMBERS (100)', () => {
    it('sends no typing, read or presence frames, while /talk/presence and /talk/receipts answer', async () => {
      const room = uniqueRoom();
      const members = Array.from({ length: 101 }, (_, n) => `member${n}`);
      expect((await post(`/talk/new-chat-room/${room}/`, { members }, asBackend)).status).toBe(200);
      const carol = await connect(room, 'carol', { signals: true });
      const alice = await connect(room, 'alice', { signals: true });
      alice.send({ type: 'typing', clientId: 't-1' });
      await alice.next((f) => f.type === 'ack');
      const news = (await post(`/talk/item/${room}/?type=message`, 'news', asBackend)).body;
      await get(`/talk/old/${room}/`, 'member1');
      const dave = await connect(room, 'dave');
      await dave.close();
      await disconnectSettled();
      // Anything folded would be delivered one window later, before this marker.
      await pause(WINDOW_MS + 200);
      const marker = (await post(`/talk/item/${room}/?type=message`, 'marker', asBackend)).body;
      await carol.next((f) => f.id === marker.id);
      expect(carol.frames.map((f) => f.type ?? 'message')).toEqual(['message', 'message']);
      const presence = await get(`/talk/presence/${room}/`, 'carol');
      expect(presence.status).toBe(200);
      expect(presence.body).toMatchObject({ connections: 2, members: 104 });
      expect(presence.body.online).toEqual(expect.arrayContaining([profile('alice'), profile('carol')]));
      const receipts = await get(`/talk/receipts/${room}/`, 'carol');
      expect(receipts.status).toBe(200);
      expect(receipts.body.receipts).toContainEqual({ user: { id: 'member1' }, lastRead: news.id });
    });
  });

  describe('old Hipochat clients', () => {
    it.each<[string, Shape]>([
      ['the Hipochat URL', { legacy: true }],
      ['the API Gateway URL', {}],
      ['batch frames', { batch: true }],
    ])('receive none of the new frames on %s, only what they always got', async (_shape, shape) => {
      const room = uniqueRoom();
      const old = await connect(room, 'olga', shape);
      await connect(room, 'carol', { signals: true });
      const alice = await connect(room, 'alice', { legacy: true, signals: true });
      alice.send({ type: 'typing' });
      await get(`/talk/old/${room}/`, 'alice');
      const hello = (await post(`/talk/item/${room}/?type=message`, 'hello', asBackend)).body;
      await alice.close();
      await disconnectSettled();
      const last = (await post(`/talk/item/${room}/?type=message`, 'last', asBackend)).body;
      const ids = () =>
        old.frames.flatMap((f) => (f.type === 'batch' ? (f.messages as Json[]) : [f])).map((m) => m.id);
      await old.next(() => ids().includes(last.id));
      expect(ids()).toEqual([hello.id, last.id]);
      expect(old.frames.every((f) => f.type === 'message' || f.type === 'batch')).toBe(true);
    });
  });

  describe('POST /talk/broadcast/', () => {
    it('stores and delivers one message per room, once per Idempotency-Key', async () => {
      const rooms = [uniqueRoom(), uniqueRoom()];
      const sockets = await Promise.all(rooms.map((room) => connect(room, 'alice')));
      const headers = { ...asBackend, 'idempotency-key': `call-${rooms[0]}` };
      const call = { rooms, body: { title: 'maintenance' } };
      const first = await post('/talk/broadcast/?type=notification', call, headers);
      expect(first.status).toBe(201);
      // Where each message went, never its body.
      expect(first.body.messages).toEqual(rooms.map((room) => ({ room, id: expect.any(String) })));
      for (const [index, socket] of sockets.entries()) {
        const delivered = await socket.next((f) => f.id === first.body.messages[index].id);
        expect(delivered).toMatchObject({
          room: rooms[index],
          type: 'notification',
          body: call.body,
          author: null,
        });
      }
      const again = await post('/talk/broadcast?type=notification', call, headers);
      expect(again.body).toEqual(first.body);
      const history = await get(`/talk/old/${rooms[0]}/`, 'alice');
      expect(history.body.oldy.map((m: Json) => m.id)).toEqual([first.body.messages[0].id]);
    });

    it.each([
      ['without the service key', { rooms: ['a'], body: 1 }, {}, 401],
      ['with a wrong service key', { rooms: ['a'], body: 1 }, { authorization: 'Bearer nope' }, 401],
      ['naming no room', { rooms: [], body: 1 }, asBackend, 400],
      [
        'naming 101 rooms',
        { rooms: Array.from({ length: 101 }, (_, n) => `r${n}`), body: 1 },
        asBackend,
        400,
      ],
    ])('refuses a call %s', async (_what, body, headers, status) => {
      expect((await post('/talk/broadcast/?type=notification', body, headers)).status).toBe(status);
    });
  });

  describe('POST /talk/disconnect/{user}/', () => {
    it('closes every connection of the user in every room, and the room hears the leave', async () => {
      const [room, other] = [uniqueRoom(), uniqueRoom()];
      const user = `dora${Date.now().toString(36)}`;
      const carol = await connect(room, 'carol', { signals: true });
      const tabs = [
        await connect(room, user),
        await connect(room, user, { legacy: true }),
        await connect(other, user, { signals: true }),
      ];
      await carol.next(joined(user));
      const { status, body } = await post(`/talk/disconnect/${user}/`, {}, asBackend);
      expect(status).toBe(200);
      expect(body).toEqual({ user, disconnected: 3 });
      for (const tab of tabs) await tab.closed;
      await carol.next(left(user));
      expect((await get(`/talk/presence/${room}/`, 'carol')).body.online).toEqual([profile('carol')]);
    });

    it('refuses a call without the service key', async () => {
      expect((await post('/talk/disconnect/alice/', {})).status).toBe(401);
    });
  });
});
