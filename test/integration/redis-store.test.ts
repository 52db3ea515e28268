import { ServiceUnavailableError } from '../../lambdas/core/errors.js';
import { keys } from '../../lambdas/core/store/redis-keys.js';
import { RedisStore } from '../../lambdas/core/store/redis-store.js';
import { REDIS_URL } from '../support/gateway.js';
import { TWENTY_EMOJI } from '../support/messages.js';
import { uniqueRoom } from '../support/rooms.js';
import { message } from '../support/store-contract.js';

// What RedisStore keeps beyond the store contract: its key layout, the size of what it stores and
// how it fails.
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
