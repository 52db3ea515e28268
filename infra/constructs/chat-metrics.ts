import { Duration } from 'aws-cdk-lib';
import { Metric, type MetricOptions } from 'aws-cdk-lib/aws-cloudwatch';

/**
 * The chat's own metrics as the handlers write them (CloudWatch embedded metric format): one
 * namespace, one `stage` dimension (`HIPOCHAT_STAGE`), plus `reason` on `MessagesRefused`. A
 * CloudWatch metric is its exact dimension set, so these must match what the code emits.
 */
export const METRIC_NAMESPACE = 'Hipochat';

/** Dimension holding the stage name on every chat metric. */
export const STAGE_DIMENSION = 'stage';

/** Second dimension of `MessagesRefused`. */
export const REASON_DIMENSION = 'reason';

/** Why a message was refused: the values of the `reason` dimension. */
export const REFUSAL_REASONS = [
  'rate',
  'size',
  'depth',
  'auth',
  'type',
  'unavailable',
  'moderation',
] as const;

export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Metric names the handlers emit. */
export const CHAT_METRICS = [
  'MessagesAccepted',
  'MessagesRefused',
  'Deliveries',
  'DeliveriesGone',
  'DeliveriesFailed',
  'DeliveryLagMs',
  'FanoutBatchSize',
  'FanoutDurationMs',
  'PushSent',
  'PushFailed',
  'DeadLettered',
  'ConnectionsOpened',
  'ConnectionsClosed',
  'AuthRefused',
  'ModerationAllowed',
  'ModerationRejected',
  'ModerationReplaced',
  'ModerationHookFailed',
  'ModerationHookMs',
  'ModerationRestricted',
  'ModerationRefused',
] as const;

export type ChatMetricName = (typeof CHAT_METRICS)[number];

/** Options of {@link chatMetric}. */
export interface ChatMetricOptions extends MetricOptions {
  /** The `reason` dimension (only `MessagesRefused` has it). */
  readonly reason?: RefusalReason;
}

/**
 * One chat metric of `stage`: a sum per minute unless `statistic` says otherwise (latencies take
 * `p50`/`p99`). Give a `label` only for graphs: an alarm on a labelled metric renders as a metric
 * query instead of a plain metric.
 */
export function chatMetric(name: ChatMetricName, stage: string, options: ChatMetricOptions = {}): Metric {
  const { reason, ...metricOptions } = options;
  return new Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    statistic: 'Sum',
    period: Duration.minutes(1),
    ...metricOptions,
    dimensionsMap: {
      [STAGE_DIMENSION]: stage,
      ...(reason ? { [REASON_DIMENSION]: reason } : {}),
      ...metricOptions.dimensionsMap,
    },
  });
}

/**
 * Where Amazon MQ documents its RabbitMQ metrics and their dimensions: broker metrics by `Broker`,
 * queue metrics by `Broker`, `VirtualHost` and `Queue`.
 */
export const AMAZON_MQ_METRICS_PAGE =
  'https://docs.aws.amazon.com/amazon-mq/latest/developer-guide/rabbitmq-logging-monitoring.html';

/**
 * RabbitMQ queue depth (ready plus unacknowledged) as Amazon MQ publishes it, per minute, with the
 * dimensions of {@link AMAZON_MQ_METRICS_PAGE}. RabbitMQ 3 brokers only: Amazon MQ publishes no
 * queue metrics for RabbitMQ 4 (https://docs.aws.amazon.com/amazon-mq/latest/developer-guide/rabbitmq-4.html).
 */
export function queueDepthMetric(
  brokerName: string,
  queue: string,
  options: MetricOptions & { readonly virtualHost?: string } = {},
): Metric {
  const { virtualHost, ...metricOptions } = options;
  return new Metric({
    namespace: 'AWS/AmazonMQ',
    metricName: 'MessageCount',
    statistic: 'Maximum',
    period: Duration.minutes(1),
    ...metricOptions,
    dimensionsMap: { Broker: brokerName, VirtualHost: virtualHost ?? '/', Queue: queue },
  });
}

/** Messages in all of a broker's queues (`MessageCount`, dimension `Broker` only), per minute. */
export function brokerDepthMetric(brokerName: string, options: MetricOptions = {}): Metric {
  return new Metric({
    namespace: 'AWS/AmazonMQ',
    metricName: 'MessageCount',
    statistic: 'Maximum',
    period: Duration.minutes(1),
    ...options,
    dimensionsMap: { Broker: brokerName },
  });
}

/** An ElastiCache metric of one cache node. */
export function cacheNodeMetric(node: string, metricName: string, options: MetricOptions = {}): Metric {
  return new Metric({
    namespace: 'AWS/ElastiCache',
    metricName,
    statistic: 'Average',
    period: Duration.minutes(5),
    ...options,
    dimensionsMap: { CacheClusterId: node },
  });
}

/** A metric of an ElastiCache serverless cache (dimension `clusterId`, the cache's name). */
export function serverlessCacheMetric(
  cache: string,
  metricName: string,
  options: MetricOptions = {},
): Metric {
  return new Metric({
    namespace: 'AWS/ElastiCache',
    metricName,
    statistic: 'Average',
    period: Duration.minutes(5),
    ...options,
    dimensionsMap: { clusterId: cache },
  });
}
