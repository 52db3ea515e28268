/**
 * `npm run bench [-- --smoke | --full] [--out DIR] [--runs N] [--systems a,b]`: this project
 * (local gateway, real Redis + RabbitMQ, and in-memory), Socket.IO + Redis adapter (two
 * processes) and a raw `ws` broadcast server, measured in one run with one client harness; then
 * this project's per-delivery and per-message costs. Traffic stays on 127.0.0.1; every loop is
 * bounded in count and time.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { idleCostOfProfiles } from '../infra/cost/profiles.js';
import {
  AWS_MODEL_ASSUMPTIONS,
  type AwsModelRow,
  awsModel,
  type MeasuredCpu,
  type ThrottledRow,
  throttledModel,
  unthrottledMs,
} from './aws-model.js';
import { AWS_PRICES, DEPLOYMENT } from './aws-prices.js';
import { type LocalCheck, localBigRoomCheck } from './big-room.js';
import { type BundleFigure, measureBundles } from './bundles.js';
import {
  projectClient,
  Session,
  type StepResult,
  type SystemClient,
  socketIoClient,
  type Workload,
  wsClient,
} from './harness.js';
import type { FanoutProbe, FanoutReportLine, WriteProbe, WriteReportLine } from './probe.js';
import { markdownTable, type SystemRow, svgChart } from './report.js';
import { roomsCostMarkdown } from './rooms-cost.js';
import {
  cpuSeconds,
  peakRss,
  pidsNamed,
  privateVhost,
  ROOT,
  type Started,
  startPrivateRedis,
  startProcess,
  tsxCommand,
} from './services.js';
import { SIGNALS_COST_GOAL, signalsCostRows, signalsMarkdown, signalsRatio } from './signals-cost.js';
import { measureSignals, type SignalsRun, scaledDigestMs } from './signals-run.js';

const exec = promisify(execFile);

interface Profile {
  name: 'smoke' | 'default' | 'full';
  workload: Workload;
  stepSeconds: number;
  /** Offered msg/s of the first ladder step; each next step doubles it. */
  ladderStart: number;
  ladderSteps: number;
  commonRate: number;
  runs: number;
  drainMs: number;
  p99BudgetMs: number;
  fanoutRooms: number[];
  fanoutConcurrency: number[];
  fanoutShards: number[];
  fanoutMessages: number;
  bundleRuns: number;
  bundles?: string[];
  writeMessages: number;
  /** The local check of the AWS model: a big room with API Gateway-like post latency. */
  bigRoom: {
    members: number;
    postLatencyMs: number;
    sliceSizes: number[];
    messages: number;
    /** Posts in flight to check with besides the default. */
    postsInFlight: number[];
    /** The runs under AWS's limits: posts a second below the room's size, a share of failed posts. */
    limits: { postRps: number; postFailRate: number; sliceSizes: number[] };
  };
}

/** Posts in flight the deployment runs with (`HIPOCHAT_FANOUT_CONCURRENCY`'s default). */
const DEFAULT_CONCURRENCY = AWS_MODEL_ASSUMPTIONS.postsInFlight;

const PROFILES: Record<Profile['name'], Profile> = {
  smoke: {
    name: 'smoke',
    workload: { rooms: 4, clientsPerRoom: 5, sendersPerRoom: 1, connectConcurrency: 10 },
    stepSeconds: 0.5,
    ladderStart: 20,
    ladderSteps: 2,
    commonRate: 20,
    runs: 1,
    drainMs: 2000,
    p99BudgetMs: 500,
    fanoutRooms: [100],
    fanoutConcurrency: [32],
    fanoutShards: [1],
    fanoutMessages: 3,
    bundleRuns: 1,
    bundles: ['fanout'],
    writeMessages: 30,
    bigRoom: {
      members: 200,
      postLatencyMs: 20,
      sliceSizes: [0, 100],
      messages: 1,
      postsInFlight: [],
      limits: { postRps: 100, postFailRate: 0.01, sliceSizes: [100] },
    },
  },
  default: {
    name: 'default',
    workload: { rooms: 50, clientsPerRoom: 20, sendersPerRoom: 2, connectConcurrency: 50 },
    stepSeconds: 1,
    ladderStart: 100,
    ladderSteps: 8,
    commonRate: 100,
    runs: 3,
    drainMs: 1000,
    p99BudgetMs: 250,
    fanoutRooms: [1000, 10_000],
    fanoutConcurrency: [32, 128, 256],
    fanoutShards: [1, 2],
    fanoutMessages: 3,
    bundleRuns: 3,
    writeMessages: 500,
    bigRoom: {
      members: 2000,
      postLatencyMs: 20,
      sliceSizes: [0, 1000, 500],
      messages: 3,
      postsInFlight: [32],
      limits: { postRps: 1000, postFailRate: 0.01, sliceSizes: [500] },
    },
  },
  full: {
    name: 'full',
    workload: { rooms: 100, clientsPerRoom: 20, sendersPerRoom: 4, connectConcurrency: 100 },
    stepSeconds: 3,
    ladderStart: 100,
    ladderSteps: 10,
    commonRate: 200,
    runs: 5,
    drainMs: 1500,
    p99BudgetMs: 250,
    fanoutRooms: [1000, 10_000],
    fanoutConcurrency: [8, 32, 128, 256, 512],
    fanoutShards: [1, 2, 4, 8],
    fanoutMessages: 10,
    bundleRuns: 9,
    writeMessages: 2000,
    bigRoom: {
      members: 2000,
      postLatencyMs: 20,
      sliceSizes: [0, 1000, 500, 250],
      messages: 5,
      postsInFlight: [32],
      limits: { postRps: 1000, postFailRate: 0.01, sliceSizes: [0, 250] },
    },
  },
};

