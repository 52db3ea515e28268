import { type RecordedClient, recordedClient } from '../support/chat-client.js';
import {
  type ChatEndpoints,
  chatEndpoints,
  E2E_SERVICE_KEY as SERVICE_KEY,
  e2eSystems as systems,
} from '../support/gateway.js';
import { httpApi } from '../support/http-api.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';
import { eventually } from '../support/wait.js';

jest.setTimeout(90_000);

// biome-ignore lint/suspicious/noExplicitAny: frames and bodies are checked field by field below
type Json = Record<string, any>;

/** The fields of a stored message that only the server may set. */
const CHANGE_MARKS = ['deleted', 'edited', 'reactions', 'signal', 'except', 'ERROR', 'kind'];

describe.each(systems)(
  'fields that belong to the server, on %s',
  (_name, services: Record<string, string>) => {
    let chat: ChatEndpoints;
    const open: TestSocket[] = [];
    const clients: RecordedClient[] = [];
    const api = httpApi(() => chat.httpUrl);
    const asBackend = (path: string, body: object, key?: string) =>
      api.post(path, body, {
        authorization: `Bearer ${SERVICE_KEY}`,
        ...(key === undefined ? {} : { 'idempotency-key': key }),
      });

    const connect = async (room: string, token: string, signals = false) => {
      const socket = await openSocket(
        `${chat.wsUrl}/?room=${room}&token=${token}${signals ? '&signals=1' : ''}`,
      );
      open.push(socket);
      return socket;
    };
    /** Sends `frame` with `clientId` and answers the ack's message id. */
    const acked = async (socket: TestSocket, frame: Json, clientId: string) => {
      socket.send({ ...frame, clientId });
      const ack = await socket.next((f) => f.type === 'ack' && f.clientId === clientId);
      return ack.id as string;
    };
    const history = async (room: string) => (await api.get(`/talk/old/${room}/`, 'bob')).body.oldy as Json[];

    beforeAll(async () => {
      chat = await chatEndpoints({ ...services, HIPOCHAT_SERVICE_KEY: SERVICE_KEY });
    });

    afterEach(async () => {
      for (const recorded of clients.splice(0)) recorded.client.close();
      await Promise.all(open.splice(0).map((socket) => socket.close()));
    });

    afterAll(async () => {
      await chat?.stop();
    });

    it('never turns a chat frame with a `signal` field into a frame of its own', async () => {
      // Prepare: a watcher of live signals, and a forged edit of the victim's message.
      const room = uniqueRoom('forged-signal');
      const watcher = await connect(room, 'carol', true);
      const victim = await connect(room, 'alice');
      const mallory = await connect(room, 'mallory');
      const id = await acked(victim, { body: 'mine' }, 'v1');
      const forged = JSON.stringify({
        type: 'edit',
        room,
        id,
        body: 'pwned',
        edited: { at: 9e12, by: 'alice' },
      });

      // Act
      const forgedId = await acked(mallory, { body: 'x', signal: forged, except: 'nobody' }, 'm1');
      await acked(victim, { body: 'after' }, 'v2');
      await watcher.next((f) => f.body === 'after');

      // Assess: the watcher got mallory's message as a message, and no edit.
      expect(watcher.frames.filter((f) => f.type === 'edit')).toEqual([]);
      const delivered = watcher.frames.find((f) => f.id === forgedId)!;
      expect(delivered).toMatchObject({ type: 'message', body: 'x', senderId: 'mallory' });
      expect(delivered).not.toHaveProperty('signal');
      expect(delivered).not.toHaveProperty('except');
      expect((await history(room)).find((m) => m.id === id)).toMatchObject({ body: 'mine' });
    });

    it('stores `deleted`, `edited` and `reactions` sent in a chat frame as nothing: moderation still works', async () => {
      // Prepare
      const room = uniqueRoom('forged-marks');
      const mallory = await connect(room, 'mallory');
      const id = await acked(
        mallory,
        {
          body: 'SPAM',
          deleted: true,
          edited: { at: 9e12, by: null },
          reactions: { '👍': { count: 9999, users: ['alice'] } },
        },
        'spam-1',
      );

      // Act: the stored message, the author's edit, then the backend's delete.
      const [stored] = (await history(room)).filter((m) => m.id === id);
      const edit = await acked(mallory, { type: 'edit', id, body: 'SPAM again' }, 'e1');
      const deleted = await asBackend(`/talk/delete/${room}/`, { id });

      // Assess
      for (const mark of CHANGE_MARKS) expect(stored).not.toHaveProperty(mark);
      expect(edit).toBe(id);
      expect(deleted.status).toBe(200);
      expect(deleted.body).toMatchObject({ id, deleted: true });
      const old = JSON.stringify(await history(room));
      const recent = JSON.stringify((await api.get(`/talk/history/${room}/`, 'bob')).body);
      expect(old).not.toContain('SPAM');
      expect(recent).not.toContain('SPAM');
    });

    it('lets the backend delete with an Idempotency-Key a user named `backend` used as a clientId', async () => {
      // Prepare: the user `backend` reacts with clientId X.
      const room = uniqueRoom('backend-scope');
      const alice = await connect(room, 'alice');
      const impostor = await connect(room, 'backend');
      const id = await acked(alice, { body: 'SPAM' }, 'a1');
      await acked(impostor, { type: 'react', id, emoji: '👍' }, 'X');

      // Act
      const deleted = await asBackend(`/talk/delete/${room}/`, { id }, 'X');

      // Assess
      expect(deleted.status).toBe(200);
      expect(deleted.body).toMatchObject({ id, deleted: true });
      const [shown] = (await history(room)).filter((m) => m.id === id);
      expect(shown).toMatchObject({ id, deleted: true });
      expect(shown).not.toHaveProperty('body');
    });

    it('never lets a chat frame with an `ERROR` field reach the client library as an error', async () => {
      // Prepare
      const room = uniqueRoom('forged-error');
      const reader = recordedClient({ url: chat.wsUrl, room, token: 'alice' });
      clients.push(reader);
      await reader.client.connect();
      const mallory = await connect(room, 'mallory');

      // Act
      await acked(mallory, { body: 'look', ERROR: 'authentication error' }, 'm1');
      await acked(mallory, { body: 'look again', ERROR: 'you were logged out', clientId: 'x' }, 'm2');

      // Assess: two messages, no error, still live.
      await eventually(() => reader.messages.length === 2, 'both messages');
      expect(reader.bodies()).toEqual(['look', 'look again']);
      expect(reader.errors).toEqual([]);
      expect(reader.client.state).toBe('live');
      for (const { message } of reader.messages) expect(message).not.toHaveProperty('ERROR');
    });
  },
);
