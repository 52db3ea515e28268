import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { contentSecurityPolicy, WebPage } from '../../infra/constructs/web-page.js';
import { projectRoot, SYNTH_TIMEOUT_MS, type Synthesized, synth } from './synth.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template JSON is untyped; tests index into it.
type Json = any;

/** Violations left in the validation report after acknowledgements. */
function unacknowledged(outdir: string): string[] {
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: Array<{ violations: Array<{ ruleName: string }> }>;
  };
  return report.pluginReports.flatMap((plugin) => plugin.violations.map((violation) => violation.ruleName));
}

/** `AwsSolutions-…` acknowledgements in the stack, as `<rule> <construct path>`. */
function acknowledgements(deployment: Synthesized): string[] {
  return deployment.stack.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
      .map((id) => `${id.replace(/^AwsSolutions::/, '')} ${construct.node.path}`),
  );
}

/** An `Fn::Join` output value as one string, intrinsic parts written as JSON. */
function flat(value: unknown): string {
  const [delimiter, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(delimiter);
}

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const page = join(projectRoot, 'web', 'dist', 'index.html');

describe('WebPage (demo page on S3 + CloudFront)', () => {
  let off: Synthesized;
  let on: Synthesized;
  beforeAll(() => {
    off = synth();
    on = synth({ webPage: 'true' });
  }, 2 * SYNTH_TIMEOUT_MS);

  it('is off by default: no bucket, no distribution, no page output', () => {
    expect(off.config.webPage).toBe(false);
    off.template.resourceCountIs('AWS::S3::Bucket', 0);
    off.template.resourceCountIs('AWS::CloudFront::Distribution', 0);
    off.template.resourceCountIs('Custom::CDKBucketDeployment', 0);
    expect(Object.keys(off.template.findOutputs('WebPageUrl'))).toEqual([]);
  });

  it('is on with -c webPage=true: one bucket, one distribution, one deployment', () => {
    expect(on.config.webPage).toBe(true);
    on.template.resourceCountIs('AWS::S3::Bucket', 1);
    on.template.resourceCountIs('AWS::CloudFront::Distribution', 1);
    on.template.resourceCountIs('Custom::CDKBucketDeployment', 1);
  });

  it('keeps the bucket private, encrypted and SSL-only, and removes it with the stack', () => {
    on.template.hasResource('AWS::S3::Bucket', {
      Properties: {
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      },
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    });
    on.template.resourceCountIs('Custom::S3AutoDeleteObjects', 1);
    on.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Principal: { AWS: '*' },
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('lets only this distribution read the bucket, through Origin Access Control', () => {
    // Prepare
    const oacs = on.template.findResources('AWS::CloudFront::OriginAccessControl') as Record<string, Json>;
    const [oacId] = Object.keys(oacs);

    // Act
    const distribution = Object.values(on.template.findResources('AWS::CloudFront::Distribution'))[0] as Json;
    const config = distribution.Properties.DistributionConfig;

    // Assess
    expect(Object.keys(oacs)).toHaveLength(1);
    expect(oacs[oacId!].Properties.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 's3',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    });
    expect(config.Origins).toHaveLength(1);
    expect(config.Origins[0].OriginAccessControlId).toEqual({ 'Fn::GetAtt': [oacId, 'Id'] });
    expect(config.Origins[0].S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    on.template.resourceCountIs('AWS::CloudFront::CloudFrontOriginAccessIdentity', 0);
    const statements = Object.values(on.template.findResources('AWS::S3::BucketPolicy')).flatMap(
      (policy: Json) => policy.Properties.PolicyDocument.Statement,
    );
    const reads = statements.filter(
      (statement: Json) => statement.Principal?.Service === 'cloudfront.amazonaws.com',
    );
    expect(reads).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Action: 's3:GetObject',
        Condition: { StringEquals: { 'AWS:SourceArn': expect.anything() } },
      }),
    ]);
    expect(
      statements.some((statement: Json) => statement.Effect === 'Allow' && statement.Principal === '*'),
    ).toBe(false);
  });

  it('serves index.html at / over HTTPS only, with the security headers policy', () => {
    // Act
    const distribution = Object.values(on.template.findResources('AWS::CloudFront::Distribution'))[0] as Json;
    const config = distribution.Properties.DistributionConfig;
    const policyId = config.DefaultCacheBehavior.ResponseHeadersPolicyId.Ref as string;
    const policy = on.template.toJSON().Resources[policyId].Properties.ResponseHeadersPolicyConfig;

    // Assess
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(config.DefaultCacheBehavior.AllowedMethods).toEqual(['GET', 'HEAD']);
    expect(policy.SecurityHeadersConfig).toMatchObject({
      StrictTransportSecurity: { Override: true, IncludeSubdomains: true },
      ContentTypeOptions: { Override: true },
      FrameOptions: { FrameOption: 'DENY' },
      ReferrerPolicy: { ReferrerPolicy: 'no-referrer' },
      ContentSecurityPolicy: { ContentSecurityPolicy: contentSecurityPolicy(readFileSync(page, 'utf8')) },
    });
  });

  it('allows exactly the inline script and stylesheet of the built page by hash', () => {
    // Act
    const csp = contentSecurityPolicy(readFileSync(page, 'utf8'));

    // Assess
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("default-src 'none'");
    // CloudFront's limit on a Content-Security-Policy value.
    expect(csp.length).toBeLessThanOrEqual(1783);
  });

  it('deploys the built page with a short cache lifetime instead of invalidations', () => {
    const deployment = Object.values(on.template.findResources('Custom::CDKBucketDeployment'))[0] as Json;
    expect(deployment.Properties).toMatchObject({
      SystemMetadata: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=60' },
      Prune: true,
    });
    expect(deployment.Properties.DistributionId).toBeUndefined();
    const statements = Object.values(on.template.findResources('AWS::IAM::Policy')).flatMap(
      (policy: Json) => policy.Properties.PolicyDocument.Statement,
    );
    expect(statements.flatMap((statement: Json) => [statement.Action].flat())).not.toContain(
      'cloudfront:CreateInvalidation',
    );
  });

  it('outputs WebPageUrl: the distribution with ?ws=<WebSocketUrl>&http=<HttpUrl>', () => {
    // Prepare
    const webSocketUrl = flat(on.template.findOutputs('WebSocketUrl').WebSocketUrl!.Value);
    const httpUrl = flat(on.template.findOutputs('HttpUrl').HttpUrl!.Value);

    // Act
    const value = on.template.findOutputs('WebPageUrl').WebPageUrl!.Value as Json;
    const parts = value['Fn::Join'][1] as unknown[];

    // Assess
    expect(parts[0]).toBe('https://');
    expect(parts[1]).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^WebPageDistribution/), 'DomainName'] });
    expect(webSocketUrl).toMatch(/^wss:\/\/.*\/dev$/);
    expect(flat(value)).toMatch(new RegExp(`/\\?ws=${literal(webSocketUrl)}&http=${literal(httpUrl)}$`));
  });

  it(
    'lets the page origin call the HTTP API cross-origin (CORS), next to the configured origins',
    () => {
      // Prepare
      const distributionId = Object.keys(on.template.findResources('AWS::CloudFront::Distribution'))[0];

      // Act
      const apis = Object.values(on.template.findResources('AWS::ApiGatewayV2::Api')) as Json[];
      const http = apis.find((api) => api.Properties.ProtocolType === 'HTTP');

      // Assess
      expect(http.Properties.CorsConfiguration.AllowOrigins).toEqual([
        { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }]] },
      ]);
      const withOthers = synth({ webPage: 'true', corsOrigins: 'https://app.example.com' }, {});
      const both = (
        Object.values(withOthers.template.findResources('AWS::ApiGatewayV2::Api')) as Json[]
      ).find((api) => api.Properties.ProtocolType === 'HTTP');
      expect(both.Properties.CorsConfiguration.AllowOrigins).toEqual([
        'https://app.example.com',
        expect.objectContaining({ 'Fn::Join': expect.anything() }),
      ]);
      expect(
        (Object.values(off.template.findResources('AWS::ApiGatewayV2::Api')) as Json[]).find(
          (api) => api.Properties.ProtocolType === 'HTTP',
        ).Properties.CorsConfiguration,
      ).toBeUndefined();
    },
    SYNTH_TIMEOUT_MS,
  );

  it('passes cdk-nag with the page on, every acknowledgement scoped to the page constructs', () => {
    // Act
    const before = new Set(acknowledgements(off));
    const pageAcks = acknowledgements(on).filter((ack) => !before.has(ack));

    // Assess
    expect(unacknowledged(on.outdir)).toEqual([]);
    for (const ack of pageAcks) {
      expect(ack).toMatch(/ Hipochat-dev\/(WebPage\/|Custom::CDKBucketDeployment[0-9A-F]+256MiB$)/);
    }
    expect(pageAcks.filter((ack) => ack.startsWith('AwsSolutions-L1 '))).toEqual([
      expect.stringMatching(/^AwsSolutions-L1 Hipochat-dev\/Custom::CDKBucketDeployment[0-9A-F]+256MiB$/),
    ]);
    expect(pageAcks.filter((ack) => ack.startsWith('AwsSolutions-IAM4'))).toEqual([]);
    expect(pageAcks).toContain('AwsSolutions-S1 Hipochat-dev/WebPage/Bucket');
  });

  it.each([
    ['prod profile', { profile: 'prod', webPage: 'yes' }],
    ['the legacy domain alongside', { webPage: '1', legacyDomain: 'true' }],
  ])(
    'passes cdk-nag with the page on in the %s',
    (_name, context) => {
      const { outdir, template } = synth(context);
      expect(unacknowledged(outdir)).toEqual([]);
      template.hasOutput('WebPageUrl', {});
    },
    SYNTH_TIMEOUT_MS,
  );

  it('refuses a webPage context value that is not a boolean', () => {
    expect(() => synth({ webPage: 'maybe' })).toThrow(/-c webPage must be true or false, got "maybe"/);
  });

  it('fails with what to run when the page has not been built', () => {
    // Prepare
    const stack = new Stack(new App(), 'Bare');

    // Act / Assess
    expect(
      () =>
        new WebPage(stack, 'WebPage', {
          logRetention: RetentionDays.TWO_WEEKS,
          pagePath: join(projectRoot, 'web', 'dist', 'missing.html'),
        }),
    ).toThrow(/missing\.html does not exist; run `npm run build:web`/);
  });
});
