/**
 * What "acknowledged means replicated" costs per message: appends through the Redis store to a
 * private primary with one private replica, with `HIPOCHAT_REDIS_WAIT_REPLICAS` 0 and 1. Reports
 * the write path's latency (one append in flight, as a Lambda sends), the throughput of one
 * connection with 16 in flight (the local gateway's), and CPU per message of the client, the
 * primary and the replica. Both servers are started for the run and stopped after it.
 * Usage: `node --import tsx bench/replica-wait.ts [messages per setting, default 2000]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { NewMessage } from '../lambdas/core/protocol.js';
import { RedisStore } from '../lambdas/core/store/redis-store.js';
import { startPrivateRedis } from './services.js';

const MESSAGES = Math.min(20_000, Number(process.argv[2] ?? 2000));
const WARM_UP = 200;
const IN_FLIGHT = 16;
const WAIT_MS = 100;

/** One setting's figures. */
interface Figures {
  replicas: number;
  p50Us: number;
  p99Us: number;
  perSecondOneConnection: number;
  clientCpuUs: number;
  primaryCpuUs: number;
  replicaCpuUs: number;
}

/** Server CPU microseconds so far, user + system (`INFO cpu`: microsecond resolution). */
async function serverCpuUs(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

function message(room: string, i: number): NewMessage {
  return {
    type: 'message',
    room,
    token: room,
    timestamp: Date.now() / 1000,
    body: `message ${i} of the replica-wait bench`,
    author: { id: 'bench' },
    senderId: 'bench',
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function measure(url: string, primary: Redis, replica: Redis, replicas: number): Promise<Figures> {
  const store = new RedisStore({ url, waitReplicas: replicas, waitMs: WAIT_MS, historyLimit: 1000 });
  const room = `bench-wait-${replicas}-${Date.now()}`;
  try {
    for (let i = 0; i < WARM_UP; i += 1) await store.append(message(room, i));
    const [primaryBefore, replicaBefore] = [await serverCpuUs(primary), await serverCpuUs(replica)];
    const cpuBefore = process.cpuUsage();
    const latencies: number[] = [];
    for (let i = 0; i < MESSAGES; i += 1) {
      const start = performance.now();
      await store.append(message(room, i), { idempotencyKey: `c:bench:${replicas}:${i}` });
      latencies.push((performance.now() - start) * 1000);
    }
    const cpu = process.cpuUsage(cpuBefore);
    const [primaryAfter, replicaAfter] = [await serverCpuUs(primary), await serverCpuUs(replica)];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < MESSAGES) {
          next += 1;
          await store.append(message(room, next));
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      replicas,
      p50Us: Math.round(percentile(latencies, 0.5)),
      p99Us: Math.round(percentile(latencies, 0.99)),
      perSecondOneConnection: Math.round(MESSAGES / seconds),
      clientCpuUs: Math.round((cpu.user + cpu.system) / MESSAGES),
      primaryCpuUs: Math.round((primaryAfter - primaryBefore) / MESSAGES),
      replicaCpuUs: Math.round((replicaAfter - replicaBefore) / MESSAGES),
    };
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  // Replication writes an RDB file (the primary's snapshot, the replica's copy): into a scratch directory.
  const dir = mkdtempSync(join(tmpdir(), 'hipochat-bench-wait-'));
  const primaryServer = await startPrivateRedis(['--dir', dir, '--dbfilename', 'primary.rdb']);
  if (!primaryServer) throw new Error('redis-server is not installed');
  const replicaServer = await startPrivateRedis([
    '--dir',
    dir,
    '--dbfilename',
    'replica.rdb',
    '--replicaof',
    '127.0.0.1',
    String(primaryServer.port),
  ]);
  const primary = new Redis(primaryServer.url);
  const replica = replicaServer ? new Redis(replicaServer.url) : undefined;
  try {
    if (!replica) throw new Error('the replica did not start');
    for (let i = 0; !/master_link_status:up/.test(await replica.info('replication')); i += 1) {
      if (i > 100) throw new Error('the replica did not sync');
      await new Promise((done) => setTimeout(done, 100));
    }
    const rows: Figures[] = [];
    for (const replicas of [0, 1]) rows.push(await measure(primaryServer.url, primary, replica, replicas));
    console.log(
      `${MESSAGES} appends per setting, local primary + replica (loopback), WAIT timeout ${WAIT_MS} ms\n`,
    );
    console.log(
      '| wait replicas | p50 µs | p99 µs | appends/s, one connection, 16 in flight | client CPU µs | primary CPU µs | replica CPU µs |',
    );
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of rows) {
      console.log(
        `| ${r.replicas} | ${r.p50Us} | ${r.p99Us} | ${r.perSecondOneConnection} | ${r.clientCpuUs} | ${r.primaryCpuUs} | ${r.replicaCpuUs} |`,
      );
    }
    console.log(JSON.stringify({ messages: MESSAGES, waitMs: WAIT_MS, rows }));
  } finally {
    primary.disconnect();
    replica?.disconnect();
    await replicaServer?.stop();
    await primaryServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
