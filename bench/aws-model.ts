/**
 * The bench's AWS model: how long a room's last delivery takes on AWS, computed from the CPU the
 * bench measures and the assumptions below (each one stated, none measured here). It is a model,
 * not a measurement; the local 2,000-member check (bench/big-room.ts) runs the same formula
 * against the real code with the local gateway's latency and CPU.
 */
import { loadConfig } from '../lambdas/core/config.js';
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
  /** A warm synchronous Invoke, from the request to the slice's first post, ms. */
  invokeOverheadMs: number;
  /** API Gateway's account-level throttle, shared by every PostToConnection, requests/s. */
  throttleRps: number;
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
  invokeOverheadMs: 30,
  throttleRps: 10_000,
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
 * invokes the slices and waits for the slowest, each slice on its own vCPU.
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
  const ms =
    (members * measured.sliceSetupUsPerConnection * a.cpuFactor) / a.fanoutVcpu / 1000 +
    a.invokeOverheadMs +
    executionMs(Math.ceil(members / slices), cpuUs, a.deliveryVcpu, a.postLatencyMs, a.postsInFlight);
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
