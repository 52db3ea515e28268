import { e2eChat, type ConnectionShape as Shape } from '../support/e2e-chat.js';
import { E2E_SERVICE_KEY as SERVICE_KEY, e2eSystems as systems } from '../support/gateway.js';
import { TWENTY_EMOJI, UNREADABLE_EMOJI } from '../support/messages.js';
import { uniqueRoom } from '../support/rooms.js';
import type { TestSocket } from '../support/socket.js';
import { eventually, pause } from '../support/wait.js';

// biome-ignore lint/suspicious/noExplicitAny: frames and bodies are checked field by field below
type Json = Record<string, any>;

const CHANGE_TYPES = new Set(['edit', 'delete', 'reaction']);

describe.each(systems)('edits, deletes and reactions on %s', (_name, services: Record<string, string>) => {
  const { chat, connect, api } = e2eChat(services);
  const get = api.get;
  const asBackend = (path: string, body: object) =>
    api.post(path, body, { authorization: `Bearer ${SERVICE_KEY}` });
  /** Sends a message and waits for its ack: answers its id. */
  const say = async (socket: TestSocket, body: unknown, clientId: string) => {
    socket.send({ body, clientId });
    const ack = await socket.next((f) => f.type === 'ack' && f.clientId === clientId);
    return ack.id as string;
  };

  it.each<[string, Shape]>([
    ['the API Gateway URL', {}],
    ['the Hipochat URL', { legacy: true }],
  ])(
    'delivers edit, reaction and delete frames on %s to signals connections only, in order',
    async (_shape, shape) => {
      const room = uniqueRoom();
      const watcher = await connect(room, 'carol', { ...shape, signals: true });
      const old = await connect(room, 'dave', shape);
      const alice = await connect(room, 'alice', { legacy: !shape.legacy });
      const id = await say(alice, 'helo', 'm1');
      alice.send({ type: 'edit', id, body: 'hello', clientId: 'e1' });
      expect(await alice.next((f) => f.type === 'ack' && f.clientId === 'e1')).toEqual({
        type: 'ack',
        id,
        clientId: 'e1',
      });
      watcher.send({ type: 'react', id, emoji: '👍', clientId: 'r1' });
      await watcher.next((f) => f.type === 'ack' && f.clientId === 'r1');
      alice.send({ type: 'delete', id, clientId: 'd1' });
      await watcher.next((f) => f.type === 'delete');
      const changes = watcher.frames.filter((f) => CHANGE_TYPES.has(f.type as string));
      expect(changes).toEqual([
        { type: 'edit', room, id, body: 'hello', edited: { at: expect.any(Number), by: 'alice' } },
        { type: 'reaction', room, id, emoji: '👍', user: 'carol', count: 1, added: true },
        { type: 'delete', room, id },
      ]);
      // An old client sees the message and nothing of what happened to it.
      await old.next((f) => f.id === id);
      await pause(300);
      expect(old.frames.filter((f) => CHANGE_TYPES.has(f.type as string))).toEqual([]);
      expect(old.frames.filter((f) => f.id === id)).toHaveLength(1);
    },
  );

  it('shows current versions in /talk/old and /talk/history: edited, reacted, and tombstones without the old body', async () => {
    const room = uniqueRoom();
    const alice = await connect(room, 'alice', { legacy: true });
    const edited = await say(alice, 'typo', 'a');
    const gone = await say(alice, 'regret', 'b');
    alice.send({ type: 'edit', id: edited, body: 'fixed', clientId: 'e' });
    alice.send({ type: 'react', id: edited, emoji: '🎉', clientId: 'r' });
    alice.send({ type: 'delete', id: gone, clientId: 'd' });
    await alice.next((f) => f.type === 'ack' && f.clientId === 'd');
    const { body } = await get(`/talk/old/${room}/`, 'bob');
    const [first, second] = body.oldy as Json[];
    expect(first).toMatchObject({ id: edited, body: 'fixed', edited: { by: 'alice' } });
    expect(first!.reactions).toEqual({ '🎉': { count: 1, users: ['alice'] } });
    expect(second).toMatchObject({ id: gone, deleted: true });
    expect(second).not.toHaveProperty('body');
    expect(JSON.stringify(body)).not.toContain('regret');
    const history = await get(`/talk/history/${room}/?limit=10`, 'bob');
    expect(history.body.results[0].messages.map((m: Json) => m.body ?? null)).toEqual(['fixed', null]);
  });

  it('refuses to edit or delete a message of someone else with an error frame, and changes nothing', async () => {
    const room = uniqueRoom();
    const alice = await connect(room, 'alice');
    const mallory = await connect(room, 'mallory', { legacy: true });
    const id = await say(alice, 'mine', 'm');
    mallory.send({ type: 'edit', id, body: 'yours', clientId: 'x1' });
    expect(await mallory.next((f) => f.clientId === 'x1')).toEqual({
      ERROR: 'you can only edit your own messages',
      clientId: 'x1',
    });
    mallory.send({ type: 'delete', id, clientId: 'x2' });
    expect(await mallory.next((f) => f.clientId === 'x2')).toEqual({
      ERROR: 'you can only delete your own messages',
      clientId: 'x2',
    });
    expect((await get(`/talk/old/${room}/`, 'bob')).body.oldy[0].body).toBe('mine');
  });

  it('lets the backend edit and delete any message with the service key, 404 for an unknown id', async () => {
    const room = uniqueRoom();
    const alice = await connect(room, 'alice');
    const id = await say(alice, 'spam', 'm');
    const edit = await asBackend(`/talk/edit/${room}/`, { id, body: '[removed by a moderator]' });
    expect(edit.status).toBe(200);
    expect(edit.body).toMatchObject({ id, body: '[removed by a moderator]', edited: { by: null } });
    const deleted = await asBackend(`/talk/delete/${room}/`, { id });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ id, deleted: true });
    expect((await asBackend(`/talk/delete/${room}/`, { id: '1-0' })).status).toBe(404);
    const unauthorized = await fetch(`${chat().httpUrl}/talk/delete/${room}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Token alice' },
      body: JSON.stringify({ id }),
    });
    expect(unauthorized.status).toBe(403);
  });

  it.each([...UNREADABLE_EMOJI, ['a name the server does not offer', 'thumbsup']])(
    'refuses %s as a reaction with an error frame, and the next reaction still works',
    async (_, emoji) => {
      const room = uniqueRoom();
      const alice = await connect(room, 'alice');
      const id = await say(alice, 'react to me', 'm');
      alice.send({ type: 'react', id, emoji, clientId: 'bad' });
      expect(await alice.next((f) => f.clientId === 'bad')).toEqual({
        ERROR: expect.stringContaining('emoji must be one emoji'),
        clientId: 'bad',
      });
      alice.send({ type: 'react', id, emoji: '👍', clientId: 'good' });
      expect(await alice.next((f) => f.clientId === 'good')).toMatchObject({ type: 'ack', id });
      const { body } = await get(`/talk/old/${room}/`, 'bob');
      expect(body.oldy[0].reactions).toEqual({ '👍': { count: 1, users: ['alice'] } });
    },
  );

  it('keeps 150 users × 20 emoji to a bounded summary, announcing each toggle in a small frame', async () => {
    const room = uniqueRoom();
    const all = TWENTY_EMOJI;
    const watcher = await connect(room, 'watcher', { signals: true });
    const author = await connect(room, 'author');
    const id = await say(author, 'react to me', 'm');
    const users = await Promise.all(Array.from({ length: 150 }, (_, n) => connect(room, `user-${n}`)));
    await Promise.all(
      users.map(async (socket) => {
        for (const [n, one] of all.entries())
          socket.send({ type: 'react', id, emoji: one, clientId: `r${n}` });
        await Promise.all(all.map((_, n) => socket.next((f) => f.type === 'ack' && f.clientId === `r${n}`)));
      }),
    );
    const { body } = await get(`/talk/old/${room}/`, 'bob');
    const reactions = body.oldy[0].reactions as Json;
    expect(Object.keys(reactions).sort()).toEqual([...all].sort());
    for (const one of all) {
      expect(reactions[one]).toMatchObject({ count: 150, clipped: true });
      expect(reactions[one].users).toHaveLength(20);
    }
    // What every user of the room took before: 189 KB in one summary, and a 25.8 KB frame per toggle.
    expect(Buffer.byteLength(JSON.stringify(reactions), 'utf8')).toBeLessThan(6000);
    const reactionFrames = () => watcher.frames.filter((f) => f.type === 'reaction');
    await eventually(() => reactionFrames().length >= 150 * 20, 'every reaction frame', 40_000);
    const frames = reactionFrames();
    expect(frames).toHaveLength(150 * 20);
    expect(Math.max(...frames.map((f) => Buffer.byteLength(JSON.stringify(f), 'utf8')))).toBeLessThan(200);
  }, 60_000);

  it('answers occupancy with who is online', async () => {
    const room = uniqueRoom();
    await connect(room, 'alice');
    await connect(room, 'alice', { legacy: true });
    await connect(room, 'bob');
    const { body } = await get(`/talk/presence/${room}/`, 'bob');
    expect(body).toMatchObject({ connections: 3, members: 2 });
    expect(body.online).toHaveLength(2);
  });
});
