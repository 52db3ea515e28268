import { Match } from 'aws-cdk-lib/assertions';
import {
  CHAT_METRICS,
  METRIC_NAMESPACE,
  REFUSAL_REASONS,
  STAGE_DIMENSION,
} from '../../infra/constructs/chat-metrics.js';
import { shardQueue } from '../../lambdas/core/bus/topology.js';
import { routes } from '../../lambdas/routes.js';
import { SYNTH_TIMEOUT_MS, type Synthesized, synth } from './synth.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped; tests index into it.
type Json = any;

/** The dashboard body: CloudFormation holds it as an Fn::Join of strings and tokens. */
function dashboardBody(deployment: Synthesized): Json {
  const [dashboard] = Object.values(
    deployment.template.findResources('AWS::CloudWatch::Dashboard'),
  ) as Json[];
  const parts = dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[];
  // Tokens become placeholders so the JSON parses; the tests look at the literal parts.
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join(''));
}

/** Every metric line of every graph: `[namespace, name, dimName, dimValue, ..., {options}]`. */
function metricLines(body: Json): Json[][] {
  return body.widgets.flatMap((widget: Json) => widget.properties.metrics ?? []);
}

/** The dimensions of a metric line as an object (the dashboard lists them sorted by name). */
function dimensionsOf(line: Json[]): Record<string, string> {
  const pairs = line.slice(2).filter((item) => typeof item === 'string');
  return Object.fromEntries(
    Array.from({ length: pairs.length / 2 }, (_, i) => [pairs[2 * i], pairs[2 * i + 1]]),
  );
}

function alarmsOf(deployment: Synthesized): Json[] {
  return Object.values(deployment.template.findResources('AWS::CloudWatch::Alarm'));
}

describe('ChatDashboard', () => {
  let dev: Synthesized;
  let body: Json;
  beforeAll(() => {
    // The node-based cache (the serverless one: test/infra/upgrades.test.ts).
    dev = synth({ cache: 'nodes' });
    body = dashboardBody(dev);
  }, SYNTH_TIMEOUT_MS);

  it('is one dashboard per stage, named after the stack and region, with its URL as DashboardUrl', () => {
    dev.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const output = dev.template.findOutputs('DashboardUrl').DashboardUrl;
    const url = JSON.stringify(output.Value);
    expect(url).toContain('.console.aws.amazon.com/cloudwatch/home?region=');
    expect(url).toContain('#dashboards:name=');
  });

  it.each(CHAT_METRICS.filter((name) => name !== 'MessagesRefused'))(
    'graphs Hipochat %s by the stage dimension',
    (name) => {
      const lines = metricLines(body).filter((line) => line[0] === METRIC_NAMESPACE && line[1] === name);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines)
        expect(dimensionsOf(line)).toEqual({ [STAGE_DIMENSION]: dev.config.stageName });
    },
  );

  it('graphs MessagesRefused once per reason, by stage and reason', () => {
    const lines = metricLines(body).filter(
      (line) => line[0] === METRIC_NAMESPACE && line[1] === 'MessagesRefused',
    );
    expect(lines.map(dimensionsOf)).toEqual(
      REFUSAL_REASONS.map((reason) => ({ [STAGE_DIMENSION]: dev.config.stageName, reason })),
    );
  });

  it('graphs DeliveryLagMs at p50 and p99', () => {
    const stats = metricLines(body)
      .filter((line) => line[1] === 'DeliveryLagMs')
      .map((line) => line.at(-1).stat);
    expect(stats).toEqual(['p50', 'p99']);
  });

  it.each([
    ['AWS/ApiGateway', 'ConnectCount'],
    ['AWS/ApiGateway', 'MessageCount'],
    ['AWS/ApiGateway', 'ClientError'],
    ['AWS/ApiGateway', 'IntegrationError'],
    ['AWS/ApiGateway', 'ExecutionError'],
    ['AWS/ApiGateway', 'Count'],
    ['AWS/ApiGateway', '4xx'],
    ['AWS/ApiGateway', '5xx'],
    ['AWS/ElastiCache', 'EngineCPUUtilization'],
    ['AWS/ElastiCache', 'DatabaseMemoryUsagePercentage'],
    ['AWS/ElastiCache', 'CurrConnections'],
  ])('graphs %s %s', (namespace, name) => {
    expect(metricLines(body).some((line) => line[0] === namespace && line[1] === name)).toBe(true);
  });

  it.each(['Errors', 'Throttles', 'Duration'])('graphs Lambda %s of every route function', (name) => {
    const lines = metricLines(body).filter((line) => line[0] === 'AWS/Lambda' && line[1] === name);
    expect(lines.map((line) => line.at(-1).label).sort()).toEqual(routes.map((route) => route.name).sort());
  });

  it('graphs the depth of every shard queue and the dead-letter queue by Broker, VirtualHost and Queue', () => {
    const queues = metricLines(body)
      .filter((line) => line[0] === 'AWS/AmazonMQ' && line[1] === 'MessageCount')
      .map((line) => {
        const dimensions = dimensionsOf(line);
        expect(Object.keys(dimensions).sort()).toEqual(['Broker', 'Queue', 'VirtualHost']);
        expect(dimensions.Broker).toBe(dev.stack.broker.brokerName);
        expect(dimensions.VirtualHost).toBe('/');
        return dimensions.Queue;
      });
    expect(queues).toEqual([
      ...Array.from({ length: dev.config.fanoutShards }, (_, shard) => shardQueue(shard)),
      'hipochat.dead',
    ]);
  });

  it('shows every alarm at the top', () => {
    const status = body.widgets.find((widget: Json) => widget.type === 'alarm');
    expect(status.properties.alarms).toHaveLength(alarmsOf(dev).length);
  });
});

