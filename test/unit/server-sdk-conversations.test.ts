import { BadRequestError, HipochatServer, InvalidArgumentError, UnauthorizedError } from '@hipochat/server';
import { recordingFetch } from '../support/recording-fetch.js';

/** A server whose fetch records each request and answers `status` with `body`, never retrying. */
function scriptedFetch(body: unknown = {}, status = 200) {
  const { calls, doFetch } = recordingFetch({ body, status });
  const server = new HipochatServer({
    httpUrl: 'http://h:1',
    serviceKey: 'key',
    fetch: doFetch,
    retry: { maxRetries: 0 },
  });
  return { calls, server };
}

describe('HipochatServer replies and mentions', () => {
  it('injects a reply with mentions as query parameters', async () => {
    const { calls, server } = scriptedFetch({ id: '2-0' });
    await server.inject('lobby', 'message', 'on it', {
      parentId: '1700000000000-0',
      mentions: ['ann', 'bo b', 'ann'],
    });
    expect(calls).toEqual([
      {
        url: 'http://h:1/talk/item/lobby/?type=message&parentId=1700000000000-0&mentions=ann,bo%20b',
        method: 'POST',
        authorization: 'Bearer key',
        idempotencyKey: expect.any(String),
        body: 'on it',
      },
    ]);
  });

  it('leaves the query as before without parentId and mentions', async () => {
    const { calls, server } = scriptedFetch({ id: '2-0' });
    await server.inject('lobby', 'notice', { n: 1 }, { mentions: [] });
    expect(calls[0]!.url).toBe('http://h:1/talk/item/lobby/?type=notice');
  });

  it.each([
    ['a malformed parentId', { parentId: 'abc' }, /invalid parentId "abc"/],
    ['a mention with a comma', { mentions: ['a,b'] }, /invalid mention "a,b"/],
    ['an empty mention', { mentions: [''] }, /invalid mention ""/],
    [
      '21 mentions',
      { mentions: Array.from({ length: 21 }, (_, n) => `u${n}`) },
      /too many mentions: 21, a message takes at most 20/,
    ],
  ])('refuses %s before touching the network', async (_what, options, message) => {
    const { calls, server } = scriptedFetch();
    const refused = server.inject('lobby', 'message', 'x', options);
    await expect(refused).rejects.toThrow(message);
    await expect(refused).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(calls).toEqual([]);
  });
});

describe('HipochatServer threads and mark unread (as a user)', () => {
  it.each([
    [
      'a thread',
      (s: HipochatServer) => s.thread('lobby', '5-0', { token: 'ann' }),
      'GET',
      '/talk/thread/lobby/5-0/',
    ],
    [
      'an older page of a thread',
      (s: HipochatServer) => s.thread('lobby', '5-0', { token: 'ann', limit: 2, before: '9-1' }),
      'GET',
      '/talk/thread/lobby/5-0/?limit=2&before=9-1',
    ],
    [
      'the threads',
      (s: HipochatServer) => s.threads('lobby', { token: 'ann' }),
      'GET',
      '/talk/threads/lobby/',
    ],
    [
      'at most N threads',
      (s: HipochatServer) => s.threads('lobby', { token: 'ann', limit: 3 }),
      'GET',
      '/talk/threads/lobby/?limit=3',
    ],
    [
      'the unread counts',
      (s: HipochatServer) => s.unreadCounts('lobby', { token: 'ann' }),
      'GET',
      '/talk/notification/lobby/',
    ],
  ])("reads %s with the user's token", async (_what, call, method, path) => {
    const { calls, server } = scriptedFetch({ room: 'lobby' });
    await expect(call(server)).resolves.toEqual({ room: 'lobby' });
    expect(calls).toEqual([{ url: `http://h:1${path}`, method, authorization: 'Token ann' }]);
  });

  it("marks a room unread from a message with the user's token", async () => {
    const answer = { room: 'lobby', lastRead: '4-0', notification: 3, mentions: 1 };
    const { calls, server } = scriptedFetch(answer);
    await expect(server.markUnread('lobby', '5-0', { token: 'ann' })).resolves.toEqual(answer);
    expect(calls).toEqual([
      {
        url: 'http://h:1/talk/unread/lobby/',
        method: 'POST',
        authorization: 'Token ann',
        idempotencyKey: expect.any(String),
        body: { id: '5-0' },
      },
    ]);
  });

  it.each([
    [
      'a malformed root id',
      (s: HipochatServer) => s.thread('lobby', 'x', { token: 'ann' }),
      /invalid rootId/,
    ],
    [
      'a malformed before',
      (s: HipochatServer) => s.thread('lobby', '5-0', { token: 'ann', before: 'y' }),
      /invalid before/,
    ],
    [
      'a thread limit of 0',
      (s: HipochatServer) => s.threads('lobby', { token: 'ann', limit: 0 }),
      /limit must be a whole number from 1 to 200, got 0/,
    ],
    [
      'a thread limit above 200',
      (s: HipochatServer) => s.threads('lobby', { token: 'ann', limit: 201 }),
      /from 1 to 200, got 201/,
    ],
    [
      'no token',
      (s: HipochatServer) => s.markUnread('lobby', '5-0', { token: '' }),
      /a user token is required/,
    ],
  ])('refuses %s before touching the network', async (_what, call, message) => {
    const { calls, server } = scriptedFetch();
    await expect(call(server)).rejects.toThrow(message);
    expect(calls).toEqual([]);
  });
});

