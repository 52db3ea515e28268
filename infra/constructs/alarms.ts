import { Duration } from 'aws-cdk-lib';
import type { HttpStage, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Metric,
  type MetricOptions,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { DEAD_LETTER_QUEUE } from '../../lambdas/core/bus/topology.js';

/** Properties of {@link ChatAlarms}. */
export interface ChatAlarmsProps {
  readonly fanout: LambdaFunction;
  /** Broker name (the `Broker` dimension of Amazon MQ metrics). */
  readonly brokerName: string;
  readonly webSocketStage: WebSocketStage;
  readonly httpStage: HttpStage;
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
}

const fiveMinutes: MetricOptions = { period: Duration.minutes(5) };

/**
 * What an operator must hear about: fan-out failing or slowing down, messages dead-lettered, API
 * requests refused (throttling shows up there), the cache running hot or full. With an email, an
 * SNS topic notifies on alarm and on recovery.
 */
export class ChatAlarms extends Construct {
  readonly alarms: Alarm[] = [];
  readonly topic?: Topic;

  constructor(scope: Construct, id: string, props: ChatAlarmsProps) {
    super(scope, id);
    const rejected = props.rejectedRequestsThreshold ?? 100;
    this.add('FanoutErrors', {
      metric: props.fanout.metricErrors(fiveMinutes),
      threshold: 1,
      description: 'The fan-out function failed a batch; the broker redelivers it until the delivery limit.',
    });
    const timeout = props.fanout.timeout?.toMilliseconds() ?? 3000;
    this.add('FanoutDuration', {
      metric: props.fanout.metricDuration({ ...fiveMinutes, statistic: 'p99' }),
      threshold: Math.round(timeout * 0.8),
      description: 'Fan-out batches take 80% of the timeout: add shards or lower the batch size.',
    });
    this.add('DeadLetters', {
      metric: new Metric({
        namespace: 'AWS/AmazonMQ',
        metricName: 'MessageCount',
        dimensionsMap: { Broker: props.brokerName, VirtualHost: '/', Queue: DEAD_LETTER_QUEUE },
        statistic: 'Maximum',
        ...fiveMinutes,
      }),
      threshold: 1,
      description: `Messages reached ${DEAD_LETTER_QUEUE} after the delivery limit; they were not delivered.`,
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
        metric: new Metric({
          namespace: 'AWS/ElastiCache',
          metricName: 'EngineCPUUtilization',
          dimensionsMap: { CacheClusterId: node },
          statistic: 'Average',
          ...fiveMinutes,
        }),
        threshold: 80,
        description:
          'The cache engine thread is busy 80% of the time; scale the node type or turn on cluster mode.',
      });
      this.add(`CacheMemory${index}`, {
        metric: new Metric({
          namespace: 'AWS/ElastiCache',
          metricName: 'DatabaseMemoryUsagePercentage',
          dimensionsMap: { CacheClusterId: node },
          statistic: 'Maximum',
          ...fiveMinutes,
        }),
        threshold: 80,
        description: 'The cache is 80% full; lower HIPOCHAT_HISTORY_LIMIT or scale the node type.',
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

  private add(id: string, options: { metric: Metric; threshold: number; description: string }): void {
    this.alarms.push(
      new Alarm(this, id, {
        metric: options.metric,
        threshold: options.threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: options.description,
      }),
    );
  }
}
