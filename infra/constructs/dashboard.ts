import { Aws, Duration, Stack } from 'aws-cdk-lib';
import type { HttpStage, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IAlarm,
  type IMetric,
  type IWidget,
  type Metric,
  PeriodOverride,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  type ChatMetricName,
  cacheNodeMetric,
  chatMetric,
  queueDepthMetric,
  REFUSAL_REASONS,
  serverlessCacheMetric,
} from './chat-metrics.js';

/** Properties of {@link ChatDashboard}. */
export interface ChatDashboardProps {
  /** Stage name: the `stage` dimension of the chat metrics. */
  readonly stageName: string;
  /** Every chat function by route name (errors, throttles and duration per function). */
  readonly functions: ReadonlyMap<string, IFunction>;
  readonly webSocketStage: WebSocketStage;
  readonly httpStage: HttpStage;
  /** Broker name (the `Broker` dimension of Amazon MQ metrics). */
  readonly brokerName: string;
  /** The fan-out shard queues. */
  readonly shardQueues: readonly string[];
  readonly deadLetterQueue: string;
  /** Cache cluster ids of every cache node (none with a serverless cache). */
  readonly cacheNodes: readonly string[];
  /**
   * Name of the serverless cache, graphed instead of nodes.
   * @default - a node-based cache
   */
  readonly serverlessCache?: string;
  /**
   * Alarms shown at the top.
   * @default - none
   */
  readonly alarms?: readonly IAlarm[];
}

const width = 8;
const height = 6;

function graph(title: string, left: IMetric[], options: { right?: IMetric[]; stacked?: boolean } = {}) {
  return new GraphWidget({ title, left, right: options.right, stacked: options.stacked, width, height });
}

/**
 * One CloudWatch dashboard per stage: chat traffic (accepted and refused messages, deliveries, lag),
 * delivery problems (failed, gone, dead-lettered), the APIs, every function, the shard queues and
 * the cache. Built from the aws-cloudwatch L2 constructs (see docs/deploy.md for why not
 * cdk-monitoring-constructs).
 */
export class ChatDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ChatDashboardProps) {
    super(scope, id);
    const stage = props.stageName;
    const stack = Stack.of(this);
    const sum = (name: ChatMetricName, label: string = name) => chatMetric(name, stage, { label });
    const functions = [...props.functions.entries()];
    const perFunction = (metric: (fn: IFunction) => Metric) =>
      functions.map(([name, fn]) => metric(fn).with({ label: name }));
    const queueDepth = (queue: string) => queueDepthMetric(props.brokerName, queue).with({ label: queue });
    // Node ids are tokens; number them for the legend.
    const cache = (node: string, metricName: string, statistic = 'Average') =>
      cacheNodeMetric(node, metricName, { statistic, period: Duration.minutes(1) }).with({
        label: `node ${props.cacheNodes.indexOf(node) + 1}`,
      });
    const serverless = (name: string, metricName: string, statistic: string) =>
      serverlessCacheMetric(name, metricName, { statistic, period: Duration.minutes(1) }).with({
        label: metricName,
      });
    const webSocket = (metricName: string, statistic = 'Sum') =>
      props.webSocketStage.metric(metricName, { statistic, period: Duration.minutes(1), label: metricName });

