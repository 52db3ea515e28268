import { e2eChat } from '../support/e2e-chat.js';
import { E2E_SERVICE_KEY as SERVICE_KEY, e2eSystems as systems } from '../support/gateway.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';
import { pause } from '../support/wait.js';

// biome-ignore lint/suspicious/noExplicitAny: frames and bodies are checked field by field below
type Json = Record<string, any>;

const BAD_PARENT = 'parentId must name a message of this room that is not a reply';

describe.each(systems)('replies and threads on %s', (_name, services: Record<string, string>) => {
  const { chat, connect, track, api } = e2eChat(services, { HIPOCHAT_CLOSED_ROOMS: 'club-*' });
  const get = api.get;
  const asBackend = { authorization: `Bearer ${SERVICE_KEY}` };
  /** Sends a message (a reply with `parentId`) and waits for its ack: answers its id. */
  const say = async (socket: TestSocket, body: unknown, clientId: string, parentId?: string) => {
    socket.send({ body, clientId, ...(parentId ? { parentId } : {}) });
    const ack = await socket.next((f) => f.type === 'ack' && f.clientId === clientId);
    return ack.id as string;
  };
  /** Sends a frame and answers the error frame that refuses it. */
  const refusal = async (socket: TestSocket, frame: Json) => {
    socket.send(frame);
    return socket.next((f) => f.ERROR !== undefined && f.clientId === frame.clientId);
  };

  describe('a reply', () => {
    it('reaches every connection as a message with parentId, and signals connections hear the root’s replies', async () => {
      const room = uniqueRoom();
      const watcher = await connect(room, 'carol', { signals: true });
      // An old Hipochat client: the legacy URL, no signals.
      const old = await connect(room, 'dave', { legacy: true });
      const alice = await connect(room, 'alice');
      const root = await say(alice, 'lunch?', 'm1');
      const reply = await say(alice, 'at noon', 'r1', root);

      expect(await old.next((f) => f.id === reply)).toMatchObject({ body: 'at noon', parentId: root, room });
      expect(await watcher.next((f) => f.type === 'replies')).toEqual({
        type: 'replies',
        room,
        id: root,
        count: 1,
        lastId: reply,
      });
      const second = await say(alice, 'or one', 'r2', root);
      expect(await watcher.next((f) => f.type === 'replies' && f.count === 2)).toMatchObject({
        id: root,
        lastId: second,
      });
      await old.next((f) => f.id === second);
      await pause(300);
      expect(old.frames.filter((f) => f.type === 'replies')).toEqual([]);
      expect(watcher.frames.filter((f) => f.id === reply)).toHaveLength(1);
    });

    it.each([
      ['a reply', async (alice: TestSocket) => say(alice, 'reply', 'r0', await say(alice, 'root', 'm0'))],
      ['an unknown id', async () => '1700000000000-0'],
      [
        'a message of another room',
        async () => {
          const other = await connect(uniqueRoom(), 'alice');
          return say(other, 'elsewhere', 'o1');
        },
      ],
    ])('refuses a reply to %s with an error frame and stores nothing', async (_what, parent) => {
      const room = uniqueRoom();
      const alice = await connect(room, 'alice');
      const parentId = await parent(alice);
      const before = (await get(`/talk/old/${room}/?mark=0`, 'bob')).body.oldy.length;
      expect(await refusal(alice, { body: 'no', clientId: 'x1', parentId })).toMatchObject({
        ERROR: BAD_PARENT,
        clientId: 'x1',
      });
      expect((await get(`/talk/old/${room}/?mark=0`, 'bob')).body.oldy).toHaveLength(before);
      // The socket goes on.
      await say(alice, 'still here', 'ok');
    });

    it('refuses a malformed parentId as the frame is read', async () => {
      const alice = await connect(uniqueRoom(), 'alice');
      expect(await refusal(alice, { body: 'no', clientId: 'x1', parentId: 'not-an-id' })).toMatchObject({
        ERROR: 'parentId must be a message id such as 1700000000000-0',
      });
    });

    it('counts as unread for the other members, like any message', async () => {
      const room = uniqueRoom();
      const alice = await connect(room, 'alice');
      await api.post(`/talk/new-chat-room/${room}/`, { members: ['bob'] }, asBackend);
      const root = await say(alice, 'root', 'm1');
      await get(`/talk/old/${room}/`, 'bob');
      await say(alice, 'r1', 'r1', root);
      await say(alice, 'r2', 'r2', root);
      expect((await get(`/talk/notification/${room}/`, 'bob')).body).toMatchObject({ notification: 2 });
    });

    it('is injected with POST /talk/item ...&parentId=, by the backend or a user; a bad one is a 400', async () => {
      const room = uniqueRoom();
      const watcher = await connect(room, 'carol', { signals: true });
      const alice = await connect(room, 'alice');
      const root = await say(alice, 'root', 'm1');
      const injected = await api.post(
        `/talk/item/${room}/?type=message&parentId=${root}`,
        { n: 1 },
        asBackend,
      );
      expect(injected.status).toBe(201);
      expect(injected.body).toMatchObject({ parentId: root, body: { n: 1 } });
      const byUser = await api.post(`/talk/item/${room}/?parentId=${root}`, '"two"', {
        authorization: 'Token alice',
      });
      expect(byUser.status).toBe(201);
      await watcher.next((f) => f.type === 'replies' && f.count === 2);
      const reply = injected.body.id as string;
      for (const parentId of [reply, '1-0', 'nope']) {
        const refused = await api.post(`/talk/item/${room}/?parentId=${parentId}`, '"x"', asBackend);
        expect(refused.status).toBe(400);
        expect(refused.body.error).toMatch(/^parentId must/);
      }
      expect((await get(`/talk/old/${room}/?mark=0`, 'bob')).body.oldy).toHaveLength(3);
    });
  });

  describe('the replies summary in history', () => {
    it('shows replies {count, lastId} on the root in /talk/old, /talk/history and a subscribe’s missed', async () => {
      const room = uniqueRoom();
      const alice = await connect(room, 'alice');
      const root = await say(alice, 'root', 'm1');
      await say(alice, 'r1', 'r1', root);
      const last = await say(alice, 'r2', 'r2', root);
      const summary = { count: 2, lastId: last };

      const old = (await get(`/talk/old/${room}/`, 'bob')).body;
      expect(old.oldy[0]).toMatchObject({ id: root, replies: summary });
      expect(old.oldy.slice(1).map((m: Json) => [m.parentId, m.replies])).toEqual([
        [root, undefined],
        [root, undefined],
      ]);
      const history = (await get(`/talk/history/${room}/?limit=10`, 'bob')).body;
      expect(history.results[0].messages[0]).toMatchObject({ id: root, replies: summary });

      const follower = track(await openSocket(`${chat().wsUrl}/?token=bob`));
      follower.send({ type: 'subscribe', room, since: '0-1' });
      const subscribed = await follower.next((f) => f.type === 'subscribed' && f.room === room);
      expect((subscribed.missed as Json[])[0]).toMatchObject({ id: root, replies: summary });
    });
  });

  describe('GET /talk/thread/{room}/{root}/', () => {
    it('answers the root and its replies oldest first, paged with limit and before', async () => {
      const room = uniqueRoom();
      const alice = await connect(room, 'alice');
      const root = await say(alice, 'root', 'm1');
      await say(alice, 'not in the thread', 'm2');
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) ids.push(await say(alice, `r${i}`, `r${i}`, root));

      const newest = await get(`/talk/thread/${room}/${root}/?limit=2`, 'bob');
      expect(newest.status).toBe(200);
      expect(newest.body).toEqual({
        room,
        root: expect.objectContaining({ id: root, body: 'root', replies: { count: 5, lastId: ids[4] } }),
        replies: [expect.objectContaining({ id: ids[3] }), expect.objectContaining({ id: ids[4] })],
        page: { more: true, before: ids[3] },
      });
      const older = (await get(`/talk/thread/${room}/${root}/?limit=2&before=${ids[3]}`, 'bob')).body;
      expect(older.replies.map((m: Json) => m.body)).toEqual(['r1', 'r2']);
      const oldest = (await get(`/talk/thread/${room}/${root}/?before=${ids[1]}`, 'bob')).body;
      expect(oldest.replies.map((m: Json) => m.body)).toEqual(['r0']);
      expect(oldest.page).toEqual({ more: false, before: ids[0] });
      const all = (await get(`/talk/thread/${room}/${root}/`, 'bob')).body;
      expect(all.replies.map((m: Json) => m.parentId)).toEqual(Array(5).fill(root));
    });

    it('answers 404 for an unknown root, 400 for a reply or a malformed id', async () => {
      const room = uniqueRoom();
      const alice = await connect(room, 'alice');
      const root = await say(alice, 'root', 'm1');
      const reply = await say(alice, 'r', 'r1', root);
      const unknown = await get(`/talk/thread/${room}/1700000000000-0/`, 'bob');
      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual({ error: 'message not found' });
      const ofReply = await get(`/talk/thread/${room}/${reply}/`, 'bob');
      expect(ofReply.status).toBe(400);
      expect(ofReply.body.error).toBe('that message is a reply, not a thread root');
      for (const path of [
        `${room}/nope/`,
        `${room}/${root}/?limit=0`,
        `${room}/${root}/?before=x`,
        `${root}/`,
      ]) {
        expect((await get(`/talk/thread/${path}`, 'bob')).status).toBe(400);
      }
    });

    it('refuses a non-member of a closed room as /talk/old does', async () => {
      const room = `club-${uniqueRoom()}`;
      await api.post(`/talk/new-chat-room/${room}/`, { members: ['alice'] }, asBackend);
      const alice = await connect(room, 'alice');
      const root = await say(alice, 'members only', 'm1');
      await say(alice, 'r', 'r1', root);
      expect((await get(`/talk/old/${room}/`, 'mallory')).status).toBe(403);
      expect((await get(`/talk/thread/${room}/${root}/`, 'mallory')).status).toBe(403);
      expect((await get(`/talk/threads/${room}/`, 'mallory')).status).toBe(403);
      expect((await get(`/talk/thread/${room}/${root}/`, 'alice')).status).toBe(200);
    });

    it('needs a user token', async () => {
      const response = await fetch(`${chat().httpUrl}/talk/threads/${uniqueRoom()}/`);
      expect(response.status).toBe(401);
    });
  });

  describe('GET /talk/threads/{room}/', () => {
    it('lists threads by latest activity with count, lastId and the caller’s unread replies', async () => {
      const room = uniqueRoom();
      const alice = await connect(room, 'alice');
      const bob = await connect(room, 'bob');
      const a = await say(alice, 'a', 'a');
      const b = await say(alice, 'b', 'b');
      await say(bob, 'a1', 'a1', a);
      const b1 = await say(bob, 'b1', 'b1', b);
      const a2 = await say(bob, 'a2', 'a2', a);

      const listed = await get(`/talk/threads/${room}/`, 'alice');
      expect(listed.status).toBe(200);
      expect(listed.body.room).toBe(room);
      expect(listed.body.threads.map((t: Json) => [t.root.id, t.count, t.lastId, t.unread])).toEqual([
        [a, 2, a2, 2],
        [b, 1, b1, 1],
      ]);
      // Bob wrote every reply: nothing is unread for him.
      const forBob = (await get(`/talk/threads/${room}/?limit=1`, 'bob')).body.threads;
      expect(forBob.map((t: Json) => [t.root.id, t.unread])).toEqual([[a, 0]]);

      // Reading a thread's newest page marks it read; an older page does not.
      await get(`/talk/thread/${room}/${b}/?before=${b1}`, 'alice');
      expect((await get(`/talk/threads/${room}/`, 'alice')).body.threads[1].unread).toBe(1);
      await get(`/talk/thread/${room}/${b}/`, 'alice');
      expect((await get(`/talk/threads/${room}/`, 'alice')).body.threads[1].unread).toBe(0);
      // A new reply puts its thread first, unread.
      const b2 = await say(bob, 'b2', 'b2', b);
      const after = (await get(`/talk/threads/${room}/`, 'alice')).body.threads;
      expect(after.map((t: Json) => [t.root.id, t.lastId, t.unread])).toEqual([
        [b, b2, 1],
        [a, a2, 2],
      ]);
    });

    it('answers no threads for a room without replies, and refuses a bad limit', async () => {
      const room = uniqueRoom();
      expect((await get(`/talk/threads/${room}/`, 'alice')).body).toEqual({ room, threads: [] });
      expect((await get(`/talk/threads/${room}/?limit=201`, 'alice')).status).toBe(400);
      expect((await get(`/talk/threads/${room}/?limit=x`, 'alice')).status).toBe(400);
    });
  });
});
