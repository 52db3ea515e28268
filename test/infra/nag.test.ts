import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnResource, Validations } from 'aws-cdk-lib';
import { Peer, Port, SecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { createChatApp } from '../../infra/chat-stack.js';
import { cdkJsonContext, projectRoot, SYNTH_TIMEOUT_MS, synth } from './synth.js';

const noBundling = { ...cdkJsonContext, 'aws:cdk:bundling-stacks': [] };

/** Violations left in the validation report after acknowledgements, per plugin. */
function unacknowledged(outdir: string): string[] {
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: Array<{
      pluginName?: string;
      summary?: { pluginName?: string };
      violations: Array<{ ruleName: string }>;
    }>;
  };
  return report.pluginReports.flatMap((plugin) => plugin.violations.map((violation) => violation.ruleName));
}

describe('cdk-nag AwsSolutions and template validation', () => {
  it.each([
    ['dev', {}],
    [
      'prod with alarms, cluster-mode cache and the legacy domain',
      {
        profile: 'prod',
        alarmEmail: 'ops@example.com',
        redisClusterMode: 'true',
        legacyDomain: 'true',
        corsOrigins: 'https://app.example.com',
      },
    ],
    [
      'dev with a NAT gateway and the Secrets Manager endpoint',
      { natProvider: 'gateway', secretsEndpoint: 'true' },
    ],
    [
      'prod with a custom legacy domain',
      {
        profile: 'prod',
        legacyDomain: 'true',
        legacyDomainName: 'chat.example.com',
        legacyCertificateArn:
          'arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000',
      },
    ],
  ])(
    'synthesizes %s with no unacknowledged finding',
    (_name, context) => {
      const { outdir } = synth(context);
      expect(unacknowledged(outdir)).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'fails synthesis on a finding nobody acknowledged',
    () => {
      // Prepare
      const { app, stack } = createChatApp({ projectRoot, context: noBundling });
      const open = new SecurityGroup(stack, 'WideOpen', { vpc: stack.network.vpc });
      open.addIngressRule(Peer.anyIpv4(), Port.tcp(22));

      // Act / Assess
      expect(() => app.synth()).toThrow(/AwsSolutions-EC23/);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'fails synthesis on a CloudFormation template validation finding',
    () => {
      const { app, stack } = createChatApp({ projectRoot, context: noBundling });
      new CfnResource(stack, 'Misspelled', { type: 'AWS::SNS::Topic', properties: { TopicNme: 'typo' } });
      expect(() => app.synth()).toThrow(/TopicNme.*CloudFormation Validate/);
    },
    SYNTH_TIMEOUT_MS,
  );

  it('treats template validation warnings as errors', () => {
    const { app } = createChatApp({ projectRoot, context: noBundling });
    expect(app.node.tryGetContext('@aws-cdk/core:strictCfnValidateErrors')).toBe(true);
    expect(app.node.tryGetContext('@aws-cdk/core:validateAgainstDefaultRules')).toBe(true);
  });

  it('acknowledges the NAT instance findings on the NAT instance only', () => {
    // Prepare
    const { app, stack } = createChatApp({ projectRoot, context: noBundling });

    // Act
    const holders = app.node.findAll().flatMap((construct) =>
      construct.node.metadata
        .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
        .filter((id) => /AwsSolutions-EC2[89]$/.test(id))
        .map((id) => `${id.replace(/^AwsSolutions::/, '')} ${construct.node.path}`),
    );

    // Assess
    const [nat] = stack.network.natInstances;
    expect(holders.sort()).toEqual([
      `AwsSolutions-EC28 ${nat!.node.path}`,
      `AwsSolutions-EC29 ${nat!.node.path}`,
    ]);
  });

  it('gives every acknowledgement a specific reason', () => {
    // Prepare: dev (NAT instance, a single cache node) and prod (endpoint), both with the legacy domain
    // and the demo page, between them acknowledge every rule
    const apps = [{ cache: 'nodes' }, { profile: 'prod' }].map(
      (context) =>
        createChatApp({
          projectRoot,
          context: { ...noBundling, legacyDomain: 'true', webPage: 'true', ...context },
        }).app,
    );

    // Act
    const reasons = new Map<string, Set<string>>();
    for (const construct of apps.flatMap((app) => app.node.findAll())) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          if (!id.startsWith('AwsSolutions::')) continue;
          const rule = id.replace(/^AwsSolutions::/, '').replace(/\[.*$/, '');
          reasons.set(rule, (reasons.get(rule) ?? new Set()).add(reason));
        }
      }
    }

    // Assess
    expect([...reasons.keys()].sort()).toEqual(
      [
        'AwsSolutions-AEC4',
        'AwsSolutions-APIG4',
        'AwsSolutions-CFR1',
        'AwsSolutions-CFR2',
        'AwsSolutions-CFR3',
        'AwsSolutions-CFR4',
        'AwsSolutions-EC23',
        'AwsSolutions-EC28',
        'AwsSolutions-EC29',
        'AwsSolutions-IAM4',
        'AwsSolutions-IAM5',
        'AwsSolutions-L1',
        'AwsSolutions-S1',
        'AwsSolutions-SMG4',
      ].sort(),
    );
    for (const texts of reasons.values()) {
      for (const reason of texts) {
        expect(reason.length).toBeGreaterThanOrEqual(60);
        expect(reason).not.toMatch(/^(ok|n\/a|todo|suppressed|not needed)/i);
      }
    }
  });
});
