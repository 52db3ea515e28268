import { createServer } from 'node:http';
import { ModerationError, type RepliesEvent, type UnreadEvent } from '@hipochat/client';
import { type RecordedClient, recordedClient } from '../support/chat-client.js';
import { type ChatEndpoints, startGateway } from '../support/gateway.js';
import { listenOnLoopback } from '../support/net.js';
import { uniqueRoom } from '../support/rooms.js';
import { eventually } from '../support/wait.js';

jest.setTimeout(90_000);

const SERVICE_KEY = 'conversations-client-key';

/** A moderation hook that rejects every body containing "spam" and allows the rest. */
async function startHook(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { body } = JSON.parse(Buffer.concat(chunks).toString()) as { body: unknown };
      const decision = JSON.stringify(body).includes('spam')
        ? { action: 'reject', reason: 'no spam here' }
        : { action: 'allow' };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(decision));
    });
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/moderate`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('HipochatClient conversations against a local gateway', () => {
  let gateway: ChatEndpoints;
  let hook: Awaited<ReturnType<typeof startHook>>;
  const open: RecordedClient[] = [];

  beforeAll(async () => {
    hook = await startHook();
    gateway = await startGateway({ HIPOCHAT_SERVICE_KEY: SERVICE_KEY, HIPOCHAT_MODERATION_URL: hook.url });
  });

  afterEach(() => {
    for (const recorded of open.splice(0)) recorded.client.close();
  });

  afterAll(async () => {
    await gateway.stop();
    await hook.close();
  });

  function client(room: string, token: string, extra: Partial<Parameters<typeof recordedClient>[0]> = {}) {
    const recorded = recordedClient({ url: gateway.wsUrl, room, token, ...extra });
    open.push(recorded);
    return recorded;
  }

  async function service(path: string, body: unknown): Promise<Response> {
    return fetch(`${gateway.httpUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  describe('replies and threads', () => {
    it("replies in a thread, mentioning bob: bob's client sees the reply, the mention and the root's count live", async () => {
      // Prepare
      const room = uniqueRoom('reply');
      const alice = client(room, 'alice');
      const bob = client(room, 'bob', { signals: true });
      const replies: RepliesEvent[] = [];
      bob.client.on('replies', (event) => replies.push(event));
      await Promise.all([alice.client.connect(), bob.client.connect()]);
      // Bob's client knows its user id once a send of his was acknowledged.
      await bob.client.send('here');
      const root = await alice.client.send('a question');
      await eventually(() => bob.messages.length === 2, 'the root');

      // Act
      const reply = await alice.client.reply(root.id, 'more on it, @bob', { mentions: ['bob'] });

      // Assess
      await eventually(() => bob.messages.length === 3 && replies.length > 0, 'the reply and its count');
      const delivered = bob.messages[2]!;
      expect(delivered.message).toMatchObject({ id: reply.id, parentId: root.id, mentions: ['bob'] });
      expect(delivered.meta.mentioned).toBe(true);
      expect(bob.messages[1]!.meta.mentioned).toBe(false);
      expect(replies.at(-1)).toMatchObject({ id: root.id, count: 1, lastId: reply.id });
      expect(bob.client.getMessage(root.id)?.replies).toEqual({ count: 1, lastId: reply.id });
    });

    it('reads a thread (root and replies, oldest first) and lists threads with unread replies until read', async () => {
      // Prepare
      const room = uniqueRoom('thread');
      const alice = client(room, 'alice');
      const bob = client(room, 'bob');
      await Promise.all([alice.client.connect(), bob.client.connect()]);
      const root = await alice.client.send('root');
      const first = await alice.client.reply(root.id, 'first');
      const second = await alice.client.reply(root.id, 'second');

      // Act
      const before = await bob.client.threads();
      const thread = await bob.client.thread(root.id);
      const after = await bob.client.threads();
      const page = await bob.client.thread(root.id, { limit: 1, before: second.id });

      // Assess
      expect(thread.root).toMatchObject({ id: root.id, replies: { count: 2, lastId: second.id } });
      expect(thread.replies.map((m) => m.id)).toEqual([first.id, second.id]);
      expect(before.threads).toEqual([
        expect.objectContaining({
          count: 2,
          lastId: second.id,
          unread: 2,
          root: expect.objectContaining({ id: root.id }),
        }),
      ]);
      expect(after.threads[0]!.unread).toBe(0);
      expect(page.replies.map((m) => m.id)).toEqual([first.id]);
    });

    it('refuses a reply to a reply', async () => {
      const room = uniqueRoom('nested');
      const alice = client(room, 'alice');
      await alice.client.connect();
      const root = await alice.client.send('root');
      const reply = await alice.client.reply(root.id, 'reply');
      await expect(alice.client.reply(reply.id, 'too deep')).rejects.toThrow(
        'parentId must name a message of this room that is not a reply',
      );
    });
  });

  describe('markUnread', () => {
    it('moves the read mark back to just before a message and counts from it, then reading clears it', async () => {
      // Prepare: bob has read three messages of alice's.
      const room = uniqueRoom('unread');
      const alice = client(room, 'alice');
      const bob = client(room, 'bob');
      await Promise.all([alice.client.connect(), bob.client.connect()]);
      const first = await alice.client.send('one');
      const second = await alice.client.send('two @bob', { mentions: ['bob'] });
      await alice.client.send('three');
      await eventually(() => bob.messages.length === 3, 'the three messages');
      await bob.client.catchUp();
      const events: UnreadEvent[] = [];
      bob.client.on('unread', (event) => events.push(event));

      // Act
      const answer = await bob.client.markUnread(second.id);

      // Assess
      expect(answer).toEqual({ room, lastRead: first.id, notification: 2, mentions: 1 });
      expect(await bob.client.http.counts(room)).toMatchObject({ notification: 2, mentions: 1 });
      expect(events).toEqual([{ room, count: 2, mentions: 1, from: second.id }]);
      expect(bob.client.readMarkHeld).toBe(true);
      await bob.client.catchUp();
      expect(await bob.client.http.notification(room)).toBe(0);
    });
  });

  describe('moderation', () => {
    it('rejects a message the hook refuses with a ModerationError carrying its reason, and stores nothing', async () => {
      // Prepare
      const room = uniqueRoom('hook');
      const alice = client(room, 'alice');
      await alice.client.connect();

      // Act
      const refused = await alice.client.send('buy spam now').catch((error: unknown) => error);
      const fine = await alice.client.send('hello');

      // Assess
      expect(refused).toBeInstanceOf(ModerationError);
      expect(refused).toMatchObject({ kind: 'moderation', reason: 'no spam here' });
      const history = await alice.client.http.old(room);
      expect(history.oldy.map((m) => m.id)).toEqual([fine.id]);
    });

    it('refuses the sends of a muted user with the seconds left, and takes them again once lifted', async () => {
      // Prepare
      const room = uniqueRoom('mute');
      const bob = client(room, 'bob');
      await bob.client.connect();
      await bob.client.send('before');

      // Act
      const muted = await service(`/talk/mute/${room}/bob/`, { seconds: 60 });
      const refused = await bob.client.send('while muted').catch((error: unknown) => error);
      const injected = await bob.client.http
        .inject(room, 'notification', { x: 1 })
        .catch((error: unknown) => error);
      await service(`/talk/mute/${room}/bob/`, { seconds: 0 });
      const after = await bob.client.send('after');

      // Assess
      expect(muted.status).toBe(200);
      expect(refused).toBeInstanceOf(ModerationError);
      expect((refused as ModerationError).reason).toBe('muted');
      expect((refused as ModerationError).retryAfter).toBeGreaterThan(0);
      expect((refused as ModerationError).retryAfter).toBeLessThanOrEqual(60);
      expect(injected).toMatchObject({ name: 'ModerationError', reason: 'muted', status: 403 });
      expect(after.id).toEqual(expect.any(String));
    });
  });
});
