import { RateLimitedError } from '../../lambdas/core/errors.js';
import type { ChatStore } from '../../lambdas/core/store/chat-store.js';
import { uniqueRoom } from '../support/rooms.js';
import { contractStores, message, TTL, who } from '../support/store-contract.js';

// The store contract, continued: messages changed after they were stored (edits, deletes,
// reactions) and the room occupancy the changes answer with.
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