    const rows: IWidget[][] = [
      [
        new TextWidget({
          markdown: [
            `# Hipochat ${stage}`,
            'Chat metrics: namespace `Hipochat`, dimension `stage`. What each graph and alarm means and what to do: README "Operate it".',
          ].join('\n\n'),
          width: 24,
          height: 2,
        }),
      ],
      ...(props.alarms && props.alarms.length > 0
        ? [[new AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24, height: 3 })]]
        : []),
      [
        graph('Messages accepted and refused', [sum('MessagesAccepted', 'accepted')], {
          right: REFUSAL_REASONS.map((reason) =>
            chatMetric('MessagesRefused', stage, { reason, label: `refused: ${reason}` }),
          ),
        }),
        graph('Deliveries', [sum('Deliveries', 'delivered')], {
          right: [sum('DeliveriesGone', 'gone (410)'), sum('DeliveriesFailed', 'failed')],
        }),
        graph('Delivery lag (ms)', [
          chatMetric('DeliveryLagMs', stage, { statistic: 'p50', label: 'p50' }),
          chatMetric('DeliveryLagMs', stage, { statistic: 'p99', label: 'p99' }),
        ]),
      ],
      [
        graph('Failed, gone and dead-lettered', [
          sum('DeliveriesFailed', 'failed'),
          sum('DeliveriesGone', 'gone (410)'),
          sum('DeadLettered', 'dead-lettered'),
        ]),
        graph(
          'Fan-out batches',
          [
            chatMetric('FanoutBatchSize', stage, { statistic: 'Average', label: 'batch size (avg)' }),
            chatMetric('FanoutBatchSize', stage, { statistic: 'Maximum', label: 'batch size (max)' }),
          ],
          {
            right: [chatMetric('FanoutDurationMs', stage, { statistic: 'p99', label: 'duration p99 (ms)' })],
          },
        ),
        graph(
          'Connections, auth and push',
          [
            sum('ConnectionsOpened', 'opened'),
            sum('ConnectionsClosed', 'closed'),
            sum('AuthRefused', 'auth refused'),
          ],
          {
            right: [sum('PushSent', 'push sent'), sum('PushFailed', 'push failed')],
          },
        ),
      ],
      [
        graph(
          'Moderation hook',
          [
            sum('ModerationAllowed', 'allowed'),
            sum('ModerationRejected', 'rejected'),
            sum('ModerationReplaced', 'replaced'),
            sum('ModerationHookFailed', 'hook failed'),
          ],
          { right: [chatMetric('ModerationHookMs', stage, { statistic: 'p99', label: 'answer p99 (ms)' })] },
        ),
        graph('Mutes and bans', [
          sum('ModerationRestricted', 'set or lifted'),
          sum('ModerationRefused', 'refused (muted, banned)'),
        ]),
      ],
      [
        graph('WebSocket API', [webSocket('ConnectCount'), webSocket('MessageCount')], {
          right: [webSocket('ClientError'), webSocket('IntegrationError'), webSocket('ExecutionError')],
        }),
        graph('HTTP API', [props.httpStage.metricCount({ period: Duration.minutes(1), label: 'requests' })], {
          right: [
            props.httpStage.metricClientError({ period: Duration.minutes(1), label: '4xx' }),
            props.httpStage.metricServerError({ period: Duration.minutes(1), label: '5xx' }),
          ],
        }),
        graph('HTTP API latency (ms)', [
          props.httpStage.metricLatency({ period: Duration.minutes(1), statistic: 'p99', label: 'p99' }),
        ]),
      ],
      [
        graph(
          'Lambda errors',
          perFunction((fn) => fn.metricErrors({ period: Duration.minutes(1) })),
        ),
        graph(
          'Lambda throttles',
          perFunction((fn) => fn.metricThrottles({ period: Duration.minutes(1) })),
        ),
        graph(
          'Lambda duration p99 (ms)',
          perFunction((fn) => fn.metricDuration({ period: Duration.minutes(1), statistic: 'p99' })),
        ),
      ],
      [
        graph(
          'Shard queue depth',
          props.shardQueues.map((queue) => queueDepth(queue)),
        ),
        graph('Dead-letter queue depth', [queueDepth(props.deadLetterQueue)]),
        graph(
          'Cache connections',
          props.serverlessCache === undefined
            ? props.cacheNodes.map((node) => cache(node, 'CurrConnections'))
            : [serverless(props.serverlessCache, 'CurrConnections', 'Maximum')],
        ),
      ],
      props.serverlessCache === undefined
        ? [
            graph(
              'Cache engine CPU (%)',
              props.cacheNodes.map((node) => cache(node, 'EngineCPUUtilization')),
            ),
            graph(
              'Cache memory used (%)',
              props.cacheNodes.map((node) => cache(node, 'DatabaseMemoryUsagePercentage', 'Maximum')),
            ),
          ]
        : [
            graph('Cache ECPUs', [serverless(props.serverlessCache, 'ElastiCacheProcessingUnits', 'Sum')]),
            graph('Cache data stored (bytes)', [
              serverless(props.serverlessCache, 'BytesUsedForCache', 'Maximum'),
            ]),
            graph('Cache throttled commands', [serverless(props.serverlessCache, 'ThrottledCmds', 'Sum')]),
          ],
    ];
    this.dashboard = new Dashboard(this, 'Dashboard', {
      // Dashboard names are global to the account: the stack name alone would clash across regions.
      dashboardName: `${stack.stackName}-${stack.region}`,
      defaultInterval: Duration.hours(3),
      periodOverride: PeriodOverride.AUTO,
      widgets: rows,
    });
  }

  /** The dashboard in the CloudWatch console. */
  get url(): string {
    return `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboardName}`;
  }
}
