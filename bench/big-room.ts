/**
 * The bench's local check of the AWS model: a big room on the local gateway with
 * `HIPOCHAT_LOCAL_POST_LATENCY_MS` (API Gateway's latency), without and with fan-out slices, timed
 * from the send to the last socket's delivery, next to what the model's formula predicts for the
 * local setup; then again under AWS's limits (`HIPOCHAT_LOCAL_POST_RPS` below the room's size a
 * second, `HIPOCHAT_LOCAL_POST_FAIL_RATE`), counting every frame a socket got twice. Loopback only;
 * every wait is bounded.
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
  /** Frames a socket got again after it had the message (must be 0). */
  duplicates: number;
  /** `HIPOCHAT_LOCAL_POST_RPS` of the run; 0: no throttle. */
  postRps: number;
  /** `HIPOCHAT_LOCAL_POST_FAIL_RATE` of the run. */
  postFailRate: number;
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
  /**
   * The runs under AWS's limits: posts a second (below the room's size, so the throttle and the
   * retry path are in use) and the share of posts that fail, at these slice sizes.
   */
  limits?: { postRps: number; postFailRate: number; sliceSizes: readonly number[] };
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
  limits = { postRps: 0, postFailRate: 0 },
): Promise<LocalCheckRun> {
  const { members, postLatencyMs } = options;
  const gateway = await startProcess(tsxCommand('local/main.ts'), {
    ...options.env,
    HIPOCHAT_FANOUT_SLICE_SIZE: String(sliceSize),
    HIPOCHAT_FANOUT_CONCURRENCY: String(postsInFlight),
    HIPOCHAT_LOCAL_POST_LATENCY_MS: String(postLatencyMs),
    HIPOCHAT_LOCAL_POST_RPS: String(limits.postRps),
    HIPOCHAT_LOCAL_POST_FAIL_RATE: String(limits.postFailRate),
  });
  const sockets: ClientSocket[] = [];
  try {
    const client = projectClient(gateway.url.replace('http', 'ws'));
    const room = `big-${process.pid}-${sliceSize}-${postsInFlight}-${limits.postRps}`;
    // Per message, the frames each socket got: the first counts as delivered, any other is a duplicate.
    const copies = new Map<number, Uint16Array>();
    const got = new Map<number, number>();
    let duplicates = 0;
    let lastAt = 0;
    const onDelivery = (socket: number) => (_room: string, _key: number, seq: number) => {
      const counts = copies.get(seq) ?? new Uint16Array(members);
      copies.set(seq, counts);
      counts[socket] = (counts[socket] ?? 0) + 1;
      if ((counts[socket] ?? 0) > 1) {
        duplicates += 1;
        return;
      }
      got.set(seq, (got.get(seq) ?? 0) + 1);
      lastAt = performance.now();
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (next < members) {
          const socket = next;
          next += 1;
          sockets.push(await client.connect(room, `member-${next}`, onDelivery(socket)));
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
    // A retry that went where the message already was would come late: give it time to.
    if (limits.postRps > 0 || limits.postFailRate > 0) await sleep(2000);
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
      duplicates,
      ...limits,
      gatewayCpuUsPerDelivery: Math.round(gatewayCpuUsPerDelivery),
      modelMs: Math.max(
        localModelMs(members, slices, gatewayCpuUsPerDelivery, postLatencyMs, postsInFlight),
        throttleFloorMs(members, limits.postRps),
      ),
    };
    const limited =
      limits.postRps > 0 ? `, ${limits.postRps} posts/s, ${limits.postFailRate * 100}% failed posts` : '';
    options.log(
      `  ${members}-member room, ${postLatencyMs} ms post latency${limited}, ${postsInFlight} in flight, ${slices} slice(s): last delivery ${run.lastDeliveryMs} ms (model ${run.modelMs} ms), missing ${missing}, duplicates ${duplicates}`,
    );
    return run;
  } finally {
    for (const socket of sockets) socket.close();
    await gateway.stop();
  }
}

/**
 * A throttle of `rps` a second with a burst of half that (API Gateway's shape) lets `posts` through
 * no sooner than this; 0 for no throttle.
 */
export function throttleFloorMs(posts: number, rps: number): number {
  return rps > 0 ? Math.round((Math.max(0, posts - rps / 2) / rps) * 1000) : 0;
}

/**
 * Runs the check once per slice size (a fresh gateway each), in-memory store and bus; then once per
 * slice size of `limits` under them, at the deployed posts in flight (the last of `postsInFlight`).
 */
export async function localBigRoomCheck(options: LocalCheckOptions): Promise<LocalCheck> {
  const runs: LocalCheckRun[] = [];
  for (const inFlight of options.postsInFlight) {
    for (const sliceSize of options.sliceSizes) runs.push(await runOnce(options, sliceSize, inFlight));
  }
  const { limits } = options;
  const inFlight = options.postsInFlight.at(-1);
  if (limits && inFlight !== undefined) {
    const { postRps, postFailRate } = limits;
    for (const sliceSize of limits.sliceSizes)
      runs.push(await runOnce(options, sliceSize, inFlight, { postRps, postFailRate }));
  }
  return { members: options.members, postLatencyMs: options.postLatencyMs, runs };
}
