/**
 * The bench's AWS model: how long a room's last delivery takes on AWS, computed from the CPU the
 * bench measures and the assumptions below (each one stated, none measured here). It is a model,
 * not a measurement; the local 2,000-member check (bench/big-room.ts) runs the same formula
 * against the real code with the local gateway's latency and CPU.
 */
import { loadConfig } from '../lambdas/core/config.js';
import { SLICE_BUDGET_MS, slicesInFlight } from '../lambdas/core/fanout-slices.js';
import { functionSize, routes } from '../lambdas/routes.js';

/** What the model assumes about AWS. */
export interface AwsModelAssumptions {
  /** PostToConnection round trip from a Lambda execution to API Gateway, ms. */
  postLatencyMs: number;
  /** Posts in flight per execution (the `HIPOCHAT_FANOUT_CONCURRENCY` default). */
  postsInFlight: number;
  /** Connections per slice (the `HIPOCHAT_FANOUT_SLICE_SIZE` default). */
  sliceSize: number;
  /** vCPU share of the fan-out function (Lambda gives one vCPU per 1,769 MB). */
  fanoutVcpu: number;
  /** vCPU share of the delivery function. */
  deliveryVcpu: number;
  /** Slices one fan-out runs at once (`HIPOCHAT_DELIVERY_CONCURRENCY / HIPOCHAT_FANOUT_SHARDS`). */
  slicesInFlight: number;
  /** A warm synchronous Invoke, from the request to the slice's first post, ms. */
  invokeOverheadMs: number;
  /** API Gateway's account-level throttle, shared by every PostToConnection, requests/s. */
  throttleRps: number;
  /** Its burst: requests let through at once before the rate applies. */
  throttleBurst: number;
  /** Milliseconds a slice posts before its deadline; what is left then is requeued. */
  sliceBudgetMs: number;
  /** Backoff cap of a throttled post, ms: the last post waits about half of it past the drain. */
  maxBackoffMs: number;
  /** Lambda's arm64 CPU time for this machine's: 1 means "as fast as here". */
  cpuFactor: number;
}

/** One room size in the model; the shape `bench/results/*.json` carries as `awsModel`. */
export interface AwsModelRow {
  members: number;
  postLatencyMs: number;
  slices: number;
  cpuUsPerDelivery: number;
  lastDeliveryMs: number;
  throttleRps: number;
}

/** What the bench measured that the model takes. */
export interface MeasuredCpu {
  /** Fan-out handler CPU µs per delivery (lean path, the default posts in flight). */
  cpuUsPerDelivery: number;
  /** The fan-out's CPU µs per connection to read a big room and write its slice requests. */
  sliceSetupUsPerConnection: number;
}

const VCPU_MB = 1769;
const sizeOf = (kind: 'queue' | 'invoke') => {
  const route = routes.find((candidate) => candidate.kind === kind);
  return route ? functionSize(route).memoryMb : VCPU_MB;
};
const defaults = loadConfig({});

/** The model's assumptions, the deployed defaults filled in from the config and routes table. */
export const AWS_MODEL_ASSUMPTIONS: AwsModelAssumptions = {
  postLatencyMs: 20,
  postsInFlight: defaults.fanoutConcurrency,
  sliceSize: defaults.fanoutSliceSize,
  fanoutVcpu: Math.min(1, sizeOf('queue') / VCPU_MB),
  deliveryVcpu: Math.min(1, sizeOf('invoke') / VCPU_MB),
  slicesInFlight: slicesInFlight(defaults.deliveryConcurrency, defaults.fanoutShards),
  invokeOverheadMs: 30,
  throttleRps: 10_000,
  throttleBurst: 5_000,
  sliceBudgetMs: SLICE_BUDGET_MS,
  maxBackoffMs: 1_000,
  cpuFactor: 1,
};

/** Room sizes of the model's rows. */
export const AWS_MODEL_MEMBERS = [20, 1_000, 10_000, 100_000] as const;

/**
 * One execution posting to `connections`: each post costs `cpuUs / vcpu` of its CPU and waits
 * `latencyMs` with `inFlight` posts at once, so the slower of the two paces it; the last post
 * then takes a round trip.
 */
export function executionMs(
  connections: number,
  cpuUs: number,
  vcpu: number,
  latencyMs: number,
  inFlight: number,
): number {
  const pacingUs = Math.max(cpuUs / vcpu, (latencyMs * 1000) / inFlight);
  return (connections * pacingUs) / 1000 + latencyMs;
}

/** Slices of a room of `members` (1: the fan-out posts itself). */
export function slicesFor(members: number, sliceSize: number): number {
  return sliceSize > 0 && members > sliceSize ? Math.ceil(members / sliceSize) : 1;
}

/**
 * The last delivery of one message to a room of `members` (one connection each), in ms from the
 * fan-out starting, were there no account throttle: the fan-out posts itself, or reads the room,
 * invokes the slices (`slicesInFlight` at a time) and waits for the slowest, each slice on its
 * own vCPU.
 */
export function unthrottledMs(
  members: number,
  measured: MeasuredCpu,
  assumptions: AwsModelAssumptions = AWS_MODEL_ASSUMPTIONS,
): number {
  return unthrottled(members, measured, assumptions).ms;
}

/** {@link unthrottledMs} with the number of slices it assumes. */
function unthrottled(
  members: number,
  measured: MeasuredCpu,
  a: AwsModelAssumptions,
): { slices: number; ms: number } {
  const cpuUs = measured.cpuUsPerDelivery * a.cpuFactor;
  const slices = slicesFor(members, a.sliceSize);
  if (slices === 1)
    return { slices, ms: executionMs(members, cpuUs, a.fanoutVcpu, a.postLatencyMs, a.postsInFlight) };
  // Slices beyond those in flight wait for a free one: rounds of them, one after the other.
  const rounds = Math.ceil(slices / Math.max(1, a.slicesInFlight));
  const ms =
    (members * measured.sliceSetupUsPerConnection * a.cpuFactor) / a.fanoutVcpu / 1000 +
    rounds *
      (a.invokeOverheadMs +
        executionMs(Math.ceil(members / slices), cpuUs, a.deliveryVcpu, a.postLatencyMs, a.postsInFlight));
  return { slices, ms };
}

