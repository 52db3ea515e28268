import type { Identity } from '../../lambdas/core/protocol.js';
import type { ChatStore, Departure } from '../../lambdas/core/store/chat-store.js';
import { uniqueRoom } from '../support/rooms.js';
import { contractStores, message, sleep, TTL, who } from '../support/store-contract.js';

// The store contract, continued: what live signals a store answers (presence, read receipts,
// ephemeral frames, folded digests) and where a user's connections are across rooms.
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
});
