/**
 * Child process of the bench that runs this project's core in isolation, so its CPU is its own:
 * `fanout` runs the real fan-out handler against the local @connections endpoint; `write` runs the
 * `$default` path (store + confirmed publish) and counts Redis requests and AMQP publishes.
 * Usage: `node --import tsx bench/probe.ts '<json>'`; prints one JSON line.
 */
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { loadConfig } from '../lambdas/core/config.js';
import { type ConnectionSender, ManagementApiSender } from '../lambdas/core/connections.js';
import { requestRuns, sliceConnections } from '../lambdas/core/fanout-slices.js';
import { readFrame } from '../lambdas/core/protocol.js';
import { createRuntime, setRuntime } from '../lambdas/core/runtime.js';
import type { ChatStore } from '../lambdas/core/store/chat-store.js';
import { RedisStore } from '../lambdas/core/store/redis-store.js';
import { rabbitMqEvent } from '../local/mq-events.js';
import type { ChatMessage, SendFrame } from '../protocol/index.js';
import { parseCommandStats } from './services.js';

process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'local';
process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Arguments of a fan-out probe. */
export interface FanoutProbe {
  mode: 'fanout';
  redisUrl: string;
  connectionsUrl: string;
  room: string;
  concurrency: number;
  sender: 'lean' | 'sdk';
  /** Measured messages (one handler invocation each), after one warm-up. */
  messages: number;
  /** Epoch ms to start measuring at (shards start together). */
  startAt?: number;
}

/** Arguments of a write-path probe. */
export interface WriteProbe {
  mode: 'write';
  redisUrl: string;
  amqpUrl: string;
  room: string;
  members: number;
  messages: number;
}

/** What a fan-out probe reports. */
export interface FanoutReportLine {
  deliveries: number;
  failed: number;
  cpuUsPerDelivery: number;
  wallMsPerMessage: number;
  /** CPU µs per delivery of each measured message (take the median). */
  perMessageCpuUs: number[];
  /** Wall milliseconds of each measured message's fan-out. */
  perMessageWallMs: number[];
  startedAt: number;
  endedAt: number;
  redisCommandsPerBatch: number;
  redisRequestsPerBatch: number;
  /**
   * CPU µs per connection a sliced fan-out spends before its slices run: reading the room and
   * writing one Invoke request per slice (the AWS model's cost of big rooms in the parent).
   */
  sliceSetupUsPerConnection: number;
}

/** What a write probe reports. */
export interface WriteReportLine {
  redisCommandsPerMessage: number;
  redisCommandBreakdown: Record<string, number>;
  redisRequestsPerMessage: number;
  amqpPublishesPerMessage: number;
  cpuUsPerMessage: number;
  wallMsPerMessage: number;
}

async function commandStats(url: string): Promise<Map<string, number>> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const info = await redis.info('commandstats');
  redis.disconnect();
  return parseCommandStats(info);
}

function delta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, calls] of after) {
    const diff = calls - (before.get(name) ?? 0);
    if (diff > 0) out.set(name, diff);
  }
  return out;
}

const sum = (stats: Map<string, number>) => [...stats.values()].reduce((a, b) => a + b, 0);

/** Counts requests the store's client writes to Redis (none are pipelined, so each is a round trip). */
function countRequests(store: ChatStore): { count: number } {
  if (!(store instanceof RedisStore)) throw new Error('the probes measure the Redis store');
  const counter = { count: 0 };
  const client = store.client as unknown as { sendCommand: (...args: unknown[]) => unknown };
  const original = client.sendCommand.bind(client);
  client.sendCommand = (...args: unknown[]) => {
    counter.count += 1;
    return original(...args);
  };
  return counter;
}

