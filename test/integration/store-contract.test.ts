import { RateLimitedError } from '../../lambdas/core/errors.js';
import type { Identity } from '../../lambdas/core/protocol.js';
import type { ChatStore } from '../../lambdas/core/store/chat-store.js';
import { compareIds } from '../../protocol/index.js';
import { uniqueRoom } from '../support/rooms.js';
import { contractStores, message, sleep, TTL, who } from '../support/store-contract.js';

// The store contract every ChatStore keeps, against every store: its connections, messages and
// read state. Signals are in signals-contract.test.ts, changed messages in changes-contract.test.ts.
describe.each(contractStores())('%s (store contract)', (_name, make) => {
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
});
