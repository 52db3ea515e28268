import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat, CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import {
  CfnAuthorizer,
  LogGroupLogDestination,
  WebSocketApi,
  WebSocketStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { AuthorizerRoute, WebSocketRoute } from '../../lambdas/routes.js';
import type { ThrottleConfig } from '../stack-config.js';
import { acknowledge, managedPolicyFinding, wildcardResourceFinding } from './nag.js';

/** A WebSocket route of the routes table with its function. */
export interface WebSocketRouteBinding {
  readonly route: WebSocketRoute;
  readonly handler: IFunction;
}

/** Properties of {@link WebSocketChatApi}. */
export interface WebSocketChatApiProps {
  /** `$connect`, `$default` and `$disconnect`, from the routes table. */
  readonly routes: readonly WebSocketRouteBinding[];
  /** The REQUEST authorizer of `$connect`. */
  readonly authorizer: { readonly route: AuthorizerRoute; readonly handler: IFunction };
  readonly stageName: string;
  readonly throttle: ThrottleConfig;
  readonly logRetention: RetentionDays;
  /**
   * Set the account's API Gateway CloudWatch role, which WebSocket access logs need. Turn off when
   * the account already has one: `AWS::ApiGateway::Account` is one setting per account and region,
   * and the last stack that sets it wins
   * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-account.html).
   * @default true
   */
  readonly setAccountLoggingRole?: boolean;
}

/** Fields of each access log line; WebSocket logs carry the connection and event type. */
const accessLogFormat = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    eventType: '$context.eventType',
    routeKey: '$context.routeKey',
    connectionId: '$context.connectionId',
    status: '$context.status',
    sourceIp: '$context.identity.sourceIp',
    error: '$context.error.message',
    authorizerError: '$context.authorizer.error',
    integrationError: '$context.integration.error',
  }),
);

/**
 * The client-facing WebSocket API: `$connect` behind the REQUEST authorizer, `$default` answering
 * error frames through its route response, `$disconnect`; one auto-deployed stage with throttling
 * and JSON access logs.
 */
export class WebSocketChatApi extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: WebSocketChatApiProps) {
    super(scope, id);
    this.api = new WebSocketApi(this, 'Api', { description: 'Hipochat rooms over WebSocket' });
    const authorizer = new WebSocketLambdaAuthorizer(
      `${props.authorizer.route.name}Authorizer`,
      props.authorizer.handler,
      {
        identitySource: [...props.authorizer.route.identitySource],
      },
    );
    for (const { route, handler } of props.routes) {
      const added = this.api.addRoute(route.routeKey, {
        integration: new WebSocketLambdaIntegration(`${route.name}Integration`, handler),
        returnResponse: route.returnResponse,
        authorizer: route.routeKey === '$connect' ? authorizer : undefined,
      });
      if (route.routeKey !== '$connect') {
        acknowledge(
          added,
          'AwsSolutions-APIG4',
          `API Gateway accepts an authorizer only on $connect; ${route.routeKey} runs on a connection already authorized there.`,
        );
      }
    }
    if (props.authorizer.route.identitySource.length === 0) {
      // No identity source: API Gateway calls the authorizer on every connect (an empty list is no
      // valid template value, and the CDK's default, the Authorization header, browsers cannot send).
      for (const child of this.api.node.findAll()) {
        if (child instanceof CfnAuthorizer) child.addPropertyDeletionOverride('IdentitySource');
      }
    }
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: props.stageName,
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: accessLogFormat,
      },
    });
    if (props.setAccountLoggingRole ?? true) {
      const role = new Role(this, 'ApiGatewayLoggingRole', {
        assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
        managedPolicies: [
          ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
        ],
      });
      acknowledge(
        role,
        managedPolicyFinding(this, 'service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
        'The AWS-maintained policy API Gateway documents for its account-level CloudWatch logging role.',
      );
      // The account setting outlives the stack; other APIs of the account may rely on the role.
      role.applyRemovalPolicy(RemovalPolicy.RETAIN);
      const account = new CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: role.roleArn });
      this.stage.node.addDependency(account);
    }
  }

  /** `https://{api}.execute-api.{region}.amazonaws.com/{stage}`: where the management API lives. */
  get connectionsUrl(): string {
    return this.stage.callbackUrl;
  }

  /** `wss://{api}.execute-api.{region}.amazonaws.com/{stage}`. */
  get url(): string {
    return this.stage.url;
  }

  /**
   * Lets `handler` post to, read and delete connections of this stage only
   * (`execute-api:ManageConnections` on `.../{stage}/{POST|GET|DELETE}/@connections/*`).
   */
  grantManageConnections(handler: IFunction): void {
    const stack = Stack.of(this);
    const resources = ['POST', 'GET', 'DELETE'].map((method) =>
      stack.formatArn({
        service: 'execute-api',
        resource: this.api.apiId,
        resourceName: `${this.stage.stageName}/${method}/@connections/*`,
      }),
    );
    handler.addToRolePolicy(new PolicyStatement({ actions: ['execute-api:ManageConnections'], resources }));
    for (const resource of resources) {
      acknowledge(
        handler,
        wildcardResourceFinding(this, resource),
        'Connection ids exist only at run time; the grant is limited to this API, this stage and the @connections path.',
      );
    }
  }
}