describe('HipochatServer mute, ban and the moderation list', () => {
  it.each([
    ['mutes', (s: HipochatServer) => s.mute('lobby', 'mallory', 600), '/talk/mute/lobby/mallory/', 600],
    ['unmutes', (s: HipochatServer) => s.unmute('lobby', 'mallory'), '/talk/mute/lobby/mallory/', 0],
    ['bans', (s: HipochatServer) => s.ban('lobby', 'a b', 60), '/talk/ban/lobby/a%20b/', 60],
    ['unbans', (s: HipochatServer) => s.unban('lobby', 'mallory'), '/talk/ban/lobby/mallory/', 0],
  ])('%s with the service key, the seconds in the body', async (_what, call, path, seconds) => {
    const answer = { room: 'lobby', user: 'mallory', kind: 'mute', restriction: null };
    const { calls, server } = scriptedFetch(answer);
    await expect(call(server)).resolves.toEqual(answer);
    expect(calls).toEqual([
      {
        url: `http://h:1${path}`,
        method: 'POST',
        authorization: 'Bearer key',
        idempotencyKey: expect.any(String),
        body: { seconds },
      },
    ]);
  });

  it('lists the active restrictions with the service key', async () => {
    const answer = {
      room: 'lobby',
      restrictions: [{ user: 'mallory', kind: 'ban', until: 1_700_000_600, secondsLeft: 600 }],
    };
    const { calls, server } = scriptedFetch(answer);
    await expect(server.moderation('lobby')).resolves.toEqual(answer);
    expect(calls).toEqual([
      { url: 'http://h:1/talk/moderation/lobby/', method: 'GET', authorization: 'Bearer key' },
    ]);
  });

  it.each([
    ['negative seconds', (s: HipochatServer) => s.mute('lobby', 'm', -1), /seconds must be a whole number/],
    ['fractional seconds', (s: HipochatServer) => s.ban('lobby', 'm', 1.5), /got 1.5/],
    ['no user', (s: HipochatServer) => s.ban('lobby', '', 5), /a user id is required/],
    ['an invalid room', (s: HipochatServer) => s.moderation('a/b'), /invalid room "a\/b"/],
  ])('refuses %s before touching the network', async (_what, call, message) => {
    const { calls, server } = scriptedFetch();
    const refused = call(server);
    await expect(refused).rejects.toThrow(message);
    await expect(refused).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(calls).toEqual([]);
  });
});

describe('HipochatServer moderation refusals', () => {
  it("names the hook's reason of a 422 in the error and its message", async () => {
    const { server } = scriptedFetch({ error: 'message rejected by moderation', reason: 'spam' }, 422);
    const refused = server.inject('lobby', 'message', 'buy now', { parentId: '5-0' });
    await expect(refused).rejects.toBeInstanceOf(BadRequestError);
    await expect(refused).rejects.toMatchObject({
      statusCode: 422,
      reason: 'spam',
      message:
        'POST /talk/item/lobby/?type=message&parentId=5-0 → 422: message rejected by moderation (reason: spam)',
    });
  });

  it('names the seconds left of a ban in a 403, the reason once', async () => {
    const { server } = scriptedFetch(
      { error: 'you are banned from this room', reason: 'banned', retryAfter: 42 },
      403,
    );
    const refused = server.threads('lobby', { token: 'mallory' });
    await expect(refused).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(refused).rejects.toMatchObject({
      reason: 'banned',
      retryAfterSeconds: 42,
      message: expect.stringMatching(/→ 403: you are banned from this room \(42 s left\)$/),
    });
  });
});
