import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { RUNTIME_USERNAME } from '../../infra/constructs/broker.js';
import { type RouteSecret, routes } from '../../lambdas/routes.js';
import {
  type Json,
  logicalId,
  resources,
  roleStatements,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synth,
} from './synth.js';

const VARIABLE: Record<RouteSecret, string> = {
  cache: 'HIPOCHAT_REDIS_AUTH_SECRET_ARN',
  broker: 'HIPOCHAT_RABBIT_SECRET_ARN',
  serviceKey: 'HIPOCHAT_SERVICE_KEY_SECRET_ARN',
  pushKey: 'HIPOCHAT_PUSH_SECRET_ARN',
};

function secretsOf(deployment: Synthesized): Record<RouteSecret | 'admin', string> {
  const { stack } = deployment;
  const id = (secret: ISecret) => logicalId(deployment, secret);
  return {
    cache: id(stack.redis.authSecret),
    broker: id(stack.broker.runtimeCredentials),
    serviceKey: id(stack.serviceKey),
    pushKey: id(stack.pushKey),
    admin: id(stack.broker.adminCredentials),
  };
}

/** Logical ids of the secrets a function's role may read. */
function readableSecrets(deployment: Synthesized, functionId: string): string[] {
  return roleStatements(deployment, functionId)
    .filter((statement) => [statement.Action].flat().includes('secretsmanager:GetSecretValue'))
    .flatMap((statement) => [statement.Resource].flat().map((resource: Json) => resource.Ref))
    .sort();
}

function functionIds(deployment: Synthesized): Record<string, string> {
  return Object.fromEntries(
    [...deployment.stack.functions.entries()].map(([name, fn]) => [name, logicalId(deployment, fn)]),
  );
}

describe('Per-function secrets (from the routes table)', () => {
  let dev: Synthesized;
  beforeAll(() => {
    dev = synth();
  }, SYNTH_TIMEOUT_MS);

  it.each(routes.map((route) => [route.name, route.secrets] as const))(
    'lets %s read exactly %j',
    (name, secrets) => {
      const ids = secretsOf(dev);
      const functionId = functionIds(dev)[name]!;
      expect(readableSecrets(dev, functionId)).toEqual(secrets.map((secret) => ids[secret]).sort());
      const variables = resources(dev)[functionId].Properties.Environment.Variables;
      const secretVariables = Object.keys(variables).filter((variable) => variable.endsWith('_SECRET_ARN'));
      expect(secretVariables.sort()).toEqual(secrets.map((secret) => VARIABLE[secret]).sort());
      for (const secret of secrets) expect(variables[VARIABLE[secret]]).toEqual({ Ref: ids[secret] });
    },
  );

  it('gives the authorizer neither the broker nor the push secret', () => {
    const authorizer = routes.find((route) => route.kind === 'authorizer')!;
    expect(authorizer.secrets).not.toContain('broker');
    expect(authorizer.secrets).not.toContain('pushKey');
  });

  it("lets only the publishers (messages, presence and read signals, edits and deletes, a ban's leaves) use the broker", () => {
    expect(routes.filter((route) => route.secrets.includes('broker')).map((route) => route.name)).toEqual([
      'connect',
      'message',
      'disconnect',
      'old',
      'item',
      'unread',
      'unsubscribe',
      'presence',
      'edit',
      'delete',
      'broadcast',
      'disconnect-user',
      'ban',
      'fanout',
    ]);
  });

  it('gives the push key only to the fan-out and to the functions that ask the moderation hook', () => {
    expect(routes.filter((route) => route.secrets.includes('pushKey')).map((route) => route.name)).toEqual([
      'message',
      'item',
      'fanout',
    ]);
  });
});

