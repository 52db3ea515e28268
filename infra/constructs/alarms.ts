import { Duration } from 'aws-cdk-lib';
import type { HttpStage, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  type MetricOptions,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { DEAD_LETTER_QUEUE } from '../../lambdas/core/bus/topology.js';
import {
  brokerDepthMetric,
  cacheNodeMetric,
  chatMetric,
  queueDepthMetric,
  serverlessCacheMetric,
} from './chat-metrics.js';

/** Properties of {@link ChatAlarms}. */
export interface ChatAlarmsProps {
  /** Stage name: the `stage` dimension of the chat metrics. */
  readonly stageName: string;
  readonly fanout: LambdaFunction;
  /** Broker name (the `Broker` dimension of Amazon MQ metrics). */
  readonly brokerName: string;
  /** The fan-out shard queues, one backlog alarm each (RabbitMQ 3 only). */
  readonly shardQueues: readonly string[];
  /**
   * Amazon MQ publishes per-queue metrics for RabbitMQ 3 brokers only; on RabbitMQ 4 the backlog
   * alarm watches the broker-wide message count instead.
   * @default true
   */
  readonly queueMetrics?: boolean;
  readonly webSocketStage: WebSocketStage;
  readonly httpStage: HttpStage;
  /**
   * Name of the serverless cache: one alarm on throttled commands instead of the node alarms.
   * @default - a node-based cache
   */
  readonly serverlessCache?: string;
  /** Cache cluster ids of every cache node (the `CacheClusterId` dimension). */
  readonly cacheNodes: readonly string[];
  /**
   * Email subscribed to the alarm topic; without it no topic is created.
   * @default - alarms without actions
   */
  readonly email?: string;
  /**
   * Rejected requests (throttled or otherwise refused before the integration) per 5 minutes.
   * @default 100
   */
  readonly rejectedRequestsThreshold?: number;
  /**
   * `DeliveryLagMs` p99 that, held for 5 minutes, raises the lag alarm.
   * @default 2000
   */
  readonly deliveryLagThresholdMs?: number;
  /**
   * Messages a shard queue must keep (never drain below) for 15 minutes to raise its backlog alarm.
   * @default 1000
   */
  readonly queueBacklogThreshold?: number;
}

const fiveMinutes: MetricOptions = { period: Duration.minutes(5) };

/** Options of one alarm. */
interface AlarmSpec {
  readonly metric: IMetric;
  readonly threshold: number;
  readonly description: string;
  /** @default GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
  readonly comparison?: ComparisonOperator;
  /** Consecutive breaching periods. @default 1 */
  readonly periods?: number;
  /**
   * The metric is published all the time (broker, cache), so no data means something is wrong and
   * the alarm shows INSUFFICIENT_DATA; event counts (errors, refusals) publish nothing when nothing
   * happened, which is fine.
   * @default false
   */
  readonly alwaysPublished?: boolean;
}

/**
 * What an operator must hear about: messages delivered late, failed or dead-lettered, a shard queue
 * that does not drain, fan-out failing, slowing down or throttled, API requests refused, the cache
 * running hot or full. With an email, an SNS topic notifies on alarm and on recovery.
 */
export class ChatAlarms extends Construct {
  readonly alarms: Alarm[] = [];
  readonly topic?: Topic;

  constructor(scope: Construct, id: string, props: ChatAlarmsProps) {
    super(scope, id);
    const stage = props.stageName;
    const rejected = props.rejectedRequestsThreshold ?? 100;
    const lag = props.deliveryLagThresholdMs ?? 2000;
    const backlog = props.queueBacklogThreshold ?? 1000;

    this.add('DeliveryLag', {
      metric: chatMetric('DeliveryLagMs', stage, { statistic: 'p99' }),
      threshold: lag,
      comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
      periods: 5,
      description: `Messages reach sockets more than ${lag} ms after acceptance (p99, 5 minutes): add shards (-c shards) or lower the batch size.`,
    });
    this.add('DeliveriesFailed', {
      metric: chatMetric('DeliveriesFailed', stage, fiveMinutes),
      threshold: 0,
      comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description:
        'Posts to connections failed after their retries (not 410 Gone); the messages were requeued or dead-lettered.',
    });
    this.add('DeadLettered', {
      metric: chatMetric('DeadLettered', stage, fiveMinutes),
      threshold: 0,
      comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: `The fan-out gave up on messages after the delivery limit and sent them to ${DEAD_LETTER_QUEUE}.`,
    });
    // A healthy queue drains within seconds, so its 5-minute minimum is about 0. A minimum at or
    // above the threshold for three periods in a row is a backlog that grew or never drained.
    if (props.queueMetrics ?? true) {
      this.add('DeadLetters', {
        metric: queueDepthMetric(props.brokerName, DEAD_LETTER_QUEUE, fiveMinutes),
        threshold: 1,
        alwaysPublished: true,
        description: `Messages wait in ${DEAD_LETTER_QUEUE} (dead-lettered by the fan-out or by the broker's delivery limit); read and clear it.`,
      });
      for (const [shard, queue] of props.shardQueues.entries()) {
        this.add(`QueueBacklog${shard}`, {
          metric: queueDepthMetric(props.brokerName, queue, { ...fiveMinutes, statistic: 'Minimum' }),
          threshold: backlog,
          periods: 3,
          alwaysPublished: true,
          description: `${queue} held ${backlog}+ messages for 15 minutes: the fan-out falls behind or its event source mapping stopped.`,
        });
      }
    } else {
      this.add('BrokerBacklog', {
        metric: brokerDepthMetric(props.brokerName, { ...fiveMinutes, statistic: 'Minimum' }),
        threshold: backlog,
        periods: 3,
        alwaysPublished: true,
        description: `The broker's queues (shards and ${DEAD_LETTER_QUEUE}) held ${backlog}+ messages for 15 minutes: the fan-out falls behind, a mapping stopped, or dead letters wait; the management API shows which queue.`,
      });
    }
    this.add('FanoutErrors', {
      metric: props.fanout.metricErrors(fiveMinutes),
      threshold: 1,
      description: 'The fan-out function failed a batch; the broker redelivers it until the delivery limit.',
    });
    this.add('FanoutThrottles', {
      metric: props.fanout.metricThrottles(fiveMinutes),
      threshold: 1,
      description:
        'Lambda throttled the fan-out (account or reserved concurrency): its batches wait in the shard queues.',
    });
    const timeout = props.fanout.timeout?.toMilliseconds() ?? 3000;
    this.add('FanoutDuration', {
      metric: props.fanout.metricDuration({ ...fiveMinutes, statistic: 'p99' }),
      threshold: Math.round(timeout * 0.8),
      description: 'Fan-out batches take 80% of the timeout: add shards or lower the batch size.',
    });
    this.add('WebSocketRejected', {
      metric: props.webSocketStage.metric('ClientError', { ...fiveMinutes, statistic: 'Sum' }),
      threshold: rejected,
      description: 'The WebSocket API refused requests before the integration (throttling, auth failures).',
    });
    this.add('HttpRejected', {
      metric: props.httpStage.metricClientError({ ...fiveMinutes, statistic: 'Sum' }),
      threshold: rejected,
      description: 'The HTTP API answered 4xx (throttling answers 429).',
    });
    for (const [index, node] of props.cacheNodes.entries()) {
      this.add(`CacheCpu${index}`, {
        metric: cacheNodeMetric(node, 'EngineCPUUtilization'),
        threshold: 80,
        alwaysPublished: true,
        description:
          'The cache engine thread is busy 80% of the time; scale the node type or turn on cluster mode.',
      });
      this.add(`CacheMemory${index}`, {
        metric: cacheNodeMetric(node, 'DatabaseMemoryUsagePercentage', { statistic: 'Maximum' }),
        threshold: 80,
        alwaysPublished: true,
        description: 'The cache is 80% full; lower HIPOCHAT_HISTORY_LIMIT or scale the node type.',
      });
    }
    if (props.serverlessCache !== undefined) {
      this.add('CacheThrottled', {
        metric: serverlessCacheMetric(props.serverlessCache, 'ThrottledCmds', {
          ...fiveMinutes,
          statistic: 'Sum',
        }),
        threshold: 1,
        description:
          'The serverless cache throttled commands (it scales up within minutes): set a minimum ECPU rate or look for a hot room.',
      });
    }
    if (props.email) {
      this.topic = new Topic(this, 'Topic', { displayName: 'Hipochat alarms', enforceSSL: true });
      this.topic.addSubscription(new EmailSubscription(props.email));
      const action = new SnsAction(this.topic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  private add(id: string, spec: AlarmSpec): void {
    this.alarms.push(
      new Alarm(this, id, {
        metric: spec.metric,
        threshold: spec.threshold,
        evaluationPeriods: spec.periods ?? 1,
        datapointsToAlarm: spec.periods ?? 1,
        comparisonOperator: spec.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: spec.alwaysPublished ? TreatMissingData.MISSING : TreatMissingData.NOT_BREACHING,
        alarmDescription: spec.description,
      }),
    );
  }
}
