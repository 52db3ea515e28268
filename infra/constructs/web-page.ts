import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct, type IConstruct } from 'constructs';
import { acknowledge, wildcardResourceFinding } from './nag.js';

/** Properties of {@link WebPage}. */
export interface WebPageProps {
  /** Retention of the deployment function's log group. */
  readonly logRetention: RetentionDays;
  /**
   * The built page (`npm run build:web`): one self-contained HTML file.
   * @default `<projectRoot>/web/dist/index.html`
   */
  readonly pagePath?: string;
  /**
   * Repository root, where `pagePath` is looked up by default.
   * @default process.cwd()
   */
  readonly projectRoot?: string;
  /**
   * Seconds browsers and CloudFront keep the page; a redeploy shows within this time, with no
   * CloudFront invalidation (whose API takes no resource-level permissions).
   * @default 60
   */
  readonly maxAgeSeconds?: number;
}

/** `'sha256-…'` CSP sources of every inline `<script>` and `<style>` element of `html`. */
export function inlineHashes(html: string, tag: 'script' | 'style'): string[] {
  const pattern = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g');
  return [...html.matchAll(pattern)].map(
    ([, body]) =>
      `'sha256-${createHash('sha256')
        .update(body ?? '', 'utf8')
        .digest('base64')}'`,
  );
}

/**
 * Content-Security-Policy of the page: its own inline script and stylesheet by hash and nothing
 * else, connections to any HTTPS/WSS endpoint (the APIs come from the query string), no framing.
 */