describe('Broker runtime user (not an administrator)', () => {
  let dev: Synthesized;
  let rotated: Synthesized;
  beforeAll(() => {
    dev = synth();
    rotated = synth({ brokerUserRevision: '3' });
  }, SYNTH_TIMEOUT_MS);

  it('keeps the administrator and the runtime user in two generated secrets', () => {
    const ids = secretsOf(dev);
    const template = (id: string) =>
      JSON.parse(resources(dev)[id].Properties.GenerateSecretString.SecretStringTemplate);
    expect(template(ids.admin)).toEqual({ username: 'hipochat' });
    expect(template(ids.broker)).toEqual({ username: RUNTIME_USERNAME });
  });

  it('lets only the topology custom resource read the administrator secret', () => {
    const admin = secretsOf(dev).admin;
    const readers = Object.entries(resources(dev))
      .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function')
      .filter(([id]) => readableSecrets(dev, id).includes(admin))
      .map(([id]) => id);
    expect(readers).toEqual([logicalId(dev, dev.stack.topology.handler)]);
  });

  it('creates the runtime user from the topology custom resource, which may only rotate that secret', () => {
    const ids = secretsOf(dev);
    dev.template.hasResourceProperties('Custom::HipochatTopology', {
      RuntimeUser: { Ref: ids.broker },
      RuntimeUserRevision: 0,
    });
    const writes = roleStatements(dev, logicalId(dev, dev.stack.topology.handler)).filter((statement) =>
      [statement.Action].flat().some((action: string) => /^secretsmanager:(Put|Update)/.test(action)),
    );
    expect(writes).toEqual([
      expect.objectContaining({
        Action: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        Resource: { Ref: ids.broker },
      }),
    ]);
  });

  it('connects the event source mappings as the runtime user', () => {
    const ids = secretsOf(dev);
    for (const mapping of Object.values(
      dev.template.findResources('AWS::Lambda::EventSourceMapping'),
    ) as Json[]) {
      expect(mapping.Properties.SourceAccessConfigurations).toContainEqual({
        Type: 'BASIC_AUTH',
        URI: { Ref: ids.broker },
      });
    }
  });

  it('opens the management port (443) of the broker to the custom resource function only', () => {
    const broker = logicalId(dev, dev.stack.broker.securityGroup);
    const topology = logicalId(dev, dev.stack.topology.securityGroup);
    const https = (
      Object.values(dev.template.findResources('AWS::EC2::SecurityGroupIngress')) as Json[]
    ).filter(
      (rule) => rule.Properties.GroupId['Fn::GetAtt'][0] === broker && rule.Properties.FromPort === 443,
    );
    expect(https).toHaveLength(1);
    expect(https[0].Properties.SourceSecurityGroupId).toEqual({ 'Fn::GetAtt': [topology, 'GroupId'] });
    const functionsGroup = resources(dev)[logicalId(dev, dev.stack.network.functionSecurityGroup)];
    expect(JSON.stringify(functionsGroup)).not.toContain(broker);
  });

  it('puts the custom resource function in its own group: HTTPS out and AMQPS to the broker', () => {
    const topology = logicalId(dev, dev.stack.topology.securityGroup);
    const group = resources(dev)[topology].Properties;
    expect(group.SecurityGroupEgress).toEqual([
      expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 }),
    ]);
    dev.template.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
      GroupId: { 'Fn::GetAtt': [topology, 'GroupId'] },
      FromPort: 5671,
      DestinationSecurityGroupId: {
        'Fn::GetAtt': [logicalId(dev, dev.stack.broker.securityGroup), 'GroupId'],
      },
    });
    const handler = resources(dev)[logicalId(dev, dev.stack.topology.handler)];
    expect(handler.Properties.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [topology, 'GroupId'] }]);
  });

  it('rotates with -c brokerUserRevision: the custom resource re-runs, then the broker users restart', () => {
    rotated.template.hasResourceProperties('Custom::HipochatTopology', { RuntimeUserRevision: 3 });
    const topology = logicalId(rotated, rotated.stack.topology.resource);
    for (const route of routes) {
      const fn = resources(rotated)[functionIds(rotated)[route.name]!];
      const usesBroker = route.secrets.includes('broker');
      expect(fn.Properties.Environment.Variables.HIPOCHAT_BROKER_USER_REVISION).toBe(
        usesBroker ? '3' : undefined,
      );
      if (usesBroker) expect(fn.DependsOn).toContain(topology);
    }
  });
});
