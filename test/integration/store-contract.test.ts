import { RateLimitedError, ServiceUnavailableError } from '../../lambdas/core/errors.js';
import type { Identity, NewMessage } from '../../lambdas/core/protocol.js';
import type { ChatStore, Departure } from '../../lambdas/core/store/chat-store.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { keys } from '../../lambdas/core/store/redis-keys.js';
import { RedisStore } from '../../lambdas/core/store/redis-store.js';
import { compareIds } from '../../protocol/index.js';
import { type OwnCluster, startRedisCluster } from '../support/faults.js';
import { REDIS_URL } from '../support/gateway.js';
import { TWENTY_EMOJI } from '../support/messages.js';
import { type ReplicatedRedis, startReplicatedRedis } from '../support/replication.js';
import { uniqueRoom } from '../support/rooms.js';

const HISTORY_LIMIT = 1000;
const TTL = 3600;

const who = (userId: string): Identity => ({ userId, profile: { id: userId } });

function message(room: string, body: unknown, senderId?: string): NewMessage {
  return {
    type: 'message',
    room,
    token: room,
    timestamp: Date.now() / 1000,
    body,
    author: senderId ? { id: senderId } : null,
    ...(senderId ? { senderId } : {}),
  };
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/**
 * A cluster-mode Redis, as ElastiCache Serverless and cluster-mode replication groups speak: the
 * one `.ci/run` starts (HIPOCHAT_TEST_REDIS_CLUSTER_URL, ports 7000-7002), else three nodes of
 * this file's own.
 */
let ownCluster: OwnCluster | undefined;
async function clusterUrl(): Promise<string> {
  if (process.env.HIPOCHAT_TEST_REDIS_CLUSTER_URL) return process.env.HIPOCHAT_TEST_REDIS_CLUSTER_URL;
  ownCluster ??= await startRedisCluster();
  return ownCluster.url;
}
// Servers a store of the table started for itself, stopped after every suite.
const ownServers: ReplicatedRedis[] = [];
afterAll(async () => {
  await ownCluster?.stop();
  await Promise.all(ownServers.map((pair) => pair.stop()));
});

describe.each([
  ['RedisStore', async () => new RedisStore({ url: REDIS_URL, historyLimit: HISTORY_LIMIT }) as ChatStore],
  [
    'RedisStore in cluster mode',
    async () =>
      new RedisStore({ url: await clusterUrl(), cluster: true, historyLimit: HISTORY_LIMIT }) as ChatStore,
  ],
  [
    // Every acknowledged write waits for a real replica (a generous timeout: the contract, not lag).
    'RedisStore waiting for 1 replica',
    async () => {
      const pair = await startReplicatedRedis();
      ownServers.push(pair);
      return new RedisStore({
        url: pair.primary.url,
        historyLimit: HISTORY_LIMIT,
        waitReplicas: 1,
        waitMs: 5000,
      }) as ChatStore;
    },
  ],
  ['MemoryStore', async () => new MemoryStore(HISTORY_LIMIT) as ChatStore],
])('%s (store contract)', (_name, make) => {
  let store: ChatStore;
  let room: string;

  beforeAll(async () => {
    store = await make();
  }, 60_000);
  beforeEach(() => {
    room = uniqueRoom('contract');
  });
  afterAll(async () => {
    await store.close();
  });

  describe('connections', () => {
    it('makes the connecting user a member with no unread messages', async () => {
      await store.connect(room, 'c1', who('ann'), TTL);
      expect(await store.isMember(room, 'ann')).toBe(true);
      expect(await store.connections(room)).toEqual([{ connectionId: 'c1', userId: 'ann' }]);
      expect(await store.connectionHome('c1')).toEqual({ room, identity: who('ann') });
      expect(await store.unread(room, 'ann')).toBe(0);
    });

    it('forgets a connection on disconnect and on a 410 drop', async () => {
      await store.connect(room, 'c1', who('ann'), TTL);
      await store.connect(room, 'c2', who('bob'), TTL);
      expect(await store.disconnect(room, 'c1')).toMatchObject({ userId: 'ann' });
      await store.dropConnection(room, 'c2');
      expect(await store.connections(room)).toEqual([]);
      expect(await store.connectionHome('c1')).toBeNull();
      expect(await store.disconnect(room, 'c1')).toBeNull();
    });

    it('expires connection records that never saw a $disconnect', async () => {
      await store.connect(room, 'stale', who('ann'), 1);
      await store.connect(room, 'fresh', who('bob'), TTL);
      await sleep(1100);
      expect(await store.connections(room)).toEqual([{ connectionId: 'fresh', userId: 'bob' }]);
      expect(await store.connectionHome('stale')).toBeNull();
    });
  });

  describe('messages', () => {
    it('increments unread for every other member and resets the sender', async () => {
      for (const user of ['ann', 'bob', 'cat']) await store.connect(room, `c-${user}`, who(user), TTL);
      await store.append(message(room, 'hi', 'ann'));
      await store.append(message(room, 'again', 'ann'));
      expect(await store.unread(room, 'bob')).toBe(2);
      expect(await store.unread(room, 'cat')).toBe(2);
      expect(await store.unread(room, 'ann')).toBe(0);
    });

    it('gives concurrent messages unique, ordered ids', async () => {
      const stored = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.append(message(room, i, 'ann'))),
      );
      const ids = stored.map((s) => s.message.id);
      expect(new Set(ids).size).toBe(50);
      const { messages } = await store.read(room, 'ann');
      expect(messages.map((m) => m.id)).toEqual([...ids].sort(compareIds));
    });

    it('stores a message with a known idempotency key once', async () => {
      const first = await store.append(message(room, 'once', 'ann'), { idempotencyKey: 'k' });
      const again = await store.append(message(room, 'once', 'ann'), { idempotencyKey: 'k' });
      expect(again).toEqual({ message: first.message, duplicate: true });
      expect((await store.read(room, 'ann')).messages).toHaveLength(1);
    });

    it('recalls the message an idempotency key stored, and nothing for an unknown or retracted key', async () => {
      expect(await store.recall(room, 'k')).toBeNull();
      const { message: stored } = await store.append(message(room, 'once', 'ann'), { idempotencyKey: 'k' });
      expect(await store.recall(room, 'k')).toEqual(stored);
      expect(await store.recall(`${room}-other`, 'k')).toBeNull();
      await store.retract(stored, 'k');
      expect(await store.recall(room, 'k')).toBeNull();
    });

    it('refuses a sender over the rate limit and stores nothing', async () => {
      const rateLimit = { limit: 2, windowSeconds: 60 };
      await store.append(message(room, 1, 'ann'), { rateLimit });
      await store.append(message(room, 2, 'ann'), { rateLimit });
      await expect(store.append(message(room, 3, 'ann'), { rateLimit })).rejects.toThrow(RateLimitedError);
      await store.append(message(room, 'bob is not limited', 'bob'), { rateLimit });
      expect((await store.read(room, 'x')).messages.map((m) => m.body)).toEqual([1, 2, 'bob is not limited']);
    });

    it('tells a refused sender how many seconds are left in the window', async () => {
      const rateLimit = { limit: 1, windowSeconds: 30 };
      await store.append(message(room, 1, 'ann'), { rateLimit });
      const refusal = await store
        .append(message(room, 2, 'ann'), { rateLimit })
        .catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(RateLimitedError);
      expect((refusal as RateLimitedError).retryAfter).toBeGreaterThanOrEqual(1);
      expect((refusal as RateLimitedError).retryAfter).toBeLessThanOrEqual(30);
    });

    it("counts messages without a sender in the backend's own window of the room", async () => {
      const rateLimit = { limit: 2, windowSeconds: 60 };
      await store.append(message(room, 'b1'), { rateLimit });
      await store.append(message(room, 'b2'), { rateLimit });
      await expect(store.append(message(room, 'b3'), { rateLimit })).rejects.toThrow(RateLimitedError);
      await store.append(message(room, 'ann is not the backend', 'ann'), { rateLimit });
      await store.append(message(`${room}-other`, 'another room'), { rateLimit });
      expect((await store.read(room, 'x')).messages.map((m) => m.body)).toEqual([
        'b1',
        'b2',
        'ann is not the backend',
      ]);
    });

    it('answers a duplicate before counting it against the rate limit', async () => {
      const rateLimit = { limit: 1, windowSeconds: 60 };
      const first = await store.append(message(room, 'once', 'ann'), { idempotencyKey: 'd', rateLimit });
      const again = await store.append(message(room, 'once', 'ann'), { idempotencyKey: 'd', rateLimit });
      expect(again).toEqual({ message: first.message, duplicate: true });
    });

    it('retracts an unpublished message and its unread increments', async () => {
      await store.connect(room, 'c-bob', who('bob'), TTL);
      const { message: stored } = await store.append(message(room, 'lost', 'ann'), { idempotencyKey: 'r' });
      await store.retract(stored, 'r');
      expect(await store.unread(room, 'bob')).toBe(0);
      expect((await store.read(room, 'bob')).messages).toEqual([]);
      const retried = await store.append(message(room, 'lost', 'ann'), { idempotencyKey: 'r' });
      expect(retried.duplicate).toBe(false);
    });

    it('keeps the stored JSON exactly, id first', async () => {
      const { message: stored } = await store.append(message(room, { nested: [1, { a: 'ü' }] }, 'ann'));
      expect(Object.keys(stored)[0]).toBe('id');
      expect((await store.read(room, 'ann')).messages[0]).toEqual(stored);
    });
  });

  describe('read state', () => {
    it('reports what the reader had seen, then marks everything read', async () => {
      await store.connect(room, 'c-bob', who('bob'), TTL);
      const { message: first } = await store.append(message(room, 'first', 'ann'));
      await sleep(2);
      await store.disconnect(room, 'c-bob');
      await store.append(message(room, 'second', 'ann'));

      const read = await store.read(room, 'bob');
      expect(read.lastSeenId).toBe(first.id);
      expect(read.messages.map((m) => m.body)).toEqual(['first', 'second']);
      expect(await store.unread(room, 'bob')).toBe(0);
      expect((await store.read(room, 'bob')).lastSeenId).toBe(read.messages[1]!.id);
    });

    it('keeps messages stored after the socket left unread when $disconnect runs late', async () => {
      await store.connect(room, 'c-bob', who('bob'), TTL);
      const leftAt = Date.now();
      await sleep(2);
      await store.append(message(room, 'after bob left', 'ann'));
      await store.disconnect(room, 'c-bob', leftAt);
      expect(await store.unread(room, 'bob')).toBe(1);
      expect((await store.read(room, 'bob')).lastSeenId).toBeNull();
    });

    it('never moves read state backwards', async () => {
      await store.connect(room, 'c-ann', who('ann'), TTL);
      const leftAt = Date.now();
      await sleep(2);
      const { message: own } = await store.append(message(room, 'own', 'ann'));
      await store.disconnect(room, 'c-ann', leftAt);
      expect(await store.unread(room, 'ann')).toBe(0);
      expect((await store.read(room, 'ann')).lastSeenId).toBe(own.id);
    });

    it('returns only messages after sinceId', async () => {
      const { message: one } = await store.append(message(room, 1, 'ann'));
      await store.append(message(room, 2, 'ann'));
      expect((await store.read(room, 'ann', one.id)).messages.map((m) => m.body)).toEqual([2]);
    });

    it('pages back from the newest with a limit and an exclusive before', async () => {
      const ids: string[] = [];
      for (const body of [1, 2, 3, 4, 5])
        ids.push((await store.append(message(room, body, 'ann'))).message.id);

      const newest = await store.page(room, 'bob', { limit: 2 });
      const middle = await store.page(room, 'bob', { limit: 2, before: ids[3] });
      const oldest = await store.page(room, 'bob', { limit: 2, before: ids[1] });

      expect(newest.messages.map((m) => m.body)).toEqual([4, 5]);
      expect(newest.more).toBe(true);
      expect(middle.messages.map((m) => m.body)).toEqual([2, 3]);
      expect(middle.more).toBe(true);
      expect(oldest.messages.map((m) => m.body)).toEqual([1]);
      expect(oldest.more).toBe(false);
      expect((await store.page(room, 'bob', { limit: 5, before: '0-0' })).messages).toEqual([]);
    });

    it('pages between an exclusive after and before', async () => {
      const ids: string[] = [];
      for (const body of [1, 2, 3, 4, 5])
        ids.push((await store.append(message(room, body, 'ann'))).message.id);

      const all = await store.page(room, 'bob', { limit: 10, after: ids[0], before: ids[4] });
      const newest = await store.page(room, 'bob', { limit: 2, after: ids[0], before: ids[4] });

      expect(all.messages.map((m) => m.body)).toEqual([2, 3, 4]);
      expect(all.more).toBe(false);
      expect(newest.messages.map((m) => m.body)).toEqual([3, 4]);
      expect(newest.more).toBe(true);
    });

    it('marks the room read up to its newest message only when asked', async () => {
      await store.addMembers(room, ['bob']);
      for (const body of [1, 2, 3]) await store.append(message(room, body, 'ann'));

      const browsed = await store.page(room, 'bob', { limit: 1 });
      expect(browsed.lastSeenId).toBeNull();
      expect(await store.unread(room, 'bob')).toBe(3);
      const read = await store.page(room, 'bob', {
        limit: 1,
        before: browsed.messages[0]!.id,
        markRead: true,
      });

      expect(read.lastSeenId).toBeNull();
      expect(await store.unread(room, 'bob')).toBe(0);
      expect((await store.page(room, 'bob', { limit: 1 })).lastSeenId).toBe(browsed.messages[0]!.id);
    });

    it('summarises the latest messages oldest first with the unread count', async () => {
      await store.addMembers(room, ['bob']);
      for (const body of [1, 2, 3]) await store.append(message(room, body, 'ann'));
      const summary = await store.latest(room, 'bob', 2);
      expect(summary.messages.map((m) => m.body)).toEqual([2, 3]);
      expect(summary.unread).toBe(3);
    });
  });

  describe('membership', () => {
    it('counts unread for a new member only from when they joined, and none for a non-member', async () => {
      await store.append(message(room, 'before zoe', 'ann'));
      await store.addMembers(room, ['zoe']);
      await store.addMembers(room, ['zoe']);
      await store.append(message(room, 'after zoe', 'ann'));
      expect(await store.unread(room, 'zoe')).toBe(1);
      expect(await store.unread(room, 'stranger')).toBe(0);
    });

    it('removes members and returns their live connections', async () => {
      await store.connect(room, 'c-ann', who('ann'), TTL);
      await store.connect(room, 'c-bob-1', who('bob'), TTL);
      await store.connect(room, 'c-bob-2', who('bob'), TTL);
      const removed = await store.removeMembers(room, ['bob']);
      expect(removed.map((c) => c.connectionId).sort()).toEqual(['c-bob-1', 'c-bob-2']);
      expect(await store.members(room)).toEqual(['ann']);
      expect(await store.connections(room)).toEqual([{ connectionId: 'c-ann', userId: 'ann' }]);
    });
  });

  describe('tickets', () => {
    it('hands out a ticket once', async () => {
      const grant = { room, identity: who('ann') };
      await store.saveTicket(`hash-${room}`, grant, 30);
      expect(await store.takeTicket(`hash-${room}`)).toEqual(grant);
      expect(await store.takeTicket(`hash-${room}`)).toBeNull();
      expect(await store.takeTicket(`unknown-${room}`)).toBeNull();
    });

    it('forgets a ticket nobody took in time', async () => {
      await store.saveTicket(`hash-${room}`, { room, identity: who('ann') }, 1);
      await sleep(1100);
      expect(await store.takeTicket(`hash-${room}`)).toBeNull();
    });
  });

  describe('identity cache', () => {
    it('returns a cached identity until it expires', async () => {
      const identity: Identity = { userId: 'ann', profile: { id: 'ann', name: 'Ann', nested: { a: [1] } } };
      expect(await store.cachedIdentity(`token-${room}`)).toBeNull();
      await store.cacheIdentity(`token-${room}`, identity, 1);
      expect(await store.cachedIdentity(`token-${room}`)).toEqual(identity);
      expect(await store.cachedIdentity(`token-${room}`)).toEqual(identity);
      await sleep(1100);
      expect(await store.cachedIdentity(`token-${room}`)).toBeNull();
    });
  });

  describe('counters', () => {
    it('counts the messages of a user across rooms in a window that starts with the first', async () => {
      const user = `user-${room}`;
      const counts = [];
      for (let i = 0; i < 3; i += 1) counts.push(await store.countUserMessage(user, 1));
      expect(counts).toEqual([1, 2, 3].map((count) => ({ count, ttlSeconds: 1 })));
      expect(await store.countUserMessage(`other-${room}`, 1)).toEqual({ count: 1, ttlSeconds: 1 });
      await sleep(1100);
      expect((await store.countUserMessage(user, 1)).count).toBe(1);
    });

    it('counts injections across rooms apart from messages', async () => {
      const user = `user-${room}`;
      await store.countUserMessage(user, 60);
      expect((await store.countUserMessage(user, 60, 'injection')).count).toBe(1);
      expect((await store.countUserMessage(user, 60, 'injection')).count).toBe(2);
      expect((await store.countUserMessage(user, 60)).count).toBe(2);
    });

    it('keeps the user count apart from the per-room rate limit', async () => {
      const rateLimit = { limit: 1, windowSeconds: 60 };
      const user = `user-${room}`;
      await store.append(message(room, 1, user), { rateLimit });
      expect((await store.countUserMessage(user, 60)).count).toBe(1);
      await expect(store.append(message(room, 2, user), { rateLimit })).rejects.toThrow(RateLimitedError);
    });

    it('counts fan-out failures per message, kept for the TTL after the latest failure', async () => {
      expect(await store.countFanoutFailure(room, '1-0', 2)).toBe(1);
      expect(await store.countFanoutFailure(room, '2-0', 2)).toBe(1);
      await sleep(1200);
      expect(await store.countFanoutFailure(room, '1-0', 2)).toBe(2);
      await sleep(1200);
      // 2.4 s after the first failure, 1.2 s after the latest: still remembered.
      expect(await store.countFanoutFailure(room, '1-0', 2)).toBe(3);
      expect(await store.countFanoutFailure(room, '2-0', 2)).toBe(1);
      expect(await store.countFanoutFailure(`${room}-other`, '1-0', 2)).toBe(1);
    });

    it('keeps fan-out notes of a room by name until their TTL, absent ones as null', async () => {
      await store.saveFanoutNote(room, 'slice:a', '{"1-0":[]}', 1);
      await store.saveFanoutNote(room, 'retry:1-0:1', '["c1"]', 60);
      expect(await store.fanoutNotes(room, ['slice:a', 'nothing', 'retry:1-0:1'])).toEqual([
        '{"1-0":[]}',
        null,
        '["c1"]',
      ]);
      expect(await store.fanoutNotes(`${room}-other`, ['slice:a'])).toEqual([null]);
      await sleep(1200);
      expect(await store.fanoutNotes(room, ['slice:a', 'retry:1-0:1'])).toEqual([null, '["c1"]']);
      await store.dropFanoutNotes(room, ['retry:1-0:1', 'nothing']);
      expect(await store.fanoutNotes(room, ['retry:1-0:1'])).toEqual([null]);
    });
  });

  describe('presence (live signals)', () => {
    const profiled = (userId: string): Identity => ({ userId, profile: { id: userId, username: userId } });

    it("makes a user's first connection a join, and a second tab none", async () => {
      expect(await store.connect(room, 'c1', profiled('ann'), TTL, { signals: true })).toEqual({
        joined: true,
        listeners: 1,
      });
      expect(await store.connect(room, 'c2', profiled('ann'), TTL)).toEqual({ joined: false, listeners: 1 });
      expect(await store.presence(room)).toEqual([
        { userId: 'ann', profile: { id: 'ann', username: 'ann' } },
      ]);
    });

    it('marks the connections that asked for signals', async () => {
      await store.connect(room, 'loud', who('ann'), TTL, { signals: true, batched: true });
      await store.connect(room, 'quiet', who('bob'), TTL);
      const byId = Object.fromEntries((await store.connections(room)).map((c) => [c.connectionId, c]));
      expect(byId.loud).toEqual({ connectionId: 'loud', userId: 'ann', batched: true, signals: true });
      expect(byId.quiet).toEqual({ connectionId: 'quiet', userId: 'bob' });
    });

    it('makes the last connection to close a leave, and closing one of two tabs none', async () => {
      await store.connect(room, 'watch', who('bob'), TTL, { signals: true });
      await store.connect(room, 'c1', profiled('ann'), TTL);
      await store.connect(room, 'c2', profiled('ann'), TTL);
      expect(await store.disconnect(room, 'c1')).toMatchObject({ userId: 'ann', left: false, listeners: 1 });
      expect(await store.disconnect(room, 'c2')).toMatchObject({
        userId: 'ann',
        left: true,
        profile: { id: 'ann', username: 'ann' },
        listeners: 1,
      });
      expect((await store.presence(room)).map((user) => user.userId)).toEqual(['bob']);
    });

    it('makes a 410 drop of the last connection a leave, without moving the read mark', async () => {
      await store.connect(room, 'c1', profiled('ann'), TTL);
      await store.append(message(room, 'hi', 'bob'));
      const departure = await store.dropConnection(room, 'c1');
      expect(departure).toMatchObject({ userId: 'ann', left: true });
      expect(departure?.read).toBeUndefined();
      expect(await store.dropConnection(room, 'c1')).toBeNull();
    });

    it('reports a user whose last connection expired as a leave once, when noticed', async () => {
      await store.connect(room, 'stale', profiled('ann'), 1);
      await store.connect(room, 'fresh', profiled('bob'), TTL, { signals: true });
      await sleep(1100);
      const departed: Departure[] = [];
      expect(await store.connections(room, departed)).toEqual([
        { connectionId: 'fresh', userId: 'bob', signals: true },
      ]);
      expect(departed).toEqual([
        { userId: 'ann', left: true, profile: { id: 'ann', username: 'ann' }, listeners: 1 },
      ]);
      const again: Departure[] = [];
      await store.connections(room, again);
      expect(again).toEqual([]);
    });

    it('prunes expired connections on a presence read too, and lists each online user once', async () => {
      await store.connect(room, 'stale', profiled('ann'), 1);
      await store.connect(room, 'b1', profiled('bob'), TTL);
      await store.connect(room, 'b2', profiled('bob'), TTL);
      await sleep(1100);
      const departed: Departure[] = [];
      expect(await store.presence(room, departed)).toEqual([
        { userId: 'bob', profile: { id: 'bob', username: 'bob' } },
      ]);
      expect(departed.map((d) => d.userId)).toEqual(['ann']);
    });

    it('makes the removal of a member with open tabs one leave', async () => {
      await store.connect(room, 'c1', profiled('ann'), TTL);
      await store.connect(room, 'c2', profiled('ann'), TTL);
      const departed: Departure[] = [];
      expect(await store.removeMembers(room, ['ann'], departed)).toHaveLength(2);
      expect(departed).toEqual([
        { userId: 'ann', left: true, profile: { id: 'ann', username: 'ann' }, listeners: 0 },
      ]);
      expect(await store.presence(room)).toEqual([]);
    });
  });

  describe('read receipts', () => {
    it('reports the read mark a disconnect moved, and none when it stayed', async () => {
      await store.connect(room, 'c-ann', who('ann'), TTL);
      const { message: hi } = await store.append(message(room, 'hi', 'bob'));
      await sleep(5);
      expect(await store.disconnect(room, 'c-ann')).toMatchObject({ userId: 'ann', read: hi.id });
      await store.connect(room, 'c-ann', who('ann'), TTL);
      await sleep(5);
      expect((await store.disconnect(room, 'c-ann'))?.read).toBeUndefined();
    });

    it('reports the read mark a marking page moved, and none when it stayed', async () => {
      await store.connect(room, 'c-ann', who('ann'), TTL, { signals: true });
      const { message: hi } = await store.append(message(room, 'hi', 'bob'));
      const first = await store.page(room, 'ann', { limit: 10, markRead: true });
      expect(first.readMark).toEqual({ id: hi.id, listeners: 1 });
      expect((await store.page(room, 'ann', { limit: 10, markRead: true })).readMark).toBeUndefined();
      expect((await store.page(room, 'cat', { limit: 10 })).readMark).toBeUndefined();
    });

    it("lists the members' read marks with the profiles they connected with", async () => {
      await store.connect(room, 'c-ann', { userId: 'ann', profile: { id: 'ann', name: 'Ann' } }, TTL);
      const { message: first } = await store.append(message(room, 'one', 'ann'));
      const { message: second } = await store.append(message(room, 'two', 'bob'));
      await store.addMembers(room, ['bob', 'cat']);
      const { marks, next } = await store.readMarks(room, { limit: 10 });
      expect(next).toBeNull();
      expect(marks.sort((a, b) => a.userId.localeCompare(b.userId))).toEqual([
        { userId: 'ann', lastRead: first.id, profile: { id: 'ann', name: 'Ann' } },
        { userId: 'bob', lastRead: second.id, profile: null },
      ]);
      await store.removeMembers(room, ['bob']);
      expect((await store.readMarks(room, { limit: 10 })).marks.map((mark) => mark.userId)).toEqual(['ann']);
    });

    it('pages the read marks of a small room too, each page at most the limit', async () => {
      const everyone = Array.from({ length: 30 }, (_, n) => `u${n}`);
      await store.addMembers(room, everyone);
      await store.append(message(room, 'hi', 'u0'));
      for (const user of everyone) await store.page(room, user, { limit: 1, markRead: true });
      const first = await store.readMarks(room, { limit: 10 });
      const second = await store.readMarks(room, { limit: 10, after: first.next! });
      const third = await store.readMarks(room, { limit: 10, after: second.next! });
      const pages = [first, second, third];
      expect(pages.map((page) => page.marks.length)).toEqual([10, 10, 10]);
      const rest =
        third.next === null ? [] : (await store.readMarks(room, { limit: 10, after: third.next })).marks;
      expect(rest).toEqual([]);
      expect(new Set(pages.flatMap((page) => page.marks.map((mark) => mark.userId)))).toEqual(
        new Set(everyone),
      );
    });

    it('pages the read marks of a room of thousands: each page at most the limit, every member once', async () => {
      const everyone = Array.from({ length: 3000 }, (_, n) => `u${n}`);
      await store.addMembers(room, everyone);
      const { message: hi } = await store.append(message(room, 'hi', 'u0'));
      // Each member reads: `page` with markRead moves their mark, as GET /talk/old does.
      for (let n = 0; n < everyone.length; n += 500) {
        await Promise.all(
          everyone.slice(n, n + 500).map((user) => store.page(room, user, { limit: 1, markRead: true })),
        );
      }
      const seen: string[] = [];
      const sizes: number[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 1000; pages += 1) {
        const { marks, next } = await store.readMarks(room, { limit: 100, after });
        sizes.push(marks.length);
        seen.push(...marks.map((mark) => mark.userId));
        expect(marks.every((mark) => mark.lastRead === hi.id)).toBe(true);
        if (next === null) break;
        after = next;
      }
      expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
      expect(sizes.length).toBeGreaterThanOrEqual(30);
      expect(seen).toHaveLength(everyone.length);
      expect(new Set(seen)).toEqual(new Set(everyone));
    });
  });

  describe('ephemeral frames', () => {
    it('lets one ephemeral frame per user and room through per interval, apart from the rate limit', async () => {
      await store.connect(room, 'c-bob', who('bob'), TTL, { signals: true });
      expect(await store.claimEphemeral(room, 'ann', 300)).toEqual({
        claimed: true,
        listeners: 1,
        members: 1,
      });
      expect(await store.claimEphemeral(room, 'ann', 300)).toEqual({
        claimed: false,
        listeners: 1,
        members: 1,
      });
      expect((await store.claimEphemeral(room, 'bob', 300)).claimed).toBe(true);
      expect((await store.claimEphemeral(`${room}-other`, 'ann', 300)).claimed).toBe(true);
      await store.append(message(room, 'still allowed', 'ann'), {
        rateLimit: { limit: 1, windowSeconds: 60 },
      });
      await sleep(350);
      expect((await store.claimEphemeral(room, 'ann', 300)).claimed).toBe(true);
    });
  });

  describe('folded signals (read digests and presence)', () => {
    const ann = { id: 'ann' };
    const read = (id: string, userId = 'ann') =>
      ({ kind: 'read', userId, user: { id: userId }, id }) as const;
    const presence = (event: 'join' | 'leave', userId = 'ann') =>
      ({ kind: 'presence', userId, user: { id: userId }, event }) as const;

    it('schedules one flush per window and keeps the newest mark per user until it is taken', async () => {
      expect(await store.signals.fold(room, read('1-0'), 60_000, 100)).toBe('schedule');
      expect(await store.signals.fold(room, read('2-0'), 60_000, 100)).toBe('pending');
      expect(await store.signals.fold(room, read('2-0', 'bob'), 60_000, 100)).toBe('pending');
      expect(await store.signals.take(room)).toEqual({
        reads: [
          { userId: 'ann', user: ann, id: '2-0' },
          { userId: 'bob', user: { id: 'bob' }, id: '2-0' },
        ],
        presence: [],
      });
      // The flush freed the gate: the next change schedules the next flush, and nothing is left over.
      expect(await store.signals.fold(room, read('3-0'), 60_000, 100)).toBe('schedule');
      expect((await store.signals.take(room)).reads).toEqual([{ userId: 'ann', user: ann, id: '3-0' }]);
      expect(await store.signals.take(room)).toEqual({ reads: [], presence: [] });
    });

    it('keeps net presence changes only: a join and a leave in one window cancel out', async () => {
      await store.signals.fold(room, presence('join'), 60_000, 100);
      await store.signals.fold(room, presence('leave'), 60_000, 100);
      await store.signals.fold(room, presence('join', 'bob'), 60_000, 100);
      await store.signals.fold(room, presence('leave', 'cat'), 60_000, 100);
      await store.signals.fold(room, presence('join', 'cat'), 60_000, 100);
      await store.signals.fold(room, presence('leave', 'cat'), 60_000, 100);
      expect((await store.signals.take(room)).presence).toEqual([
        { userId: 'bob', user: { id: 'bob' }, event: 'join' },
        { userId: 'cat', user: { id: 'cat' }, event: 'leave' },
      ]);
    });

    it('frees the gate when the window passes without a flush', async () => {
      expect(await store.signals.fold(room, read('1-0'), 100, 100)).toBe('schedule');
      await sleep(150);
      expect(await store.signals.fold(room, read('2-0'), 100, 100)).toBe('schedule');
    });

    it('keeps nothing for a room of more members than the cap', async () => {
      await store.addMembers(room, ['ann', 'bob', 'cat']);
      expect(await store.signals.fold(room, read('1-0'), 60_000, 2)).toBe('capped');
      expect(await store.signals.take(room)).toEqual({ reads: [], presence: [] });
      expect(await store.signals.fold(room, read('1-0'), 60_000, 3)).toBe('schedule');
    });

    it("counts a user's connects across rooms in a fixed window", async () => {
      const user = `u-${room}`;
      expect(await store.signals.countConnect(user, 60)).toEqual({ count: 1, ttlSeconds: 60 });
      expect((await store.signals.countConnect(user, 60)).count).toBe(2);
      expect((await store.signals.countConnect(`${user}-other`, 60)).count).toBe(1);
    });
  });

  describe("a user's connections across rooms", () => {
    it('lists them until they close, drop, are unsubscribed or expire', async () => {
      const user = `u-${room}`;
      const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((suffix) => `${room}-${suffix}`);
      await store.connect(a!, 'ca', who(user), TTL);
      await store.connect(b!, 'cb', who(user), TTL);
      await store.connect(c!, 'cc', who(user), TTL);
      await store.connect(d!, 'cd', who(user), 1);
      const rooms = async () =>
        (await store.userConnections(user)).map((c) => `${c.connectionId} ${c.room}`).sort();
      expect(await rooms()).toEqual([`ca ${a}`, `cb ${b}`, `cc ${c}`, `cd ${d}`]);
      await store.disconnect(a!, 'ca');
      await store.dropConnection(b!, 'cb');
      await sleep(1100);
      expect(await rooms()).toEqual([`cc ${c}`]);
      await store.removeMembers(c!, [user]);
      expect(await store.userConnections(user)).toEqual([]);
    });
  });

  describe('changed messages (edits, deletes, reactions)', () => {
    /** Appends a message of ann and answers its id and current stored text. */
    async function stored(body: unknown = 'v1') {
      const { message: appended } = await store.append(message(room, body, 'ann'));
      const current = await store.changes.current(room, appended.id);
      return { id: appended.id, text: current.text!, version: current.version! };
    }

    it('shows the current version in every read, in its place, and keeps the log order', async () => {
      const first = await stored('v1');
      await store.append(message(room, 'after', 'bob'));
      const next = { ...first.version, body: 'v2', edited: { at: 1, by: 'ann' } };
      expect(await store.changes.replace(room, first.id, first.text, next, 'ann')).toBe('replaced');
      const page = await store.page(room, 'bob', { limit: 10 });
      expect(page.messages.map((m) => m.body)).toEqual(['v2', 'after']);
      expect(page.messages[0]).toMatchObject({ id: first.id, edited: { at: 1, by: 'ann' } });
      expect((await store.latest(room, 'bob', 10)).messages[0]!.body).toBe('v2');
      expect((await store.read(room, 'bob')).messages[0]!.body).toBe('v2');
    });

    it('refuses a stale compare-and-set and reports a missing message', async () => {
      const first = await stored();
      await store.changes.replace(room, first.id, first.text, { ...first.version, body: 'v2' }, 'ann');
      expect(
        await store.changes.replace(room, first.id, first.text, { ...first.version, body: 'v3' }, 'ann'),
      ).toBe('conflict');
      expect(await store.changes.replace(room, '1-0', '{}', first.version, 'ann')).toBe('missing');
      expect(await store.changes.current(room, '1-0')).toEqual({
        version: null,
        text: null,
        duplicate: false,
      });
    });

    it('remembers an idempotency key and counts changes against the rate limit', async () => {
      const first = await stored();
      const options = { idempotencyKey: 'x:ann:k1', rateLimit: { limit: 1, windowSeconds: 60 } };
      await store.changes.replace(
        room,
        first.id,
        first.text,
        { ...first.version, body: 'v2' },
        'ann',
        options,
      );
      expect((await store.changes.current(room, first.id, 'x:ann:k1')).duplicate).toBe(true);
      const now = await store.changes.current(room, first.id);
      await expect(
        store.changes.replace(room, first.id, now.text!, { ...now.version!, body: 'v3' }, 'ann', {
          rateLimit: { limit: 1, windowSeconds: 60 },
        }),
      ).rejects.toBeInstanceOf(RateLimitedError);
    });

    it('toggles reactions in order of arrival with exact counts, and a tombstone drops them', async () => {
      const first = await stored();
      expect(await store.changes.react(room, first.id, 'bob', '👍', 20)).toEqual({
        duplicate: false,
        added: true,
        count: 1,
      });
      expect(await store.changes.react(room, first.id, 'ann', '👍', 20)).toEqual({
        duplicate: false,
        added: true,
        count: 2,
      });
      expect((await store.latest(room, 'bob', 1)).messages[0]!.reactions).toEqual({
        '👍': { count: 2, users: ['bob', 'ann'] },
      });
      expect(await store.changes.react(room, first.id, 'bob', '👍', 20)).toMatchObject({
        added: false,
        count: 1,
      });
      expect(await store.changes.react(room, first.id, 'ann', '👍', 20)).toMatchObject({
        added: false,
        count: 0,
      });
      expect((await store.latest(room, 'bob', 1)).messages[0]!.reactions).toBeUndefined();
      await store.changes.react(room, first.id, 'ann', 'tada', 20);
      const tombstone = { deleted: true, type: 'message', room, token: room, timestamp: 1, author: null };
      await store.changes.replace(room, first.id, first.text, tombstone as never, 'ann');
      const [shown] = (await store.page(room, 'bob', { limit: 1 })).messages;
      expect(shown).toEqual({ id: first.id, ...tombstone });
      await expect(store.changes.react(room, first.id, 'ann', 'tada', 20)).rejects.toMatchObject({
        statusCode: 404,
      });
    });

    it('lists at most 20 users per emoji and counts the rest (clipped), whose own toggles still work', async () => {
      const first = await stored();
      const users = Array.from({ length: 25 }, (_, n) => `user-${String(n).padStart(2, '0')}`);
      for (const user of users) await store.changes.react(room, first.id, user, '🎉', 20);
      const summary = (await store.latest(room, 'bob', 1)).messages[0]!.reactions!['🎉']!;
      expect(summary).toEqual({ count: 25, users: users.slice(0, 20), clipped: true });
      // user-24 is not listed: taking it back still counts exactly, and so does adding it again.
      expect(await store.changes.react(room, first.id, 'user-24', '🎉', 20)).toMatchObject({
        added: false,
        count: 24,
      });
      expect(await store.changes.react(room, first.id, 'user-24', '🎉', 20)).toMatchObject({
        added: true,
        count: 25,
      });
      // A listed user leaving makes room for one who was not listed.
      await store.changes.react(room, first.id, 'user-00', '🎉', 20);
      const after = (await store.latest(room, 'bob', 1)).messages[0]!.reactions!['🎉']!;
      expect(after.count).toBe(24);
      expect(after.users).toHaveLength(20);
      expect(after.users).not.toContain('user-00');
      expect(after.clipped).toBe(true);
    });

    it('keeps an emoji named like an Object.prototype property as any other key', async () => {
      const first = await stored();
      await store.changes.react(room, first.id, 'bob', '__proto__', 20);
      await store.changes.react(room, first.id, 'bob', 'constructor', 20);
      const reactions = (await store.latest(room, 'bob', 1)).messages[0]!.reactions!;
      expect(Object.keys(reactions).sort()).toEqual(['__proto__', 'constructor']);
      expect(reactions.constructor).toEqual({ count: 1, users: ['bob'] });
    });

    it('refuses a reaction past the distinct limit, and one to an unknown message', async () => {
      const first = await stored();
      await store.changes.react(room, first.id, 'bob', 'a', 2);
      await store.changes.react(room, first.id, 'bob', 'b', 2);
      await expect(store.changes.react(room, first.id, 'bob', 'c', 2)).rejects.toMatchObject({
        statusCode: 409,
      });
      await expect(store.changes.react(room, '1-0', 'bob', 'a', 2)).rejects.toMatchObject({
        statusCode: 404,
      });
    });

    it('answers a retried reaction from its idempotency key without toggling again', async () => {
      const first = await stored();
      await store.changes.react(room, first.id, 'bob', 'ok', 20, { idempotencyKey: 'x:bob:r1' });
      const again = await store.changes.react(room, first.id, 'bob', 'ok', 20, {
        idempotencyKey: 'x:bob:r1',
      });
      expect(again).toEqual({ duplicate: true });
      expect((await store.latest(room, 'bob', 1)).messages[0]!.reactions).toEqual({
        ok: { count: 1, users: ['bob'] },
      });
    });

    it('counts live connections and members', async () => {
      await store.addMembers(room, ['ann', 'bob', 'cid']);
      await store.connect(room, 'c1', who('ann'), TTL);
      await store.connect(room, 'c2', who('ann'), TTL);
      expect(await store.changes.occupancy(room)).toEqual({ connections: 2, members: 3 });
    });
  });
});

