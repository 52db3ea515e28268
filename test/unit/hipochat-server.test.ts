import {
  BadRequestError,
  HipochatServer,
  type HipochatServerOptions,
  InvalidArgumentError,
  NetworkError,
  NotFoundError,
  parseRetryAfter,
  RateLimitedError,
  ServerUnavailableError,
  UnauthorizedError,
  verifyPushSignature,
} from '@hipochat/server';
import { signPush } from '../../lambdas/core/push.js';
import { recordingFetch } from '../support/recording-fetch.js';

function server(doFetch: typeof fetch, options: Partial<HipochatServerOptions> = {}): HipochatServer {
  return new HipochatServer({
    httpUrl: 'http://h:1',
    serviceKey: 'key',
    fetch: doFetch,
    retry: { initialDelayMs: 1, maxDelayMs: 50 },
    ...options,
  });
}

describe('HipochatServer service calls', () => {
  it.each([
    [
      'injects',
      (s: HipochatServer) => s.inject('lobby', 'notice', { n: 1 }),
      '/talk/item/lobby/?type=notice',
      { n: 1 },
    ],
    [
      'edits',
      (s: HipochatServer) => s.editMessage('lobby', '5-0', 'moderated'),
      '/talk/edit/lobby/',
      { id: '5-0', body: 'moderated' },
    ],
    ['deletes', (s: HipochatServer) => s.deleteMessage('lobby', '5-0'), '/talk/delete/lobby/', { id: '5-0' }],
    [
      'broadcasts',
      (s: HipochatServer) => s.broadcast(['a,b', 'c'], 'notice', { n: 1 }),
      '/talk/broadcast/?type=notice',
      { rooms: ['a,b', 'c'], body: { n: 1 } },
    ],
    [
      'adds members',
      (s: HipochatServer) => s.addMembers('lobby', ['ann']),
      '/talk/new-chat-room/lobby/',
      { members: ['ann'] },
    ],
    [
      'removes members',
      (s: HipochatServer) => s.removeMembers('lobby', ['ann']),
      '/talk/unsubscribe/lobby/',
      { members: ['ann'] },
    ],
  ])('%s with the service key and an idempotency key', async (_what, call, path, body) => {
    const { calls, doFetch } = recordingFetch({ body: { ok: true } });
    await expect(call(server(doFetch))).resolves.toEqual({ ok: true });
    expect(calls).toEqual([
      {
        url: `http://h:1${path}`,
        method: 'POST',
        authorization: 'Bearer key',
        idempotencyKey: expect.any(String),
        body,
      },
    ]);
  });

  it('disconnects a user everywhere, encoding the id', async () => {
    const { calls, doFetch } = recordingFetch({ body: { user: 'a b', disconnected: 2 } });
    await expect(server(doFetch).disconnectUser('a b')).resolves.toEqual({ user: 'a b', disconnected: 2 });
    expect(calls[0]!.url).toBe('http://h:1/talk/disconnect/a%20b/');
  });

  it('uses the idempotency key it is given', async () => {
    const { calls, doFetch } = recordingFetch({ body: {} });
    await server(doFetch).inject('lobby', 'notice', {}, { idempotencyKey: 'order-42' });
    expect(calls[0]!.idempotencyKey).toBe('order-42');
  });

  it.each([
    ['presence', (s: HipochatServer) => s.presence('lobby', { token: 'ann' }), '/talk/presence/lobby/'],
    [
      'receipts',
      (s: HipochatServer) => s.receipts('lobby', { token: 'ann', limit: 2, after: 'bo' }),
      '/talk/receipts/lobby/?limit=2&after=bo',
    ],
    [
      'notifications',
      (s: HipochatServer) => s.notifications('lobby', { token: 'ann' }),
      '/talk/notification/lobby/',
    ],
    [
      'history',
      (s: HipochatServer) => s.history(['a', 'b'], { token: 'ann', limit: 5 }),
      '/talk/history/a,b/?limit=5',
    ],
  ])("reads %s with the user's token", async (_what, call, path) => {
    const { calls, doFetch } = recordingFetch({ body: { results: [], notification: 0 } });
    await call(server(doFetch));
    expect(calls).toEqual([{ url: `http://h:1${path}`, method: 'GET', authorization: 'Token ann' }]);
  });

  it('pages through every receipt until `next` is null', async () => {
    const { calls, doFetch } = recordingFetch(
      { body: { room: 'lobby', receipts: [{ user: 'ann' }], next: 'ann' } },
      { body: { room: 'lobby', receipts: [{ user: 'bo' }], next: null } },
    );
    const pages = [];
    for await (const page of server(doFetch).receiptPages('lobby', { token: 'ann', limit: 1 }))
      pages.push(page);
    expect(pages.map((p) => p.receipts)).toEqual([[{ user: 'ann' }], [{ user: 'bo' }]]);
    expect(calls.map((c) => c.url)).toEqual([
      'http://h:1/talk/receipts/lobby/?limit=1',
      'http://h:1/talk/receipts/lobby/?limit=1&after=ann',
    ]);
  });

  it.each([
    ['to no room', [], /name at least one room/],
    ['to 101 rooms', Array.from({ length: 101 }, (_, n) => `r${n}`), /too many rooms: 101/],
    ['to an invalid room', ['a/b'], /invalid room "a\/b"/],
  ])('refuses a broadcast %s before touching the network', async (_what, rooms, message) => {
    const { calls, doFetch } = recordingFetch({});
    const refused = server(doFetch).broadcast(rooms, 't', {});
    await expect(refused).rejects.toThrow(message);
    await expect(refused).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(calls).toEqual([]);
  });

  it('refuses to start without a service key', () => {
    expect(() => new HipochatServer({ httpUrl: 'http://h:1', serviceKey: '' })).toThrow(
      /a service key is required/,
    );
  });
});