interface Flags {
  profile: Profile;
  out: string;
  systems: string[];
  probes: boolean;
}

const SYSTEMS = ['project-redis-rabbitmq', 'project-memory', 'socketio-redis', 'raw-ws'];

function parseFlags(argv: readonly string[]): Flags {
  let name: Profile['name'] = 'default';
  let out = join(ROOT, 'bench', 'results');
  let systems = SYSTEMS;
  let runs: number | undefined;
  let probes = true;
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    if (flag === '--smoke') name = 'smoke';
    else if (flag === '--full') name = 'full';
    else if (flag === '--out') out = argv[++i] ?? out;
    else if (flag === '--runs') runs = Number(argv[++i]);
    else if (flag === '--systems') systems = (argv[++i] ?? '').split(',').filter((s) => SYSTEMS.includes(s));
    else if (flag === '--no-probes') probes = false;
    else if (flag === '--help') {
      process.stdout.write(
        'npm run bench -- [--smoke|--full] [--out DIR] [--runs N] [--systems a,b] [--no-probes]\n' +
          `systems: ${SYSTEMS.join(', ')}\n`,
      );
      process.exit(0);
    }
  }
  const profile = { ...PROFILES[name] };
  if (runs && runs >= 1 && runs <= 15) profile.runs = Math.floor(runs);
  return { profile, out, systems, probes };
}

const median = (values: readonly number[]) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor(sorted.length / 2)]!;
};

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

interface SystemUnderTest {
  label: string;
  client: SystemClient;
  /** Processes of the system itself (CPU and peak RSS). */
  serverPids: number[];
  /** Backing services measured for CPU only (possibly shared with other users of the machine). */
  servicePids: number[];
  stop(): Promise<void>;
}

interface SystemResult {
  row: SystemRow;
  steps: StepResult[];
  kneeRuns: StepResult[];
  commonRuns: StepResult[];
}

const gatewayEnv = (extra: Record<string, string>) => ({
  HIPOCHAT_LISTEN_PORT: '0',
  HIPOCHAT_LISTEN_ADDRESS: '127.0.0.1',
  HIPOCHAT_LOG_LEVEL: 'warn',
  HIPOCHAT_RATE_LIMIT_PER_MINUTE: '100000',
  // The fan-out probes connect thousands of sockets as one user.
  HIPOCHAT_CONNECT_LIMIT_PER_MINUTE: '0',
  HIPOCHAT_REDIS_URL: '',
  HIPOCHAT_AMQP_URL: '',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  ...extra,
});

/** The signals run on an in-memory gateway of its own, its digest window on the run's clock. */
async function measureSignalsLocally(logLine: (line: string) => void): Promise<SignalsRun> {
  const scale = 15;
  const serviceKey = 'bench-signals-key';
  const gateway = await startProcess(
    tsxCommand('local/main.ts'),
    gatewayEnv({ HIPOCHAT_SERVICE_KEY: serviceKey, HIPOCHAT_READ_DIGEST_MS: String(scaledDigestMs(scale)) }),
  );
  try {
    return await measureSignals({
      wsBase: gateway.url.replace('http', 'ws'),
      serviceKey,
      scale,
      log: logLine,
    });
  } finally {
    await gateway.stop();
  }
}

const sum = (pids: number[], read: (pid: number) => number) => pids.reduce((a, pid) => a + read(pid), 0);

