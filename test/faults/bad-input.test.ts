import fc from 'fast-check';
import WebSocket from 'ws';
import { httpRoutes } from '../../lambdas/routes.js';
import {
  body,
  deepJson,
  headers,
  junkText,
  MAX_BODY_DEPTH,
  MAX_MESSAGE_BYTES,
  nestedJson,
  nesting,
  query,
  rawHttp,
  roomSegment,
  SERVICE_KEY,
} from '../support/bad-input.js';
import { faultGatewayEnv, type OwnRedis, startRedis } from '../support/faults.js';
import { AMQP_URL, type ChatEndpoints, startGateway } from '../support/gateway.js';
import { uniqueRoom } from '../support/rooms.js';
import { openSocket, type TestSocket } from '../support/socket.js';

jest.setTimeout(180_000);
const RUNS = Number(process.env.FAULTS_RUNS ?? 60);
// Fixed so a run repeats; FAULTS_SEED explores others.
const SEED = Number(process.env.FAULTS_SEED ?? 20261126);

describe('bad input', () => {
  let redis: OwnRedis;
  let chat: ChatEndpoints;
  let port: number;
  const keeper = uniqueRoom('kept');
  let before: unknown;

  const storedMessages = async () => {
    const response = await fetch(`${chat.httpUrl}/talk/old/${keeper}/`, {
      headers: { authorization: 'Token keeper' },
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { oldy: unknown[] }).oldy;
  };

  const stillAnswering = async () => {
    expect(() => process.kill(chat.pid!, 0)).not.toThrow();
    expect(await storedMessages()).toEqual(before);
  };

  beforeAll(async () => {
    redis = await startRedis();
    chat = await startGateway({
      ...faultGatewayEnv,
      HIPOCHAT_REDIS_URL: redis.url,
      HIPOCHAT_AMQP_URL: AMQP_URL,
      HIPOCHAT_SERVICE_KEY: SERVICE_KEY,
      HIPOCHAT_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
    });
    port = Number(new URL(chat.httpUrl).port);
    const writer = await openSocket(`${chat.wsUrl}/?room=${keeper}&token=keeper`);
    for (const text of ['first', 'second', 'third']) {
      writer.send({ body: text, clientId: text });
      await writer.next((f) => f.type === 'ack' && f.clientId === text);
    }
    await writer.close();
    before = await storedMessages();
    expect(before).toHaveLength(3);
  });

  afterAll(async () => {
    await chat?.stop();
    await redis?.stop();
  });

  describe('on every HTTP route', () => {
    it('answers random and malicious requests with JSON, never a 5xx', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...httpRoutes),
          fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
          fc.boolean(),
          roomSegment,
          query,
          headers,
          body,
          async (route, otherMethod, useRouteMethod, room, search, head, payload) => {
            const method = useRouteMethod ? route.method : otherMethod;
            const prefix = route.path.replace(/\{\w+\+?\}$/, '');
            const target = `${prefix}${room}${search ? `?${search}` : ''}`;
            const lines = [
              Buffer.from(`${method} `),
              Buffer.from(target.replace(/[\s]/g, '%20'), 'utf8'),
              Buffer.from(` HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n`),
            ];
            if (head.authorization !== undefined)
              lines.push(
                Buffer.from('authorization: '),
                Buffer.from(head.authorization),
                Buffer.from('\r\n'),
              );
            if (head.contentType !== undefined)
              lines.push(Buffer.from('content-type: '), Buffer.from(head.contentType), Buffer.from('\r\n'));
            if (head.idempotencyKey !== undefined)
              lines.push(
                Buffer.from('idempotency-key: '),
                Buffer.from(head.idempotencyKey),
                Buffer.from('\r\n'),
              );
            lines.push(Buffer.from(`content-length: ${payload.length}\r\n\r\n`), payload);
            const answer = await rawHttp(port, Buffer.concat(lines));
            expect(answer.status).toBeGreaterThanOrEqual(200);
            expect(answer.status).toBeLessThan(500);
            if (answer.status >= 400 && method !== 'HEAD') {
              expect(answer.headers['content-type']).toMatch(/^application\/json/);
              const parsed = JSON.parse(answer.body) as Record<string, unknown>;
              expect(typeof (parsed.error ?? parsed.message)).toBe('string');
            }
          },
        ),
        { numRuns: RUNS * 2, seed: SEED },
      );
      await stillAnswering();
    });

    it('answers a request line or headers the HTTP parser refuses with a JSON 400', async () => {
      for (const request of [
        'GET /talk/old/r\x00/ HTTP/1.1\r\nhost: x\r\n\r\n',
        'GET /talk/old/r/ HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n',
        'POST /talk/item/r/ HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
        'GET /talk/old/r/ HTTP/9.9\r\n\r\n',
      ]) {
        const answer = await rawHttp(port, Buffer.from(request, 'latin1'));
        expect(answer.status).toBe(400);
        expect(JSON.parse(answer.body)).toEqual({ message: expect.any(String) });
      }
      await stillAnswering();
    });
  });

  describe('on the websocket', () => {
    let socket: TestSocket;
    let probes = 0;
    const LATEST = '<latest-message-id>';
    /** The id of the socket's newest acked message (a probe): a target its edits may change. */
    const latestId = () =>
      String(socket.frames.findLast((f) => f.type === 'ack' && typeof f.id === 'string')?.id ?? '1-0');

    beforeAll(async () => {
      socket = await openSocket(`${chat.wsUrl}/?room=${uniqueRoom('fuzz')}&token=fuzzer`);
    });

    afterAll(async () => {
      await socket?.close();
    });

    // Edits, deletes and reactions, often of the socket's own latest message (`LATEST` is replaced
    // by its id when sent), with bodies and emoji of every kind.
    const changeFrame = fc
      .record(
        {
          type: fc.constantFrom('edit', 'delete', 'react'),
          id: fc.oneof(
            fc.constant(LATEST),
            fc.constantFrom('1-0', '0-0', '9999999999999999-9999999999999999', '1-'),
            fc.string({ maxLength: 40 }),
            fc.jsonValue(),
          ),
          body: fc.oneof(fc.jsonValue(), fc.string({ maxLength: 200 })),
          emoji: fc.oneof(
            fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }),
            fc.constantFrom('👍', '👩‍👩‍👧', 'tada', 'A', '+1', 'x'.repeat(33), '\u0000', ''),
            fc.string({ maxLength: 40 }),
            fc.jsonValue(),
          ),
          clientId: fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue()),
        },
        { requiredKeys: ['type'] },
      )
      .map((record) => JSON.stringify(record));

    const frame = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json(),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc
        .record(
          {
            type: fc.oneof(fc.string({ maxLength: 80 }), fc.jsonValue()),
            body: fc.jsonValue(),
            message: fc.jsonValue(),
            clientId: fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue()),
            id: fc.string(),
            room: fc.string(),
            token: fc.string(),
            author: fc.jsonValue(),
            __proto__: fc.jsonValue(),
          },
          { requiredKeys: [] },
        )
        .map((record) => JSON.stringify(record)),
      deepJson.map((text) => `{"body":${text}}`),
      fc
        .integer({ min: MAX_MESSAGE_BYTES, max: 100_000 })
        .map((size) => JSON.stringify({ body: 'x'.repeat(size) })),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      changeFrame,
      fc
        .tuple(fc.constantFrom('edit', 'react'), deepJson)
        .map(([type, text]) => `{"type":"${type}","id":"${LATEST}","body":${text},"emoji":${text}}`),
    );

    it('answers every frame with an ack or an error frame and keeps the connection open', async () => {
      await fc.assert(
        fc.asyncProperty(frame, async (sent) => {
          const from = socket.frames.length;
          if (Buffer.isBuffer(sent)) socket.ws.send(sent, { binary: true });
          else socket.ws.send(sent.replaceAll(LATEST, latestId()));
          probes += 1;
          const probe = `probe-${probes}`;
          socket.ws.send(JSON.stringify({ body: 'probe', clientId: probe }));
          await socket.next((f) => f.type === 'ack' && f.clientId === probe, 15_000);
          const answers = socket.frames
            .slice(from)
            .filter((f) => !(f.type === 'ack' && f.clientId === probe));
          for (const answer of answers) {
            const kind =
              typeof answer.ERROR === 'string'
                ? 'error'
                : answer.type === 'ack'
                  ? 'ack'
                  : typeof answer.id === 'string' && 'body' in answer
                    ? 'message'
                    : 'unknown';
            expect(kind).not.toBe('unknown');
          }
          expect(socket.ws.readyState).toBe(WebSocket.OPEN);
        }),
        { numRuns: RUNS, seed: SEED },
      );
      await stillAnswering();
    });

    it('refuses every body nested deeper than HIPOCHAT_MAX_BODY_DEPTH on the socket and /talk/item, storing the rest', async () => {
      const room = uniqueRoom('depth');
      let sent = 0;
      let accepted = 0;
      await fc.assert(
        fc.asyncProperty(nesting, async ({ depth, shape }) => {
          const nested = nestedJson(depth, shape);
          const fits = depth <= MAX_BODY_DEPTH;
          sent += 1;
          const clientId = `depth-${sent}`;
          socket.ws.send(`{"body":${nested},"clientId":"${clientId}"}`);
          const answer = await socket.next(
            (f) => f.clientId === clientId && (f.type === 'ack' || 'ERROR' in f),
          );
          const tooDeep = `message too deeply nested: the limit is ${MAX_BODY_DEPTH} levels`;
          expect(answer).toEqual(
            fits ? { type: 'ack', id: expect.any(String), clientId } : { ERROR: tooDeep, clientId },
          );
          const item = await fetch(`${chat.httpUrl}/talk/item/${room}/`, {
            method: 'POST',
            headers: { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/json' },
            body: nested,
          });
          expect({ status: item.status, body: await item.json() }).toEqual(
            fits
              ? { status: 201, body: expect.objectContaining({ room }) }
              : { status: 400, body: { error: tooDeep } },
          );
          if (fits) accepted += 1;
        }),
        { numRuns: RUNS, seed: SEED },
      );
      for (const path of [
        `/talk/old/${room}/`,
        `/talk/history/${room}/?limit=1000`,
        `/talk/history/a,${room}/`,
      ]) {
        const answer = await fetch(`${chat.httpUrl}${path}`, { headers: { authorization: 'Token reader' } });
        expect(answer.status).toBe(200);
      }
      const old = await fetch(`${chat.httpUrl}/talk/old/${room}/`, {
        headers: { authorization: 'Token reader' },
      });
      expect(((await old.json()) as { oldy: unknown[] }).oldy).toHaveLength(accepted);
      expect(socket.ws.readyState).toBe(WebSocket.OPEN);
      await stillAnswering();
    });

    it('closes a connection that sends invalid UTF-8 as text (1007), as RFC 6455 requires', async () => {
      const victim = await openSocket(`${chat.wsUrl}/?room=${uniqueRoom('utf8')}&token=fuzzer`);
      victim.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
      expect(await victim.closed).toBe(1007);
      await stillAnswering();
    });

    it('refuses random connect query strings with a 4xx handshake, never a 5xx', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(roomSegment, fc.constant(undefined)),
          fc.oneof(junkText, fc.constantFrom('fuzzer', 'a'.repeat(5000)), fc.constant(undefined)),
          fc.oneof(junkText, fc.constant(undefined)),
          fc.boolean(),
          async (room, token, ticket, legacy) => {
            const params = new URLSearchParams();
            if (room !== undefined && !legacy) params.set('room', room);
            if (token !== undefined) params.set('token', token);
            if (ticket !== undefined) params.set('ticket', ticket);
            const path = legacy ? `/talk/chat/${encodeURIComponent(room ?? '')}/` : '/';
            const status = await new Promise<number>((resolve) => {
              const ws = new WebSocket(`${chat.wsUrl}${path}?${params}`);
              ws.once('open', () => {
                ws.terminate();
                resolve(101);
              });
              ws.once('unexpected-response', (_request, response) => {
                resolve(response.statusCode ?? 0);
                ws.terminate();
              });
              ws.once('error', () => resolve(0));
            });
            expect(status === 101 || (status >= 400 && status < 500)).toBe(true);
          },
        ),
        { numRuns: RUNS, seed: SEED },
      );
      await stillAnswering();
    });
  });
});
