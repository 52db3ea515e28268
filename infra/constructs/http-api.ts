import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { HttpRoute } from '../../lambdas/routes.js';
import type { ThrottleConfig } from '../stack-config.js';
import { acknowledge } from './nag.js';

/** An HTTP route of the routes table with its function. */
export interface HttpRouteBinding {
  readonly route: HttpRoute;
  readonly handler: IFunction;
}

/** Properties of {@link HttpChatApi}. */
export interface HttpChatApiProps {
  readonly routes: readonly HttpRouteBinding[];
  readonly throttle: ThrottleConfig;
  readonly logRetention: RetentionDays;
  /**
   * Browser origins allowed to call the API; empty means no CORS headers at all.
   * @default []
   */
  readonly corsOrigins?: readonly string[];
  /**
   * Request headers browsers may send cross-origin: the credential, the JSON body type and the
   * key that makes a retried injection store the message once.
   * @default CORS_HEADERS
   */
  readonly corsHeaders?: readonly string[];
}

/** Headers a browser may send to the HTTP API; the service key travels as `Authorization: Bearer`. */
export const CORS_HEADERS = ['authorization', 'content-type', 'idempotency-key'] as const;

const accessLogFormat = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    routeKey: '$context.routeKey',
    path: '$context.path',
    status: '$context.status',
    sourceIp: '$context.identity.sourceIp',
    responseLatency: '$context.responseLatency',
    integrationError: '$context.integrationErrorMessage',
  }),
);

/**
 * The backend-facing HTTP API: every `/talk/...` route of the routes table on the `$default`
 * stage (so paths are exactly Hipochat's), with throttling, JSON access logs and optional CORS.
 */
export class HttpChatApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: HttpChatApiProps) {
    super(scope, id);
    const origins = props.corsOrigins ?? [];
    this.api = new HttpApi(this, 'Api', {
      description: 'Hipochat history, injection and membership endpoints',
      createDefaultStage: false,
      corsPreflight:
        origins.length > 0
          ? {
              allowOrigins: [...origins],
              allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.OPTIONS],
              allowHeaders: [...(props.corsHeaders ?? CORS_HEADERS)],
            }
          : undefined,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: accessLogFormat,
      },
    });
    for (const { route, handler } of props.routes) {
      const added = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.name}Integration`, handler),
      });
      for (const httpRoute of added) {
        acknowledge(
          httpRoute,
          'AwsSolutions-APIG4',
          'Each call is authenticated in the handler as Hipochat did: a user token checked against the profile endpoint, or the service key for backend calls.',
        );
      }
    }
  }

  /** `https://{api}.execute-api.{region}.amazonaws.com/`. */
  get url(): string {
    return this.stage.url;
  }
}
