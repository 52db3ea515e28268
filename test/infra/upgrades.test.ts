import { BROKER_REPLACING_PROPERTIES } from '../../infra/constructs/broker.js';
import { MAX_STAGE_LENGTH } from '../../infra/context-schema.js';
import { type Json, resources, SYNTH_TIMEOUT_MS, type Synthesized, synth } from './synth.js';

/** Properties of AWS::Lambda::EventSourceMapping whose change replaces the mapping (CloudFormation resource spec). */
const MAPPING_REPLACING_PROPERTIES = [
  'EventSourceArn',
  'Queues',
  'SelfManagedEventSource',
  'StartingPosition',
  'StartingPositionTimestamp',
  'Topics',
] as const;

function ofType(deployment: Synthesized, type: string): [string, Json][] {
  return Object.entries(resources(deployment)).filter(([, resource]) => resource.Type === type);
}

/** Logical id and replacement-causing properties of every resource of `type`. */
function identities(deployment: Synthesized, type: string, replacing: readonly string[]): Json {
  return Object.fromEntries(
    ofType(deployment, type).map(([id, resource]) => [
      id,
      Object.fromEntries(replacing.map((name) => [name, resource.Properties[name]])),
    ]),
  );
}

const only = (deployment: Synthesized, type: string): Json => {
  const found = ofType(deployment, type);
  expect(found).toHaveLength(1);
  return found[0]![1];
};

/** The image id `cdk.context.json` recorded at the first synth with credentials. */
const PINNED_IMAGE = 'ami-0123456789abcdef0';
/** The SSM parameter of the latest ARM Amazon Linux 2023 image. */
const AL2023_ARM_PARAMETER = '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64';

/**
 * Synthesizes with a concrete account and region, as `cdk deploy` does with credentials, and the
 * lookups `cdk.context.json` would hold after the first one.
 */
