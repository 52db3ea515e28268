import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { LEGACY_REWRITE_CODE } from '../../infra/constructs/legacy-domain.js';
import { envSchema } from '../../lambdas/core/config.js';
import { httpRoutes, routes, webSocketRoutes } from '../../lambdas/routes.js';
import { SYNTH_TIMEOUT_MS, type Synthesized, synth } from './synth.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped; tests index into it.
type Json = any;
type Resources = Record<string, { Type: string; Properties: Record<string, Json>; DependsOn?: string[] }>;

function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

function functionLogicalId(deployment: Synthesized, routeName: string): string {
  const fn = deployment.stack.functions.get(routeName);
  if (!fn) throw new Error(`no function for route ${routeName}`);
  return deployment.stack.getLogicalId(fn.node.defaultChild as CfnFunction);
}

function roleLogicalIdOf(deployment: Synthesized, functionId: string): string {
  const fn = deployment.template.toJSON().Resources[functionId];
  return fn.Properties.Role['Fn::GetAtt'][0];
}

/** Statements of every inline policy attached to `roleId`. */
function statementsOf(template: Template, roleId: string): Array<Record<string, Json>> {
  return Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
    .filter((policy) => policy.Properties.Roles.some((role: { Ref: string }) => role.Ref === roleId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

function actionsOf(statement: Record<string, Json>): string[] {
  return [statement.Action].flat();
}

describe('ChatStack (dev profile)', () => {
  let dev: Synthesized;
  beforeAll(() => {
    // The node-based cache (the serverless one: test/infra/upgrades.test.ts).
    dev = synth({ cache: 'nodes' });
  }, SYNTH_TIMEOUT_MS);

  it.each(httpRoutes.map((route) => [route.method, route.path, route.name]))(
    'routes %s %s of the HTTP API to the %s function',
    (method, path, name) => {
      // Prepare
      const integrations = resourcesOf(dev.template, 'AWS::ApiGatewayV2::Integration');
      const functionId = functionLogicalId(dev, name);

      // Act
      const route = Object.values(resourcesOf(dev.template, 'AWS::ApiGatewayV2::Route')).find(
        (candidate) => candidate.Properties.RouteKey === `${method} ${path}`,
      );

      // Assess
      expect(route).toBeDefined();
      const integrationId = route!.Properties.Target['Fn::Join'][1][1].Ref;
      expect(integrations[integrationId]!.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: { 'Fn::GetAtt': [functionId, 'Arn'] },
      });
    },
  );

  it('serves the live-signal routes, and lets only /talk/disconnect among them close connections', () => {
    const keys = Object.values(resourcesOf(dev.template, 'AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties.RouteKey,
    );
    expect(keys).toEqual(
      expect.arrayContaining([
        'GET /talk/presence/{room+}',
        'GET /talk/receipts/{room+}',
        'POST /talk/broadcast',
        'POST /talk/disconnect/{user+}',
      ]),
    );
    const managing = httpRoutes.filter((route) => route.managesConnections).map((route) => route.name);
    expect(managing).toEqual(['unsubscribe', 'disconnect-user', 'ban']);
  });

  it('serves mute, ban and the moderation list on the service key; only ban closes connections', () => {
    const keys = Object.values(resourcesOf(dev.template, 'AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties.RouteKey,
    );
    expect(keys).toEqual(
      expect.arrayContaining([
        'POST /talk/mute/{path+}',
        'POST /talk/ban/{path+}',
        'GET /talk/moderation/{room+}',
      ]),
    );
    const secrets = (name: string) => httpRoutes.find((route) => route.name === name)?.secrets;
    expect(secrets('mute')).toEqual(['cache', 'serviceKey']);
    expect(secrets('ban')).toEqual(['cache', 'broker', 'serviceKey']);
    expect(secrets('moderation')).toEqual(['cache', 'serviceKey']);
  });

  it('serves the moderation routes that edit and delete messages, on the service key', () => {
    const keys = Object.values(resourcesOf(dev.template, 'AWS::ApiGatewayV2::Route')).map(
      (route) => route.Properties.RouteKey,
    );
    expect(keys).toEqual(expect.arrayContaining(['POST /talk/edit/{room+}', 'POST /talk/delete/{room+}']));
    for (const name of ['edit', 'delete']) {
      expect(httpRoutes.find((route) => route.name === name)?.secrets).toEqual([
        'cache',
        'broker',
        'serviceKey',
      ]);
    }
  });

  it.each(webSocketRoutes.map((route) => [route.routeKey, route.name, route.returnResponse]))(
    'routes %s of the WebSocket API to the %s function (route response: %s)',
    (routeKey, name, returnResponse) => {
      const route = Object.entries(resourcesOf(dev.template, 'AWS::ApiGatewayV2::Route')).find(
        ([, candidate]) => candidate.Properties.RouteKey === routeKey,
      );
      expect(route).toBeDefined();
      const [routeId, { Properties: properties }] = route!;
      const integrationId = properties.Target['Fn::Join'][1][1].Ref;
      expect(dev.template.toJSON().Resources[integrationId].Properties.IntegrationUri).toEqual(
        expect.objectContaining({
          'Fn::Join': expect.arrayContaining([
            expect.arrayContaining([{ 'Fn::GetAtt': [functionLogicalId(dev, name), 'Arn'] }]),
          ]),
        }),
      );
      const responses = Object.values(resourcesOf(dev.template, 'AWS::ApiGatewayV2::RouteResponse')).filter(
        (response) => response.Properties.RouteId.Ref === routeId,
      );
      expect(responses).toHaveLength(returnResponse ? 1 : 0);
    },
  );

  it('puts the REQUEST authorizer of the routes table on $connect only', () => {
    const authorizerRoute = routes.find((route) => route.kind === 'authorizer')!;
    const authorizers = resourcesOf(dev.template, 'AWS::ApiGatewayV2::Authorizer');
    expect(Object.keys(authorizers)).toHaveLength(1);
    const [authorizerId, authorizer] = Object.entries(authorizers)[0]!;
    // No identity source: a connection may name `?room=`, `?rooms=` or neither.
    expect(authorizerRoute.identitySource).toEqual([]);
    expect(authorizer.Properties).toMatchObject({ AuthorizerType: 'REQUEST' });
    expect(authorizer.Properties.IdentitySource).toBeUndefined();
    expect(authorizer.Properties.AuthorizerResultTtlInSeconds).toBeUndefined();
    expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toContain(
      functionLogicalId(dev, authorizerRoute.name),
    );
    const authorized = Object.values(resourcesOf(dev.template, 'AWS::ApiGatewayV2::Route')).filter(
      (route) => route.Properties.AuthorizerId !== undefined,
    );
    expect(authorized.map((route) => route.Properties.RouteKey)).toEqual(['$connect']);
    expect(authorized[0]!.Properties).toMatchObject({
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: authorizerId },
    });
  });

  it('creates one function per route of the table, Node.js 24 on ARM64 with tracing, in the VPC', () => {
    for (const route of routes) {
      const fn = dev.template.toJSON().Resources[functionLogicalId(dev, route.name)];
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        VpcConfig: { SubnetIds: expect.any(Array), SecurityGroupIds: [expect.anything()] },
        LoggingConfig: { LogGroup: expect.anything(), LogFormat: 'JSON' },
      });
    }
  });

  it('builds function environments only from config schema names and secret ARNs, never secret values', () => {
    const allowed = new Set([...Object.keys(envSchema.shape), 'HIPOCHAT_STAGE', 'NODE_OPTIONS']);
    for (const route of routes) {
      const variables =
        dev.template.toJSON().Resources[functionLogicalId(dev, route.name)].Properties.Environment.Variables;
      for (const name of Object.keys(variables)) expect(allowed).toContain(name);
      expect(JSON.stringify(variables)).not.toContain('resolve:secretsmanager');
      expect(variables).toMatchObject({
        HIPOCHAT_REDIS_URL: expect.objectContaining({ 'Fn::Join': expect.anything() }),
        HIPOCHAT_REDIS_CLUSTER: 'false',
        HIPOCHAT_FANOUT_SHARDS: String(dev.config.fanoutShards),
        HIPOCHAT_STAGE: dev.config.stageName,
      });
    }
  });

  it('grants execute-api:ManageConnections only to the functions that manage connections, on this stage only', () => {
    const stage = dev.config.stageName;
    for (const route of routes) {
      const functionId = functionLogicalId(dev, route.name);
      const statements = statementsOf(dev.template, roleLogicalIdOf(dev, functionId)).filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('execute-api:')),
      );
      const variables = dev.template.toJSON().Resources[functionId].Properties.Environment.Variables;
      if (!route.managesConnections) {
        expect(statements).toEqual([]);
        expect(variables.HIPOCHAT_CONNECTIONS_URL).toBeUndefined();
        continue;
      }
      expect(statements).toHaveLength(1);
      expect(actionsOf(statements[0]!)).toEqual(['execute-api:ManageConnections']);
      const resources = [statements[0]!.Resource].flat().map((resource) => JSON.stringify(resource));
      expect(resources).toHaveLength(3);
      for (const method of ['POST', 'GET', 'DELETE']) {
        const resource = resources.find((candidate) => candidate.includes(`/${method}/`));
        expect(resource).toMatch(/execute-api:/);
        expect(resource).toContain(`/${stage}/${method}/@connections/*`);
      }
      expect(resources).not.toContain('"*"');
      expect(JSON.stringify(variables.HIPOCHAT_CONNECTIONS_URL)).toContain(`/${stage}`);
    }
  });

  it('maps every shard queue to the fan-out function with the broker secret and virtual host', () => {
    const mappings = Object.values(resourcesOf(dev.template, 'AWS::Lambda::EventSourceMapping'));
    const fanoutId = functionLogicalId(dev, 'fanout');
    const brokerSecret = dev.stack.getLogicalId(
      dev.stack.broker.runtimeCredentials.node.defaultChild as never,
    );
    expect(mappings.map((mapping) => mapping.Properties.Queues)).toEqual(
      Array.from({ length: dev.config.fanoutShards }, (_, shard) => [`hipochat.fanout.${shard}`]),
    );
    for (const mapping of mappings) {
      expect(mapping.Properties).toMatchObject({
        FunctionName: { Ref: fanoutId },
        EventSourceArn: { 'Fn::GetAtt': [expect.stringMatching(/^Broker/), 'Arn'] },
        BatchSize: dev.config.batchSize,
        MaximumBatchingWindowInSeconds: dev.config.batchWindowSeconds,
        SourceAccessConfigurations: [
          { Type: 'BASIC_AUTH', URI: { Ref: brokerSecret } },
          { Type: 'VIRTUAL_HOST', URI: '/' },
        ],
      });
      // Queues must exist before Lambda polls them.
      expect(mapping.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/^Topology/)]));
    }
  });

  it('gives the fan-out role what Amazon MQ event sources need', () => {
    const statements = statementsOf(dev.template, roleLogicalIdOf(dev, functionLogicalId(dev, 'fanout')));
    const actions = statements.flatMap(actionsOf);
    expect(actions).toEqual(
      expect.arrayContaining([
        'mq:DescribeBroker',
        'secretsmanager:GetSecretValue',
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSecurityGroups',
        'ec2:DescribeSubnets',
        'ec2:DescribeVpcs',
      ]),
    );
    const describeBroker = statements.find((statement) =>
      actionsOf(statement).includes('mq:DescribeBroker'),
    )!;
    expect(describeBroker.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Broker/), 'Arn'] });
  });

  it('declares the broker topology at deploy time with the shard count and delivery limit', () => {
    dev.template.hasResourceProperties('Custom::HipochatTopology', {
      Shards: dev.config.fanoutShards,
      DeliveryLimit: dev.config.deliveryLimit,
    });
  });

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

  it('sets a retention period on every log group and gives every function its own', () => {
    const groups = Object.values(resourcesOf(dev.template, 'AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThanOrEqual(routes.length + 3);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(dev.config.logRetentionDays);
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

  it.each([
    ['WebSocketUrl', 'wss://', `/${'dev'}`],
    ['HttpUrl', 'https://', '/'],
    ['ConnectionsUrl', 'https://', `/${'dev'}`],
  ])('outputs %s', (name, scheme, suffix) => {
    const output = dev.template.findOutputs(name)[name];
    const parts = output.Value['Fn::Join'][1] as unknown[];
    expect(parts[0]).toBe(scheme);
    expect(parts.at(-1)).toBe(suffix);
  });

  it('has no legacy CloudFront domain unless asked', () => {
    dev.template.resourceCountIs('AWS::CloudFront::Distribution', 0);
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

describe('LegacyDomain', () => {
  let legacy: Synthesized;
  beforeAll(() => {
    legacy = synth({ legacyDomain: 'true' });
  }, SYNTH_TIMEOUT_MS);

  it('sends /talk/chat/* to the WebSocket stage through the rewrite function and /talk/* to the HTTP API', () => {
    const distribution = Object.values(resourcesOf(legacy.template, 'AWS::CloudFront::Distribution'))[0]!;
    const config = distribution.Properties.DistributionConfig;
    const behaviors = config.CacheBehaviors as Array<Record<string, Json>>;
    expect(behaviors.map((behavior) => behavior.PathPattern)).toEqual(['/talk/chat/*', '/talk/*']);
    expect(behaviors[0]!.FunctionAssociations).toEqual([
      { EventType: 'viewer-request', FunctionARN: expect.anything() },
    ]);
    const socketOrigin = config.Origins.find((origin: Json) => origin.Id === behaviors[0]!.TargetOriginId);
    expect(socketOrigin.OriginPath).toBe(`/${legacy.config.stageName}`);
    legacy.template.hasOutput('LegacyUrl', {});
  });

  it.each([
    ['/talk/chat/lobby/', { room: { value: 'lobby' }, token: { value: 'T' } }],
    ['/talk/chat/lobby', { room: { value: 'lobby' }, token: { value: 'T' } }],
  ])('rewrites %s to the stage root with ?room=', (uri, querystring) => {
    // Prepare
    const handler = new Function(`${LEGACY_REWRITE_CODE}; return handler;`)() as (event: unknown) => Json;

    // Act
    const request = handler({ request: { uri, querystring: { token: { value: 'T' } } } });

    // Assess
    expect(request).toEqual({ uri: '/', querystring });
  });

  it.each(['/talk/chat/a/b/', '/talk/chat/'])('answers 404 for %s', (uri) => {
    const handler = new Function(`${LEGACY_REWRITE_CODE}; return handler;`)() as (event: unknown) => Json;
    expect(handler({ request: { uri, querystring: {} } })).toMatchObject({ statusCode: 404 });
  });
});
