import { e2eChat } from '../support/e2e-chat.js';
import { DEPLOYED, E2E_SERVICE_KEY as SERVICE_KEY, e2eSystems as systems } from '../support/gateway.js';
import { uniqueRoom } from '../support/rooms.js';
import { disconnectSettled, type TestSocket } from '../support/socket.js';
import { eventually } from '../support/wait.js';

// biome-ignore lint/suspicious/noExplicitAny: frames and bodies are checked field by field below
type Json = Record<string, any>;

const profile = (name: string) => ({ id: name, username: name });
// Messages and marks per user per minute across rooms in this suite: the rate limit test's user
// goes past it, the other tests' users stay well below.
const USER_LIMIT = 20;
// The push receiver of a deployed stack is no sink of this machine.
const local = DEPLOYED ? it.skip : it;

describe.each(systems)('mentions and mark unread on %s', (_name, services: Record<string, string>) => {
  const { chat, connect, api } = e2eChat(services, {
    HIPOCHAT_CLOSED_ROOMS: 'club-*',
    HIPOCHAT_PUSH_MODE: 'mentions',
    HIPOCHAT_READ_DIGEST_MS: '300',
    HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE: String(USER_LIMIT),
  });
  const { get } = api;
  const post = (path: string, body: unknown, token: string) =>
    api.post(path, body, { authorization: `Token ${token}` });
  const asBackend = (path: string, body: unknown) =>
    api.post(path, body, { authorization: `Bearer ${SERVICE_KEY}` });
  const counts = async (room: string, token: string) =>
    (await get(`/talk/notification/${room}/`, token)).body;
  /** Sends a message and waits for its ack: answers its id. */
  const say = async (socket: TestSocket, fields: Json) => {
    const clientId = `c-${Math.random().toString(36).slice(2)}`;
    socket.send({ ...fields, clientId });
    return (await socket.next((f) => f.type === 'ack' && f.clientId === clientId)).id as string;
  };
  /** A user who left the room (a member, offline). */
  const away = async (room: string, token: string) => {
    await (await connect(room, token)).close();
    await disconnectSettled();
  };

  describe('mentions', () => {
    it('delivers the mentions and counts them for the mentioned until they read', async () => {
      const room = uniqueRoom();
      await away(room, 'bob');
      const alice = await connect(room, 'alice');
      await say(alice, { body: 'hi bob', mentions: ['bob', 'nobody-here'] });
      await say(alice, { body: 'and all', mentions: ['alice'] });

      expect(await alice.next((f) => f.body === 'hi bob')).toMatchObject({
        mentions: ['bob', 'nobody-here'],
      });
      expect(await counts(room, 'bob')).toEqual({ notification: 2, mentions: 1 });
      expect(await counts(room, 'alice')).toEqual({ notification: 0, mentions: 0 });
      const history = (await get(`/talk/history/${room}/?limit=2`, 'bob')).body.results[0];
      expect(history).toMatchObject({ unread_count: 2, mention_count: 1 });

      await get(`/talk/old/${room}/`, 'bob');

      expect(await counts(room, 'bob')).toEqual({ notification: 0, mentions: 0 });
    });

    it('resets mention counts when the mentioned user connects (reads over the socket)', async () => {
      const room = uniqueRoom();
      await away(room, 'bob');
      const alice = await connect(room, 'alice');
      await say(alice, { body: 'bob?', mentions: ['bob'] });
      expect(await counts(room, 'bob')).toEqual({ notification: 1, mentions: 1 });

      await connect(room, 'bob');

      expect(await counts(room, 'bob')).toEqual({ notification: 0, mentions: 0 });
    });

    it('drops non-members from the mentions of a closed room, on the socket and on /talk/item', async () => {
      const room = `club-${uniqueRoom()}`;
      expect((await asBackend(`/talk/new-chat-room/${room}/`, { members: ['alice', 'bob'] })).status).toBe(
        200,
      );
      const alice = await connect(room, 'alice');
      await say(alice, { body: 'members only', mentions: ['mallory', 'bob'] });
      const injected = await post(
        `/talk/item/${room}/?type=message&mentions=mallory,bob,bob`,
        { n: 1 },
        'alice',
      );
      const outsiders = await post(`/talk/item/${room}/?type=message&mentions=mallory`, { n: 2 }, 'alice');

      expect(await alice.next((f) => f.body === 'members only')).toMatchObject({ mentions: ['bob'] });
      expect(injected.status).toBe(201);
      expect(injected.body.mentions).toEqual(['bob']);
      expect(outsiders.body).not.toHaveProperty('mentions');
      expect(await counts(room, 'bob')).toEqual({ notification: 3, mentions: 2 });
    });

    local('pushes only to the offline members mentioned, and nothing when none is', async () => {
      const room = uniqueRoom();
      await away(room, 'olga');
      await away(room, 'pete');
      const alice = await connect(room, 'alice');
      await connect(room, 'otto');
      await say(alice, { body: 'nobody mentioned' });
      const id = await say(alice, { body: 'olga and otto', mentions: ['olga', 'otto', 'stranger'] });

      const pushes = async () =>
        ((await (await fetch(`${chat().httpUrl}/dev/push`)).json()) as Json[]).filter(
          (p) => p.chat_token === room,
        );
      const pushed = await eventually(
        async () => (await pushes()).find((p) => p.id === id),
        'the push',
        10_000,
      );

      expect(pushed.receivers).toEqual(['olga']);
      expect((await pushes()).map((p) => p.body)).toEqual(['olga and otto']);
    });
  });

  describe('POST /talk/unread/{room}/', () => {
    it('marks a message unread, then reading again brings the counts back to 0', async () => {
      const room = uniqueRoom();
      const bob = await connect(room, 'bob');
      const alice = await connect(room, 'alice');
      const first = await say(alice, { body: 'first' });
      const second = await say(alice, { body: 'second', mentions: ['bob'] });
      await say(bob, { body: 'bob answers' });
      await say(alice, { body: 'third' });
      await get(`/talk/old/${room}/`, 'bob');

      const marked = await post(`/talk/unread/${room}/`, { id: second }, 'bob');

      expect(marked.status).toBe(200);
      expect(marked.body).toEqual({ room, lastRead: first, notification: 2, mentions: 1 });
      expect(await counts(room, 'bob')).toEqual({ notification: 2, mentions: 1 });
      const old = (await get(`/talk/old/${room}/?mark=0`, 'bob')).body.results;
      expect(old.read_messages.map((m: Json) => m.body)).toEqual(['first']);
      expect(old.unread_messages.map((m: Json) => m.body)).toEqual(['second', 'bob answers', 'third']);

      await get(`/talk/old/${room}/`, 'bob');

      expect(await counts(room, 'bob')).toEqual({ notification: 0, mentions: 0 });
    });

    it('moves the read receipt back for signals connections', async () => {
      const room = uniqueRoom();
      const carol = await connect(room, 'carol', { signals: true });
      await connect(room, 'bob');
      const alice = await connect(room, 'alice');
      const first = await say(alice, { body: 'first' });
      const second = await say(alice, { body: 'second' });
      await get(`/talk/old/${room}/`, 'bob');
      const markOf = (f: Json) => (f.type === 'reads' ? f.marks : f.type === 'batch' ? f.reads : undefined);
      await carol.next((f) => markOf(f)?.some((m: Json) => m.user.id === 'bob' && m.id === second));

      await post(`/talk/unread/${room}/`, { id: second }, 'bob');

      expect(
        await carol.next((f) => markOf(f)?.some((m: Json) => m.user.id === 'bob' && m.id === first)),
      ).toEqual({
        type: 'reads',
        room,
        marks: [{ user: profile('bob'), id: first }],
      });
      const receipts = (await get(`/talk/receipts/${room}/`, 'carol')).body.receipts;
      expect(receipts).toContainEqual({ user: profile('bob'), lastRead: first });
    });

    it('answers 400 for a malformed id and 404 JSON for an id that is no message of the room', async () => {
      const room = uniqueRoom();
      const alice = await connect(room, 'alice');
      const elsewhere = await say(await connect(uniqueRoom(), 'alice'), { body: 'elsewhere' });
      await say(alice, { body: 'here' });

      const malformed = await post(`/talk/unread/${room}/`, { id: 'newest' }, 'bob');
      const unknown = await post(`/talk/unread/${room}/`, { id: elsewhere }, 'bob');

      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual({ error: 'id must be a message id such as 1700000000000-0' });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({ error: 'no such message in this room' });
    });

    it('answers 401 without a token and 403 to a non-member of a closed room', async () => {
      const room = `club-${uniqueRoom()}`;
      await asBackend(`/talk/new-chat-room/${room}/`, { members: ['alice'] });
      const alice = await connect(room, 'alice');
      const id = await say(alice, { body: 'secret' });

      expect((await api.post(`/talk/unread/${room}/`, { id })).status).toBe(401);
      const outsider = await post(`/talk/unread/${room}/`, { id }, 'mallory');
      expect(outsider.status).toBe(403);
      expect(outsider.body).toEqual({ error: 'room is closed to non-members' });
      expect((await post(`/talk/unread/${room}/`, { id }, 'alice')).status).toBe(200);
    });

    it(`counts against the user's ${USER_LIMIT} messages a minute across rooms: 429 with Retry-After`, async () => {
      const room = uniqueRoom();
      const alice = await connect(room, 'alice');
      const id = await say(alice, { body: 'read me again' });
      const user = `marker-${Date.now().toString(36)}`;
      for (let n = 0; n < USER_LIMIT; n += 1) {
        expect((await post(`/talk/unread/${room}/`, { id }, user)).status).toBe(200);
      }

      const refused = await post(`/talk/unread/${room}/`, { id }, user);

      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    });
  });

  describe('old clients', () => {
    it('get messages with mentions as messages, and keep their own frames and answers', async () => {
      const room = uniqueRoom();
      const old = await connect(room, 'olivia', { legacy: true });
      const alice = await connect(room, 'alice');
      // A Hipochat client's own `mentions` field (no list of ids) is dropped, never an error.
      old.send({ message: 'old style', mentions: 'everyone' });
      const own = await old.next((f) => f.body === 'old style');
      await say(alice, { body: 'hello olivia', mentions: ['olivia'] });
      const mentioned = await old.next((f) => f.body === 'hello olivia');

      expect(own).not.toHaveProperty('mentions');
      expect(mentioned).toMatchObject({ type: 'message', room, token: room, mentions: ['olivia'] });
      expect(old.frames.filter((f) => f.type === 'error')).toEqual([]);
      const { body } = await get(`/talk/old/${room}/`, 'olivia');
      expect(Object.keys(body).sort()).toEqual(['oldy', 'page', 'results']);
      expect(body.oldy.map((m: Json) => m.body)).toEqual(['old style', 'hello olivia']);
    });
  });
});
