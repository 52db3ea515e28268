/** The Markdown tables of the AWS model, its throttled rows and the local big-room check. */
import {
  AWS_MODEL_ASSUMPTIONS,
  type AwsModelRow,
  type MeasuredCpu,
  type ThrottledRow,
  unthrottledMs,
} from './aws-model.js';
import type { LocalCheck } from './big-room.js';

export const fmtMs = (ms: number) => ms.toLocaleString('en-US');

/** The AWS model's table: one row per room size at 20 ms, the last delivery at 10 and 40 ms too. */
export function awsModelMarkdown(
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
export function throttledMarkdown(rows: readonly ThrottledRow[]): string[] {
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
export function localCheckMarkdown(check: LocalCheck): string[] {
  return [
    `| local ${check.members.toLocaleString('en-US')}-member room, ${check.postLatencyMs} ms post latency | posts in flight | slices | last delivery ms (median) | per message | missing | duplicates | gateway CPU µs / delivery | model ms (one shared core) |`,
    '|---|---:|---:|---:|---|---:|---:|---:|---:|',
    ...check.runs.map(
      (r) =>
        `| ${r.sliceSize === 0 ? 'no slices' : `slices of ${r.sliceSize}`}${r.postRps > 0 ? `, ${r.postRps} posts/s, ${r.postFailRate * 100}% failed posts` : ''} | ${r.postsInFlight} | ${r.slices} | ${r.lastDeliveryMs} | ${r.perMessageMs.join(', ')} | ${r.missing} | ${r.duplicates} | ${r.gatewayCpuUsPerDelivery} | ${r.modelMs} |`,
    ),
  ];
}
