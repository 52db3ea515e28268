import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logSettings } from './config.js';
import type { RefusalReason } from './errors.js';
import { InvocationSlot } from './invocation-scope.js';
import { logger } from './logger.js';

/** Namespace of every chat metric (the dashboard and alarms read it: infra/constructs/chat-metrics.ts). */
export const METRIC_NAMESPACE = 'Hipochat';

/** The one dimension of every chat metric: the stage (`HIPOCHAT_STAGE`, `local` when unset). */
export const STAGE_DIMENSION = 'stage';

/** The second dimension of `MessagesRefused`. */
export const REASON_DIMENSION = 'reason';

/** Metrics that count events; an invocation emits their sum. */
export type CountedMetric =
  | 'MessagesAccepted'
  | 'Deliveries'
  | 'DeliveriesGone'
  | 'DeliveriesFailed'
  | 'PushSent'
  | 'PushFailed'
  | 'DeadLettered'
  | 'ConnectionsOpened'
  | 'ConnectionsClosed'
  | 'AuthRefused'
  | 'ModerationAllowed'
  | 'ModerationRejected'
  | 'ModerationReplaced'
  | 'ModerationHookFailed'
  | 'ModerationRestricted'
  | 'ModerationRefused';

/** Metrics that observe a value; an invocation emits every observation (CloudWatch takes percentiles). */
export type ObservedMetric = 'DeliveryLagMs' | 'FanoutBatchSize' | 'FanoutDurationMs' | 'ModerationHookMs';

/** Every metric name the chat emits, `MessagesRefused` (see {@link ChatMetrics.refused}) included. */
export type ChatMetricName = CountedMetric | ObservedMetric | 'MessagesRefused';

/** Units of the observed metrics: a name always carries one unit (CloudWatch refuses a mix). */
const OBSERVED_UNITS: Record<ObservedMetric, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  DeliveryLagMs: MetricUnit.Milliseconds,
  FanoutBatchSize: MetricUnit.Count,
  FanoutDurationMs: MetricUnit.Milliseconds,
  ModerationHookMs: MetricUnit.Milliseconds,
};

/** What one invocation recorded, published as one EMF record (plus one per refusal reason). */
interface Recording {
  readonly requestId: string | undefined;
  readonly counts: Map<CountedMetric, number>;
  readonly observed: Map<ObservedMetric, number[]>;
  readonly refused: Map<RefusalReason, number>;
}

const recordings = new InvocationSlot<Recording>();

let emitter: Metrics | undefined;

/**
 * Powertools' Metrics, made on the first publish (so `POWERTOOLS_METRICS_DISABLED` is read then).
 * Its store is shared by every invocation of the process (the local gateway runs many at once),
 * so it only ever holds what one synchronous {@link publish} puts in it.
 */
function emitterOf(): Metrics {
  if (!emitter) {
    emitter = new Metrics({ namespace: METRIC_NAMESPACE });
    // Powertools adds a `service` dimension; the dashboard and alarms read the stage alone.
    emitter.clearDefaultDimensions();
    emitter.setDefaultDimensions({ [STAGE_DIMENSION]: logSettings().stage ?? 'local' });
  }
  return emitter;
}

function publish(recording: Recording): void {
  const { counts, observed, refused, requestId } = recording;
  if (counts.size === 0 && observed.size === 0 && refused.size === 0) return;
  try {
    const out = emitterOf();
    // Metadata is not a dimension: it joins the record to the invocation's log lines.
    const tag = () => {
      if (requestId) out.addMetadata('function_request_id', requestId);
    };
    if (counts.size > 0 || observed.size > 0) {
      tag();
      for (const [name, value] of counts) out.addMetric(name, MetricUnit.Count, value);
      for (const [name, values] of observed) {
        for (const value of values) out.addMetric(name, OBSERVED_UNITS[name], value);
      }
      out.publishStoredMetrics();
    }
    // Another dimension set is another EMF record.
    for (const [reason, value] of refused) {
      tag();
      out.addDimension(REASON_DIMENSION, reason);
      out.addMetric('MessagesRefused', MetricUnit.Count, value);
      out.publishStoredMetrics();
    }
  } catch (error) {
    // A metric is never worth failing the invocation that did the work.
    emitter?.clearMetrics();
    emitter?.clearDimensions();
    emitter?.clearMetadata();
    logger.warn('metrics not published', { error });
  }
}

/**
 * Runs `work` as one invocation's metrics: what it records is published once, when it settles, as
 * CloudWatch embedded metric format lines on stdout (namespace `Hipochat`, dimension `stage`;
 * `MessagesRefused` in a record of its own with `reason`). Overlapping invocations keep their
 * recordings apart.
 */
export async function withInvocationMetrics<T>(
  requestId: string | undefined,
  work: () => Promise<T>,
): Promise<T> {
  const recording: Recording = { requestId, counts: new Map(), observed: new Map(), refused: new Map() };
  try {
    return await recordings.run(recording, work);
  } finally {
    publish(recording);
  }
}

/** The recorder of the chat's metrics (see {@link metrics}). */
export interface ChatMetrics {
  /** Adds `n` (default 1) to a count of the invocation. */
  count(name: CountedMetric, n?: number): void;
  /** Records one observation (milliseconds, or a count for `FanoutBatchSize`). */
  observe(name: ObservedMetric, value: number): void;
  /** Counts a message refused for `reason` (`MessagesRefused` with the `reason` dimension). */
  refused(reason: RefusalReason): void;
}

/**
 * The chat's metrics, recorded into the current invocation (see {@link withInvocationMetrics}) and
 * published when it ends. A call costs a map update; outside an invocation (start-up, tests and
 * tools calling the core directly) it does nothing. Never a room or user dimension.
 */
export const metrics: ChatMetrics = {
  count(name, n = 1) {
    const recording = recordings.getStore();
    if (recording && Number.isFinite(n)) recording.counts.set(name, (recording.counts.get(name) ?? 0) + n);
  },
  observe(name, value) {
    const recording = recordings.getStore();
    if (!recording || !Number.isFinite(value)) return;
    const values = recording.observed.get(name);
    if (values) values.push(value);
    else recording.observed.set(name, [value]);
  },
  refused(reason) {
    const recording = recordings.getStore();
    if (recording) recording.refused.set(reason, (recording.refused.get(reason) ?? 0) + 1);
  },
};
