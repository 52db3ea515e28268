import { createHmac, timingSafeEqual } from 'node:crypto';
import { type ConnectionsProxy, startConnectionsProxy } from '../support/faults.js';
import {
  type ChatEndpoints,
  chatEndpoints,
  DEPLOYED,
  E2E_SERVICE_KEY as SERVICE_KEY,
  e2eSystems as systems,
} from '../support/gateway.js';
import { httpApi, type JsonBody } from '../support/http-api.js';
import { type HttpReceiver, type ReceivedRequest, startReceiver } from '../support/http-receiver.js';
import { uniqueRoom } from '../support/rooms.js';
import { disconnectSettled, openSocket, type TestSocket } from '../support/socket.js';
import { eventually, pause } from '../support/wait.js';

const PUSH_SECRET = 'e2e-hardening-push-secret';
const RATE_LIMIT = 5;
const BACKEND_RATE_LIMIT = 8;
const TOO_DEEP = 'message too deeply nested: the limit is 32 levels';

/** Tests that need the gateway's own settings (limits, push receiver, a failing @connections). */
const local = DEPLOYED ? it.skip : it;

/** `depth` levels of arrays around `1`. */
const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

/** A receiver's check (docs/reliability.md): `t=<s>,v1=<hex>`, at most 300 s old, HMAC of `<t>.<body>`. */
function signedFresh(request: ReceivedRequest): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(request.headers['x-hipochat-signature']));
  if (!match || Math.abs(Date.now() / 1000 - Number(match[1])) > 300) return false;
  const expected = createHmac('sha256', PUSH_SECRET).update(`${match[1]}.${request.body}`).digest();
  return timingSafeEqual(Buffer.from(match[2]!, 'hex'), expected);
}

