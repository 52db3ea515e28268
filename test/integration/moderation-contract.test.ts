import { RestrictedError } from '../../lambdas/core/errors.js';
import type { ChatStore } from '../../lambdas/core/store/chat-store.js';
import { keys } from '../../lambdas/core/store/redis-keys.js';
import { RedisStore } from '../../lambdas/core/store/redis-store.js';
import { REDIS_URL } from '../support/gateway.js';
import { uniqueRoom } from '../support/rooms.js';
import { contractStores, message } from '../support/store-contract.js';

/** The refusal `work` fails with. */
async function refusal(work: Promise<unknown>): Promise<RestrictedError> {
  const error = await work.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(RestrictedError);
  return error as RestrictedError;
}

describe.each(contractStores(['RedisStore', 'MemoryStore']))('%s (restrictions contract)', (_name, make) => {
  let store: ChatStore;
  let room: string;
  beforeAll(async () => {
    store = await make();
  }, 60_000);
  beforeEach(() => {
    room = uniqueRoom('moderation');
  });
  afterAll(async () => {
    await store.close();
  });

  describe('restrict and restrictions', () => {
    it('lists a mute and a ban in force, and finds them for their user', async () => {
      const now = Date.now();
      await store.moderation.restrict(room, 'mo', 'mute', now + 60_000, now);
      await store.moderation.restrict(room, 'bo', 'ban', now + 30_000, now);
      const held = await store.moderation.restrictions(room, now);
      expect(held).toEqual(
        expect.arrayContaining([
          { userId: 'mo', kind: 'mute', untilMs: now + 60_000 },
          { userId: 'bo', kind: 'ban', untilMs: now + 30_000 },
        ]),
      );
      expect(held).toHaveLength(2);
      expect(await store.moderation.restrictionsOf(room, 'mo', now)).toEqual([
        { userId: 'mo', kind: 'mute', untilMs: now + 60_000 },
      ]);
      expect(await store.moderation.restrictionsOf(room, 'nobody', now)).toEqual([]);
    });

    it('lifts a restriction with 0', async () => {
      const now = Date.now();
      await store.moderation.restrict(room, 'mo', 'mute', now + 60_000, now);
      await store.moderation.restrict(room, 'mo', 'mute', 0, now);
      expect(await store.moderation.restrictions(room, now)).toEqual([]);
      expect(await store.moderation.restrictionsOf(room, 'mo', now)).toEqual([]);
    });

    it('keeps a mute and a ban of one user apart', async () => {
      const now = Date.now();
      await store.moderation.restrict(room, 'mo', 'mute', now + 60_000, now);
      await store.moderation.restrict(room, 'mo', 'ban', now + 10_000, now);
      await store.moderation.restrict(room, 'mo', 'ban', 0, now);
      expect(await store.moderation.restrictionsOf(room, 'mo', now)).toEqual([
        { userId: 'mo', kind: 'mute', untilMs: now + 60_000 },
      ]);
    });

    it('counts an entry past its deadline as absent and drops it from the room', async () => {
      const now = Date.now();
      await store.moderation.restrict(room, 'mo', 'mute', now + 1000, now);
      await store.moderation.restrict(room, 'stays', 'ban', now + 60_000, now);
      expect(await store.moderation.restrictionsOf(room, 'mo', now + 2000)).toEqual([]);
      expect(await store.moderation.restrictions(room, now + 2000)).toEqual([
        { userId: 'stays', kind: 'ban', untilMs: now + 60_000 },
      ]);
      // Dropped, not hidden: even asked as of before its deadline it is gone.
      expect(await store.moderation.restrictions(room, now)).toEqual([
        { userId: 'stays', kind: 'ban', untilMs: now + 60_000 },
      ]);
    });
  });

  describe('append', () => {
    it('refuses a muted sender with the seconds left and stores nothing', async () => {
      const now = Date.now();
      await store.moderation.restrict(room, 'mo', 'mute', now + 30_000, now);
      const error = await refusal(store.append(message(room, 'hush', 'mo')));
      expect(error.reason).toBe('muted');
      expect(error.retryAfter).toBeGreaterThan(25);
      expect(error.retryAfter).toBeLessThanOrEqual(30);
      expect((await store.latest(room, 'reader', 10)).messages).toEqual([]);
    });

    it('refuses a banned sender, a ban before a mute', async () => {
      const now = Date.now();
      await store.moderation.restrict(room, 'bo', 'mute', now + 30_000, now);
      await store.moderation.restrict(room, 'bo', 'ban', now + 10_000, now);
      expect((await refusal(store.append(message(room, 'hi', 'bo')))).reason).toBe('banned');
    });

    it('stores the messages of other users and of the backend', async () => {
      const now = Date.now();
      await store.moderation.restrict(room, 'mo', 'mute', now + 30_000, now);
      await store.append(message(room, 'from ann', 'ann'));
      await store.append(message(room, 'from the backend'));
      expect((await store.latest(room, 'reader', 10)).messages.map((m) => m.body)).toEqual([
        'from ann',
        'from the backend',
      ]);
    });

    it('stores again once the mute is lifted or over', async () => {
      const now = Date.now();
      await store.moderation.restrict(room, 'mo', 'mute', now + 30_000, now);
      await store.moderation.restrict(room, 'mo', 'mute', 0, now);
      await store.moderation.restrict(room, 'bo', 'ban', now - 1, now - 1000);
      await store.append(message(room, 'back', 'mo'));
      await store.append(message(room, 'back too', 'bo'));
      expect((await store.latest(room, 'reader', 10)).messages).toHaveLength(2);
    });

    it('answers a duplicate of a message stored before the mute, storing nothing twice', async () => {
      const first = await store.append(message(room, 'once', 'mo'), { idempotencyKey: 'c:mo:1' });
      const now = Date.now();
      await store.moderation.restrict(room, 'mo', 'mute', now + 30_000, now);
      const again = await store.append(message(room, 'once', 'mo'), { idempotencyKey: 'c:mo:1' });
      expect(again).toEqual({ message: first.message, duplicate: true });
      expect((await store.latest(room, 'reader', 10)).messages).toHaveLength(1);
    });
  });
});

describe('RedisStore restrictions', () => {
  const store = new RedisStore({ url: REDIS_URL });
  afterAll(async () => {
    await store.close();
  });

  it('keeps the room hash no longer than its latest deadline', async () => {
    const room = uniqueRoom('moderation');
    const now = Date.now();
    await store.moderation.restrict(room, 'mo', 'mute', now + 20_000, now);
    await store.moderation.restrict(room, 'bo', 'ban', now + 60_000, now);
    const ttl = await store.client.pttl(keys.moderation(room));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});
