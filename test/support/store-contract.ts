import type { Identity, NewMessage } from '../../lambdas/core/protocol.js';
import type { ChatStore } from '../../lambdas/core/store/chat-store.js';
import { MemoryStore } from '../../lambdas/core/store/memory-store.js';
import { RedisStore } from '../../lambdas/core/store/redis-store.js';
import { type OwnCluster, redisCli, startRedisCluster } from './faults.js';
import { REDIS_URL } from './gateway.js';
import { type ReplicatedRedis, startReplicatedRedis } from './replication.js';
import { eventually } from './wait.js';

/** The messages a contract store keeps per room (the stores' default). */
export const HISTORY_LIMIT = 1000;

/** Seconds a contract test's connection record lives: far longer than any test. */
export const TTL = 3600;

/** Waits `ms` milliseconds: for a TTL to pass, or for the clock to move past a millisecond. */
export const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** The identity of `userId` with the smallest profile, `{ id: userId }`. */
export const who = (userId: string): Identity => ({ userId, profile: { id: userId } });

/** What a contract message carries beside its body. */
export interface MessageExtras {
  /** The user ids the message mentions. */
  mentions?: string[];
  /** The root message this one replies to. */
  parentId?: string;
}

/**
 * A message for `room` with `body`, sent by `senderId` or, without one, by the backend (no
 * author); the extras only when given, so the stored JSON holds no empty fields.
 */
export function message(
  room: string,
  body: unknown,
  senderId?: string,
  { mentions, parentId }: MessageExtras = {},
): NewMessage {
  return {
    type: 'message',
    room,
    token: room,
    timestamp: Date.now() / 1000,
    body,
    author: senderId ? { id: senderId } : null,
    ...(senderId ? { senderId } : {}),
    ...(parentId ? { parentId } : {}),
    ...(mentions ? { mentions } : {}),
  };
}

/** A store every contract suite can run against, named as the suite titles show it. */
export type StoreName =
  | 'RedisStore'
  | 'RedisStore in cluster mode'
  | 'RedisStore waiting for 1 replica'
  | 'MemoryStore';

/** Makes a new store of one kind that keeps `historyLimit` messages per room. */
export type MakeStore = (historyLimit?: number) => Promise<ChatStore>;

/** Every store of the contract, in the order the suites run them. */
const ALL_STORES: readonly StoreName[] = [
  'RedisStore',
  'RedisStore in cluster mode',
  'RedisStore waiting for 1 replica',
  'MemoryStore',
];

// Servers a store of the table started for itself: none until a suite makes such a store, so a
// file that runs only MemoryStore starts no process.
let ownCluster: Promise<OwnCluster> | undefined;
const ownServers: ReplicatedRedis[] = [];

/**
 * A cluster-mode Redis, as ElastiCache Serverless and cluster-mode replication groups speak: the
 * one `.ci/run` starts (HIPOCHAT_TEST_REDIS_CLUSTER_URL, ports 7000-7002), else three nodes of
 * the test file's own, started once however many suites ask.
 */
async function clusterUrl(): Promise<string> {
  if (process.env.HIPOCHAT_TEST_REDIS_CLUSTER_URL) return process.env.HIPOCHAT_TEST_REDIS_CLUSTER_URL;
  ownCluster ??= startRedisCluster().then(everyNodeOk);
  return (await ownCluster).url;
}

/**
 * Waits until every node of `cluster`, not only the first, says cluster_state:ok: a cluster client
 * that connects while one still says fail can hang on its first command (seen with several test
 * files starting clusters at once).
 */
async function everyNodeOk(cluster: OwnCluster): Promise<OwnCluster> {
  const ok = async (port: number) => (await redisCli(port, 'cluster', 'info')).includes('cluster_state:ok');
  try {
    await eventually(
      async () => (await Promise.all(cluster.ports.map(ok))).every(Boolean),
      'cluster_state:ok on every node',
      15_000,
    );
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/** Stops the servers the stores of the table started, once their suites closed the stores. */
async function stopOwnServers(): Promise<void> {
  const cluster = ownCluster;
  ownCluster = undefined;
  await Promise.all([
    // A cluster that failed to start failed its suite's beforeAll already, and left nothing running.
    cluster?.then(
      (started) => started.stop(),
      () => undefined,
    ),
    ...ownServers.splice(0).map((pair) => pair.stop()),
  ]);
}

const makers: Record<StoreName, MakeStore> = {
  RedisStore: async (historyLimit = HISTORY_LIMIT) => new RedisStore({ url: REDIS_URL, historyLimit }),
  'RedisStore in cluster mode': async (historyLimit = HISTORY_LIMIT) =>
    new RedisStore({ url: await clusterUrl(), cluster: true, historyLimit }),
  // Every acknowledged write waits for a real replica (a generous timeout: the contract, not lag).
  'RedisStore waiting for 1 replica': async (historyLimit = HISTORY_LIMIT) => {
    const pair = await startReplicatedRedis();
    ownServers.push(pair);
    return new RedisStore({ url: pair.primary.url, historyLimit, waitReplicas: 1, waitMs: 5000 });
  },
  MemoryStore: async (historyLimit = HISTORY_LIMIT) => new MemoryStore(historyLimit),
};

/**
 * The table of a contract suite, for `describe.each`: each store of `only` (all of them unless
 * given) with the function that makes one. Call it at the top level of a test file: it registers
 * the `afterAll` that stops the servers those stores started, which runs after the suites'
 * own `afterAll` closed their stores.
 */
export function contractStores(only: readonly StoreName[] = ALL_STORES): [StoreName, MakeStore][] {
  afterAll(stopOwnServers);
  return only.map((name) => [name, makers[name]]);
}
