/** What the bench measures of each system and of this project's fan-out, with its helpers. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { MeasuredCpu } from './aws-model.js';
import { projectClient, Session, type StepResult, type SystemClient } from './harness.js';
import type { FanoutProbe, FanoutReportLine, WriteProbe } from './probe.js';
import { DEFAULT_CONCURRENCY, type Profile } from './profiles.js';
import type { SystemRow } from './report.js';
import { cpuSeconds, peakRss, ROOT, startProcess, tsxCommand } from './services.js';
import { measureSignals, type SignalsRun, scaledDigestMs } from './signals-run.js';

const exec = promisify(execFile);

const median = (values: readonly number[]) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor(sorted.length / 2)]!;
};

export const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

export interface SystemUnderTest {
  label: string;
  client: SystemClient;
  /** Processes of the system itself (CPU and peak RSS). */
  serverPids: number[];
  /** Backing services measured for CPU only (possibly shared with other users of the machine). */
  servicePids: number[];
  stop(): Promise<void>;
}

export interface SystemResult {
  row: SystemRow;
  steps: StepResult[];
  kneeRuns: StepResult[];
  commonRuns: StepResult[];
}

export const gatewayEnv = (extra: Record<string, string>) => ({
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
export async function measureSignalsLocally(logLine: (line: string) => void): Promise<SignalsRun> {
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

export async function measureSystem(sut: SystemUnderTest, profile: Profile): Promise<SystemResult> {
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

export async function runProbe<T>(args: FanoutProbe | WriteProbe): Promise<T> {
  const [file, ...rest] = tsxCommand('bench/probe.ts', JSON.stringify(args));
  const { stdout } = await exec(file!, rest, {
    cwd: ROOT,
    timeout: 120_000,
    maxBuffer: 16 * 2 ** 20,
    env: { ...process.env, HIPOCHAT_LOG_LEVEL: 'warn' },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
}

export interface FanoutFigure {
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

export async function fanoutProbes(profile: Profile, redisUrl: string): Promise<FanoutFigure[]> {
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

/**
 * The CPU the AWS model takes, from this run: the lean fan-out's per-delivery CPU for the
 * 1,000-connection room (a slice's size) at the default posts in flight, and the slice set-up
 * cost of the biggest room measured.
 */
export function measuredCpu(fanout: readonly FanoutFigure[]): MeasuredCpu | undefined {
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
