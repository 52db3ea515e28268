import { envSchema } from '../../lambdas/core/config.js';
import { routes } from '../../lambdas/routes.js';
import { actionsOf, devStack, functionLogicalId, resourcesOf } from '../support/stack-template.js';
import { roleStatements } from './synth.js';

describe('ChatStack (dev profile)', () => {
  const dev = devStack();

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
      const statements = roleStatements(dev, functionId).filter((statement) =>
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
    const statements = roleStatements(dev, functionLogicalId(dev, 'fanout'));
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

  it('sets a retention period on every log group and gives every function its own', () => {
    const groups = Object.values(resourcesOf(dev.template, 'AWS::Logs::LogGroup'));
    expect(groups.length).toBeGreaterThanOrEqual(routes.length + 3);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(dev.config.logRetentionDays);
  });
});
