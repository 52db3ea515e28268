/**
 * The bench's local check of the AWS model: a big room on the local gateway with
 * `HIPOCHAT_LOCAL_POST_LATENCY_MS` (API Gateway's latency), without and with fan-out slices, timed
 * from the send to the last socket's delivery, next to what the model's formula predicts for the
 * local setup. Loopback only; every wait is bounded.
 */
import { performance } from 'node:perf_hooks';
import { localModelMs, slicesFor } from './aws-model.js';
import { type ClientSocket, projectClient } from './harness.js';
import { cpuSeconds, startProcess, tsxCommand } from './services.js';

/** One gateway configuration of the check. */
export interface LocalCheckRun {
  /** `HIPOCHAT_FANOUT_CONCURRENCY`: posts in flight per execution (the fan-out, each slice). */
  postsInFlight: number;
  /** `HIPOCHAT_FANOUT_SLICE_SIZE`; 0: no slices. */
  sliceSize: number;
  slices: number;
  /** Median over the messages, ms from the send to the last socket's delivery. */
  lastDeliveryMs: number;
  perMessageMs: number[];
  /** Deliveries still missing when a message's wait ran out (should be 0). */
  missing: number;
  /** Gateway process CPU per delivery (fan-out, slices, `@connections`, sockets, all of it). */
  gatewayCpuUsPerDelivery: number;
  /** What the model's formula predicts for this run (one shared core). */
  modelMs: number;
}

/** The whole check, as `bench/results/*.json` carries it (`localCheck`). */
export interface LocalCheck {
  members: number;
  postLatencyMs: number;
  runs: LocalCheckRun[];
}

/** Options of {@link localBigRoomCheck}. */
export interface LocalCheckOptions {
  members: number;
  postLatencyMs: number;
  /**
   * Posts in flight per execution to run the check with: locally one process does all the work,
   * so a small value shows the wait slices overlap, the default shows the shared CPU.
   */
  postsInFlight: readonly number[];
  sliceSizes: readonly number[];
  messages: number;
  /** Environment of the gateway (quiet logs, no Redis or RabbitMQ...). */
  env: Record<string, string>;
  log(line: string): void;
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function runOnce(
  options: LocalCheckOptions,
  sliceSize: number,
  postsInFlight: number,
): Promise<LocalCheckRun> {
  const { members, postLatencyMs } = options;
  const gateway = await startProcess(tsxCommand('local/main.ts'), {
    ...options.env,
    HIPOCHAT_FANOUT_SLICE_SIZE: String(sliceSize),
    HIPOCHAT_FANOUT_CONCURRENCY: String(postsInFlight),
    HIPOCHAT_LOCAL_POST_LATENCY_MS: String(postLatencyMs),
  });
  const sockets: ClientSocket[] = [];
  try {
    const client = projectClient(gateway.url.replace('http', 'ws'));
    const room = `big-${process.pid}-${sliceSize}-${postsInFlight}`;
    const got = new Map<number, number>();
    let lastAt = 0;
    const onDelivery = (_room: string, _key: number, seq: number) => {
      got.set(seq, (got.get(seq) ?? 0) + 1);
      lastAt = performance.now();
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (next < members) {
          next += 1;
          sockets.push(await client.connect(room, `member-${next}`, onDelivery));
        }
      }),
    );
    const perMessageMs: number[] = [];
    let missing = 0;
    // One warm-up message, then the measured ones.
    let cpu0 = 0;
    for (let seq = 0; seq <= options.messages; seq += 1) {
      if (seq === 1) cpu0 = cpuSeconds(gateway.pid);
      const sentAt = performance.now();
      sockets[0]!.send(1, seq);
      const deadline = sentAt + 15_000;
      while ((got.get(seq) ?? 0) < members && performance.now() < deadline) await sleep(5);
      if (seq > 0) {
        perMessageMs.push(lastAt - sentAt);
        missing += members - (got.get(seq) ?? 0);
      }
      await sleep(200);
    }
    const cpu = cpuSeconds(gateway.pid) - cpu0;
    const gatewayCpuUsPerDelivery = (cpu * 1e6) / (members * options.messages);
    const slices = slicesFor(members, sliceSize);
    const run: LocalCheckRun = {
      postsInFlight,
      sliceSize,
      slices,
      lastDeliveryMs: Math.round(median(perMessageMs)),
      perMessageMs: perMessageMs.map((ms) => Math.round(ms)),
      missing,
      gatewayCpuUsPerDelivery: Math.round(gatewayCpuUsPerDelivery),
      modelMs: localModelMs(members, slices, gatewayCpuUsPerDelivery, postLatencyMs, postsInFlight),
    };
    options.log(
      `  ${members}-member room, ${postLatencyMs} ms post latency, ${postsInFlight} in flight, ${slices} slice(s): last delivery ${run.lastDeliveryMs} ms (model ${run.modelMs} ms), missing ${missing}`,
    );
    return run;
  } finally {
    for (const socket of sockets) socket.close();
    await gateway.stop();
  }
}

/** Runs the check once per slice size (a fresh gateway each), in-memory store and bus. */
export async function localBigRoomCheck(options: LocalCheckOptions): Promise<LocalCheck> {
  const runs: LocalCheckRun[] = [];
  for (const inFlight of options.postsInFlight) {
    for (const sliceSize of options.sliceSizes) runs.push(await runOnce(options, sliceSize, inFlight));
  }
  return { members: options.members, postLatencyMs: options.postLatencyMs, runs };
}
