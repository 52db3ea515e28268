import { createHmac } from 'node:crypto';
import type { ModerationRequest } from '../../protocol/index.js';
import {
  type ChatEndpoints,
  realServices,
  E2E_SERVICE_KEY as SERVICE_KEY,
  startGateway,
} from '../support/gateway.js';
import { httpApi, type JsonBody } from '../support/http-api.js';
import { type Answer, type HttpReceiver, jsonAnswer, startReceiver } from '../support/http-receiver.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';
import { eventually } from '../support/wait.js';

const PUSH_SECRET = 'moderation-e2e-secret';
const asBackend = { authorization: `Bearer ${SERVICE_KEY}` };

/**
 * A chat whose moderation hook and push webhook are one local receiver (`/moderate`, `/push`):
 * `decide` answers the hook, the push webhook gets 204.
 */
function moderatedChat(services: Record<string, string>, failure: 'allow' | 'reject') {
  let receiver: HttpReceiver;
  let gateway: ChatEndpoints;
  const open: TestSocket[] = [];
  const state = { decide: (_request: ModerationRequest): Answer => jsonAnswer({ action: 'allow' }) };
  const api = httpApi(() => gateway.httpUrl);

  beforeAll(async () => {
    receiver = await startReceiver('/moderate');
    receiver.answer = (request) =>
      request.path === '/moderate' ? state.decide(JSON.parse(request.body) as ModerationRequest) : 204;
    const base = receiver.url.replace(/\/moderate$/, '');
    gateway = await startGateway({
      ...services,
      HIPOCHAT_SERVICE_KEY: SERVICE_KEY,
      HIPOCHAT_MODERATION_URL: `${base}/moderate`,
      HIPOCHAT_MODERATION_TIMEOUT_MS: '300',
      HIPOCHAT_MODERATION_FAILURE: failure,
      HIPOCHAT_PUSH_NOTIFICATION_URL: `${base}/push`,
      HIPOCHAT_PUSH_SECRET: PUSH_SECRET,
    });
  });
  beforeEach(() => {
    state.decide = () => jsonAnswer({ action: 'allow' });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((socket) => socket.close()));
  });
  afterAll(async () => {
    await gateway?.stop();
    await receiver?.close();
  });

  const track = (socket: TestSocket) => {
    open.push(socket);
    return socket;
  };
  return {
    state,
    api,
    /** What the hook was asked, in order. */
    asked: () =>
      receiver.received
        .filter((r) => r.path === '/moderate')
        .map((r) => JSON.parse(r.body) as ModerationRequest),
    /** The signature headers and raw bodies the hook got. */
    hookRequests: () => receiver.received.filter((r) => r.path === '/moderate'),
    /** The push webhook bodies so far. */
    pushes: () =>
      receiver.received
        .filter((r) => r.path === '/push')
        .map((r) => JSON.parse(r.body) as Record<string, unknown>),
    connect: async (room: string, user: string) =>
      track(await openSocket(`${gateway.wsUrl}/?room=${room}&token=${user}`)),
    follow: async (user: string) => track(await openSocket(`${gateway.wsUrl}/?token=${user}`)),
    openRaw: (room: string, user: string) => openSocket(`${gateway.wsUrl}/?room=${room}&token=${user}`),
    /** A request with `headers` (and a JSON `body` on a POST), its answer parsed. */
    call: async (method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: unknown) => {
      const response = await fetch(`${gateway.httpUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...headers },
        ...(method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}),
      });
      return { status: response.status, body: (await response.json()) as JsonBody };
    },
    item: (room: string, body: unknown, user?: string) =>
      api.post(
        `/talk/item/${room}/?type=message`,
        body,
        user ? { authorization: `Token ${user}` } : asBackend,
      ),
    restrict: (kind: 'mute' | 'ban', room: string, user: string, seconds: number) =>
      api.post(`/talk/${kind}/${room}/${user}/`, { seconds }, asBackend),
  };
}

/** Sends a message frame and answers the frame the server answered it with: an ack or an error. */
async function sendFrame(socket: TestSocket, frame: Record<string, unknown>) {
  socket.send(frame);
  return socket.next((f) => f.clientId === frame.clientId && (f.type === 'ack' || 'ERROR' in f));
}

const systems: [string, Record<string, string>][] = [
  ['Redis and RabbitMQ', realServices],
  ['the in-memory store and bus', {}],
];

describe.each(systems)('moderation on %s', (_name, services) => {
  const chat = moderatedChat(services, 'reject');
  const { api, state } = chat;

  describe('the pre-publish hook', () => {
    it("asks the hook about a user's message, signed like the push webhook, and delivers what it allows", async () => {
      const room = uniqueRoom();
      const bob = await chat.connect(room, 'bob');
      const alice = await chat.connect(room, 'alice');
      const ack = await sendFrame(alice, { body: 'hello', clientId: 'a1' });
      expect(ack.type).toBe('ack');
      await bob.next((f) => f.body === 'hello');
      const asked = chat.asked().find((r) => r.room === room)!;
      expect(asked).toMatchObject({
        action: 'message',
        room,
        type: 'message',
        body: 'hello',
        senderId: 'alice',
      });
      expect(asked.requestId).toEqual(expect.any(String));
      expect(asked.requestId.length).toBeGreaterThan(0);
      const raw = chat.hookRequests().find((r) => (JSON.parse(r.body) as ModerationRequest).room === room)!;
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(raw.headers['x-hipochat-signature']))!;
      expect(v1).toBe(createHmac('sha256', PUSH_SECRET).update(`${t}.${raw.body}`).digest('hex'));
    });

    it('refuses a rejected message with the reason, and stores, delivers, pushes and counts nothing', async () => {
      const room = uniqueRoom();
      await api.post(`/talk/new-chat-room/${room}/`, { members: ['olga'] }, asBackend);
      const bob = await chat.connect(room, 'bob');
      const alice = await chat.connect(room, 'alice');
      state.decide = (request) =>
        JSON.stringify(request.body).includes('spam')
          ? jsonAnswer({ action: 'reject', reason: 'no spam here' })
          : jsonAnswer({ action: 'allow' });
      const refused = await sendFrame(alice, { body: 'buy spam', clientId: 'r1' });
      expect(refused).toEqual({
        ERROR: 'message rejected by moderation',
        clientId: 'r1',
        reason: 'no spam here',
      });
      // A message after it goes through: everything seen after it saw nothing of the rejected one.
      await sendFrame(alice, { body: 'after', clientId: 'r2' });
      await bob.next((f) => f.body === 'after');
      await eventually(
        () => chat.pushes().some((p) => p.chat_token === room),
        'the push of the next message',
      );
      expect(bob.frames.filter((f) => f.body === 'buy spam')).toEqual([]);
      expect(
        chat
          .pushes()
          .filter((p) => p.chat_token === room)
          .map((p) => p.body),
      ).toEqual(['after']);
      const old = await api.get(`/talk/old/${room}/`, 'carol');
      expect(old.body.oldy.map((m: { body: unknown }) => m.body)).toEqual(['after']);
      expect((await api.get(`/talk/notification/${room}/`, 'olga')).body.notification).toBe(1);
    });

    it('stores and delivers the body the hook replaces it with', async () => {
      const room = uniqueRoom();
      const bob = await chat.connect(room, 'bob');
      const alice = await chat.connect(room, 'alice');
      state.decide = () => jsonAnswer({ action: 'replace', body: { text: 'darn ***' } });
      expect((await sendFrame(alice, { body: { text: 'darn it' }, clientId: 'x1' })).type).toBe('ack');
      const delivered = await bob.next((f) => f.clientId === 'x1');
      expect(delivered.body).toEqual({ text: 'darn ***' });
      const old = await api.get(`/talk/old/${room}/`, 'carol');
      expect(old.body.oldy.map((m: { body: unknown }) => m.body)).toEqual([{ text: 'darn ***' }]);
    });

    it('refuses the message when the hook does not answer in time (HIPOCHAT_MODERATION_FAILURE=reject)', async () => {
      const room = uniqueRoom();
      const alice = await chat.connect(room, 'alice');
      state.decide = () => 'hang';
      expect(await sendFrame(alice, { body: 'anyone?', clientId: 't1' })).toEqual({
        ERROR: 'message rejected by moderation',
        clientId: 't1',
        reason: 'moderation unavailable',
      });
      expect((await api.get(`/talk/old/${room}/`, 'carol')).body.oldy).toEqual([]);
    });

    it("asks about a user's edit, and leaves the message as it was when rejected", async () => {
      const room = uniqueRoom();
      const alice = await chat.connect(room, 'alice');
      const { id } = await sendFrame(alice, { body: 'fine', clientId: 'e0' });
      state.decide = (request) =>
        request.action === 'edit'
          ? jsonAnswer({ action: 'reject', reason: 'nope' })
          : jsonAnswer({ action: 'allow' });
      const refused = await sendFrame(alice, { type: 'edit', id, body: 'rude', clientId: 'e1' });
      expect(refused).toMatchObject({ ERROR: 'message rejected by moderation', reason: 'nope' });
      expect(
        chat
          .asked()
          .filter((r) => r.room === room)
          .map((r) => [r.action, r.id]),
      ).toEqual([
        ['message', undefined],
        ['edit', id],
      ]);
      const old = await api.get(`/talk/old/${room}/`, 'carol');
      expect(old.body.oldy.map((m: { body: unknown }) => m.body)).toEqual(['fine']);
    });

    it("answers 422 with the reason to a user's rejected injection; the backend's skips the hook", async () => {
      const room = uniqueRoom();
      state.decide = () => jsonAnswer({ action: 'reject', reason: 'not today' });
      const refused = await chat.item(room, { text: 'hi' }, 'alice');
      expect(refused.status).toBe(422);
      expect(refused.body).toEqual({ error: 'message rejected by moderation', reason: 'not today' });
      const injected = await chat.item(room, { text: 'from the backend' });
      expect(injected.status).toBe(201);
      expect(
        chat
          .asked()
          .filter((r) => r.room === room)
          .map((r) => r.action),
      ).toEqual(['item']);
      const old = await api.get(`/talk/old/${room}/`, 'carol');
      expect(old.body.oldy.map((m: { body: unknown }) => m.body)).toEqual([{ text: 'from the backend' }]);
    });

    it('acknowledges a resend with the same clientId from the stored message, without asking the hook again', async () => {
      const room = uniqueRoom();
      const alice = await chat.connect(room, 'alice');
      state.decide = () => jsonAnswer({ action: 'replace', body: 'cleaned' });
      const first = await sendFrame(alice, { body: 'once', clientId: 'd1' });
      alice.frames.length = 0;
      // Asked again, the hook would now refuse: the resend must still be acknowledged as stored.
      state.decide = () => jsonAnswer({ action: 'reject', reason: 'changed its mind' });
      const again = await sendFrame(alice, { body: 'once', clientId: 'd1' });
      expect(again).toMatchObject({ type: 'ack', id: first.id, clientId: 'd1' });
      expect(chat.asked().filter((r) => r.room === room)).toHaveLength(1);
      const old = await api.get(`/talk/old/${room}/`, 'carol');
      expect(old.body.oldy.map((m: { body: unknown }) => m.body)).toEqual(['cleaned']);
    });

    it("answers a user's retried injection (same Idempotency-Key) with the stored message, without asking the hook again", async () => {
      const room = uniqueRoom();
      const post = () =>
        chat.call(
          'POST',
          `/talk/item/${room}/?type=message`,
          { authorization: 'Token alice', 'idempotency-key': 'i1' },
          {
            text: 'hi',
          },
        );
      const first = await post();
      expect(first.status).toBe(201);
      state.decide = () => jsonAnswer({ action: 'reject', reason: 'changed its mind' });
      const again = await post();
      expect(again.body.id).toBe(first.body.id);
      expect(again.status).toBeLessThan(300);
      expect(chat.asked().filter((r) => r.room === room)).toHaveLength(1);
      expect((await api.get(`/talk/old/${room}/`, 'carol')).body.oldy).toHaveLength(1);
    });
  });

  describe('mute', () => {
    it("refuses a muted user's sends with the seconds left, lets them read and delete, and ends by itself", async () => {
      const room = uniqueRoom();
      const alice = await chat.connect(room, 'alice');
      const { id } = await sendFrame(alice, { body: 'before', clientId: 'm0' });
      const muted = await chat.restrict('mute', room, 'alice', 2);
      expect(muted.status).toBe(200);
      expect(muted.body).toEqual({
        room,
        user: 'alice',
        kind: 'mute',
        restriction: { user: 'alice', kind: 'mute', until: expect.any(Number), secondsLeft: 2 },
      });
      const refused = await sendFrame(alice, { body: 'shh', clientId: 'm1' });
      expect(refused).toMatchObject({ clientId: 'm1', reason: 'muted' });
      expect(refused.retryAfter).toBeGreaterThanOrEqual(1);
      expect(refused.retryAfter).toBeLessThanOrEqual(2);
      expect(refused.ERROR).toMatch(/^you are muted in this room for [12] more seconds?$/);
      for (const frame of [
        { type: 'react', id, emoji: '👍', clientId: 'm2' },
        { type: 'edit', id, body: 'edited', clientId: 'm3' },
        { type: 'typing', clientId: 'm4' },
      ]) {
        expect(await sendFrame(alice, frame)).toMatchObject({ reason: 'muted', clientId: frame.clientId });
      }
      const item = await chat.item(room, { text: 'via http' }, 'alice');
      expect(item.status).toBe(403);
      expect(item.body).toEqual({
        error: expect.stringMatching(/muted/),
        reason: 'muted',
        retryAfter: expect.any(Number),
      });
      // Refused before the hook hears of them: it saw only what was sent before the mute.
      expect(
        chat
          .asked()
          .filter((r) => r.room === room)
          .map((r) => r.body),
      ).toEqual(['before']);
      expect((await api.get(`/talk/old/${room}/`, 'alice')).status).toBe(200);
      expect((await sendFrame(alice, { type: 'delete', id, clientId: 'm5' })).type).toBe('ack');
      // The mute ends by itself.
      await eventually(
        async () => (await sendFrame(alice, { body: 'back', clientId: `m6-${Date.now()}` })).type === 'ack',
        'a send once the mute ended',
      );
    });

    it('is lifted with 0 seconds', async () => {
      const room = uniqueRoom();
      const alice = await chat.connect(room, 'alice');
      await chat.restrict('mute', room, 'alice', 60);
      expect(await sendFrame(alice, { body: 'no', clientId: 'l1' })).toMatchObject({ reason: 'muted' });
      const lifted = await chat.restrict('mute', room, 'alice', 0);
      expect(lifted.body).toEqual({ room, user: 'alice', kind: 'mute', restriction: null });
      expect((await sendFrame(alice, { body: 'yes', clientId: 'l2' })).type).toBe('ack');
    });
  });

  describe('ban', () => {
    it("closes the user's connections to the room and refuses connects, subscribes and history until it ends", async () => {
      const room = uniqueRoom();
      const bob = await chat.connect(room, 'bob');
      const alice = await chat.connect(room, 'alice');
      const follower = await chat.follow('alice');
      follower.send({ type: 'subscribe', room });
      await follower.next((f) => f.type === 'subscribed');
      const banned = await chat.restrict('ban', room, 'alice', 2);
      expect(banned.status).toBe(200);
      expect(banned.body).toMatchObject({ room, user: 'alice', kind: 'ban', disconnected: 2 });
      await alice.closed;
      await follower.closed;
      await expect(chat.openRaw(room, 'alice')).rejects.toThrow('handshake refused: 403');
      const old = await api.get(`/talk/old/${room}/`, 'alice');
      expect(old.status).toBe(403);
      expect(old.body).toMatchObject({ reason: 'banned', retryAfter: expect.any(Number) });
      expect((await api.get(`/talk/history/${room}/?limit=5`, 'alice')).status).toBe(403);
      const item = await chat.item(room, { text: 'sneaky' }, 'alice');
      expect(item.body).toMatchObject({ reason: 'banned' });
      const again = await chat.follow('alice');
      again.send({ type: 'subscribe', room });
      expect(await again.next((f) => 'ERROR' in f)).toMatchObject({ room, reason: 'banned' });
      // Others stay; the ban ends by itself.
      expect(bob.ws.readyState).toBe(bob.ws.OPEN);
      const back = await eventually(
        () => chat.openRaw(room, 'alice').catch(() => null),
        'a connect once the ban ended',
      );
      await back.close();
      expect((await api.get(`/talk/old/${room}/`, 'alice')).status).toBe(200);
    });

    it('is lifted with 0 seconds', async () => {
      const room = uniqueRoom();
      await chat.restrict('ban', room, 'alice', 60);
      expect((await api.get(`/talk/old/${room}/`, 'alice')).status).toBe(403);
      const lifted = await chat.restrict('ban', room, 'alice', 0);
      expect(lifted.body).toEqual({ room, user: 'alice', kind: 'ban', restriction: null });
      expect((await api.get(`/talk/old/${room}/`, 'alice')).status).toBe(200);
    });
  });

  describe('GET /talk/moderation/{room}/', () => {
    it('lists the mutes and bans in force, soonest end first', async () => {
      const room = uniqueRoom();
      await chat.restrict('mute', room, 'mo', 600);
      await chat.restrict('ban', room, 'bo', 300);
      await chat.restrict('mute', room, 'gone', 60);
      await chat.restrict('mute', room, 'gone', 0);
      const listed = await chat.call('GET', `/talk/moderation/${room}/`, asBackend);
      expect(listed.status).toBe(200);
      expect(listed.body).toEqual({
        room,
        restrictions: [
          { user: 'bo', kind: 'ban', until: expect.any(Number), secondsLeft: 300 },
          { user: 'mo', kind: 'mute', until: expect.any(Number), secondsLeft: 600 },
        ],
      });
    });
  });

  describe('the service key', () => {
    it.each([
      ['POST', 'mute/ROOM/alice/'],
      ['POST', 'ban/ROOM/alice/'],
      ['GET', 'moderation/ROOM/'],
    ] as const)('%s /talk/%s answers as /talk/new-chat-room does without it', async (method, path) => {
      const room = uniqueRoom();
      const url = `/talk/${path.replace('ROOM', room)}`;
      for (const authorization of ['Token alice', 'Bearer wrong', '']) {
        const headers: Record<string, string> = authorization ? { authorization } : {};
        const reference = await chat.call('POST', `/talk/new-chat-room/${room}/`, headers, {
          members: ['x'],
        });
        const answer = await chat.call(method, url, headers, { seconds: 5 });
        expect([authorization, answer.status]).toEqual([authorization, reference.status]);
        expect(answer.status).toBeGreaterThanOrEqual(401);
        expect(answer.status).toBeLessThanOrEqual(403);
      }
      expect((await chat.call('GET', `/talk/moderation/${room}/`, asBackend)).body.restrictions).toEqual([]);
    });
  });
});

describe('moderation with HIPOCHAT_MODERATION_FAILURE=allow', () => {
  const chat = moderatedChat({}, 'allow');

  it('stores and delivers the message as sent when the hook does not answer in time', async () => {
    const room = uniqueRoom();
    const bob = await chat.connect(room, 'bob');
    const alice = await chat.connect(room, 'alice');
    chat.state.decide = () => 'hang';
    expect((await sendFrame(alice, { body: 'still here', clientId: 'f1' })).type).toBe('ack');
    await bob.next((f) => f.body === 'still here');
    expect(chat.asked().filter((r) => r.room === room)).toHaveLength(1);
  });

  it('still refuses what the hook rejects', async () => {
    const room = uniqueRoom();
    const alice = await chat.connect(room, 'alice');
    chat.state.decide = () => jsonAnswer({ action: 'reject', reason: 'no' });
    expect(await sendFrame(alice, { body: 'x', clientId: 'f2' })).toMatchObject({ reason: 'no' });
  });
});