describe('RedisStore', () => {
  it('keeps every key of a room in one hash slot', () => {
    const room = 'lobby';
    const tags = [
      keys.conns,
      keys.expiry,
      keys.members,
      keys.log,
      keys.seq,
      keys.mark,
      keys.seen,
      keys.batched,
      keys.signals,
      keys.tabs,
      keys.profiles,
      keys.edits,
      keys.reactions,
      keys.reactors,
    ].map((key) => key(room));
    for (const key of tags) expect(key).toContain('{lobby}');
    expect(keys.ephemeral(room, 'ann')).toContain('{lobby}');
    // The user's index spans rooms: its own key, written by a second command.
    expect(keys.userConnections('ann')).not.toContain('{');
    expect(keys.idempotency(room, 'x')).toContain('{lobby}');
    expect(keys.rate(room, 'ann')).toContain('{lobby}');
    expect(keys.fanoutFailures(room, '1-0')).toContain('{lobby}');
  });

  it('keeps a message reacted to by 150 users with 20 emoji each to a small summary, with exact counts', async () => {
    const store = new RedisStore({ url: REDIS_URL });
    const room = uniqueRoom('reactions');
    try {
      const { message: target } = await store.append(message(room, 'react to me', 'ann'));
      const emoji = TWENTY_EMOJI;
      const users = Array.from({ length: 150 }, (_, n) => `user-${n}`);
      for (const one of emoji) {
        await Promise.all(users.map((user) => store.changes.react(room, target.id, user, one, 20)));
      }
      const summary = await store.client.hget(keys.reactions(room), target.id);
      // 20 emoji × (20 listed ids of ~9 bytes + the count): a few KB, where every user took 189 KB.
      expect(Buffer.byteLength(summary!, 'utf8')).toBeLessThan(6000);
      const [shown] = (await store.latest(room, 'ann', 1)).messages;
      for (const one of emoji) {
        expect(shown!.reactions![one]).toMatchObject({ count: 150, clipped: true });
        expect(shown!.reactions![one]!.users).toHaveLength(20);
      }
      expect(await store.client.zcard(keys.reactors(room))).toBe(150 * 20);
    } finally {
      await store.close();
    }
  });

  it('reads a reactions summary stored before users were capped, and keeps its counts exact', async () => {
    const store = new RedisStore({ url: REDIS_URL });
    const room = uniqueRoom('legacy-reactions');
    try {
      const { message: target } = await store.append(message(room, 'old', 'ann'));
      await store.client.hset(keys.reactions(room), target.id, JSON.stringify({ '👍': ['ua', 'ub'] }));
      expect((await store.latest(room, 'ann', 1)).messages[0]!.reactions).toEqual({
        '👍': { count: 2, users: ['ua', 'ub'] },
      });
      expect(await store.changes.react(room, target.id, 'uc', '👍', 20)).toMatchObject({
        added: true,
        count: 3,
      });
      expect(await store.changes.react(room, target.id, 'ua', '👍', 20)).toMatchObject({
        added: false,
        count: 2,
      });
      expect((await store.latest(room, 'ann', 1)).messages[0]!.reactions).toEqual({
        '👍': { count: 2, users: ['ub', 'uc'] },
      });
    } finally {
      await store.close();
    }
  });

  it('reports a body too deep to encode as an error of ours (RangeError), never as store unavailable', async () => {
    const store = new RedisStore({ url: REDIS_URL });
    try {
      const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
      const refusal = await store.append(message(uniqueRoom('encode'), deep, 'ann')).catch((e: unknown) => e);
      expect(refusal).toBeInstanceOf(RangeError);
    } finally {
      await store.close();
    }
  });

  it('fails fast with 503 when Redis is unreachable', async () => {
    const store = new RedisStore({ url: 'redis://127.0.0.1:1', connectTimeoutMs: 300 });
    await expect(store.append(message('r', 1, 'ann'))).rejects.toThrow(ServiceUnavailableError);
    await store.close();
  });
});
