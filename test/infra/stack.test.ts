import { Match } from 'aws-cdk-lib/assertions';
import { devStack, resourcesOf } from '../support/stack-template.js';
import { SYNTH_TIMEOUT_MS, type Synthesized, synth } from './synth.js';

describe('ChatStack (dev profile)', () => {
  const dev = devStack();

  it('encrypts the cache in transit and at rest, behind an AUTH token and a non-default port', () => {
    dev.template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
      AuthToken: Match.objectLike({
        'Fn::Join': Match.arrayWith([Match.arrayWith(['{{resolve:secretsmanager:'])]),
      }),
      Port: 6380,
    });
  });

  it.each([
    ['cache', 6380, 'Cache'],
    ['broker', 5671, 'Broker'],
  ])('admits only the functions (and topology) security groups to the %s port', (_name, port, prefix) => {
    const functionsGroup = dev.stack.getLogicalId(
      dev.stack.network.functionSecurityGroup.node.defaultChild as never,
    );
    const topologyGroup = dev.stack.getLogicalId(dev.stack.topology.securityGroup.node.defaultChild as never);
    const ingress = Object.values(resourcesOf(dev.template, 'AWS::EC2::SecurityGroupIngress')).filter(
      (rule) =>
        rule.Properties.GroupId['Fn::GetAtt'][0].startsWith(prefix) && rule.Properties.FromPort === port,
    );
    expect(ingress.length).toBeGreaterThan(0);
    for (const rule of ingress) {
      expect(rule.Properties.CidrIp).toBeUndefined();
      expect(rule.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]).toMatch(
        new RegExp(`^(${functionsGroup}|${topologyGroup}|${prefix})`),
      );
    }
  });

  it('keeps the broker private, on RabbitMQ 3.13 with generated credentials and general logs', () => {
    dev.template.hasResourceProperties('AWS::AmazonMQ::Broker', {
      PubliclyAccessible: false,
      EngineType: 'RABBITMQ',
      EngineVersion: '3.13',
      DeploymentMode: 'SINGLE_INSTANCE',
      HostInstanceType: 'mq.t3.micro',
      SubnetIds: [Match.anyValue()],
      Logs: { General: true },
      Users: [
        {
          Username: Match.objectLike({
            'Fn::Join': Match.arrayWith([Match.arrayWith([':SecretString:username::}}'])]),
          }),
          Password: Match.objectLike({
            'Fn::Join': Match.arrayWith([Match.arrayWith([':SecretString:password::}}'])]),
          }),
        },
      ],
    });
  });

  it('throttles and access-logs both API stages', () => {
    for (const stage of Object.values(resourcesOf(dev.template, 'AWS::ApiGatewayV2::Stage'))) {
      expect(stage.Properties).toMatchObject({
        AutoDeploy: true,
        DefaultRouteSettings: {
          ThrottlingRateLimit: expect.any(Number),
          ThrottlingBurstLimit: expect.any(Number),
        },
        AccessLogSettings: {
          DestinationArn: expect.anything(),
          Format: expect.stringContaining('$context.requestId'),
        },
      });
    }
  });

  it.each([
    ['AWS/Lambda', 'Errors'],
    ['AWS/Lambda', 'Duration'],
    ['AWS/AmazonMQ', 'MessageCount'],
    ['AWS/ApiGateway', 'ClientError'],
    ['AWS/ApiGateway', '4xx'],
    ['AWS/ElastiCache', 'EngineCPUUtilization'],
    ['AWS/ElastiCache', 'DatabaseMemoryUsagePercentage'],
  ])('alarms on %s %s', (namespace, metricName) => {
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: namespace,
      MetricName: metricName,
    });
  });

  it('watches the dead-letter queue by its broker metric dimensions', () => {
    dev.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/AmazonMQ',
      Dimensions: Match.arrayWith([
        { Name: 'Queue', Value: 'hipochat.dead' },
        { Name: 'VirtualHost', Value: '/' },
      ]),
    });
  });

  it('creates no alarm topic without an alarm email', () => {
    dev.template.resourceCountIs('AWS::SNS::Topic', 0);
  });
});