export function contentSecurityPolicy(html: string): string {
  return [
    "default-src 'none'",
    `script-src ${inlineHashes(html, 'script').join(' ')}`,
    `style-src ${inlineHashes(html, 'style').join(' ')}`,
    'connect-src https: wss:',
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Reads the built page or fails with what to run. */
function readPage(path: string): string {
  if (!existsSync(path)) {
    throw new Error(
      `webPage: ${path} does not exist; run \`npm run build:web\` before synthesizing with -c webPage=true`,
    );
  }
  const html = readFileSync(path, 'utf8');
  if (!/<script>[\s\S]*<\/script>/.test(html)) {
    throw new Error(`webPage: ${path} has no inline script; rebuild it with \`npm run build:web\``);
  }
  return html;
}

/** The construct of `scope`'s stack whose id starts with `prefix` (CDK's stack-wide singletons). */
function stackSingletons(scope: IConstruct, prefix: string): IConstruct[] {
  return Stack.of(scope).node.children.filter((child) => child.node.id.startsWith(prefix));
}

/**
 * The demo chat page (`web/dist/index.html`) on a private S3 bucket behind CloudFront with Origin
 * Access Control. {@link urlFor} gives the page URL already pointed at the stack's APIs through
 * `?ws=&http=`; {@link origin} is the browser origin the HTTP API must allow (CORS).
 */
export class WebPage extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  readonly deployment: BucketDeployment;

  constructor(scope: Construct, id: string, props: WebPageProps) {
    super(scope, id);
    const pagePath = props.pagePath ?? join(props.projectRoot ?? process.cwd(), 'web', 'dist', 'index.html');
    const html = readPage(pagePath);
    const maxAge = props.maxAgeSeconds ?? 60;

    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // The page is a build artifact; like the stack's log groups and secrets it goes with the stack.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    acknowledge(
      this.bucket,
      'AwsSolutions-S1',
      'Holds one build artifact, the public demo page, written only by the stack deployment (recorded in CloudTrail) and read only by CloudFront through OAC; no user data to audit.',
    );

    const headers = new ResponseHeadersPolicy(this, 'Headers', {
      comment: 'Hipochat demo page: CSP by hash, HSTS, no framing, no referrer',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: contentSecurityPolicy(html), override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        // The page URL may carry a token (`?token=`); never send it on.
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
        xssProtection: { protection: true, modeBlock: true, override: true },
      },
    });
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Hipochat demo page',
      priceClass: PriceClass.PRICE_CLASS_100,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
      },
    });
    const findings: Record<string, string> = {
      'AwsSolutions-CFR1':
        'A public demo page of a chat used worldwide; the deployment has no country restriction to enforce.',
      'AwsSolutions-CFR2':
        'Serves one cached static file with GET/HEAD only; the APIs the page talks to throttle per stage, and a web ACL can be attached when a deployment needs one.',
      'AwsSolutions-CFR3':
        'One static demo file; what users do on the page reaches the API stages, which write JSON access logs. CloudFront standard logs would need an ACL-enabled bucket.',
      'AwsSolutions-CFR4':
        'The demo page is served on the default *.cloudfront.net certificate, whose TLS policy cannot be raised; attach a custom domain to set TLS 1.2 (2021).',
    };
    for (const [finding, reason] of Object.entries(findings)) acknowledge(this.distribution, finding, reason);

    // The deployment function's role and log group are created here (not by the stack-wide
    // singleton) so it gets no AWS managed policy and its logs expire like every other log group.
    const logGroup = new LogGroup(this, 'DeploymentLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(this, 'DeploymentRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Copies the Hipochat demo page from the CDK asset bucket to the page bucket',
    });
    logGroup.grantWrite(role);
    this.deployment = new BucketDeployment(this, 'Deployment', {
      sources: [Source.data('index.html', html)],
      destinationBucket: this.bucket,
      role,
      logGroup,
      memoryLimit: 256,
      contentType: 'text/html; charset=utf-8',
      cacheControl: [CacheControl.setPublic(), CacheControl.maxAge(Duration.seconds(maxAge))],
    });
    acknowledge(
      role,
      'AwsSolutions-IAM5[Action::s3:GetObject*]',
      'CDK BucketDeployment grant: reads its source asset zip and the page bucket objects (object-level read actions).',
    );
    acknowledge(
      role,
      'AwsSolutions-IAM5[Action::s3:GetBucket*]',
      'CDK BucketDeployment grant: bucket metadata reads on the asset bucket and the page bucket only.',
    );
    acknowledge(
      role,
      'AwsSolutions-IAM5[Action::s3:List*]',
      'CDK BucketDeployment grant: `aws s3 sync` lists the asset bucket and the page bucket to copy and prune.',
    );
    acknowledge(
      role,
      'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
      'CDK BucketDeployment grant: `aws s3 sync --delete` prunes objects of the page bucket, which holds only this page.',
    );
    acknowledge(
      role,
      'AwsSolutions-IAM5[Action::s3:Abort*]',
      'CDK BucketDeployment grant: aborts its own multipart uploads into the page bucket.',
    );
    acknowledge(
      role,
      wildcardResourceFinding(this, this.bucket.arnForObjects('*')),
      'The deployment writes and prunes the objects of the page bucket, a bucket created for this page only.',
    );
    const assets = this.deployment.node.findAll().filter((child): child is Asset => child instanceof Asset);
    for (const asset of assets) {
      acknowledge(
        role,
        wildcardResourceFinding(this, asset.bucket.arnForObjects('*')),
        'CDK BucketDeployment grant: reads the page asset zip from the CDK bootstrap asset bucket (object keys are content hashes).',
      );
    }

    // The copying function is a stack-wide singleton (one per memory size), outside this construct.
    for (const handler of stackSingletons(this, 'Custom::CDKBucketDeployment')) {
      acknowledge(
        handler,
        'AwsSolutions-L1',
        'Runtime of the CDK BucketDeployment handler (Python with the AWS CLI layer) is chosen by aws-cdk-lib and moves with it; it runs only while CloudFormation deploys the page.',
      );
    }
  }

  /** `https://<distribution>.cloudfront.net`, the origin the page's requests come from. */
  get origin(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }

  /**
   * `https://<distribution>/?ws=<webSocketUrl>&http=<httpUrl>`: the page opened pointed at those APIs.
   * @param webSocketUrl `wss://…/<stage>` of the WebSocket API
   * @param httpUrl `https://…/` of the HTTP API (the `/talk/...` routes)
   */
  urlFor(webSocketUrl: string, httpUrl: string): string {
    return Fn.join('', [this.origin, '/?ws=', webSocketUrl, '&http=', httpUrl]);
  }
}