describe('ChatAlarms', () => {
  let dev: Synthesized;
  let prod: Synthesized;
  beforeAll(() => {
    dev = synth({ cache: 'nodes' });
    // RabbitMQ 3.13 and cache nodes: per-queue and per-node alarms (4.2 and serverless: upgrades.test.ts).
    prod = synth({
      profile: 'prod',
      cache: 'nodes',
      brokerEngineVersion: '3.13',
      alarmEmail: 'ops@example.com',
    });
  }, SYNTH_TIMEOUT_MS);

  const alarm = (deployment: Synthesized, metricName: string, namespace = METRIC_NAMESPACE): Json =>
    alarmsOf(deployment).find(
      (candidate) =>
        candidate.Properties.MetricName === metricName && candidate.Properties.Namespace === namespace,
    )?.Properties;

  it('raises DeliveryLag when DeliveryLagMs p99 stays above 2000 ms for 5 minutes', () => {
    expect(alarm(dev, 'DeliveryLagMs')).toMatchObject({
      ExtendedStatistic: 'p99',
      Period: 60,
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      Threshold: 2000,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [{ Name: STAGE_DIMENSION, Value: 'dev' }],
    });
  });

  it.each(['DeliveriesFailed', 'DeadLettered'])('raises on any %s', (metricName) => {
    expect(alarm(dev, metricName)).toMatchObject({
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [{ Name: STAGE_DIMENSION, Value: 'dev' }],
    });
  });

  it('raises a backlog alarm per shard queue whose depth stays at 1000 or more for 15 minutes', () => {
    const backlog = alarmsOf(prod).filter(
      (candidate) =>
        candidate.Properties.MetricName === 'MessageCount' &&
        candidate.Properties.Dimensions.some(
          (dimension: Json) => dimension.Name === 'Queue' && dimension.Value.startsWith('hipochat.fanout.'),
        ),
    );
    expect(backlog).toHaveLength(prod.config.fanoutShards);
    for (const { Properties: properties } of backlog) {
      expect(properties).toMatchObject({
        Namespace: 'AWS/AmazonMQ',
        Statistic: 'Minimum',
        Period: 300,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        Threshold: 1000,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
      expect(properties.Dimensions).toEqual(
        expect.arrayContaining([
          { Name: 'Broker', Value: expect.stringMatching(/^Hipochatprod-Broker-/) },
          { Name: 'VirtualHost', Value: '/' },
        ]),
      );
    }
  });

  it('raises FanoutThrottles on any throttle of the fan-out function', () => {
    expect(alarm(dev, 'Throttles', 'AWS/Lambda')).toMatchObject({
      Statistic: 'Sum',
      Threshold: 1,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: expect.stringMatching(/^FanoutFunction/) } }],
    });
  });

  it('keeps the dead-letter queue depth alarm (the broker dead-letters too, unseen by the fan-out)', () => {
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/AmazonMQ',
      MetricName: 'MessageCount',
      Dimensions: Match.arrayWith([{ Name: 'Queue', Value: 'hipochat.dead' }]),
    });
  });

  it('describes what to do in every alarm', () => {
    for (const { Properties: properties } of alarmsOf(prod)) {
      expect(properties.AlarmDescription.length).toBeGreaterThan(40);
    }
  });

  it('sends every alarm, the new ones included, to the alarm topic', () => {
    const alarms = alarmsOf(prod);
    // 9 stage-wide, one backlog alarm per shard, CPU and memory per cache node.
    expect(alarms.length).toBe(9 + prod.config.fanoutShards + 2 * prod.config.cache.nodesPerShard);
    for (const { Properties: properties } of alarms) {
      expect(properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlarmsTopic/) }]);
      expect(properties.OKActions).toEqual([{ Ref: expect.stringMatching(/^AlarmsTopic/) }]);
    }
  });
});