async function measureSystem(sut: SystemUnderTest, profile: Profile): Promise<SystemResult> {
  const session = new Session(sut.client, profile.workload);
  const { stepSeconds, drainMs, p99BudgetMs, runs, commonRate } = profile;
  try {
    await session.connect();
    // Warm-up, excluded from every figure.
    await session.paced(Math.max(10, commonRate / 2), Math.min(1, stepSeconds), drainMs, p99BudgetMs);
    await session.lost(3000);
    const cpu0 = sum(sut.serverPids, cpuSeconds);
    const services0 = sum(sut.servicePids, cpuSeconds);
    const delivered0 = session.delivered;

    const commonRuns: StepResult[] = [];
    for (let i = 0; i < runs; i += 1) {
      commonRuns.push(await session.paced(commonRate, stepSeconds, drainMs, p99BudgetMs));
      await session.lost(2000);
    }
    const steps: StepResult[] = [];
    let rate = profile.ladderStart;
    let best: number | undefined;
    let failedAt: number | undefined;
    for (let i = 0; i < profile.ladderSteps; i += 1) {
      const step = await session.paced(rate, stepSeconds, drainMs, p99BudgetMs);
      steps.push(step);
      log(
        `  ${sut.label}: ${rate} msg/s → ${Math.round(step.deliveriesPerSecond)} deliveries/s, p99 ${step.p99.toFixed(1)} ms, missing ${step.missingAfterDrain}${step.sustained ? '' : ' (behind)'}`,
      );
      if (!step.sustained) {
        failedAt = rate;
        await session.lost(10_000);
        break;
      }
      best = rate;
      rate *= 2;
    }
    if (best !== undefined && failedAt !== undefined && profile.name !== 'smoke') {
      const middle = Math.round(Math.sqrt(best * failedAt));
      const step = await session.paced(middle, stepSeconds, drainMs, p99BudgetMs);
      steps.push(step);
      log(
        `  ${sut.label}: ${middle} msg/s → p99 ${step.p99.toFixed(1)} ms${step.sustained ? '' : ' (behind)'}`,
      );
      if (step.sustained) best = middle;
      await session.lost(10_000);
    }
    const kneeRuns: StepResult[] = [];
    if (best !== undefined) {
      for (let i = 0; i < runs; i += 1) {
        kneeRuns.push(await session.paced(best, stepSeconds, drainMs, p99BudgetMs));
        await session.lost(5000);
      }
    }
    const lost = await session.lost(5000);
    const deliveries = Math.max(1, session.delivered - delivered0);
    const cpu = sum(sut.serverPids, cpuSeconds) - cpu0;
    const services = sum(sut.servicePids, cpuSeconds) - services0;
    return {
      steps,
      kneeRuns,
      commonRuns,
      row: {
        system: sut.label,
        deliveriesPerSecond: kneeRuns.length ? median(kneeRuns.map((r) => r.deliveriesPerSecond)) : 0,
        sustainedRate: best ?? 0,
        p50: median(commonRuns.map((r) => r.p50)),
        p95: median(commonRuns.map((r) => r.p95)),
        p99: median(commonRuns.map((r) => r.p99)),
        lost,
        duplicated: session.duplicates,
        misrouted: session.misrouted,
        cpuUsPerDelivery: (cpu * 1e6) / deliveries,
        serviceCpuUsPerDelivery: (services * 1e6) / deliveries,
        peakRssMb: sum(sut.serverPids, peakRss) / 2 ** 20,
      },
    };
  } finally {
    session.close();
  }
}

