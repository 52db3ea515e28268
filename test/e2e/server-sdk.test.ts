import { createServer, type Server } from 'node:http';
import {
  BadRequestError,
  HipochatServer,
  type ModerationRequest,
  moderationDecision,
  moderationHandler,
  NotFoundError,
  UnauthorizedError,
} from '@hipochat/server';
import { type RecordedClient, recordedClient } from '../support/chat-client.js';
import { type ChatEndpoints, startGateway } from '../support/gateway.js';
import { listenOnLoopback } from '../support/net.js';
import { uniqueRoom } from '../support/rooms.js';
import { eventually } from '../support/wait.js';

jest.setTimeout(120_000);

const SERVICE_KEY = 'sdk-test-key';
const SECRET = 'sdk-hook-secret';

/** A user's injection over HTTP, answered as the server answers it. */
async function userInjects(
  httpUrl: string,
  room: string,
  token: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${httpUrl}/talk/item/${room}/?type=message`, {
    method: 'POST',
    headers: { authorization: `Token ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** What rejected `promise` rejects with. */
async function refusal(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}

describe('@hipochat/server against a local gateway with a moderation hook', () => {
  let gateway: ChatEndpoints;
  let hook: Server;
  let hipochat: HipochatServer;
  const asked: ModerationRequest[] = [];
  const open: RecordedClient[] = [];

  beforeAll(async () => {
    // The backend's moderation hook, built with the library's helper.
    hook = createServer(
      moderationHandler(SECRET, (request) => {
        asked.push(request);
        const text = typeof request.body === 'string' ? request.body : '';
        if (/free money/i.test(text)) return moderationDecision.reject('spam');
        if (/darn/i.test(text)) return moderationDecision.replace(text.replace(/darn/gi, 'd**n'));
        return moderationDecision.allow();
      }),
    );
    const port = await listenOnLoopback(hook);
    gateway = await startGateway({
      HIPOCHAT_SERVICE_KEY: SERVICE_KEY,
      HIPOCHAT_PUSH_SECRET: SECRET,
      HIPOCHAT_MODERATION_URL: `http://127.0.0.1:${port}/moderate`,
    });
    hipochat = new HipochatServer({ httpUrl: gateway.httpUrl, serviceKey: SERVICE_KEY });
  });

  afterEach(() => {
    for (const recorded of open.splice(0)) recorded.client.close();
  });

  afterAll(async () => {
    await gateway.stop();
    await new Promise((resolve) => hook.close(resolve));
  });

  async function connected(room: string, token: string): Promise<RecordedClient> {
    const recorded = recordedClient({ url: gateway.wsUrl, room, token, reconnect: false });
    open.push(recorded);
    await recorded.client.connect();
    return recorded;
  }

  describe('replies, threads and mentions', () => {
    it('replies as the backend with mentions, and users read the thread, the threads and their counts', async () => {
      // Prepare
      const room = uniqueRoom('sdk-thread');
      const ann = await connected(room, 'ann');
      await connected(room, 'bo');
      const { id: rootId } = await ann.client.send('who is on call?');

      // Act
      const reply = await hipochat.inject(room, 'message', 'bo is', { parentId: rootId, mentions: ['ann'] });
      const thread = await hipochat.thread(room, rootId, { token: 'ann' });
      const threadsOfBo = await hipochat.threads(room, { token: 'bo' });
      const threadsOfAnn = await hipochat.threads(room, { token: 'ann' });
      const counts = await hipochat.unreadCounts(room, { token: 'ann' });

      // Assess
      expect(reply).toMatchObject({ parentId: rootId, mentions: ['ann'], author: null });
      expect(thread.root).toMatchObject({ id: rootId, replies: { count: 1, lastId: reply.id } });
      expect(thread.replies.map((message) => message.id)).toEqual([reply.id]);
      expect(thread.page.more).toBe(false);
      expect(threadsOfBo.threads).toEqual([
        expect.objectContaining({
          count: 1,
          lastId: reply.id,
          unread: 1,
          root: expect.objectContaining({ id: rootId }),
        }),
      ]);
      expect(threadsOfAnn.threads[0]).toMatchObject({ count: 1, unread: 0 });
      expect(counts).toMatchObject({ notification: 1, mentions: 1 });
    });

    it('marks a room unread from a message on, as a user', async () => {
      // Prepare
      const room = uniqueRoom('sdk-unread');
      await connected(room, 'cy');
      const first = await hipochat.inject(room, 'message', 'one');
      await hipochat.inject(room, 'message', 'two', { mentions: ['cy'] });
      const old = await fetch(`${gateway.httpUrl}/talk/old/${room}/`, {
        headers: { authorization: 'Token cy' },
      });
      expect(old.status).toBe(200);
      const before = await hipochat.unreadCounts(room, { token: 'cy' });

      // Act
      const marked = await hipochat.markUnread(room, first.id, { token: 'cy' });

      // Assess
      expect(before.notification).toBe(0);
      expect(marked).toEqual({ room, lastRead: null, notification: 2, mentions: 1 });
      expect(await hipochat.unreadCounts(room, { token: 'cy' })).toMatchObject({
        notification: 2,
        mentions: 1,
      });
    });

    it('refuses a reply to a reply, a thread of a reply and a thread of no message', async () => {
      // Prepare
      const room = uniqueRoom('sdk-refuse');
      const root = await hipochat.inject(room, 'message', 'root');
      const reply = await hipochat.inject(room, 'message', 'reply', { parentId: root.id });

      // Act
      const nested = await refusal(hipochat.inject(room, 'message', 'nested', { parentId: reply.id }));
      const ofReply = await refusal(hipochat.thread(room, reply.id, { token: 'ann' }));
      const ofNothing = await refusal(hipochat.thread(room, '1-0', { token: 'ann' }));

      // Assess
      expect(nested).toBeInstanceOf(BadRequestError);
      expect(nested).toMatchObject({
        statusCode: 400,
        message: expect.stringContaining('parentId must name a message of this room that is not a reply'),
      });
      expect(ofReply).toMatchObject({ statusCode: 400 });
      expect(ofNothing).toBeInstanceOf(NotFoundError);
    });
  });

  describe('mute, ban and the moderation list', () => {
    it("mutes a user: their sends are refused with the seconds left while they keep reading, until it's lifted", async () => {
      // Prepare
      const room = uniqueRoom('sdk-mute');

      // Act
      const muted = await hipochat.mute(room, 'mallory', 600);
      const refused = await userInjects(gateway.httpUrl, room, 'mallory', 'hello?');
      const reading = await hipochat.history([room], { token: 'mallory' });
      const listed = await hipochat.moderation(room);
      const lifted = await hipochat.unmute(room, 'mallory');
      const after = await userInjects(gateway.httpUrl, room, 'mallory', 'hello again');

      // Assess
      expect(muted).toMatchObject({
        room,
        user: 'mallory',
        kind: 'mute',
        restriction: { user: 'mallory', kind: 'mute', secondsLeft: expect.any(Number) },
      });
      expect(muted.restriction!.secondsLeft).toBeGreaterThan(590);
      expect(refused.status).toBe(403);
      expect(refused.json).toMatchObject({ reason: 'muted', retryAfter: expect.any(Number) });
      expect(reading[0]!.messages).toEqual([]);
      expect(listed.restrictions).toEqual([expect.objectContaining({ user: 'mallory', kind: 'mute' })]);
      expect(lifted).toMatchObject({ kind: 'mute', restriction: null });
      expect(after.status).toBe(201);
      expect((await hipochat.moderation(room)).restrictions).toEqual([]);
    });

    it("bans a user: their sockets close, their reads are refused with the reason, until it's lifted", async () => {
      // Prepare
      const room = uniqueRoom('sdk-ban');
      const mallory = await connected(room, 'mallory');

      // Act
      const banned = await hipochat.ban(room, 'mallory', 60);
      const read = await refusal(hipochat.history([room], { token: 'mallory' }));
      const lifted = await hipochat.unban(room, 'mallory');

      // Assess
      expect(banned).toMatchObject({ kind: 'ban', disconnected: 1, restriction: { kind: 'ban' } });
      await eventually(() => mallory.client.state === 'closed', "mallory's socket to close");
      expect(read).toBeInstanceOf(UnauthorizedError);
      expect(read).toMatchObject({
        statusCode: 403,
        reason: 'banned',
        retryAfterSeconds: expect.any(Number),
      });
      expect(lifted).toMatchObject({ kind: 'ban', restriction: null });
      await expect(hipochat.presence(room, { token: 'mallory' })).resolves.toMatchObject({ room });
    });

    it('refuses a mute with a wrong service key', async () => {
      const wrong = new HipochatServer({
        httpUrl: gateway.httpUrl,
        serviceKey: 'wrong',
        retry: { maxRetries: 0 },
      });
      await expect(wrong.mute(uniqueRoom('sdk-key'), 'mallory', 5)).rejects.toBeInstanceOf(UnauthorizedError);
    });
  });

  describe('the moderation hook helper', () => {
    it("rejects, replaces and allows users' messages as the backend decides, with the typed request", async () => {
      // Prepare
      const room = uniqueRoom('sdk-hook');
      const ann = await connected(room, 'ann');

      // Act
      const rejected = await userInjects(gateway.httpUrl, room, 'ann', 'free money here');
      const replaced = await ann.client.send('darn it');
      const root = await ann.client.send('allowed');
      await ann.client.send('a reply', { parentId: root.id, mentions: ['bo'] });
      const history = await hipochat.history([room], { token: 'bo' });

      // Assess
      expect(rejected).toEqual({
        status: 422,
        json: expect.objectContaining({ error: 'message rejected by moderation', reason: 'spam' }),
      });
      const bodies = history[0]!.messages.map((message) => [message.id, message.body]);
      expect(bodies).toEqual([
        [replaced.id, 'd**n it'],
        [root.id, 'allowed'],
        [expect.any(String), 'a reply'],
      ]);
      const mine = asked.filter((request) => request.room === room);
      expect(mine.map((request) => request.action)).toEqual(['item', 'message', 'message', 'reply']);
      expect(mine[3]).toMatchObject({
        senderId: 'ann',
        type: 'message',
        body: 'a reply',
        parentId: root.id,
        mentions: ['bo'],
        requestId: expect.any(String),
      });
    });

    it('is not asked about backend calls (service key)', async () => {
      const room = uniqueRoom('sdk-hook-backend');
      const stored = await hipochat.inject(room, 'message', 'free money, from the backend');
      expect(stored.body).toBe('free money, from the backend');
      expect(asked.filter((request) => request.room === room)).toEqual([]);
    });
  });
});