describe.each(systems)('hardening on %s', (_name, services: Record<string, string>) => {
  let chat: ChatEndpoints;
  let push: HttpReceiver;
  let proxy: ConnectionsProxy | undefined;
  const open: TestSocket[] = [];

  const connect = async (room: string, token: string) => {
    const socket = await openSocket(`${chat.wsUrl}/?room=${room}&token=${token}`);
    open.push(socket);
    return socket;
  };
  type Json = JsonBody;
  const { get, post } = httpApi(() => chat.httpUrl);
  const asUser = (token: string) => ({ authorization: `Token ${token}` });
  const asBackend = { authorization: `Bearer ${SERVICE_KEY}` };
  /** Sends a frame with a clientId and resolves with its ack or error frame. */
  const answerTo = async (socket: TestSocket, frame: string, clientId: string) => {
    socket.send(frame);
    return socket.next((f) => f.clientId === clientId && (f.type === 'ack' || 'ERROR' in f));
  };
  const pushesOf = (id: string) => push.received.filter((p) => (JSON.parse(p.body) as Json).id === id);

  beforeAll(async () => {
    push = await startReceiver('/push');
    if (!DEPLOYED) {
      // Sockets are posted to (and closed) through a proxy, so a test can make closing fail.
      proxy = await startConnectionsProxy();
    }
    chat = await chatEndpoints({
      ...services,
      HIPOCHAT_SERVICE_KEY: SERVICE_KEY,
      HIPOCHAT_PUSH_NOTIFICATION_URL: push.url,
      HIPOCHAT_PUSH_SECRET: PUSH_SECRET,
      HIPOCHAT_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
      HIPOCHAT_BACKEND_RATE_LIMIT_PER_MINUTE: String(BACKEND_RATE_LIMIT),
      HIPOCHAT_CLOSED_ROOMS: 'club-*',
      ...(proxy ? { HIPOCHAT_CONNECTIONS_URL: proxy.url } : {}),
    });
    if (proxy) proxy.target = chat.httpUrl;
  });

  afterEach(async () => {
    if (proxy) proxy.decide = () => 'pass';
    await Promise.all(open.splice(0).map((socket) => socket.close()));
  });

  afterAll(async () => {
    await chat?.stop();
    await proxy?.close();
    await push?.close();
  });

  describe('nesting depth', () => {
    it('answers a frame nested 33 levels with an error frame naming its clientId, and stores 32', async () => {
      const room = uniqueRoom('depth');
      const alice = await connect(room, 'alice');

      expect(await answerTo(alice, `{"body":${nested(33)},"clientId":"deep"}`, 'deep')).toEqual({
        ERROR: TOO_DEEP,
        clientId: 'deep',
      });
      expect(await answerTo(alice, `{"body":${nested(32)},"clientId":"fits"}`, 'fits')).toMatchObject({
        type: 'ack',
      });
      const old = await get(`/talk/old/${room}/`, 'bob');
      expect(old.body.oldy.map((m: Json) => m.clientId)).toEqual(['fits']);
    });

    it("refuses bodies 5,000 levels deep on /talk/item and the socket, and the room's history keeps answering", async () => {
      const room = uniqueRoom('depth');
      const alice = await connect(room, 'alice');

      for (const headers of [asUser('alice'), asBackend]) {
        expect(await post(`/talk/item/${room}/?type=message`, nested(5000), headers)).toMatchObject({
          status: 400,
          body: { error: TOO_DEEP },
        });
      }
      expect(await answerTo(alice, `{"body":${nested(5000)},"clientId":"d5k"}`, 'd5k')).toEqual({
        ERROR: TOO_DEEP,
        clientId: 'd5k',
      });
      expect((await post(`/talk/item/${room}/?type=message`, '{"fine":true}', asUser('alice'))).status).toBe(
        201,
      );

      for (const path of [`/talk/old/${room}/`, `/talk/history/${room}/`, `/talk/history/a,${room}/`]) {
        expect((await get(path, 'bob')).status).toBe(200);
      }
      expect((await get(`/talk/old/${room}/`, 'carol')).body.oldy.map((m: Json) => m.body)).toEqual([
        { fine: true },
      ]);
    });
  });

  describe('Idempotency-Key', () => {
    it("does not answer the backend's injection with a user's message of the same key", async () => {
      const room = uniqueRoom('idem');
      const byUser = await post(`/talk/item/${room}/?type=message`, '{"from":"mallory"}', {
        ...asUser('mallory'),
        'idempotency-key': 'order-42',
      });
      expect(byUser.status).toBe(201);

      const byBackend = await post(`/talk/item/${room}/?type=message`, '{"from":"backend"}', {
        ...asBackend,
        'idempotency-key': 'order-42',
      });

      expect(byBackend.status).toBe(201);
      expect(byBackend.body).toMatchObject({ body: { from: 'backend' }, author: null });
      expect(byBackend.body.id).not.toBe(byUser.body.id);
      const retried = await post(`/talk/item/${room}/?type=message`, '{"from":"backend"}', {
        ...asBackend,
        'idempotency-key': 'order-42',
      });
      expect(retried.body.id).toBe(byBackend.body.id);
      expect((await get(`/talk/old/${room}/`, 'reader')).body.oldy).toHaveLength(2);
    });
  });

  describe('rate limits', () => {
    local(
      `shares a user's ${RATE_LIMIT} messages a minute between frames and /talk/item, then answers 429 with Retry-After`,
      async () => {
        const room = uniqueRoom('rate');
        const alice = await connect(room, 'alice');
        for (const n of [1, 2, 3]) {
          expect(await answerTo(alice, `{"body":"frame ${n}","clientId":"f${n}"}`, `f${n}`)).toMatchObject({
            type: 'ack',
          });
        }
        for (const n of [4, 5]) {
          expect((await post(`/talk/item/${room}/?type=message`, `{"n":${n}}`, asUser('alice'))).status).toBe(
            201,
          );
        }

        const refused = await post(`/talk/item/${room}/?type=message`, '{"n":6}', asUser('alice'));

        expect(refused.status).toBe(429);
        const retryAfter = Number(refused.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expect(refused.body).toEqual({ error: 'rate limit exceeded', retryAfter });
        expect(await answerTo(alice, '{"body":"frame 7","clientId":"f7"}', 'f7')).toEqual({
          ERROR: 'rate limit exceeded',
          clientId: 'f7',
        });
        expect((await get(`/talk/old/${room}/`, 'reader')).body.oldy).toHaveLength(RATE_LIMIT);
      },
    );

    local(`gives the backend its own ${BACKEND_RATE_LIMIT} injections a minute per room`, async () => {
      const room = uniqueRoom('backend-rate');
      for (let n = 1; n <= BACKEND_RATE_LIMIT; n += 1) {
        expect((await post(`/talk/item/${room}/?type=message`, `{"n":${n}}`, asBackend)).status).toBe(201);
      }

      const refused = await post(`/talk/item/${room}/?type=message`, '{"n":"over"}', asBackend);

      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.body).toEqual({ error: 'rate limit exceeded', retryAfter: expect.any(Number) });
      expect((await post(`/talk/item/${room}/?type=message`, '{"user":true}', asUser('alice'))).status).toBe(
        201,
      );
      expect((await get(`/talk/old/${room}/`, 'reader')).body.oldy).toHaveLength(BACKEND_RATE_LIMIT + 1);
    });
  });

  describe('limits across rooms', () => {
    local(
      'limits a user to 120 injections a minute across rooms by default: 429 with Retry-After, nothing stored',
      async () => {
        const user = `injector-${uniqueRoom('u')}`;
        const rooms = Array.from({ length: 25 }, () => uniqueRoom('inject'));
        // 25 rooms × 5 (each room's own limit here) = 125: the rooms alone would let 125 through.
        for (let n = 0; n < 120; n += 1) {
          const answer = await post(`/talk/item/${rooms[n % 25]}/?type=message`, `{"n":${n}}`, asUser(user));
          expect(answer.status).toBe(201);
        }

        const refused = await post(`/talk/item/${rooms[0]}/?type=message`, '{"n":"over"}', asUser(user));

        expect(refused.status).toBe(429);
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(refused.body).toEqual({
          error: 'rate limit exceeded: 120 injections per minute across rooms',
          retryAfter: expect.any(Number),
        });
        expect((await get(`/talk/old/${rooms[0]}/`, 'reader')).body.oldy).toHaveLength(5);
        // The backend keeps its own limit.
        expect(
          (await post(`/talk/item/${rooms[0]}/?type=message`, '{"backend":true}', asBackend)).status,
        ).toBe(201);
      },
    );

    it('answers a broadcast of the largest message into 100 rooms with ids only, far under the 5 MB budget', async () => {
      const rooms = Array.from({ length: 100 }, () => uniqueRoom('wide'));
      const body = 'x'.repeat(16_000);

      const answer = await post('/talk/broadcast/?type=message', { rooms, body }, asBackend);

      expect(answer.status).toBe(201);
      expect(answer.body.messages).toHaveLength(100);
      expect(answer.body.messages[0]).toEqual({ room: rooms[0], id: expect.stringMatching(/^\d+-\d+$/) });
      expect(JSON.stringify(answer.body)).not.toContain('xxxx');
      expect(JSON.stringify(answer.body).length).toBeLessThan(100 * 100);
      expect((await get(`/talk/old/${rooms[99]}/`, 'reader')).body.oldy[0].body).toBe(body);
    });
  });

  describe('read receipts of a large room', () => {
    it('pages GET /talk/receipts with limit and after: pages of at most the limit, every member once', async () => {
      const room = uniqueRoom('receipts');
      const members = Array.from({ length: 2000 }, (_, n) => `reader-${n}`);
      for (let n = 0; n < members.length; n += 1000) {
        const added = await post(
          `/talk/new-chat-room/${room}/`,
          { members: members.slice(n, n + 1000) },
          asBackend,
        );
        expect(added.status).toBe(200);
      }
      expect((await post(`/talk/item/${room}/?type=message`, '{"n":1}', asBackend)).status).toBe(201);
      // Every member reads the room (a first page of /talk/old marks it read).
      for (let n = 0; n < members.length; n += 50) {
        await Promise.all(
          members.slice(n, n + 50).map((member) => get(`/talk/old/${room}/?limit=1`, member)),
        );
      }

      const seen: string[] = [];
      const sizes: number[] = [];
      let after = '';
      for (let pages = 0; pages < 200; pages += 1) {
        const { status, body } = await get(`/talk/receipts/${room}/?limit=200${after}`, 'reader-0');
        expect(status).toBe(200);
        sizes.push(body.receipts.length);
        seen.push(...body.receipts.map((receipt: Json) => receipt.user.id as string));
        if (body.next === null) break;
        after = `&after=${encodeURIComponent(body.next)}`;
      }

      expect(Math.max(...sizes)).toBeLessThanOrEqual(200);
      expect(sizes.length).toBeGreaterThanOrEqual(10);
      expect(seen).toHaveLength(members.length);
      expect(new Set(seen)).toEqual(new Set(members));
      expect((await get(`/talk/receipts/${room}/?limit=0`, 'reader-0')).status).toBe(400);
      expect((await get(`/talk/receipts/${room}/?after=nope`, 'reader-0')).status).toBe(400);
    }, 60_000);
  });

  describe('retries', () => {
    local(
      'pushes and delivers a message retried with one Idempotency-Key once, signed with its id',
      async () => {
        const room = uniqueRoom('retry');
        await (await connect(room, 'offline_olga')).close();
        await disconnectSettled();
        const alice = await connect(room, 'alice');
        const headers = { ...asUser('bob'), 'idempotency-key': 'retry-7' };

        const answers = [];
        for (let i = 0; i < 3; i += 1)
          answers.push(await post(`/talk/item/${room}/?type=message`, '{"n":7}', headers));
        // A later message: anything the retries published would reach the socket and the push receiver first.
        const marker = await post(`/talk/item/${room}/?type=message`, '{"marker":true}', asUser('bob'));
        await alice.next((f) => f.id === marker.body.id);
        await eventually(() => pushesOf(marker.body.id).length > 0, 'the push of the marker', 10_000);
        await pause(300);

        const id = answers[0]!.body.id as string;
        expect(answers.map((a) => [a.status, a.body.id])).toEqual([
          [201, id],
          [201, id],
          [201, id],
        ]);
        expect(alice.frames.filter((f) => f.id === id)).toHaveLength(1);
        const [pushed, ...again] = pushesOf(id);
        expect(again).toEqual([]);
        expect(JSON.parse(pushed!.body)).toEqual({
          chat_token: room,
          receivers: ['offline_olga'],
          body: { n: 7 },
          type: 'message',
          author: { id: 'bob', username: 'bob' },
          id,
          timestamp: answers[0]!.body.timestamp,
        });
        expect(signedFresh(pushed!)).toBe(true);
      },
    );

    local('pushes and delivers a frame resent with one clientId once', async () => {
      const room = uniqueRoom('retry');
      await (await connect(room, 'offline_olga')).close();
      await disconnectSettled();
      const alice = await connect(room, 'alice');

      const acks = [];
      for (let i = 0; i < 3; i += 1)
        acks.push(await answerTo(alice, '{"body":"once","clientId":"c-1"}', 'c-1'));
      alice.send({ body: 'marker', clientId: 'marker' });
      const marker = await alice.next((f) => f.body === 'marker' && typeof f.id === 'string');
      await eventually(() => pushesOf(marker.id as string).length > 0, 'the push of the marker', 10_000);
      await pause(300);

      const id = acks[0]!.id as string;
      expect(acks).toEqual([1, 2, 3].map(() => ({ type: 'ack', id, clientId: 'c-1' })));
      expect(alice.frames.filter((f) => f.id === id && f.type !== 'ack')).toHaveLength(1);
      expect(pushesOf(id)).toHaveLength(1);
    });
  });

  describe('closed rooms', () => {
    local('refuses a frame from a removed member whose socket could not be closed', async () => {
      const room = uniqueRoom('club');
      const added = await post(`/talk/new-chat-room/${room}/`, '{"members":["alice","bob"]}', asBackend);
      expect(added.status).toBe(200);
      const alice = await connect(room, 'alice');
      expect(await answerTo(alice, '{"body":"member","clientId":"m-1"}', 'm-1')).toMatchObject({
        type: 'ack',
      });
      // API Gateway fails to close the socket: the removal stands, the socket stays open.
      proxy!.decide = (request) => (request.method === 'DELETE' ? 500 : 'pass');
      const removed = await post(`/talk/unsubscribe/${room}/`, '{"members":["alice"]}', asBackend);
      expect(removed.body).toEqual({ room, removed: ['alice'], disconnected: 1 });
      expect(proxy!.seen.some((request) => request.method === 'DELETE' && request.injected === 500)).toBe(
        true,
      );
      expect(alice.ws.readyState).toBe(alice.ws.OPEN);

      const answer = await answerTo(alice, '{"body":"after removal","clientId":"m-2"}', 'm-2');

      expect(answer).toEqual({ ERROR: 'room is closed to non-members', clientId: 'm-2' });
      const old = await get(`/talk/old/${room}/`, 'bob');
      expect(old.body.oldy.map((m: Json) => m.body)).toEqual(['member']);
    });
  });
});