async function runProbe<T>(args: FanoutProbe | WriteProbe): Promise<T> {
  const [file, ...rest] = tsxCommand('bench/probe.ts', JSON.stringify(args));
  const { stdout } = await exec(file!, rest, {
    cwd: ROOT,
    timeout: 120_000,
    maxBuffer: 16 * 2 ** 20,
    env: { ...process.env, HIPOCHAT_LOG_LEVEL: 'warn' },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}

interface FanoutFigure {
  roomSize: number;
  concurrency: number;
  shards: number;
  sender: 'lean' | 'sdk';
  cpuUsPerDelivery: number;
  /** Median wall milliseconds to fan one message out to the whole room. */
  wallMsPerMessage: number;
  /** Deliveries per second over all shards. */
  deliveriesPerSecond: number;
  redisCommandsPerBatch: number;
  redisRequestsPerBatch: number;
  /** CPU µs per connection to read the room and write its slice requests. */
  sliceSetupUsPerConnection: number;
  failed: number;
}

async function fanoutProbes(profile: Profile, redisUrl: string): Promise<FanoutFigure[]> {
  const gateway = await startProcess(
    tsxCommand('local/main.ts'),
    gatewayEnv({ HIPOCHAT_REDIS_URL: redisUrl }),
  );
  const figures: FanoutFigure[] = [];
  const sockets: { close(): void }[] = [];
  try {
    const client = projectClient(gateway.url.replace('http', 'ws'));
    let connected = 0;
    const fill = async (room: string, size: number) => {
      const want = connected + size;
      let next = connected;
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          while (next < want) {
            next += 1;
            sockets.push(await client.connect(room, 'fanout-member', () => {}));
          }
        }),
      );
      connected = want;
    };
    for (const size of profile.fanoutRooms) {
      const room = `fan-${process.pid}-${size}`;
      const t0 = Date.now();
      await fill(room, size);
      log(`  fan-out room of ${size} connected in ${Date.now() - t0} ms`);
      const probe = (sender: 'lean' | 'sdk', concurrency: number, startAt?: number) =>
        runProbe<FanoutReportLine>({
          mode: 'fanout',
          redisUrl,
          connectionsUrl: gateway.url,
          room,
          concurrency,
          sender,
          messages:
            size >= 10_000 ? Math.max(3, Math.ceil(profile.fanoutMessages / 2)) : profile.fanoutMessages,
          startAt,
        });
      const record = (line: FanoutReportLine, sender: 'lean' | 'sdk', concurrency: number) => {
        const figure: FanoutFigure = {
          roomSize: size,
          concurrency,
          shards: 1,
          sender,
          cpuUsPerDelivery: median(line.perMessageCpuUs),
          wallMsPerMessage: median(line.perMessageWallMs),
          deliveriesPerSecond: (line.deliveries * 1000) / Math.max(1, line.endedAt - line.startedAt),
          redisCommandsPerBatch: line.redisCommandsPerBatch,
          redisRequestsPerBatch: line.redisRequestsPerBatch,
          sliceSetupUsPerConnection: line.sliceSetupUsPerConnection,
          failed: line.failed,
        };
        figures.push(figure);
        log(
          `  fan-out ${size} conns, ${sender}, concurrency ${concurrency}: ${figure.cpuUsPerDelivery.toFixed(1)} µs CPU/delivery, ${figure.wallMsPerMessage.toFixed(1)} ms/message`,
        );
      };
      // The big room is slow to fill and to fan out: the default profile measures it at the default only.
      const levels =
        size >= 10_000 && profile.name !== 'full' ? [DEFAULT_CONCURRENCY] : profile.fanoutConcurrency;
      for (const concurrency of levels) {
        record(await probe('lean', concurrency), 'lean', concurrency);
      }
      if (size === profile.fanoutRooms[0]) {
        const baseline = profile.fanoutConcurrency.includes(DEFAULT_CONCURRENCY) ? DEFAULT_CONCURRENCY : 32;
        record(await probe('sdk', baseline), 'sdk', baseline);
        for (const shards of profile.fanoutShards.filter((n) => n > 1)) {
          const startAt = Date.now() + 4000;
          const lines = await Promise.all(
            Array.from({ length: shards }, () => probe('lean', baseline, startAt)),
          );
          const deliveries = lines.reduce((a, l) => a + l.deliveries, 0);
          const span = Math.max(...lines.map((l) => l.endedAt)) - Math.min(...lines.map((l) => l.startedAt));
          const figure: FanoutFigure = {
            roomSize: size,
            concurrency: baseline,
            shards,
            sender: 'lean',
            cpuUsPerDelivery: median(lines.flatMap((l) => l.perMessageCpuUs)),
            wallMsPerMessage: median(lines.flatMap((l) => l.perMessageWallMs)),
            deliveriesPerSecond: (deliveries * 1000) / Math.max(1, span),
            redisCommandsPerBatch: median(lines.map((l) => l.redisCommandsPerBatch)),
            redisRequestsPerBatch: median(lines.map((l) => l.redisRequestsPerBatch)),
            sliceSetupUsPerConnection: median(lines.map((l) => l.sliceSetupUsPerConnection)),
            failed: lines.reduce((a, l) => a + l.failed, 0),
          };
          figures.push(figure);
          log(
            `  fan-out ${size} conns, ${shards} shards: ${Math.round(figure.deliveriesPerSecond)} deliveries/s`,
          );
        }
      }
    }
  } finally {
    for (const socket of sockets) socket.close();
    await gateway.stop();
  }
  return figures;
}

