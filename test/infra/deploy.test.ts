import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CORS_HEADERS } from '../../infra/constructs/http-api.js';
import { NAT_BOOT_SCRIPT } from '../../infra/constructs/network.js';
import { CONTEXT_KEYS, ContextError, parseContext } from '../../infra/context-schema.js';
import { routes } from '../../lambdas/routes.js';
import { cdkJsonContext, projectRoot, SYNTH_TIMEOUT_MS, type Synthesized, synth } from './synth.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped; tests index into it.
type Json = any;

function resourcesOf(deployment: Synthesized, type: string): Json[] {
  return Object.values(deployment.template.findResources(type));
}

function brokerName(deployment: Synthesized): string {
  return resourcesOf(deployment, 'AWS::AmazonMQ::Broker')[0].Properties.BrokerName;
}

describe('Deployment context (-c key=value)', () => {
  it.each([
    [{ queueType: 'x' }, '-c queueType must be one of quorum, classic, got "x"'],
    [{ removalPolicy: 'keep' }, '-c removalPolicy must be one of retain, destroy, got "keep"'],
    [{ shards: 'many' }, '-c shards must be an integer from 1 to 64, got "many"'],
    [{ brokerUserRevision: '-1' }, '-c brokerUserRevision must be an integer from 0 to 1000000, got -1'],
    [{ webPage: 'maybe' }, '-c webPage must be true or false, got "maybe"'],
  ])('refuses %j naming the key and what it takes', (context, message) => {
    expect(() => parseContext(context)).toThrow(new ContextError(message));
  });

  it('reports every wrong key, one per line', () => {
    expect(() => parseContext({ shards: '0', queueType: 'lazy' })).toThrow(
      '-c shards must be an integer from 1 to 64, got 0\n-c queueType must be one of quorum, classic, got "lazy"',
    );
  });

  it('takes cdk.json values as JSON (numbers, booleans, arrays) and -c values as strings', () => {
    expect(parseContext({ shards: 8, webPage: true, corsOrigins: ['https://a.example'] })).toEqual({
      shards: 8,
      webPage: true,
      corsOrigins: ['https://a.example'],
    });
    expect(
      parseContext({ shards: '8', webPage: 'yes', corsOrigins: 'https://a.example, https://b.example' }),
    ).toEqual({ shards: 8, webPage: true, corsOrigins: ['https://a.example', 'https://b.example'] });
    expect(parseContext({ shards: '', alarmEmail: null })).toEqual({});
  });

  it('documents every key in docs/deploy.md', () => {
    const docs = readFileSync(join(projectRoot, 'docs', 'deploy.md'), 'utf8');
    for (const key of CONTEXT_KEYS) expect(docs).toContain(`\`${key}\``);
  });

  it(
    'makes `cdk synth` print the message alone and exit 1, without a stack trace',
    () => {
      const result = spawnSync(process.execPath, ['--import', 'tsx', join(projectRoot, 'infra', 'app.ts')], {
        cwd: projectRoot,
        env: {
          ...process.env,
          CDK_CONTEXT_JSON: JSON.stringify({ queueType: 'x' }),
          CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'hipochat-cdk-')),
        },
        encoding: 'utf8',
      });
      expect(result.status).toBe(1);
      expect(result.stderr).toBe('-c queueType must be one of quorum, classic, got "x"\n');
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('Dev NAT instance boot', () => {
  let dev: Synthesized;
  beforeAll(() => {
    dev = synth();
  }, SYNTH_TIMEOUT_MS);

  it('boots from the user data that installs nothing: nftables masquerade, applied on every boot', () => {
    const [instance] = resourcesOf(dev, 'AWS::EC2::Instance');
    const userData = JSON.stringify(instance.Properties.UserData);
    expect(userData).toContain('hipochat-nat');
    expect(NAT_BOOT_SCRIPT).toContain('nft -f -');
    expect(NAT_BOOT_SCRIPT).toContain('masquerade');
    expect(NAT_BOOT_SCRIPT).toContain('systemctl enable --now hipochat-nat.service');
    expect(NAT_BOOT_SCRIPT).toContain('net.ipv4.ip_forward=1');
  });

  it('installs a package only as a last resort, and then with retries', () => {
    const installs = NAT_BOOT_SCRIPT.split('\n').filter((line) => /\b(yum|dnf) install\b/.test(line));
    expect(installs).toEqual(['    dnf install -y iptables-nft && break']);
    expect(NAT_BOOT_SCRIPT).toMatch(/for attempt in \$\(seq 1 10\); do\n\s+dnf install/);
  });
});

describe('Broker name', () => {
  let dev: Synthesized;
  let prod: Synthesized;
  let bigger: Synthesized;
  beforeAll(() => {
    dev = synth();
    prod = synth({ profile: 'prod' });
    bigger = synth({ brokerInstanceType: 'mq.m5.large' });
  }, SYNTH_TIMEOUT_MS);

  it('is unique to the stack and fits Amazon MQ (1-50 letters, digits, dashes)', () => {
    expect(brokerName(dev)).toMatch(/^Hipochatdev-Broker-[0-9A-F]{8}$/);
    expect(brokerName(dev).length).toBeLessThanOrEqual(50);
    expect(brokerName(prod)).toMatch(/^Hipochatprod-Broker-[0-9A-F]{8}$/);
  });

  it('stays the same when a change updates the broker in place', () => {
    expect(brokerName(bigger)).toBe(brokerName(dev));
  });
});

describe('cdk.json feature flags', () => {
  it('sets every flag aws-cdk-lib recommends for new projects, with the recommended value', () => {
    const recommended = JSON.parse(
      readFileSync(
        join(projectRoot, 'node_modules', 'aws-cdk-lib', 'recommended-feature-flags.json'),
        'utf8',
      ),
    );
    expect(cdkJsonContext).toMatchObject(recommended);
    expect(cdkJsonContext['@aws-cdk/aws-ec2:restrictDefaultSecurityGroup']).toBe(true);
  });

  it(
    'restricts the VPC default security group',
    () => {
      const dev = synth();
      dev.template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('Log retention', () => {
  it.each([
    ['dev', {}],
    [
      'prod with the demo page and the legacy domain',
      { profile: 'prod', webPage: 'true', legacyDomain: 'true' },
    ],
  ])(
    'gives every log group of %s the configured retention, CDK custom-resource handlers included',
    (_name, context) => {
      const deployment = synth(context);
      for (const group of resourcesOf(deployment, 'AWS::Logs::LogGroup')) {
        expect(group.Properties.RetentionInDays).toBe(deployment.config.logRetentionDays);
      }
      // A function without a declared log group would write to one nobody gave a retention.
      for (const fn of resourcesOf(deployment, 'AWS::Lambda::Function')) {
        expect(fn.Properties.LoggingConfig?.LogGroup).toEqual({ Ref: expect.any(String) });
      }
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('-c removalPolicy (cache snapshots and secrets)', () => {
  it.each([
    ['dev', { cache: 'nodes' }, 'Delete', 'Delete'],
    ['prod', { profile: 'prod', cache: 'nodes' }, 'Retain', 'Snapshot'],
    ['dev with -c removalPolicy=retain', { cache: 'nodes', removalPolicy: 'retain' }, 'Retain', 'Snapshot'],
    [
      'prod with -c removalPolicy=destroy',
      { profile: 'prod', cache: 'nodes', removalPolicy: 'destroy' },
      'Delete',
      'Delete',
    ],
  ])(
    'in %s: secrets %s, cache %s',
    (_name, context, secrets, cache) => {
      const deployment = synth(context);
      const all = resourcesOf(deployment, 'AWS::SecretsManager::Secret');
      expect(all).toHaveLength(5);
      for (const secret of all) {
        expect(secret.DeletionPolicy).toBe(secrets);
        expect(secret.UpdateReplacePolicy).toBe(secrets);
      }
      const [group] = resourcesOf(deployment, 'AWS::ElastiCache::ReplicationGroup');
      expect(group.DeletionPolicy).toBe(cache);
      expect(group.UpdateReplacePolicy).toBe(cache);
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('-c queueType', () => {
  it.each([
    ['quorum', {}],
    ['classic', { queueType: 'classic' }],
  ])(
    'declares %s shard queues and tells the publishers',
    (queueType, context) => {
      const deployment = synth(context);
      deployment.template.hasResourceProperties('Custom::HipochatTopology', { QueueType: queueType });
      const publishers = new Set(
        routes.filter((route) => route.secrets.includes('broker')).map((route) => route.name),
      );
      for (const [name, fn] of deployment.stack.functions) {
        const id = deployment.stack.getLogicalId(fn.node.defaultChild as never);
        const variables = deployment.template.toJSON().Resources[id].Properties.Environment.Variables;
        expect(variables.HIPOCHAT_QUEUE_TYPE).toBe(publishers.has(name) ? queueType : undefined);
      }
      // Same mappings either way.
      expect(resourcesOf(deployment, 'AWS::Lambda::EventSourceMapping')).toHaveLength(
        deployment.config.fanoutShards,
      );
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('HTTP API CORS', () => {
  it(
    'allows Idempotency-Key and no longer the unused x-hipochat-service-key',
    () => {
      const deployment = synth({ corsOrigins: 'https://app.example.com' });
      const [api] = resourcesOf(deployment, 'AWS::ApiGatewayV2::Api').filter(
        (candidate) => candidate.Properties.ProtocolType === 'HTTP',
      );
      expect(api.Properties.CorsConfiguration.AllowHeaders).toEqual([...CORS_HEADERS]);
      expect(CORS_HEADERS).toContain('idempotency-key');
      expect(CORS_HEADERS).not.toContain('x-hipochat-service-key');
    },
    SYNTH_TIMEOUT_MS,
  );
});
