import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { loadConfig } from '../../lambdas/core/config.js';
import type { NewMessage } from '../../lambdas/core/protocol.js';
import { createRuntime, setRuntime } from '../../lambdas/core/runtime.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { handler as historyHandler } from '../../lambdas/handlers/http/history.js';
import { handler as oldHandler } from '../../lambdas/handlers/http/old.js';
import { type HistoryAnswer, MAX_ANSWER_BYTES, type OldMessages } from '../../protocol/index.js';
import { RecordingBus } from '../support/recording-bus.js';

const fixture = JSON.parse(
  readFileSync(join(__dirname, '../events/http-old.json'), 'utf8'),
) as APIGatewayProxyEventV2;

let store: MemoryStore;

beforeEach(() => {
  store = new MemoryStore();
  setRuntime(
    createRuntime(loadConfig({ HIPOCHAT_PROFILE_URL: 'https://profiles.example.com/me' }), {
      store,
      bus: new RecordingBus(),
    }),
  );
  // The profile endpoint: `Token <name>` is the user <name>.
  jest.spyOn(globalThis, 'fetch').mockImplementation(async (_url, init) => {
    const name = /^Token ([a-z]+)$/.exec(new Headers(init?.headers).get('authorization') ?? '')?.[1];
    return new Response(JSON.stringify({ id: name, username: name }), { status: name ? 200 : 401 });
  });
});

afterEach(() => {
  jest.restoreAllMocks();
  setRuntime(undefined);
});

/** The Lambda result of `GET <path>?<query>` as `user`. */
async function get(
  handler: typeof oldHandler,
  path: { room?: string; rooms?: string },
  query: Record<string, string> = {},
  user = 'bob',
): Promise<APIGatewayProxyStructuredResultV2> {
  const event: APIGatewayProxyEventV2 = {
    ...fixture,
    headers: { ...fixture.headers, authorization: `Token ${user}` },
    pathParameters: path,
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
  };
  return (await handler(event)) as APIGatewayProxyStructuredResultV2;
}

const old = async (room: string, query: Record<string, string> = {}, user = 'bob') =>
  JSON.parse((await get(oldHandler, { room: `${room}/` }, query, user)).body!) as OldMessages;

/** Stores `bodies` in `room` from `ann`; returns their ids. */
async function post(room: string, bodies: unknown[]): Promise<string[]> {
  const ids: string[] = [];
  for (const body of bodies) {
    const message: NewMessage = {
      type: 'message',
      room,
      token: room,
      timestamp: Date.now() / 1000,
      body,
      author: { id: 'ann' },
      senderId: 'ann',
    };
    ids.push((await store.append(message)).message.id);
  }
  return ids;
}

// 16 KB of quotes: JSON escapes each once in the answer and again in the Lambda response.
const heavy = (n: number) => `${n}:${'"'.repeat(8_000)}`;

/** Bytes of the whole Lambda response, the payload Lambda refuses over 6 MB. */
const payloadBytes = (result: unknown) => Buffer.byteLength(JSON.stringify(result), 'utf8');