describe('ChatStack profiles', () => {
  let dev: Synthesized;
  let prod: Synthesized;
  beforeAll(() => {
    dev = synth({ profile: 'dev', cache: 'nodes' });
    prod = synth({ profile: 'prod', cache: 'nodes', alarmEmail: 'ops@example.com' });
  }, SYNTH_TIMEOUT_MS);

  const property = (deployment: Synthesized, type: string, name: string) =>
    Object.values(resourcesOf(deployment.template, type))[0]!.Properties[name];

  it.each([
    [
      'broker deployment mode',
      'AWS::AmazonMQ::Broker',
      'DeploymentMode',
      'SINGLE_INSTANCE',
      'CLUSTER_MULTI_AZ',
    ],
    ['broker instance type', 'AWS::AmazonMQ::Broker', 'HostInstanceType', 'mq.t3.micro', 'mq.m7g.large'],
    [
      'cache node type',
      'AWS::ElastiCache::ReplicationGroup',
      'CacheNodeType',
      'cache.t4g.micro',
      'cache.m7g.large',
    ],
    ['cache multi-AZ', 'AWS::ElastiCache::ReplicationGroup', 'MultiAZEnabled', false, true],
    ['cache failover', 'AWS::ElastiCache::ReplicationGroup', 'AutomaticFailoverEnabled', false, true],
    ['cache nodes', 'AWS::ElastiCache::ReplicationGroup', 'NumCacheClusters', 1, 2],
  ])('differs in %s', (_what, type, name, devValue, prodValue) => {
    expect(property(dev, type, name)).toEqual(devValue);
    expect(property(prod, type, name)).toEqual(prodValue);
  });

  it('acknowledges writes once a replica holds them in prod, where the cache has one, and not in dev', () => {
    const variables = (deployment: Synthesized) =>
      Object.values(resourcesOf(deployment.template, 'AWS::Lambda::Function'))
        .map((f) => f.Properties.Environment?.Variables ?? {})
        .filter((v) => v.HIPOCHAT_REDIS_URL !== undefined);
    expect(variables(prod).length).toBeGreaterThan(0);
    for (const v of variables(prod)) {
      expect(v).toMatchObject({ HIPOCHAT_REDIS_WAIT_REPLICAS: '1', HIPOCHAT_REDIS_WAIT_MS: '100' });
    }
    for (const v of variables(dev)) expect(v.HIPOCHAT_REDIS_WAIT_REPLICAS).toBeUndefined();
    // Serverless Valkey (prod's default cache) replicates on its own and takes no WAIT.
    for (const v of variables(synth({ profile: 'prod' })))
      expect(v.HIPOCHAT_REDIS_WAIT_REPLICAS).toBeUndefined();
  });

  it('runs one NAT instance in dev and a NAT gateway per Availability Zone in prod', () => {
    dev.template.resourceCountIs('AWS::EC2::NatGateway', 0);
    dev.template.resourceCountIs('AWS::EC2::Instance', 1);
    prod.template.resourceCountIs('AWS::EC2::NatGateway', 2);
    prod.template.resourceCountIs('AWS::EC2::Instance', 0);
  });

  it('makes the dev NAT instance a t4g.nano on ARM Amazon Linux 2023 with an encrypted gp3 root', () => {
    // Prepare
    const [[instanceId, instance]] = Object.entries(resourcesOf(dev.template, 'AWS::EC2::Instance'));

    // Assess
    expect(instance!.Properties).toMatchObject({
      InstanceType: 't4g.nano',
      SourceDestCheck: false,
      CreditSpecification: { CPUCredits: 'standard' },
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: 8 } },
      ],
    });
    const imageParameter = instance!.Properties.ImageId.Ref;
    expect(dev.template.toJSON().Parameters[imageParameter].Default).toMatch(/al2023-ami-.*arm64$/);
    const privateRoutes = Object.values(resourcesOf(dev.template, 'AWS::EC2::Route')).filter(
      (route) => route.Properties.InstanceId !== undefined,
    );
    expect(privateRoutes).toHaveLength(2);
    for (const route of privateRoutes) expect(route.Properties.InstanceId).toEqual({ Ref: instanceId });
  });

  it('admits only HTTPS from the VPC to the dev NAT instance', () => {
    const natGroup = Object.entries(resourcesOf(dev.template, 'AWS::EC2::SecurityGroup')).find(([id]) =>
      id.includes('NatSecurityGroup'),
    );
    expect(natGroup).toBeDefined();
    expect(natGroup![1].Properties.SecurityGroupIngress).toEqual([
      expect.objectContaining({ CidrIp: '10.40.0.0/16', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
    ]);
  });

  it('reads secrets through the Secrets Manager endpoint in prod and through the NAT in dev', () => {
    dev.template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    prod.template.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    const [endpoint] = Object.values(resourcesOf(prod.template, 'AWS::EC2::VPCEndpoint'));
    expect(endpoint!.Properties).toMatchObject({ VpcEndpointType: 'Interface', PrivateDnsEnabled: true });
    expect(JSON.stringify(endpoint!.Properties.ServiceName)).toContain('.secretsmanager');
  });

  it('spreads the prod broker over both private subnets', () => {
    expect(property(prod, 'AWS::AmazonMQ::Broker', 'SubnetIds')).toHaveLength(2);
  });

  it('sends every prod alarm to the alarm topic, which mails the operator', () => {
    prod.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    for (const alarm of Object.values(resourcesOf(prod.template, 'AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlarmsTopic/) }]);
    }
  });

  it('alarms on CPU and memory of every prod cache node', () => {
    const cpu = Object.values(resourcesOf(prod.template, 'AWS::CloudWatch::Alarm')).filter(
      (alarm) => alarm.Properties.MetricName === 'EngineCPUUtilization',
    );
    expect(cpu).toHaveLength(2);
  });
});

describe('ChatStack context', () => {
  it(
    'takes shards, batch size and window from context',
    () => {
      const { template } = synth({ shards: '6', batchSize: '50', batchWindowSeconds: '2', stage: 'staging' });
      const mappings = Object.values(resourcesOf(template, 'AWS::Lambda::EventSourceMapping'));
      expect(mappings).toHaveLength(6);
      for (const mapping of mappings) {
        expect(mapping.Properties).toMatchObject({ BatchSize: 50, MaximumBatchingWindowInSeconds: 2 });
      }
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: 'staging' });
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'switches the cache and the functions to cluster mode',
    () => {
      const { template } = synth({ cache: 'nodes', redisClusterMode: 'true', redisShards: '3' });
      template.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        ClusterMode: 'enabled',
        NumNodeGroups: 3,
        AutomaticFailoverEnabled: true,
        CacheParameterGroupName: 'default.valkey8.cluster.on',
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ HIPOCHAT_REDIS_CLUSTER: 'true' }) },
      });
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'passes profile and push URLs and closed rooms to the functions',
    () => {
      const { template } = synth({
        profileUrl: 'https://accounts.example.com/api/me',
        pushUrl: 'https://push.example.com/hook',
        closedRooms: 'staff,vip*',
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            HIPOCHAT_PROFILE_URL: 'https://accounts.example.com/api/me',
            HIPOCHAT_PUSH_NOTIFICATION_URL: 'https://push.example.com/hook',
            HIPOCHAT_CLOSED_ROOMS: 'staff,vip*',
          }),
        },
      });
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'overrides the dev NAT instance and endpoint choice from context',
    () => {
      const { template } = synth({ natProvider: 'gateway', secretsEndpoint: 'true' });
      template.resourceCountIs('AWS::EC2::NatGateway', 1);
      template.resourceCountIs('AWS::EC2::Instance', 0);
      template.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    },
    SYNTH_TIMEOUT_MS,
  );

  it.each([
    [{ profile: 'staging' }, /^-c profile must be one of dev, prod, got "staging"$/],
    [{ natProvider: 'nat' }, /^-c natProvider must be one of gateway, instance, got "nat"$/],
    [{ natInstanceType: 'nano' }, /^-c natInstanceType must be an EC2 instance type such as t4g.nano/],
    [{ secretsEndpoint: 'maybe' }, /^-c secretsEndpoint must be true or false, got "maybe"$/],
    [{ shards: '0' }, /^-c shards must be an integer from 1 to 64, got 0$/],
    [{ logRetentionDays: '13' }, /^-c logRetentionDays must be one of 1, 3, .*, got 13$/],
    [{ profileUrl: 'ftp://example.com' }, /^-c profileUrl must be an https:\/\/ URL/],
    [
      { legacyDomain: 'true', legacyDomainName: 'chat.example.com' },
      /-c legacyDomainName needs legacyCertificateArn/,
    ],
  ])('refuses context %j with a clear message', (context, message) => {
    expect(() => synth(context)).toThrow(message);
  });
});
