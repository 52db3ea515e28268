import { e2eChat } from '../support/e2e-chat.js';
import { E2E_SERVICE_KEY as SERVICE_KEY, e2eSystems as systems } from '../support/gateway.js';
import { uniqueRoom } from '../support/rooms.js';
import { disconnectSettled, openSocket, type TestSocket } from '../support/socket.js';

// biome-ignore lint/suspicious/noExplicitAny: frames are checked field by field below
type Json = Record<string, any>;

/** The cap these suites run with (`HIPOCHAT_MAX_ROOMS_PER_CONNECTION`). */
const MAX_ROOMS = 4;

describe.each(systems)('one connection, many rooms on %s', (_name, services: Record<string, string>) => {
  const { chat, connect, track, api } = e2eChat(services, {
    HIPOCHAT_CLOSED_ROOMS: 'vip-*',
    HIPOCHAT_MAX_ROOMS_PER_CONNECTION: String(MAX_ROOMS),
  });
  const asBackend = { authorization: `Bearer ${SERVICE_KEY}` };

  /** A connection that follows `rooms` (`?rooms=`), or none (neither `room` nor `rooms`). */
  const follow = async (token: string, rooms: string[], extra = '') => {
    const query = rooms.length > 0 ? `rooms=${rooms.join(',')}&` : '';
    return track(await openSocket(`${chat().wsUrl}/?${query}token=${token}${extra}`));
  };
  /** A single-room connection, on the API Gateway URL or Hipochat's. */
  const single = (room: string, token: string, legacy = false) => connect(room, token, { legacy });
  const bodies = (socket: TestSocket, room: string) =>
    socket.frames
      .filter((f) => f.room === room && f.id !== undefined && f.type === 'message')
      .map((f) => f.body);
  const message = (body: unknown) => (f: Json) => f.body === body && f.id !== undefined;
  const answered = (type: string, room: string) => (f: Json) => f.type === type && f.room === room;
  const refused = (room: string) => (f: Json) => f.ERROR !== undefined && f.room === room;
  const addMembers = (room: string, members: string[]) =>
    api.post(`/talk/new-chat-room/${room}/`, { members }, asBackend);

  describe('?rooms= beside single-room connections', () => {
    it("gives each connection exactly its rooms' messages, in order", async () => {
      // Prepare: alice follows a and b on one socket; carol has a on the API Gateway URL, dave b on
      // Hipochat's; bob writes to a, b and c (which nobody here follows but erin).
      const [a, b, c] = [uniqueRoom(), uniqueRoom(), uniqueRoom()];
      const alice = await follow('alice', [a, b]);
      const carol = await single(a, 'carol');
      const dave = await single(b, 'dave', true);
      const erin = await single(c, 'erin');
      const bob = { a: await single(a, 'bob'), b: await single(b, 'bob', true), c: await single(c, 'bob') };

      // Act
      for (let n = 1; n <= 3; n += 1) {
        bob.a.send({ body: `a${n}` });
        bob.b.send({ body: `b${n}` });
        bob.c.send({ body: `c${n}` });
      }
      alice.send({ body: 'a-from-alice', room: a });
      await alice.next(message('a-from-alice'));
      await alice.next(message('b3'));
      await carol.next(message('a-from-alice'));
      await dave.next(message('b3'));
      await erin.next(message('c3'));

      // Assess: the room's order is the store's (alice's and bob's sends race each other).
      const stored = (await api.get(`/talk/old/${a}/`, 'carol')).body.oldy.map((m: Json) => m.body);
      expect(stored.filter((body: string) => body !== 'a-from-alice')).toEqual(['a1', 'a2', 'a3']);
      expect(bodies(alice, a)).toEqual(stored);
      expect(bodies(alice, b)).toEqual(['b1', 'b2', 'b3']);
      expect(alice.frames.filter((f) => f.room === c)).toEqual([]);
      expect(bodies(carol, a)).toEqual(stored);
      expect(carol.frames.filter((f) => f.room !== a)).toEqual([]);
      expect(dave.frames.filter((f) => f.room !== b)).toEqual([]);
    });

    it('refuses a send without room on a connection that follows several, and stores nothing', async () => {
      const [a, b] = [uniqueRoom(), uniqueRoom()];
      const alice = await follow('alice', [a, b]);
      alice.send({ body: 'lost', clientId: 'x1' });
      expect(await alice.next((f) => f.clientId === 'x1')).toEqual({
        ERROR: 'room is required: this connection follows several rooms',
        clientId: 'x1',
      });
      const elsewhere = uniqueRoom();
      alice.send({ body: 'astray', clientId: 'x2', room: elsewhere });
      expect(await alice.next((f) => f.clientId === 'x2')).toEqual({
        ERROR: 'not subscribed to this room',
        clientId: 'x2',
        room: elsewhere,
      });
      // A message sent after the refused ones arrives: nothing before it was stored.
      alice.send({ body: 'kept', room: a });
      await alice.next(message('kept'));
      for (const room of [a, b]) {
        const { body } = await api.get(`/talk/old/${room}/`, 'alice');
        expect(body.oldy.map((m: Json) => m.body)).toEqual(room === a ? ['kept'] : []);
      }
    });

    it('lets a connection of one room leave out room, as a single-room connection does', async () => {
      const a = uniqueRoom();
      const alice = await follow('alice', [a]);
      alice.send({ body: 'no room needed', clientId: 'n1' });
      expect(await alice.next((f) => f.type === 'ack')).toMatchObject({ clientId: 'n1' });
      expect(await alice.next(message('no room needed'))).toMatchObject({ room: a });
    });

    it('refuses a closed room or more rooms than the cap at the handshake', async () => {
      await expect(follow('alice', [uniqueRoom(), `vip-${uniqueRoom()}`])).rejects.toThrow(
        'handshake refused: 403',
      );
      const many = Array.from({ length: MAX_ROOMS + 1 }, () => uniqueRoom());
      await expect(follow('alice', many)).rejects.toThrow('handshake refused: 403');
    });
  });

  describe('subscribe and unsubscribe frames', () => {
    it('answers subscribed with what the user had not read, then delivers the room', async () => {
      const room = uniqueRoom();
      await addMembers(room, ['alice']);
      const bob = await single(room, 'bob');
      bob.send({ body: 'one' });
      bob.send({ body: 'two', clientId: 't2' });
      const two = await bob.next((f) => f.type === 'ack' && f.clientId === 't2');
      // Delivered to the room's connections before alice follows it.
      await bob.next(message('two'));
      const alice = await follow('alice', []);

      alice.send({ type: 'subscribe', room });
      expect(await alice.next(answered('subscribed', room))).toEqual({ type: 'subscribed', room, unread: 2 });
      bob.send({ body: 'three' });
      await alice.next(message('three'));
      expect(bodies(alice, room)).toEqual(['three']);

      // A second connection replays what came after `since`.
      const again = await follow('alice', []);
      again.send({ type: 'subscribe', room, since: two.id });
      const replay = await again.next(answered('subscribed', room));
      expect((replay.missed as Json[]).map((m) => m.body)).toEqual(['three']);
      expect(replay.more).toBe(false);
    });

    it('stops delivery at once on unsubscribe', async () => {
      const [a, b] = [uniqueRoom(), uniqueRoom()];
      const alice = await follow('alice', [a, b]);
      const bob = await single(a, 'bob');

      alice.send({ type: 'unsubscribe', room: a });
      expect(await alice.next(answered('unsubscribed', a))).toEqual({ type: 'unsubscribed', room: a });
      bob.send({ body: 'unseen' });
      await bob.next(message('unseen'));
      // Subscribed again, the room's next message arrives; one to an unsubscribed connection would
      // have come first (a room's messages go out in order).
      alice.send({ type: 'subscribe', room: a });
      await alice.next(answered('subscribed', a));
      bob.send({ body: 'seen' });
      await alice.next(message('seen'));

      expect(bodies(alice, a)).toEqual(['seen']);
    });

    it('refuses a closed room per subscribe with an error frame naming it, and lets a member in', async () => {
      const vip = `vip-${uniqueRoom()}`;
      const alice = await follow('alice', []);
      alice.send({ type: 'subscribe', room: vip });
      expect(await alice.next(refused(vip))).toEqual({ ERROR: 'room is closed to non-members', room: vip });

      await addMembers(vip, ['alice']);
      alice.send({ type: 'subscribe', room: vip });
      expect(await alice.next(answered('subscribed', vip))).toMatchObject({ unread: 0 });
    });

    it('refuses a subscribe over the cap, naming the room', async () => {
      const rooms = Array.from({ length: MAX_ROOMS }, () => uniqueRoom());
      const alice = await follow('alice', rooms);
      const extra = uniqueRoom();
      alice.send({ type: 'subscribe', room: extra });
      expect(await alice.next(refused(extra))).toEqual({
        ERROR: `at most ${MAX_ROOMS} rooms per connection`,
        room: extra,
      });
      // Room for one more after an unsubscribe.
      alice.send({ type: 'unsubscribe', room: rooms[0] });
      alice.send({ type: 'subscribe', room: extra });
      await alice.next(answered('subscribed', extra));
    });

    it.each([
      ['a bad room name', { type: 'subscribe', room: 'no spaces' }, /room must be a room name/],
      ['a missing room', { type: 'unsubscribe' }, /room must be a room name/],
      ['a bad since', { type: 'subscribe', room: 'fine', since: 'yesterday' }, /since must be a message id/],
    ])('answers a subscribe frame with %s with an error frame', async (_what, frame, error) => {
      const alice = await follow('alice', []);
      alice.send({ ...frame, clientId: 'bad' });
      expect((await alice.next((f) => f.clientId === 'bad')).ERROR).toMatch(error);
    });

    it('answers subscribe on a single-room connection with an error frame', async () => {
      const socket = await single(uniqueRoom(), 'alice');
      const other = uniqueRoom();
      socket.send({ type: 'subscribe', room: other });
      expect((await socket.next(refused(other))).ERROR).toMatch(/this connection follows one room/);
    });
  });

  describe('$disconnect', () => {
    it('leaves every room the connection followed', async () => {
      const [a, b, c] = [uniqueRoom(), uniqueRoom(), uniqueRoom()];
      const alice = await follow('alice', [a, b]);
      alice.send({ type: 'subscribe', room: c });
      await alice.next(answered('subscribed', c));
      for (const room of [a, b, c]) {
        expect((await api.get(`/talk/presence/${room}/`, 'carol')).body.online).toEqual([
          { id: 'alice', username: 'alice' },
        ]);
      }

      await alice.close();
      await disconnectSettled();

      for (const room of [a, b, c]) {
        expect((await api.get(`/talk/presence/${room}/`, 'carol')).body.online).toEqual([]);
      }
    });
  });

  describe('?unread=1', () => {
    it('sends the live unread count of each room the user belongs to and does not follow', async () => {
      // Prepare: a user who belongs to a (followed) and r9 (not followed), and to nothing else.
      const [a, r9, user] = [uniqueRoom(), uniqueRoom(), uniqueRoom('user')];
      await addMembers(r9, [user]);
      const alice = await follow(user, [a], '&unread=1');
      const bob = { a: await single(a, 'bob'), r9: await single(r9, 'bob') };

      // Act
      bob.r9.send({ body: 'first' });
      const first = await alice.next((f) => f.type === 'unread' && f.count === 1);
      bob.a.send({ body: 'in a' });
      await alice.next(message('in a'));
      bob.r9.send({ body: 'second' });
      const second = await alice.next((f) => f.type === 'unread' && f.count === 2);
      alice.send({ type: 'unread' });
      const counts = await alice.next((f) => f.type === 'unread' && f.rooms !== undefined);

      // Assess
      expect(first).toEqual({ type: 'unread', room: r9, count: 1 });
      expect(second).toEqual({ type: 'unread', room: r9, count: 2 });
      // A followed room counts too (read when its connection leaves, as for any connection).
      expect(counts.rooms).toEqual({ [r9]: 2, [a]: 1 });
      expect(alice.frames.filter((f) => f.type === 'unread' && f.room === a)).toEqual([]);
      expect(bodies(alice, r9)).toEqual([]);
    });

    it('sends no unread frame to a connection that did not ask', async () => {
      const [r9, user] = [uniqueRoom(), uniqueRoom('user')];
      await addMembers(r9, [user]);
      const asked = await follow(user, [], '&unread=1');
      const quiet = await follow(user, []);
      const bob = await single(r9, 'bob');
      bob.send({ body: 'ping' });
      await asked.next((f) => f.type === 'unread' && f.room === r9);
      quiet.send({ type: 'ping' });
      await quiet.next((f) => f.type === 'pong');
      expect(quiet.frames.filter((f) => f.type === 'unread')).toEqual([]);
    });
  });
});
