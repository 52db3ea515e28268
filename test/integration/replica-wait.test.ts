import { NotAcknowledgedError } from '../../lambdas/core/errors.js';
import type { NewMessage } from '../../lambdas/core/protocol.js';
import { keys } from '../../lambdas/core/store/redis-keys.js';
import { RedisStore } from '../../lambdas/core/store/redis-store.js';
import { type OwnCluster, redisCli, startRedisCluster } from '../support/faults.js';
import {
  type ReplicatedRedis,
  replicasOnline,
  startHoldingProxy,
  startReplicatedRedis,
} from '../support/replication.js';
import { uniqueRoom } from '../support/rooms.js';
import { eventually } from '../support/wait.js';

jest.setTimeout(60_000);

function message(room: string, body: unknown, senderId = 'ann'): NewMessage {
  return {
    type: 'message',
    room,
    token: room,
    timestamp: Date.now() / 1000,
    body,
    author: { id: senderId },
    senderId,
  };
}

/** Messages of `room` in the log of the Redis on `port` (the primary's or the replica's copy). */
async function logLength(port: number, room: string): Promise<number> {
  return Number(await redisCli(port, 'XLEN', keys.log(room)));
}

describe('HIPOCHAT_REDIS_WAIT_REPLICAS=1 (acknowledged means replicated)', () => {
  let pair: ReplicatedRedis;
  let store: RedisStore;
  let room: string;

  beforeAll(async () => {
    pair = await startReplicatedRedis();
    // Long enough for a healthy replica on a busy CI machine; a held link always outlasts it.
    store = new RedisStore({ url: pair.primary.url, waitReplicas: 1, waitMs: 500 });
  });
  beforeEach(() => {
    room = uniqueRoom('replica-wait');
  });
  afterEach(() => pair.link.hold(false));
  afterAll(async () => {
    await store?.close();
    await pair?.stop();
  });

  /** Appends a message while the replica keeps up: it is on both. */
  async function acknowledgedMessage(body = 'v1') {
    const { message: stored } = await store.append(message(room, body));
    const current = await store.changes.current(room, stored.id);
    return { id: stored.id, text: current.text!, version: current.version! };
  }

  describe('while the replica keeps up', () => {
    it('acknowledges a message only once the replica holds it', async () => {
      await acknowledgedMessage();
      // WAIT confirmed it: the replica's copy has it without waiting.
      expect(await logLength(pair.replica.port, room)).toBe(1);
    });
  });

  describe('while the replica lags (its link held back)', () => {
    it('refuses a message with a retryable 503 and takes it back from the primary', async () => {
      pair.link.hold(true);
      const refused = store.append(message(room, 'lagging'), { idempotencyKey: 'c:ann:1' });
      await expect(refused).rejects.toBeInstanceOf(NotAcknowledgedError);
      await expect(refused).rejects.toMatchObject({
        statusCode: 503,
        retryAfter: 1,
        message: expect.stringMatching(/not acknowledged.*may be retried/),
      });
      const error = (await refused.catch((e: unknown) => e)) as NotAcknowledgedError;
      expect(error.headers()).toEqual({ 'retry-after': '1' });
      expect((await store.page(room, 'bob', { limit: 10 })).messages).toEqual([]);
    });

    it('stores the retry with the same idempotency key once, after the replica caught up', async () => {
      pair.link.hold(true);
      await expect(store.append(message(room, 'once'), { idempotencyKey: 'c:ann:2' })).rejects.toThrow(
        NotAcknowledgedError,
      );
      pair.link.hold(false);
      const retry = await store.append(message(room, 'once'), { idempotencyKey: 'c:ann:2' });
      expect(retry.duplicate).toBe(false);
      const again = await store.append(message(room, 'once'), { idempotencyKey: 'c:ann:2' });
      expect(again).toEqual({ message: retry.message, duplicate: true });
      expect((await store.page(room, 'bob', { limit: 10 })).messages.map((m) => m.id)).toEqual([
        retry.message.id,
      ]);
      expect(await logLength(pair.replica.port, room)).toBe(1);
    });

    it('acknowledges a duplicate only once the write it stands for is replicated', async () => {
      const first = await store.append(message(room, 'dup'), { idempotencyKey: 'c:ann:3' });
      pair.link.hold(true);
      // The retry writes nothing itself; its wait covers the room's writes so far (the fence).
      await expect(store.append(message(room, 'dup'), { idempotencyKey: 'c:ann:3' })).rejects.toThrow(
        NotAcknowledgedError,
      );
      pair.link.hold(false);
      expect(await store.append(message(room, 'dup'), { idempotencyKey: 'c:ann:3' })).toEqual({
        message: first.message,
        duplicate: true,
      });
    });

    it('refuses an edit and a delete, and acknowledges their retry once replicated', async () => {
      const first = await acknowledgedMessage();
      pair.link.hold(true);
      const next = { ...first.version, body: 'v2' };
      const options = { idempotencyKey: 'x:ann:e1' };
      await expect(store.changes.replace(room, first.id, first.text, next, 'ann', options)).rejects.toThrow(
        NotAcknowledgedError,
      );
      // The retry finds its idempotency record: a duplicate, acknowledged only when replicated.
      await expect(store.changes.current(room, first.id, 'x:ann:e1')).rejects.toThrow(NotAcknowledgedError);
      pair.link.hold(false);
      expect((await store.changes.current(room, first.id, 'x:ann:e1')).duplicate).toBe(true);

      const edited = await store.changes.current(room, first.id);
      pair.link.hold(true);
      const tombstone = { ...edited.version!, body: null, deleted: true as const };
      await expect(store.changes.replace(room, first.id, edited.text!, tombstone, 'ann')).rejects.toThrow(
        NotAcknowledgedError,
      );
      // A second delete finds it deleted, which it acknowledges: only once replicated.
      await expect(store.changes.current(room, first.id)).rejects.toThrow(NotAcknowledgedError);
      pair.link.hold(false);
      expect((await store.changes.current(room, first.id)).version?.deleted).toBe(true);
    });

    it('refuses a reaction, and acknowledges its retry once replicated', async () => {
      const first = await acknowledgedMessage();
      pair.link.hold(true);
      const options = { idempotencyKey: 'x:bob:r1' };
      await expect(store.changes.react(room, first.id, 'bob', '👍', 20, options)).rejects.toThrow(
        NotAcknowledgedError,
      );
      await expect(store.changes.react(room, first.id, 'bob', '👍', 20, options)).rejects.toThrow(
        NotAcknowledgedError,
      );
      pair.link.hold(false);
      expect(await store.changes.react(room, first.id, 'bob', '👍', 20, options)).toEqual({
        duplicate: true,
      });
    });

    it('refuses membership changes, and acknowledges their retry once replicated', async () => {
      pair.link.hold(true);
      await expect(store.addMembers(room, ['ann', 'bob'])).rejects.toThrow(NotAcknowledgedError);
      pair.link.hold(false);
      await store.addMembers(room, ['ann', 'bob']);
      expect((await store.members(room)).sort()).toEqual(['ann', 'bob']);

      pair.link.hold(true);
      await expect(store.removeMembers(room, ['bob'])).rejects.toThrow(NotAcknowledgedError);
      pair.link.hold(false);
      expect(await store.removeMembers(room, ['bob'])).toEqual([]);
      expect(await redisCli(pair.replica.port, 'SMEMBERS', keys.members(room))).toBe('ann');
    });

    it('refuses over the rate limit with 429 (nothing stored), whatever the replicas', async () => {
      pair.link.hold(true);
      const rateLimit = { limit: 1, windowSeconds: 60 };
      await expect(store.append(message(room, 'x'), { rateLimit })).rejects.toThrow(NotAcknowledgedError);
      await expect(store.append(message(room, 'y'), { rateLimit })).rejects.toMatchObject({
        statusCode: 429,
      });
    });
  });

  describe('with HIPOCHAT_REDIS_WAIT_REPLICAS=0', () => {
    it('acknowledges what the primary has, replica or not', async () => {
      const plain = new RedisStore({ url: pair.primary.url });
      try {
        pair.link.hold(true);
        await plain.append(message(room, 'unreplicated'));
        await plain.addMembers(room, ['ann']);
        expect(await logLength(pair.primary.port, room)).toBe(1);
        expect(await logLength(pair.replica.port, room)).toBe(0);
      } finally {
        await plain.close();
      }
    });
  });
});