function synthInAccount(context: Record<string, unknown>): Synthesized {
  const where = 'account=123456789012:region=us-east-1';
  const recorded = {
    [`availability-zones:${where}`]: ['us-east-1a', 'us-east-1b'],
    [`ssm:account=123456789012:parameterName=${AL2023_ARM_PARAMETER}:region=us-east-1`]: PINNED_IMAGE,
  };
  const saved = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  process.env.CDK_DEFAULT_ACCOUNT = '123456789012';
  process.env.CDK_DEFAULT_REGION = 'us-east-1';
  try {
    return synth({ ...recorded, ...context });
  } finally {
    for (const [key, value] of [
      ['CDK_DEFAULT_ACCOUNT', saved.account],
      ['CDK_DEFAULT_REGION', saved.region],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

describe('Profiles: broker and cache', () => {
  let dev: Synthesized;
  let prod: Synthesized;
  let nodes: Synthesized;
  beforeAll(() => {
    dev = synth();
    prod = synth({ profile: 'prod', stage: 'prod' });
    nodes = synth({ cache: 'nodes', apiGatewayAccount: 'false', brokerGeneration: '1' });
  }, SYNTH_TIMEOUT_MS);

  it('runs prod on three mq.m7g.large nodes with RabbitMQ 4.2 and dev on the smallest broker with 3.13', () => {
    expect(only(prod, 'AWS::AmazonMQ::Broker').Properties).toMatchObject({
      HostInstanceType: 'mq.m7g.large',
      EngineVersion: '4.2',
      DeploymentMode: 'CLUSTER_MULTI_AZ',
    });
    expect(only(dev, 'AWS::AmazonMQ::Broker').Properties).toMatchObject({
      HostInstanceType: 'mq.t3.micro',
      EngineVersion: '3.13',
      DeploymentMode: 'SINGLE_INSTANCE',
    });
  });

  it('declares quorum shard queues in both profiles (the RabbitMQ 4.2 default, explicit on 3.13)', () => {
    for (const deployment of [dev, prod]) {
      expect(only(deployment, 'Custom::HipochatTopology').Properties.QueueType).toBe('quorum');
    }
  });

  it.each([
    ['dev', () => dev],
    ['prod', () => prod],
  ])('gives %s ElastiCache Serverless for Valkey over both AZs, with an RBAC user and TLS', (_name, of) => {
    const deployment = of();
    const cache = only(deployment, 'AWS::ElastiCache::ServerlessCache').Properties;
    expect(cache).toMatchObject({ Engine: 'valkey', MajorEngineVersion: '8' });
    expect(cache.SubnetIds).toHaveLength(2);
    // Retained data (prod): a final snapshot when the cache goes.
    expect(cache.FinalSnapshotName !== undefined).toBe(deployment.config.removalPolicy === 'retain');
    const users = ofType(deployment, 'AWS::ElastiCache::User').map(([, user]) => user.Properties);
    expect(users).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ UserName: 'default', AccessString: 'off -@all' }),
        expect.objectContaining({
          UserName: 'hipochat',
          AuthenticationMode: { Type: 'password', Passwords: [expect.anything()] },
        }),
      ]),
    );
    expect(ofType(deployment, 'AWS::ElastiCache::ReplicationGroup')).toHaveLength(0);
    const message =
      resources(deployment)[
        deployment.stack.getLogicalId(deployment.stack.functions.get('message')!.node.defaultChild as never)
      ];
    const env = message.Properties.Environment.Variables;
    expect(env.HIPOCHAT_REDIS_CLUSTER).toBe('true');
    expect(JSON.stringify(env.HIPOCHAT_REDIS_URL)).toContain('rediss://hipochat@');
    expect(JSON.stringify(env.HIPOCHAT_REDIS_URL)).toContain(':6379');
  });

  it('keeps the replication group with -c cache=nodes', () => {
    expect(ofType(nodes, 'AWS::ElastiCache::ServerlessCache')).toHaveLength(0);
    expect(only(nodes, 'AWS::ElastiCache::ReplicationGroup').Properties).toMatchObject({
      CacheNodeType: 'cache.t4g.micro',
      TransitEncryptionEnabled: true,
    });
  });

  it('watches the serverless cache for throttled commands instead of node CPU and memory', () => {
    const names = ofType(prod, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    const throttled = names.find((alarm: Json) => alarm.MetricName === 'ThrottledCmds');
    expect(throttled.Dimensions).toEqual([{ Name: 'clusterId', Value: expect.anything() }]);
    expect(names.some((alarm: Json) => alarm.MetricName === 'EngineCPUUtilization')).toBe(false);
  });

  it('sets the account-wide API Gateway logging role unless -c apiGatewayAccount=false', () => {
    expect(ofType(dev, 'AWS::ApiGateway::Account')).toHaveLength(1);
    expect(ofType(nodes, 'AWS::ApiGateway::Account')).toHaveLength(0);
    expect(ofType(nodes, 'AWS::IAM::Role').some(([id]) => id.includes('ApiGatewayLoggingRole'))).toBe(false);
  });

  it('names the broker after the stack only, with a suffix from -c brokerGeneration above 0', () => {
    const name = only(dev, 'AWS::AmazonMQ::Broker').Properties.BrokerName;
    expect(name).toMatch(/^Hipochatdev-Broker-[0-9A-F]{8}$/);
    expect(only(nodes, 'AWS::AmazonMQ::Broker').Properties.BrokerName).toMatch(
      /^Hipochatdev-Broker-[0-9A-F]{8}-g1$/,
    );
  });

  it('sets a retention on the general log group Amazon MQ creates for the broker', () => {
    const [brokerId] = ofType(dev, 'AWS::AmazonMQ::Broker')[0]!;
    const retention = only(dev, 'Custom::LogRetention').Properties;
    expect(retention.RetentionInDays).toBe(dev.config.logRetentionDays);
    expect(retention.LogGroupName).toEqual({
      'Fn::Join': ['', ['/aws/amazonmq/broker/', { 'Fn::GetAtt': [brokerId, 'Id'] }, '/general']],
    });
  });

  it('alarms on the broker-wide backlog on RabbitMQ 4 (no queue metrics) and on each queue on 3.13', () => {
    const alarms = (deployment: Synthesized) =>
      ofType(deployment, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    const prodBroker = alarms(prod).filter((alarm: Json) => alarm.Namespace === 'AWS/AmazonMQ');
    expect(prodBroker).toHaveLength(1);
    expect(prodBroker[0].Dimensions).toEqual([{ Name: 'Broker', Value: prod.stack.broker.brokerName }]);
    const devQueues = alarms(dev).filter((alarm: Json) => alarm.Namespace === 'AWS/AmazonMQ');
    expect(devQueues).toHaveLength(dev.config.fanoutShards + 1);
    for (const alarm of devQueues) {
      expect(alarm.Dimensions.map((dimension: Json) => dimension.Name).sort()).toEqual([
        'Broker',
        'Queue',
        'VirtualHost',
      ]);
    }
  });

  it('shows missing data of always-published broker metrics as missing, and of event counts as fine', () => {
    for (const alarm of ofType(prod, 'AWS::CloudWatch::Alarm').map(([, resource]) => resource.Properties)) {
      expect(alarm.TreatMissingData).toBe(alarm.Namespace === 'AWS/AmazonMQ' ? 'missing' : 'notBreaching');
    }
  });
});

describe('Upgrades keep the queue', () => {
  let prod: Synthesized;
  let changed: Synthesized;
  beforeAll(() => {
    prod = synth({ profile: 'prod', stage: 'prod' });
    // Code and configuration, sizes and alarms: everything an upgrade usually changes.
    changed = synth({
      profile: 'prod',
      stage: 'prod',
      chatEnv: '{"HIPOCHAT_LOG_LEVEL":"debug","HIPOCHAT_HISTORY_LIMIT":"500"}',
      brokerInstanceType: 'mq.m7g.xlarge',
      batchSize: '50',
      batchWindowSeconds: '1',
      deliveryConcurrency: '200',
      logRetentionDays: '30',
      alarmEmail: 'ops@example.com',
    });
  }, SYNTH_TIMEOUT_MS);

  it('never replaces the broker on a code, size or alarm change', () => {
    expect(identities(changed, 'AWS::AmazonMQ::Broker', BROKER_REPLACING_PROPERTIES)).toEqual(
      identities(prod, 'AWS::AmazonMQ::Broker', BROKER_REPLACING_PROPERTIES),
    );
    expect(only(changed, 'AWS::AmazonMQ::Broker').Properties.HostInstanceType).toBe('mq.m7g.xlarge');
  });

  it('never replaces an event source mapping on a code, size or alarm change', () => {
    const before = identities(prod, 'AWS::Lambda::EventSourceMapping', MAPPING_REPLACING_PROPERTIES);
    expect(Object.keys(before)).toHaveLength(prod.config.fanoutShards);
    expect(identities(changed, 'AWS::Lambda::EventSourceMapping', MAPPING_REPLACING_PROPERTIES)).toEqual(
      before,
    );
  });

  it('ties the mappings and the broker to no function, version or asset, so new code cannot replace them', () => {
    const [brokerId] = ofType(prod, 'AWS::AmazonMQ::Broker')[0]!;
    const referenced = (value: Json): string[] =>
      JSON.stringify(value)
        .match(/"(?:Ref|Fn::GetAtt)":\[?"([A-Za-z0-9]+)"/g)
        ?.map((match) => match.replace(/^.*"([A-Za-z0-9]+)"$/, '$1')) ?? [];
    for (const mapping of Object.values(
      identities(prod, 'AWS::Lambda::EventSourceMapping', MAPPING_REPLACING_PROPERTIES),
    )) {
      expect(new Set(referenced(mapping))).toEqual(new Set([brokerId]));
    }
  });
});

describe('Dev NAT instance', () => {
  let pinned: Synthesized;
  let refreshed: Synthesized;
  beforeAll(() => {
    pinned = synthInAccount({});
    refreshed = synthInAccount({ natAmiRefresh: 'true' });
  }, SYNTH_TIMEOUT_MS);

  it('waits for the instance to signal that it forwards, and fails the deploy otherwise', () => {
    const [id, instance] = ofType(pinned, 'AWS::EC2::Instance')[0]!;
    expect(instance.CreationPolicy).toEqual({ ResourceSignal: { Count: 1, Timeout: 'PT10M' } });
    const userData = JSON.stringify(instance.Properties.UserData);
    expect(userData).toContain('aws cloudformation signal-resource');
    expect(userData).toContain(`--logical-resource-id ${id}`);
    expect(userData).toContain('status=FAILURE');
    expect(userData).toMatch(/grep -q masquerade[\s\S]*status=SUCCESS/);
  });

  it('lets the instance signal its own stack only', () => {
    const statements = ofType(pinned, 'AWS::IAM::Policy')
      .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement)
      .filter((statement: Json) => statement.Action === 'cloudformation:SignalResource');
    expect(statements).toEqual([
      expect.objectContaining({ Effect: 'Allow', Resource: { Ref: 'AWS::StackId' } }),
    ]);
  });

  it('pins the Amazon Linux 2023 image at synth unless -c natAmiRefresh=true', () => {
    const imageOf = (deployment: Synthesized) =>
      ofType(deployment, 'AWS::EC2::Instance')[0]![1].Properties.ImageId;
    expect(imageOf(pinned)).toBe(PINNED_IMAGE);
    expect(imageOf(refreshed)).toEqual({ Ref: expect.stringContaining('al2023amikernel') });
  });
});

describe('Context validation', () => {
  it.each([
    [{ stage: 'my_stage' }, `-c stage must be 1-${MAX_STAGE_LENGTH} letters, digits or hyphens`],
    [
      { stage: 'a'.repeat(MAX_STAGE_LENGTH + 1) },
      `-c stage must be 1-${MAX_STAGE_LENGTH} letters, digits or hyphens`,
    ],
    [{ cache: 'redis' }, '-c cache must be one of serverless, nodes, got "redis"'],
    [{ apiGatewayAccount: 'maybe' }, '-c apiGatewayAccount must be true or false, got "maybe"'],
    [
      { brokerEngineVersion: '4.2' },
      '-c brokerInstanceType must be an mq.m7g type for RabbitMQ 4.2, got "mq.t3.micro"',
    ],
    [
      { profile: 'prod', queueType: 'classic' },
      '-c queueType must be quorum on a RabbitMQ 4.2 cluster (classic queues are not replicated), got "classic"',
    ],
  ])('refuses %j in one line', (context, message) => {
    let error: unknown;
    try {
      synth(context);
    } catch (caught) {
      error = caught;
    }
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).name).toBe('ContextError');
  });

  it('takes a stage of the longest length CDK allows in a stack name', () => {
    expect(MAX_STAGE_LENGTH).toBe(128 - 'Hipochat-'.length);
  });
});