/**
 * {@link unthrottledMs}, but never faster than API Gateway's account throttle lets the room's posts
 * through (no burst credit counted): the model's row for a room of `members`.
 */
export function awsModelRow(
  members: number,
  measured: MeasuredCpu,
  assumptions: AwsModelAssumptions = AWS_MODEL_ASSUMPTIONS,
): AwsModelRow {
  const a = assumptions;
  const { slices, ms: compute } = unthrottled(members, measured, a);
  const throttleFloor = (members / a.throttleRps) * 1000;
  return {
    members,
    postLatencyMs: a.postLatencyMs,
    slices,
    cpuUsPerDelivery: measured.cpuUsPerDelivery,
    lastDeliveryMs: Math.round(Math.max(compute, throttleFloor)),
    throttleRps: a.throttleRps,
  };
}

/** The model's rows for every size of {@link AWS_MODEL_MEMBERS} at one post latency. */
export function awsModel(
  measured: MeasuredCpu,
  postLatencyMs = AWS_MODEL_ASSUMPTIONS.postLatencyMs,
): AwsModelRow[] {
  return AWS_MODEL_MEMBERS.map((members) =>
    awsModelRow(members, measured, { ...AWS_MODEL_ASSUMPTIONS, postLatencyMs }),
  );
}

/**
 * The same formula for the local gateway, where one process on one core runs the fan-out, every
 * slice, the `@connections` endpoint and the sockets: the slices share its CPU
 * (`gatewayCpuUsPerDelivery`, all of that work per delivery) but wait on latency side by side.
 */
export function localModelMs(
  members: number,
  slices: number,
  gatewayCpuUsPerDelivery: number,
  latencyMs: number,
  inFlight: number,
): number {
  const cpuMs = (members * gatewayCpuUsPerDelivery) / 1000;
  const waitMs = (Math.ceil(members / slices) * latencyMs) / inFlight;
  return Math.round(Math.max(cpuMs, waitMs) + latencyMs);
}

/**
 * A burst of messages to one big room at API Gateway's account throttle, with the retry path in
 * use; the shape `bench/results/*.json` carries as `awsModelThrottled`.
 */
export interface ThrottledRow {
  members: number;
  /** Messages sent to the room at once. */
  messages: number;
  /** Posts they need (one per member and message). */
  posts: number;
  /** Ms until the throttle has let every post through (burst credit counted). */
  drainMs: number;
  /** Ms from the burst to the last delivery, requeue rounds included. */
  lastDeliveryMs: number;
  /** Posts left when the slices reached their deadline, requeued for those connections only. */
  requeuedPosts: number;
  /** Times the remaining posts went round the queue (each counts against the delivery limit). */
  requeueRounds: number;
  /** The first retry's posts had it gone to the whole room (the retry path before): every message with a miss, to everyone. */
  wholeRoomRetryPosts: number;
  /** Of those, copies of a message a socket already had. */
  wholeRoomDuplicates: number;
}

/** Bursts the throttled rows model: room members × messages at once. */
export const THROTTLED_BURSTS = [
  [10_000, 1],
  [10_000, 10],
  [100_000, 1],
  [100_000, 5],
] as const;

/**
 * The model of a burst at the account throttle: posts go through at `throttleRps` after the burst
 * credit; throttled posts are waited out inside the invocations (backoff, fewer in flight), so a
 * connection's messages keep their order, until the slices' deadline; what is left then is
 * requeued for the connections that miss it only, and goes through in the next round.
 */
export function throttledRow(
  members: number,
  messages: number,
  measured: MeasuredCpu,
  a: AwsModelAssumptions = AWS_MODEL_ASSUMPTIONS,
): ThrottledRow {
  const posts = members * messages;
  const drainMs = (Math.max(0, posts - a.throttleBurst) / a.throttleRps) * 1000;
  const perRound = (a.throttleRps * a.sliceBudgetMs) / 1000;
  const firstRound = Math.min(posts, a.throttleBurst + perRound);
  const requeuedPosts = posts - firstRound;
  const requeueRounds = requeuedPosts > 0 ? Math.ceil(requeuedPosts / perRound) : 0;
  const compute = unthrottled(members, measured, a).ms * messages;
  const backoff = drainMs > 0 ? a.maxBackoffMs / 2 : 0;
  const lastDeliveryMs = Math.max(compute, drainMs) + backoff + requeueRounds * a.invokeOverheadMs;
  // Slices post message after message: at the deadline the first messages reached everyone.
  const complete = Math.floor(firstRound / members);
  const wholeRoomRetryPosts = requeuedPosts > 0 ? (messages - complete) * members : 0;
  return {
    members,
    messages,
    posts,
    drainMs: Math.round(drainMs),
    lastDeliveryMs: Math.round(lastDeliveryMs),
    requeuedPosts,
    requeueRounds,
    wholeRoomRetryPosts,
    wholeRoomDuplicates: wholeRoomRetryPosts - Math.min(wholeRoomRetryPosts, requeuedPosts),
  };
}

/** The throttled rows for every burst of {@link THROTTLED_BURSTS}. */
export function throttledModel(measured: MeasuredCpu): ThrottledRow[] {
  return THROTTLED_BURSTS.map(([members, messages]) => throttledRow(members, messages, measured));
}
