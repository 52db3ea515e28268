import { Fn } from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  Function as EdgeFunction,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  OriginProtocolPolicy,
  OriginRequestPolicy,
  PriceClass,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';

/** Properties of {@link LegacyDomain}. */
export interface LegacyDomainProps {
  /** `wss://{api}.execute-api.{region}.amazonaws.com` of the WebSocket API. */
  readonly webSocketEndpoint: string;
  readonly webSocketStageName: string;
  /** `https://{api}.execute-api.{region}.amazonaws.com` of the HTTP API (served on `$default`). */
  readonly httpEndpoint: string;
  /**
   * Alternate domain name, for example `chat.example.com`.
   * @default - the distribution's own `*.cloudfront.net` name
   */
  readonly domainName?: string;
  /**
   * ACM certificate (us-east-1) for `domainName`.
   * @default - none; required with `domainName`
   */
  readonly certificateArn?: string;
}

/**
 * Viewer-request rewrite of Hipochat's socket URL `/talk/chat/<room>/?token=T` to the WebSocket
 * API's `/?room=<room>&token=T` (CloudFront prepends the stage as origin path).
 */
export const LEGACY_REWRITE_CODE = `function handler(event) {
  var request = event.request;
  var match = /^\\/talk\\/chat\\/([^\\/]+)\\/?$/.exec(request.uri);
  if (!match) {
    return { statusCode: 404, statusDescription: 'Not Found' };
  }
  request.querystring.room = { value: match[1] };
  request.uri = '/';
  return request;
}
`;

function hostOf(endpoint: string): string {
  // `scheme://host` split on '/' gives ['scheme:', '', 'host'].
  return Fn.select(2, Fn.split('/', endpoint));
}

/**
 * One CloudFront distribution that speaks Hipochat's URL layout, so an existing client moves by a
 * DNS change: `/talk/chat/<room>/` websockets go to the WebSocket API, every other `/talk/...` path
 * to the HTTP API. Nothing is cached.
 */
export class LegacyDomain extends Construct {
  readonly distribution: Distribution;

  constructor(scope: Construct, id: string, props: LegacyDomainProps) {
    super(scope, id);
    if (props.domainName && !props.certificateArn)
      throw new Error('a legacy domain name needs a certificate');
    const rewrite = new EdgeFunction(this, 'SocketRewrite', {
      code: FunctionCode.fromInline(LEGACY_REWRITE_CODE),
      runtime: FunctionRuntime.JS_2_0,
      comment: 'Hipochat /talk/chat/<room>/ to the WebSocket API',
    });
    const passThrough = {
      viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
      cachePolicy: CachePolicy.CACHING_DISABLED,
      // Everything the APIs read (query string, Authorization, Sec-WebSocket-*), but their own Host.
      originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
    };
    const httpOrigin = new HttpOrigin(hostOf(props.httpEndpoint), {
      protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
    });
    const httpBehavior = { ...passThrough, origin: httpOrigin, allowedMethods: AllowedMethods.ALLOW_ALL };
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'Hipochat legacy domain',
      priceClass: PriceClass.PRICE_CLASS_100,
      // Only a custom certificate takes a TLS policy; the default one is fixed (CDK warns otherwise).
      minimumProtocolVersion: props.certificateArn ? SecurityPolicyProtocol.TLS_V1_2_2021 : undefined,
      domainNames: props.domainName ? [props.domainName] : undefined,
      certificate: props.certificateArn
        ? Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn)
        : undefined,
      defaultBehavior: httpBehavior,
      additionalBehaviors: {
        '/talk/chat/*': {
          ...passThrough,
          origin: new HttpOrigin(hostOf(props.webSocketEndpoint), {
            originPath: `/${props.webSocketStageName}`,
            protocolPolicy: OriginProtocolPolicy.HTTPS_ONLY,
          }),
          allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
          functionAssociations: [{ function: rewrite, eventType: FunctionEventType.VIEWER_REQUEST }],
        },
        '/talk/*': httpBehavior,
      },
    });
    const findings: Record<string, string> = {
      'AwsSolutions-CFR1':
        'Chat rooms are used worldwide; the deployment has no country restriction to enforce.',
      'AwsSolutions-CFR2':
        'Nothing is cached or served from here; both APIs behind it throttle per stage, and a web ACL can be attached to the distribution when a deployment needs one.',
      'AwsSolutions-CFR3':
        'Every request reaches an API stage that writes JSON access logs; CloudFront standard logs would need an ACL-enabled bucket for the same lines.',
    };
    if (!props.domainName) {
      findings['AwsSolutions-CFR4'] =
        'Without a custom domain CloudFront serves its default *.cloudfront.net certificate, whose TLS policy cannot be raised; with legacyDomainName the minimum is TLS 1.2 (2021).';
    }
    for (const [finding, reason] of Object.entries(findings)) acknowledge(this.distribution, finding, reason);
  }

  /** `https://{distribution or custom domain}`. */
  get url(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }
}