async function fanout(args: FanoutProbe): Promise<FanoutReportLine> {
  const config = loadConfig({
    ...process.env,
    HIPOCHAT_REDIS_URL: args.redisUrl,
    HIPOCHAT_AMQP_URL: '',
    HIPOCHAT_FANOUT_CONCURRENCY: String(args.concurrency),
  });
  const sender: ConnectionSender | undefined =
    args.sender === 'sdk'
      ? new ManagementApiSender({ endpoint: args.connectionsUrl, maxSockets: args.concurrency })
      : undefined;
  // Redis store and in-memory bus, as the config says.
  const rt = createRuntime(
    { ...config, connectionsUrl: args.connectionsUrl, pushUrl: undefined },
    sender ? { sender } : {},
  );
  setRuntime(rt);
  const store = rt.store;
  const { handler } = await import('../lambdas/handlers/mq/fanout.js');
  let seq = 0;
  const event = () => {
    seq += 1;
    const message: ChatMessage = {
      id: `${Date.now()}-${seq}`,
      type: 'message',
      room: args.room,
      token: args.room,
      timestamp: Date.now() / 1000,
      body: { probe: seq },
      author: { id: 'probe' },
      senderId: 'probe',
    } as ChatMessage;
    const body = Buffer.from(JSON.stringify(message));
    return rabbitMqEvent('hipochat.fanout.0::/', [{ body, messageId: message.id, redelivered: false }]);
  };
  // Warm-up (sockets, credentials, script load, JIT): about 10,000 deliveries, what a warm Lambda
  // container has behind it after a few batches; the cost per delivery still falls until then.
  const size = (await store.connections(args.room)).length;
  for (let i = 0; i < Math.min(30, Math.max(1, Math.ceil(10_000 / Math.max(1, size)))); i += 1) {
    await handler(event());
  }
  const sliceSetupUsPerConnection = await sliceSetupCost(store, args.room, size);
  const requests = countRequests(store);
  if (args.startAt) await new Promise((done) => setTimeout(done, Math.max(0, args.startAt! - Date.now())));
  const before = await commandStats(args.redisUrl);
  const requestsBefore = requests.count;
  const startedAt = Date.now();
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  let deliveries = 0;
  let failed = 0;
  const perMessageCpuUs: number[] = [];
  const perMessageWallMs: number[] = [];
  for (let i = 0; i < args.messages; i += 1) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    const report = await handler(event());
    const c = process.cpuUsage(c0);
    perMessageWallMs.push(performance.now() - w0);
    perMessageCpuUs.push((c.user + c.system) / Math.max(1, report.sent + report.gone));
    deliveries += report.sent + report.gone;
    failed += report.failed;
  }
  const wall = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const endedAt = Date.now();
  const requestsUsed = requests.count - requestsBefore;
  const after = await commandStats(args.redisUrl);
  await store.close();
  return {
    deliveries,
    failed,
    cpuUsPerDelivery: (used.user + used.system) / Math.max(1, deliveries),
    wallMsPerMessage: wall / args.messages,
    perMessageCpuUs,
    perMessageWallMs,
    startedAt,
    endedAt,
    // Minus the INFO call of the second snapshot.
    redisCommandsPerBatch: (sum(delta(before, after)) - 1) / args.messages,
    redisRequestsPerBatch: requestsUsed / args.messages,
    sliceSetupUsPerConnection,
  };
}

/** Median CPU µs per connection of a sliced fan-out's set-up (see `FanoutReportLine`), 5 rounds. */
async function sliceSetupCost(store: ChatStore, room: string, size: number): Promise<number> {
  const message = { id: '1700000000000-0', room, body: { probe: 0 } } as unknown as ChatMessage;
  const rounds: number[] = [];
  for (let round = 0; round < 5; round += 1) {
    const cpu = process.cpuUsage();
    const connections = (await store.connections(room)).map(({ connectionId, batched }) =>
      batched ? { connectionId, batched } : { connectionId },
    );
    for (const slice of sliceConnections(connections, 1000)) {
      for (const run of requestRuns([message], slice)) {
        Buffer.from(JSON.stringify({ room, messages: run, connections: slice }));
      }
    }
    const used = process.cpuUsage(cpu);
    rounds.push((used.user + used.system) / Math.max(1, size));
  }
  return rounds.sort((a, b) => a - b)[2]!;
}

async function write(args: WriteProbe): Promise<WriteReportLine> {
  const config = loadConfig({
    ...process.env,
    HIPOCHAT_REDIS_URL: args.redisUrl,
    HIPOCHAT_AMQP_URL: args.amqpUrl,
    HIPOCHAT_RATE_LIMIT_PER_MINUTE: '100000',
  });
  // Redis store and RabbitMQ bus, as the config says.
  const rt = createRuntime({ ...config, connectionsUrl: undefined });
  const { store, bus } = rt;
  await store.addMembers(
    args.room,
    Array.from({ length: args.members }, (_, i) => `member-${i}`),
  );
  const identity = { userId: 'member-0', profile: { id: 'member-0' } };
  // Read as `$default` reads a frame, so the parse counts in the write path as it does live.
  const frame = (i: number) =>
    readFrame(
      JSON.stringify({ type: 'message', body: { probe: i }, clientId: `w-${i}` }),
      rt.config,
    ) as SendFrame;
  await rt.chat.send(args.room, identity, frame(-1)); // warm-up: connections, scripts, topology
  let publishes = 0;
  const link = await (
    bus as unknown as { link: Promise<{ channel: { publish: (...a: unknown[]) => boolean } }> }
  ).link;
  const publish = link.channel.publish.bind(link.channel);
  link.channel.publish = (...a: unknown[]) => {
    publishes += 1;
    return publish(...a);
  };
  const requests = countRequests(store);
  const before = await commandStats(args.redisUrl);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < args.messages; i += 1) await rt.chat.send(args.room, identity, frame(i));
  const wall = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  const requestsUsed = requests.count;
  const after = await commandStats(args.redisUrl);
  const stats = delta(before, after);
  stats.set('info', (stats.get('info') ?? 1) - 1);
  if (stats.get('info') === 0) stats.delete('info');
  await rt.close();
  const breakdown: Record<string, number> = {};
  for (const [name, calls] of stats) breakdown[name] = calls / args.messages;
  return {
    redisCommandsPerMessage: sum(stats) / args.messages,
    redisCommandBreakdown: breakdown,
    redisRequestsPerMessage: requestsUsed / args.messages,
    amqpPublishesPerMessage: publishes / args.messages,
    cpuUsPerMessage: (used.user + used.system) / args.messages,
    wallMsPerMessage: wall / args.messages,
  };
}

const args = JSON.parse(process.argv[2] ?? '{}') as FanoutProbe | WriteProbe;
const result = args.mode === 'fanout' ? await fanout(args) : await write(args);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