interface CostFigure {
  roomSize: number;
  /** Messages per outbound frame: 1, or the batch size for clients that take batch frames. */
  messagesPerFrame: number;
  usdPerMillionMessages: number;
  parts: Record<string, number>;
  assumptions: string;
}

/** Estimated AWS cost per million messages sent into a room of `roomSize` members. */
function estimateCost(
  roomSize: number,
  messageHandlerMs: number,
  fanoutMsPerDelivery: number,
  messagesPerFrame = 1,
): CostFigure {
  const p = AWS_PRICES;
  const d = DEPLOYMENT;
  const million = 1e6;
  const messageLambda =
    million *
    (p.lambda.request + (messageHandlerMs / 1000) * (d.messageFunctionMb / 1024) * p.lambda.armGbSecond);
  const fanoutInvocations = million / d.messagesPerFanoutBatch;
  // Batch frames: one post (and one billed API Gateway message) carries messagesPerFrame messages.
  const framesPerMessage = 1 / messagesPerFrame;
  const fanoutSeconds = (million * roomSize * fanoutMsPerDelivery * framesPerMessage) / 1000;
  const fanoutLambda =
    fanoutInvocations * p.lambda.request + fanoutSeconds * (d.fanoutFunctionMb / 1024) * p.lambda.armGbSecond;
  const inbound = million * p.apiGatewayWebSocket.message;
  const outbound = million * roomSize * p.apiGatewayWebSocket.message * framesPerMessage;
  // Each member's socket stays open while the room produces roomMessagesPerMinute messages.
  const connectionMinutes = (million / d.roomMessagesPerMinute) * roomSize;
  const connections = connectionMinutes * p.apiGatewayWebSocket.connectionMinute;
  const parts = {
    messageLambda,
    fanoutLambda,
    apiGatewayInbound: inbound,
    apiGatewayOutbound: outbound,
    apiGatewayConnectionMinutes: connections,
  };
  return {
    roomSize,
    messagesPerFrame,
    usdPerMillionMessages: Object.values(parts).reduce((a, b) => a + b, 0),
    parts,
    assumptions:
      `message handler ${messageHandlerMs.toFixed(2)} ms at ${d.messageFunctionMb} MB; fan-out ${(fanoutMsPerDelivery * 1000).toFixed(0)} µs per delivery at ${d.fanoutFunctionMb} MB ` +
      `(local CPU time: AWS adds network wait), ${d.messagesPerFanoutBatch} messages per fan-out batch, ${d.roomMessagesPerMinute} messages per room-minute for connection minutes; ${p.region} prices of ${p.asOf}`,
  };
}

/**
 * The CPU the AWS model takes, from this run: the lean fan-out's per-delivery CPU for the
 * 1,000-connection room (a slice's size) at the default posts in flight, and the slice set-up
 * cost of the biggest room measured.
 */
function measuredCpu(fanout: readonly FanoutFigure[]): MeasuredCpu | undefined {
  const lean = fanout.filter((f) => f.sender === 'lean' && f.shards === 1);
  const pick =
    lean.find((f) => f.roomSize === 1000 && f.concurrency === DEFAULT_CONCURRENCY) ??
    lean.find((f) => f.concurrency === DEFAULT_CONCURRENCY) ??
    lean[0];
  if (!pick) return undefined;
  const biggest = lean.reduce((a, b) => (b.roomSize > a.roomSize ? b : a), pick);
  return {
    cpuUsPerDelivery: pick.cpuUsPerDelivery,
    sliceSetupUsPerConnection: biggest.sliceSetupUsPerConnection,
  };
}

const fmtMs = (ms: number) => ms.toLocaleString('en-US');

/** The AWS model's table: one row per room size at 20 ms, the last delivery at 10 and 40 ms too. */
function awsModelMarkdown(
  rows: readonly AwsModelRow[],
  sensitivity: readonly AwsModelRow[],
  measured: MeasuredCpu,
): string[] {
  const a = AWS_MODEL_ASSUMPTIONS;
  const at = (latency: number, members: number) =>
    sensitivity.find((r) => r.postLatencyMs === latency && r.members === members)?.lastDeliveryMs;
  return [
    `| room members | slices | CPU µs / delivery (measured) | last delivery ms at ${a.postLatencyMs} ms post latency | at 10 ms | at 40 ms | without the account throttle | account throttle floor ms |`,
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.members.toLocaleString('en-US')} | ${r.slices} | ${r.cpuUsPerDelivery.toFixed(1)} | ${fmtMs(r.lastDeliveryMs)} | ${fmtMs(at(10, r.members) ?? Number.NaN)} | ${fmtMs(at(40, r.members) ?? Number.NaN)} | ${fmtMs(Math.round(unthrottledMs(r.members, measured)))} | ${fmtMs(Math.round((r.members / r.throttleRps) * 1000))} |`,
    ),
    '',
    `AWS model (computed, not measured on AWS): ${a.postsInFlight} posts in flight per execution, slices of ${a.sliceSize}, ${a.slicesInFlight} slices in flight per fan-out, fan-out ${a.fanoutVcpu.toFixed(2)} vCPU, delivery function ${a.deliveryVcpu.toFixed(2)} vCPU, ${a.invokeOverheadMs} ms per warm Invoke, ${a.throttleRps.toLocaleString('en-US')} PostToConnection/s account throttle (no burst credit), Lambda CPU = this machine's × ${a.cpuFactor}; slice set-up ${measured.sliceSetupUsPerConnection.toFixed(2)} µs CPU per connection (measured).`,
  ];
}

