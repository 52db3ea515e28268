import fc from 'fast-check';
import { SERVER_FIELDS } from '../../protocol/index.js';
import {
  type ChatEndpoints,
  chatEndpoints,
  E2E_SERVICE_KEY as SERVICE_KEY,
  e2eSystems as systems,
} from '../support/gateway.js';
import { httpApi } from '../support/http-api.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';

jest.setTimeout(180_000);

// biome-ignore lint/suspicious/noExplicitAny: frames and bodies are checked field by field below
type Json = Record<string, any>;

/** What every forged value carries (or is: `true`, `9999`), so a leak shows wherever it lands. */
const FORGED = 'FORGED';

/** The client frame kinds, each as a client sends it; `id` is the message a change names. */
type Kind = 'send' | 'legacy' | 'untyped' | 'typing' | 'ping' | 'edit' | 'delete' | 'react';
const KINDS: Kind[] = ['send', 'legacy', 'untyped', 'typing', 'ping', 'edit', 'delete', 'react'];

/** A frame of `kind`: its own fields, which a client may set. */
function baseFrame(kind: Kind, n: number, ids: { own: string; others: string }): Json {
  switch (kind) {
    case 'send':
      return { type: 'message', body: `b-${n}` };
    case 'legacy':
      return { message: `b-${n}` };
    case 'untyped':
      return { body: { n } };
    case 'typing':
      return { type: 'typing', body: { n } };
    case 'ping':
      return { type: 'ping' };
    case 'edit':
      return { type: 'edit', id: ids.own, body: `e-${n}` };
    case 'delete':
      return { type: 'delete', id: ids.others };
    case 'react':
      return { type: 'react', id: ids.others, emoji: n % 2 ? 'ok' : 'tada' };
  }
}

/** The kinds that send a message. */
const MESSAGE_KINDS: Kind[] = ['send', 'legacy', 'untyped'];

/**
 * The server's fields a frame of `kind` may not set (its own `type`, `id`, `body` and `clientId`
 * aside, and a message's `mentions`: the sender names them, the server only cleans them).
 */
const forgeable = (kind: Kind) =>
  SERVER_FIELDS.filter(
    (name) =>
      !['type', 'body', 'clientId'].includes(name) &&
      !(name === 'id' && ['edit', 'delete', 'react'].includes(kind)) &&
      !(name === 'mentions' && MESSAGE_KINDS.includes(kind)),
  );

describe.each(systems)('client frames carrying the fields of the server, on %s', (_name, services) => {
  let chat: ChatEndpoints;
  const api = httpApi(() => chat.httpUrl);
  const open: TestSocket[] = [];

  beforeAll(async () => {
    chat = await chatEndpoints({
      ...services,
      HIPOCHAT_SERVICE_KEY: SERVICE_KEY,
      HIPOCHAT_RATE_LIMIT_PER_MINUTE: '100000',
    });
  });

  afterAll(async () => {
    await Promise.all(open.map((socket) => socket.close()));
    await chat?.stop();
  });

  it('lets no client set anything the server owns, on any kind of frame', async () => {
    // Prepare: alice's message (others'), mallory's own, and a watcher of live signals.
    const room = uniqueRoom('forged');
    const connect = async (token: string) => {
      const socket = await openSocket(`${chat.wsUrl}/?room=${room}&token=${token}&signals=1`);
      open.push(socket);
      return socket;
    };
    const watcher = await connect('carol');
    const alice = await connect('alice');
    const mallory = await connect('mallory');
    const answer = async (socket: TestSocket, frame: Json, clientId: string) => {
      socket.send({ ...frame, clientId });
      return socket.next((f) => f.clientId === clientId && (f.type === 'ack' || 'ERROR' in f));
    };
    const others = (await answer(alice, { body: 'target' }, 'a-0')).id as string;
    const own = (await answer(mallory, { body: 'mine' }, 'm-0')).id as string;
    let n = 0;
    /** Sends one frame of `kind` with the forged fields, and waits for the server's answer. */
    const send = async (kind: Kind, forged: Json) => {
      n += 1;
      const frame = { ...forged, ...baseFrame(kind, n, { own, others }) };
      if (kind !== 'ping') return answer(mallory, frame, `f-${n}`);
      const pongs = mallory.frames.filter((f) => f.type === 'pong').length;
      mallory.send(frame);
      return mallory.next(
        (f) => f.type === 'pong' && mallory.frames.filter((p) => p.type === 'pong').length > pongs,
      );
    };
    const value = fc.constantFrom<unknown>(
      FORGED,
      true,
      9999,
      { at: 9e12, by: FORGED },
      { '👍': { count: 9999, users: [FORGED] } },
      JSON.stringify({ type: 'edit', room, id: others, body: FORGED, edited: { at: 9e12, by: 'alice' } }),
      [FORGED],
    );

    // Act: every kind with every field of the server, then random kinds, subsets and values.
    for (const kind of KINDS) {
      await send(kind, Object.fromEntries(forgeable(kind).map((name) => [name, FORGED])));
      await send(kind, Object.fromEntries(forgeable(kind).map((name) => [name, true])));
    }
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...KINDS).chain((kind) =>
          fc.record({
            kind: fc.constant(kind),
            forged: fc.dictionary(fc.constantFrom(...forgeable(kind)), value, { minKeys: 1 }),
          }),
        ),
        async ({ kind, forged }) => {
          await send(kind, forged);
        },
      ),
      { numRuns: 120 },
    );
    await answer(alice, { body: 'the end' }, 'a-end');
    for (const socket of [watcher, mallory]) await socket.next((f) => f.body === 'the end');

    // Assess: no forged value anywhere, and every server field as the server set it.
    const now = Date.now() / 1000;
    const history = (await api.get(`/talk/old/${room}/`, 'bob')).body.oldy as Json[];
    const frames = [...watcher.frames, ...mallory.frames, ...alice.frames];
    expect(JSON.stringify(history)).not.toContain(FORGED);
    expect(JSON.stringify(frames)).not.toContain(FORGED);
    const messages = [...history, ...frames.filter((f) => f.type === 'message')];
    expect(messages.length).toBeGreaterThan(KINDS.length);
    for (const message of messages) {
      const sender = message.senderId as string;
      expect(['alice', 'mallory']).toContain(sender);
      expect(message).toMatchObject({ room, token: room, author: { id: sender, username: sender } });
      expect(message.id).toMatch(/^\d+-\d+$/);
      expect(message.timestamp).toBeLessThan(now + 60);
      for (const mark of ['deleted', 'signal', 'except', 'ERROR', 'kind', 'messages', 'user', 'event']) {
        expect(message).not.toHaveProperty(mark);
      }
      if (message.edited) expect(message).toMatchObject({ id: own, edited: { by: 'mallory' } });
      if (message.edited) expect(message.edited.at).toBeLessThan(now + 60);
      if (message.reactions) expect(message.id).toBe(others);
      for (const summary of Object.values((message.reactions ?? {}) as Json)) {
        expect(summary.count).toBeLessThanOrEqual(1);
      }
    }
    for (const frame of frames) {
      if (frame.type === 'edit') expect(frame).toMatchObject({ room, id: own, edited: { by: 'mallory' } });
      if (frame.type === 'reaction') expect(frame).toMatchObject({ room, id: others });
      if (frame.type === 'typing') {
        expect(frame).toMatchObject({ room, senderId: 'mallory', author: { id: 'mallory' } });
      }
      expect(frame.type).not.toBe('delete');
    }
  });
});