describe('GET /talk/old/{room}/', () => {
  it('pages with limit and before, newest page first', async () => {
    // Prepare
    const ids = await post('lobby', [1, 2, 3, 4, 5]);

    // Act
    const newest = await old('lobby', { limit: '2' });
    const middle = await old('lobby', { limit: '2', before: newest.page!.before! });
    const oldest = await old('lobby', { limit: '2', before: middle.page!.before! });

    // Assess
    expect(newest.oldy.map((m) => m.body)).toEqual([4, 5]);
    expect(newest.page).toEqual({ more: true, before: ids[3] });
    expect(middle.oldy.map((m) => m.body)).toEqual([2, 3]);
    expect(middle.page).toEqual({ more: true, before: ids[1] });
    expect(oldest.oldy.map((m) => m.body)).toEqual([1]);
    expect(oldest.page).toEqual({ more: false, before: ids[0] });
    expect(await old('lobby', { limit: '2', before: ids[0]! })).toEqual({
      oldy: [],
      results: { read_messages: [], unread_messages: [] },
      page: { more: false, before: null },
    });
  });

  it('splits a page into read and unread at the last visit', async () => {
    // Prepare: bob read up to 2; 3 and 4 came later.
    await store.addMembers('lobby', ['bob']);
    await post('lobby', [1, 2]);
    await old('lobby');
    await post('lobby', [3, 4]);

    // Act
    const page = await old('lobby', { limit: '3' });

    // Assess
    expect(page.results.read_messages.map((m) => m.body)).toEqual([2]);
    expect(page.results.unread_messages.map((m) => m.body)).toEqual([3, 4]);
    expect(page.oldy.map((m) => m.body)).toEqual([2, 3, 4]);
  });

  it('marks the room read on the newest page and leaves read state alone on an earlier one', async () => {
    // Prepare
    await store.addMembers('lobby', ['bob']);
    const ids = await post('lobby', [1, 2, 3]);

    // Act
    await old('lobby', { limit: '1', before: ids[2]! });
    const unreadAfterEarlier = await store.unread('lobby', 'bob');
    await old('lobby', { limit: '1' });

    // Assess
    expect(unreadAfterEarlier).toBe(3);
    expect(await store.unread('lobby', 'bob')).toBe(0);
  });

  it('keeps since working, and pages back within it', async () => {
    // Prepare
    const ids = await post('lobby', [1, 2, 3, 4, 5]);

    // Act
    const since = await old('lobby', { since: ids[1]! });
    const newest = await old('lobby', { since: ids[0]!, limit: '2' });
    const rest = await old('lobby', { since: ids[0]!, before: newest.page!.before! });

    // Assess
    expect(since.oldy.map((m) => m.body)).toEqual([3, 4, 5]);
    expect(since.page).toEqual({ more: false, before: ids[2] });
    expect(newest.oldy.map((m) => m.body)).toEqual([4, 5]);
    expect(newest.page!.more).toBe(true);
    expect(rest.oldy.map((m) => m.body)).toEqual([2, 3]);
    expect(rest.page!.more).toBe(false);
  });

  it('answers a small room whole without limit, saying there is no more', async () => {
    await post('lobby', ['a', 'b']);
    const answer = await old('lobby');
    expect(answer.oldy.map((m) => m.body)).toEqual(['a', 'b']);
    expect(answer.page).toEqual({ more: false, before: answer.oldy[0]!.id });
  });

  it('keeps an answer without limit under 5 MB with the newest messages that fit, and says more', async () => {
    // Prepare: 400 messages of 16 KB are 12 MB twice over as Hipochat shapes them.
    const ids = await post(
      'busy',
      Array.from({ length: 400 }, (_, n) => heavy(n)),
    );

    // Act
    const result = await get(oldHandler, { room: 'busy/' });
    const answer = JSON.parse(result.body!) as OldMessages;

    // Assess
    expect(result.statusCode).toBe(200);
    expect(payloadBytes(result)).toBeLessThan(MAX_ANSWER_BYTES);
    expect(answer.oldy.length).toBeGreaterThan(10);
    expect(answer.oldy.map((m) => m.id)).toEqual(ids.slice(-answer.oldy.length));
    expect([...answer.results.read_messages, ...answer.results.unread_messages]).toEqual(answer.oldy);
    expect(answer.page).toEqual({ more: true, before: answer.oldy[0]!.id });
  });

  it('keeps a large limit within the budget too', async () => {
    await post(
      'busy',
      Array.from({ length: 300 }, (_, n) => heavy(n)),
    );
    const result = await get(oldHandler, { room: 'busy/' }, { limit: '300' });
    const answer = JSON.parse(result.body!) as OldMessages;
    expect(payloadBytes(result)).toBeLessThan(MAX_ANSWER_BYTES);
    expect(answer.oldy.length).toBeLessThan(300);
    expect(answer.page!.more).toBe(true);
  });

  it.each([
    [{ limit: '0' }, 'limit must be an integer from 1 to 1000'],
    [{ limit: '1001' }, 'limit must be an integer from 1 to 1000'],
    [{ limit: 'ten' }, 'limit must be an integer from 1 to 1000'],
    [{ before: 'yesterday' }, 'before must be a message id such as 1700000000000-0'],
    [{ since: '42' }, 'since must be a message id such as 1700000000000-0'],
  ])('refuses %j with 400 and says what is allowed', async (query, error) => {
    const result = await get(oldHandler, { room: 'lobby/' }, query);
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body!)).toEqual({ error });
  });
});

describe('GET /talk/history/{rooms}/', () => {
  it('says per room whether older messages exist beyond the limit', async () => {
    // Prepare
    const ids = await post('lobby', [1, 2, 3]);

    // Act
    const { results } = JSON.parse(
      (await get(historyHandler, { rooms: 'lobby,empty/' }, { limit: '2' })).body!,
    ) as HistoryAnswer;
    const whole = JSON.parse(
      (await get(historyHandler, { rooms: 'lobby/' }, { limit: '3' })).body!,
    ) as HistoryAnswer;

    // Assess
    expect(results.map((r) => [r.room_name, r.messages.map((m) => m.body), r.page])).toEqual([
      ['lobby', [2, 3], { more: true, before: ids[1] }],
      ['empty', [], { more: false, before: null }],
    ]);
    expect(whole.results[0]!.page).toEqual({ more: false, before: ids[0] });
  });

  it('keeps several busy rooms under 5 MB, dropping the oldest of each room and saying more', async () => {
    // Prepare: three rooms of 150 messages of 16 KB, about 14 MB as asked.
    const rooms = ['one', 'two', 'three'];
    const ids = new Map<string, string[]>();
    for (const room of rooms) {
      ids.set(
        room,
        await post(
          room,
          Array.from({ length: 150 }, (_, n) => heavy(n)),
        ),
      );
    }

    // Act
    const result = await get(historyHandler, { rooms: `${rooms.join(',')}/` }, { limit: '150' });
    const { results } = JSON.parse(result.body!) as HistoryAnswer;

    // Assess: every room keeps its newest messages, in a fair share.
    expect(result.statusCode).toBe(200);
    expect(payloadBytes(result)).toBeLessThan(MAX_ANSWER_BYTES);
    const counts = results.map((r) => r.messages.length);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    for (const room of results) {
      expect(room.messages.length).toBeGreaterThan(10);
      expect(room.messages.map((m) => m.id)).toEqual(ids.get(room.room_name)!.slice(-room.messages.length));
      expect(room.page).toEqual({ more: true, before: room.messages[0]!.id });
    }
  });
});