describe('the Redis client across a failover', () => {
  let pair: ReplicatedRedis;

  beforeAll(async () => {
    pair = await startReplicatedRedis();
  });
  afterAll(async () => {
    await pair?.stop();
  });

  it('reconnects when the old primary answers READONLY, and the next request succeeds', async () => {
    const endpoint = await startHoldingProxy(pair.primary.port);
    const store = new RedisStore({
      url: `redis://127.0.0.1:${endpoint.port}/0`,
      waitReplicas: 1,
      waitMs: 2000,
    });
    const room = uniqueRoom('readonly');
    try {
      await store.append(message(room, 'before'));
      // Switchover: the endpoint names the replica, promoted; the old primary turns replica of it
      // under the store's open connection.
      endpoint.retarget(pair.replica.port);
      await redisCli(pair.replica.port, 'REPLICAOF', 'NO', 'ONE');
      await redisCli(pair.primary.port, 'REPLICAOF', '127.0.0.1', String(pair.replica.port));
      await replicasOnline(pair.replica.port, 1);
      await expect(store.client.set('hc:probe', '1')).rejects.toThrow(/^READONLY/);
      await store.append(message(room, 'after'));
      expect(await logLength(pair.replica.port, room)).toBe(2);
    } finally {
      await store.close();
      await endpoint.close();
    }
  });

  it('loads its scripts again when the server lost them (NOSCRIPT)', async () => {
    const primary = (await redisCli(pair.replica.port, 'ROLE')).startsWith('master')
      ? pair.replica
      : pair.primary;
    const store = new RedisStore({ url: primary.url });
    const room = uniqueRoom('noscript');
    try {
      await store.append(message(room, 'before'));
      await redisCli(primary.port, 'SCRIPT', 'FLUSH');
      await store.append(message(room, 'after'));
      expect(await logLength(primary.port, room)).toBe(2);
    } finally {
      await store.close();
    }
  });
});

describe('the replica wait in cluster mode', () => {
  let cluster: OwnCluster;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    // Every node agrees the cluster is up before the client asks any of them for the slots.
    for (const port of cluster.ports) {
      await eventually(
        async () => (await redisCli(port, 'cluster', 'info')).includes('cluster_state:ok'),
        `cluster_state:ok on ${port}`,
      );
    }
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it("runs the write, fence and WAIT on the room's node; with no replica there, nothing is acknowledged", async () => {
    const store = new RedisStore({ url: cluster.url, cluster: true, waitReplicas: 1, waitMs: 20 });
    try {
      for (const room of [uniqueRoom('slot-a'), uniqueRoom('slot-b'), uniqueRoom('slot-c')]) {
        // One pipeline, sent to the node of the keys' slot (all of them the room's).
        await expect(store.append(message(room, 'hi'))).rejects.toThrow(NotAcknowledgedError);
        await expect(store.addMembers(room, ['ann'])).rejects.toThrow(NotAcknowledgedError);
        expect((await store.page(room, 'ann', { limit: 10 })).messages).toEqual([]);
      }
    } finally {
      await store.close();
    }
  });
});