describe('HipochatServer retries and errors', () => {
  it('retries a 429 after its Retry-After and a 503, keeping one idempotency key', async () => {
    const { calls, doFetch } = recordingFetch(
      { status: 429, body: { error: 'slow down', retryAfter: 0 }, headers: { 'retry-after': '0' } },
      { status: 503, body: { error: 'broker unavailable' } },
      { status: 201, body: { id: '1-0' } },
    );
    await expect(server(doFetch).inject('lobby', 'notice', {})).resolves.toEqual({ id: '1-0' });
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.idempotencyKey)).size).toBe(1);
  });

  it.each([
    [400, BadRequestError],
    [401, UnauthorizedError],
    [403, UnauthorizedError],
    [404, NotFoundError],
    [503, ServerUnavailableError],
  ])('throws a typed error for a %i, with the status and the server text', async (status, type) => {
    const { doFetch } = recordingFetch({ status, body: { error: 'no such message' } });
    const failed = server(doFetch, { retry: { maxRetries: 1, initialDelayMs: 1 } }).deleteMessage(
      'lobby',
      '5-0',
    );
    await expect(failed).rejects.toBeInstanceOf(type);
    await expect(failed).rejects.toMatchObject({
      statusCode: status,
      message: expect.stringContaining('no such message'),
    });
  });

  it('fails a 429 at once when its Retry-After is longer than the longest wait, naming the wait', async () => {
    const { calls, doFetch } = recordingFetch({
      status: 429,
      body: { error: 'slow down' },
      headers: { 'retry-after': '120' },
    });
    const failed = server(doFetch).inject('lobby', 'notice', {});
    await expect(failed).rejects.toBeInstanceOf(RateLimitedError);
    await expect(failed).rejects.toMatchObject({ retryAfterSeconds: 120 });
    expect(calls).toHaveLength(1);
  });

  it('retries when nothing answers, then throws a NetworkError with the cause', async () => {
    let attempts = 0;
    const doFetch = (async () => {
      attempts += 1;
      throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    }) as unknown as typeof fetch;
    const failed = server(doFetch, { retry: { maxRetries: 2, initialDelayMs: 1 } }).presence('lobby', {
      token: 'ann',
    });
    await expect(failed).rejects.toBeInstanceOf(NetworkError);
    await expect(failed).rejects.toThrow(/ECONNREFUSED/);
    expect(attempts).toBe(3);
  });

  it.each([
    ['7', 7],
    ['', undefined],
    ['soon', undefined],
  ])('reads Retry-After %j as %p seconds', (header, seconds) => {
    expect(parseRetryAfter(header)).toBe(seconds);
  });
});

describe('verifyPushSignature', () => {
  const body = JSON.stringify({ id: '1-0', receivers: ['ann'], body: 'hi' });
  const t = 1_700_000_000;

  it('accepts the signature the server sends, for the raw body as text or bytes', () => {
    const header = signPush(body, 'secret', t);
    expect(verifyPushSignature(body, header, 'secret', { now: t + 10 })).toBe(true);
    expect(verifyPushSignature(new TextEncoder().encode(body), header, 'secret', { now: t })).toBe(true);
  });

  it.each([
    ['another secret', signPush(body, 'other', t), t],
    ['a changed body', signPush(`${body} `, 'secret', t), t],
    ['a replay after the tolerance', signPush(body, 'secret', t), t + 301],
    ['a malformed header', 't=abc,v1=zz', t],
    ['no header', undefined, t],
  ])('refuses %s', (_what, header, now) => {
    expect(verifyPushSignature(body, header, 'secret', { now })).toBe(false);
  });

  it('takes a tolerance and any one of several v1 entries (a key rotation)', () => {
    const good = signPush(body, 'secret', t).split(',')[1]!;
    const header = `t=${t},v1=${'0'.repeat(64)},${good}`;
    expect(verifyPushSignature(body, header, 'secret', { now: t + 1000, toleranceSeconds: 1000 })).toBe(true);
  });
});