/** The throttled rows of the AWS model: bursts at the account throttle, with the retry path. */
function throttledMarkdown(rows: readonly ThrottledRow[]): string[] {
  const n = (value: number) => value.toLocaleString('en-US');
  return [
    '| room members | messages at once | posts | throttle drain ms | last delivery ms | requeued posts (to where missing) | requeue rounds | whole-room retry posts (before) | copies a socket had already (before) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${n(r.members)} | ${r.messages} | ${n(r.posts)} | ${n(r.drainMs)} | ${n(r.lastDeliveryMs)} | ${n(r.requeuedPosts)} | ${r.requeueRounds} | ${n(r.wholeRoomRetryPosts)} | ${n(r.wholeRoomDuplicates)} |`,
    ),
  ];
}

/** The local check: measured last delivery without and with slices, next to the model's formula. */
function localCheckMarkdown(check: LocalCheck): string[] {
  return [
    `| local ${check.members.toLocaleString('en-US')}-member room, ${check.postLatencyMs} ms post latency | posts in flight | slices | last delivery ms (median) | per message | missing | duplicates | gateway CPU µs / delivery | model ms (one shared core) |`,
    '|---|---:|---:|---:|---|---:|---:|---:|---:|',
    ...check.runs.map(
      (r) =>
        `| ${r.sliceSize === 0 ? 'no slices' : `slices of ${r.sliceSize}`}${r.postRps > 0 ? `, ${r.postRps} posts/s, ${r.postFailRate * 100}% failed posts` : ''} | ${r.postsInFlight} | ${r.slices} | ${r.lastDeliveryMs} | ${r.perMessageMs.join(', ')} | ${r.missing} | ${r.duplicates} | ${r.gatewayCpuUsPerDelivery} | ${r.modelMs} |`,
    ),
  ];
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const { profile } = flags;
  const started = Date.now();
  log(
    `profile ${profile.name}: ${profile.workload.rooms} rooms × ${profile.workload.clientsPerRoom} sockets, ${profile.runs} run(s) per figure`,
  );
  const privateRedis = await startPrivateRedis();
  const redisUrl = privateRedis?.url ?? process.env.HIPOCHAT_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
  const vhost = await privateVhost(
    process.env.HIPOCHAT_BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  );
  const redisPids = privateRedis ? [privateRedis.pid] : [];
  const results: SystemResult[] = [];
  let fanout: FanoutFigure[] = [];
  let writePath: WriteReportLine | undefined;
  let bundles: BundleFigure[] = [];
  let localCheck: LocalCheck | undefined;
  let signalsRun: SignalsRun | undefined;
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0)) await stop().catch(() => {});
  };
  try {
    const starters: Record<string, () => Promise<SystemUnderTest>> = {
      'project-redis-rabbitmq': async () => {
        const gw = await startProcess(
          tsxCommand('local/main.ts'),
          gatewayEnv({ HIPOCHAT_REDIS_URL: redisUrl, HIPOCHAT_AMQP_URL: vhost.url }),
        );
        return {
          label: 'Hipochat (Redis + RabbitMQ)',
          client: projectClient(gw.url.replace('http', 'ws')),
          serverPids: [gw.pid],
          servicePids: [...redisPids, ...pidsNamed('beam.smp')],
          stop: gw.stop,
        };
      },
      'project-memory': async () => {
        const gw = await startProcess(tsxCommand('local/main.ts'), gatewayEnv({}));
        return {
          label: 'Hipochat (in-memory)',
          client: projectClient(gw.url.replace('http', 'ws')),
          serverPids: [gw.pid],
          servicePids: [],
          stop: gw.stop,
        };
      },
      'socketio-redis': async () => {
        const servers: Started[] = await Promise.all(
          [0, 1].map(() =>
            startProcess(tsxCommand('bench/peers/socketio-server.ts'), { REDIS_URL: redisUrl }),
          ),
        );
        return {
          label: 'Socket.IO + Redis adapter (2 procs)',
          client: socketIoClient(servers.map((s) => s.url)),
          serverPids: servers.map((s) => s.pid),
          servicePids: redisPids,
          stop: async () => {
            await Promise.all(servers.map((s) => s.stop()));
          },
        };
      },
      'raw-ws': async () => {
        const server = await startProcess(tsxCommand('bench/peers/ws-broadcast.ts'), {});
        return {
          label: 'raw ws broadcast',
          client: wsClient(server.url.replace('http', 'ws')),
          serverPids: [server.pid],
          servicePids: [],
          stop: server.stop,
        };
      },
    };
    for (const name of flags.systems) {
      log(`${name}: starting`);
      const sut = await starters[name]!();
      stops.push(sut.stop);
      const result = await measureSystem(sut, profile);
      results.push(result);
      await stopAll();
      const r = result.row;
      log(
        `${name}: ${Math.round(r.deliveriesPerSecond)} deliveries/s, p99 ${r.p99.toFixed(1)} ms, lost ${r.lost}, dup ${r.duplicated}`,
      );
    }
    if (flags.probes) {
      log('write path: Redis commands and AMQP publishes per message');
      writePath = await runProbe<WriteReportLine>({
        mode: 'write',
        redisUrl,
        amqpUrl: vhost.url,
        room: `write-${process.pid}`,
        members: profile.workload.clientsPerRoom,
        messages: profile.writeMessages,
      });
      log('fan-out handler: CPU per delivery, room sizes, concurrency, shards');
      fanout = await fanoutProbes(profile, redisUrl);
      log('big room: last delivery with API Gateway-like post latency, without and with slices');
      localCheck = await localBigRoomCheck({
        ...profile.bigRoom,
        postsInFlight: [...profile.bigRoom.postsInFlight, DEFAULT_CONCURRENCY],
        env: gatewayEnv({ POWERTOOLS_METRICS_DISABLED: 'true' }),
        log,
      });
      log('signals: frames and read marks per member and message, measured');
      signalsRun = await measureSignalsLocally(log);
      log('bundles: size and cold init');
      bundles = await measureBundles(profile.bundleRuns, profile.bundles);
    }
  } finally {
    await stopAll();
    await vhost.remove();
    await privateRedis?.stop();
  }

  const rows = results.map((r) => r.row);
  const base = fanout.find((f) => f.sender === 'lean' && f.concurrency === 32 && f.shards === 1);
  const cost =
    writePath && base
      ? [1, DEPLOYMENT.messagesPerFanoutBatch].flatMap((perFrame) =>
          [10, 1000].map((size) =>
            estimateCost(size, writePath!.wallMsPerMessage, base.cpuUsPerDelivery / 1000, perFrame),
          ),
        )
      : [];
  const signalsCost =
    writePath && base && signalsRun
      ? signalsCostRows(signalsRun, writePath.wallMsPerMessage, base.cpuUsPerDelivery / 1000)
      : [];
  const measured = measuredCpu(fanout);
  const model = measured ? awsModel(measured) : [];
  const sensitivity = measured ? [10, 40].flatMap((latency) => awsModel(measured, latency)) : [];
  const throttled = measured ? throttledModel(measured) : [];
  const date = new Date().toISOString();
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GB, node ${process.version}`;
  const command = `npm run bench${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const table = markdownTable(rows, profile.commonRate, profile.workload.clientsPerRoom);
  const extra: string[] = [];
  if (writePath) {
    extra.push(
      '',
      `Write path per sent message: ${writePath.redisRequestsPerMessage.toFixed(2)} Redis round trips, ${writePath.redisCommandsPerMessage.toFixed(1)} Redis commands executed (incl. inside the script), ${writePath.amqpPublishesPerMessage.toFixed(2)} confirmed AMQP publishes, ${writePath.cpuUsPerMessage.toFixed(0)} µs CPU, ${writePath.wallMsPerMessage.toFixed(2)} ms.`,
    );
  }
  if (fanout.length) {
    extra.push(
      '',
      '| fan-out room | sender | concurrency | shards | CPU µs / delivery | ms per message | deliveries/s | Redis requests / batch | Redis commands / batch |',
      '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
      ...fanout.map(
        (f) =>
          `| ${f.roomSize} | ${f.sender} | ${f.concurrency} | ${f.shards} | ${f.cpuUsPerDelivery.toFixed(1)} | ${f.wallMsPerMessage.toFixed(1)} | ${Math.round(f.deliveriesPerSecond)} | ${f.redisRequestsPerBatch.toFixed(1)} | ${f.redisCommandsPerBatch.toFixed(1)} |`,
      ),
    );
  }
  if (bundles.length) {
    extra.push(
      '',
      '| handler bundle | bytes | gzip bytes | cold init ms (median) |',
      '|---|---:|---:|---:|',
      ...bundles.map(
        (b) => `| ${b.name} | ${b.bytes} | ${b.gzipBytes} | ${b.initMs.toFixed(1)} (${b.initRuns} runs) |`,
      ),
    );
  }
  if (cost.length) {
    extra.push(
      '',
      '| room members | messages per frame | est. USD per million messages | message Lambda | fan-out Lambda | API GW in | API GW out | connection minutes |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...cost.map(
        (c) =>
          `| ${c.roomSize} | ${c.messagesPerFrame === 1 ? '1' : `${c.messagesPerFrame} (batch frames, busy room)`} | ${c.usdPerMillionMessages.toFixed(2)} | ${c.parts.messageLambda!.toFixed(2)} | ${c.parts.fanoutLambda!.toFixed(2)} | ${c.parts.apiGatewayInbound!.toFixed(2)} | ${c.parts.apiGatewayOutbound!.toFixed(2)} | ${c.parts.apiGatewayConnectionMinutes!.toFixed(2)} |`,
      ),
      '',
      `Assumptions: ${cost[0]!.assumptions}.`,
      '',
      ...roomsCostMarkdown(base!.cpuUsPerDelivery / 1000),
    );
  }
  if (signalsCost.length) extra.push('', ...signalsMarkdown(signalsCost, signalsRun!));
  if (model.length) extra.push('', ...awsModelMarkdown(model, sensitivity, measured!));
  if (throttled.length) extra.push('', ...throttledMarkdown(throttled));
  if (localCheck) extra.push('', ...localCheckMarkdown(localCheck));
  const header = `Bench ${profile.name}, ${date}, ${machine}; command: \`${command}\`; ${profile.workload.rooms} rooms × ${profile.workload.clientsPerRoom} sockets, ${profile.workload.sendersPerRoom} senders per room, ${profile.stepSeconds} s steps, median of ${profile.runs} run(s).`;
  const markdown = `${header}\n\n${table}\n${extra.join('\n')}\n`;
  mkdirSync(flags.out, { recursive: true });
  const stamp = date.slice(0, 19).replace(/:/g, '-');
  const json = {
    date,
    machine,
    command,
    profile,
    durationSeconds: (Date.now() - started) / 1000,
    systems: results,
    writePath,
    fanout,
    bundles,
    cost,
    awsModel: model,
    awsModelSensitivity: sensitivity,
    awsModelThrottled: throttled,
    awsModelAssumptions: { ...AWS_MODEL_ASSUMPTIONS, measured },
    localCheck,
    signalsRun,
    signalsCost,
    signalsCostRatio: signalsCost.length
      ? {
          at10: signalsRatio(signalsCost, 10),
          at1000: signalsRatio(signalsCost, 1000),
          goal: SIGNALS_COST_GOAL,
        }
      : undefined,
    prices: AWS_PRICES,
    deployment: DEPLOYMENT,
    // Computed from the synthesized dev and prod templates (npm run cost).
    idleCost: idleCostOfProfiles(),
  };
  writeFileSync(join(flags.out, `${stamp}.json`), `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(flags.out, `${stamp}.md`), markdown);
  // A probes-only run (`--systems ''`) leaves the chart of the last comparison alone.
  if (rows.length > 0) {
    writeFileSync(
      join(flags.out, 'latest.svg'),
      svgChart(
        rows,
        `${date.slice(0, 10)} · ${machine} · ${command} · ${profile.workload.rooms}×${profile.workload.clientsPerRoom} sockets`,
      ),
    );
  }
  process.stdout.write(
    `${markdown}\nwritten: ${join(flags.out, `${stamp}.{json,md}`)}${rows.length > 0 ? `, ${join(flags.out, 'latest.svg')}` : ''}\n`,
  );
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const watchdog = setTimeout(() => {
  log('watchdog: the bench ran over 15 minutes; exiting');
  process.exit(2);
}, 15 * 60_000);
watchdog.unref();

main()
  .then(() => process.exit(0))
  .catch((error: unknown) => {
    log(`failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  });
