import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExpectedResult, IntegTest, InvocationType, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  Architecture,
  Code,
  FunctionUrlAuthType,
  Function as LambdaFunction,
  Runtime,
} from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ChatStack } from '../../../infra/chat-stack.js';
import { ESM_REQUIRE_BANNER } from '../../../infra/constructs/chat-function.js';
import { LogRetentionAspect } from '../../../infra/constructs/log-retention.js';
import type { StackConfig } from '../../../infra/stack-config.js';
import { profiles } from '../../../infra/stack-profiles.js';

/** Stage (and WebSocket stage name) of the deployment under test. */
export const INTEG_STAGE = 'integ';

/**
 * A profile endpoint that accepts any token as the user of that name (`Authorization: Token
 * alice` is user `alice`), like the local gateway's dev identity: the smoke check's two users
 * need one. Public on purpose, and deployed only for the length of the test.
 */
export const DEV_IDENTITY_CODE = `exports.handler = async (event) => {
  const header = (event.headers && event.headers.authorization) || '';
  const match = /^Token\\s+(\\S{1,200})$/.exec(header);
  if (!match) return { statusCode: 401, body: '{}' };
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: match[1], username: match[1] }),
  };
};
`;

/** Options of {@link createIntegApp}. */
export interface IntegAppOptions {
  /** Repository root (handler modules, package-lock.json). */
  readonly projectRoot: string;
  /** Cloud assembly directory; integ-runner gives it through `CDK_OUTDIR`. */
  readonly outdir?: string;
  /** Extra context, e.g. `aws:cdk:bundling-stacks: []` for an offline synth without bundling. */
  readonly context?: Record<string, unknown>;
}

/** The integ test app and its parts, for the offline snapshot test. */
export interface IntegApp {
  readonly app: App;
  readonly integ: IntegTest;
  readonly identity: Stack;
  readonly chat: ChatStack;
  readonly smoke: Stack;
  readonly smokeFunction: NodejsFunction;
}

/**
 * The deployment test run by `@aws-cdk/integ-runner` (docs/deploy.md): deploys the dev profile as
 * stage `integ` with data destroyed on delete, next to a dev identity endpoint, then asserts
 * through the AWS APIs that
 * 1. every fan-out event source mapping is enabled (the runtime user and the queues exist), and
 * 2. `hipochat smoke`, run from a Lambda function against the stack's URLs, passes every step,
 * and destroys everything afterwards.
 */
export function createIntegApp(options: IntegAppOptions): IntegApp {
  // integ-runner runs the app from its own directory: take the feature flags from cdk.json here.
  const cdkJson = JSON.parse(readFileSync(join(options.projectRoot, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const app = new App({ outdir: options.outdir, context: { ...cdkJson.context, ...options.context } });
  const retention = RetentionDays.ONE_WEEK;
  // The assertion stack's provider functions too.
  LogRetentionAspect.applyTo(app, retention);

  const identity = new Stack(app, 'HipochatIntegIdentity');
  const identityFunction = new LambdaFunction(identity, 'DevIdentity', {
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    handler: 'index.handler',
    code: Code.fromInline(DEV_IDENTITY_CODE),
    timeout: Duration.seconds(5),
    logGroup: new LogGroup(identity, 'DevIdentityLogs', { retention, removalPolicy: RemovalPolicy.DESTROY }),
  });
  const identityUrl = identityFunction.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });

  const config: StackConfig = {
    ...profiles.dev,
    stageName: INTEG_STAGE,
    removalPolicy: 'destroy',
    logRetentionDays: retention,
    profileUrl: identityUrl.url,
  };
  const chat = new ChatStack(app, `Hipochat-${INTEG_STAGE}`, { config, projectRoot: options.projectRoot });

  const smoke = new Stack(app, 'HipochatIntegSmoke');
  const smokeFunction = new NodejsFunction(smoke, 'Smoke', {
    entry: join(options.projectRoot, 'test', 'infra', 'integ', 'smoke-handler.ts'),
    projectRoot: options.projectRoot,
    depsLockFilePath: join(options.projectRoot, 'package-lock.json'),
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    memorySize: 512,
    // Inside the assertion provider's own 2-minute timeout; the CLI's budget is 90 s.
    timeout: Duration.seconds(110),
    logGroup: new LogGroup(smoke, 'SmokeLogs', { retention, removalPolicy: RemovalPolicy.DESTROY }),
    environment: {
      HIPOCHAT_SMOKE_WS_URL: chat.webSocketApi.url,
      HIPOCHAT_SMOKE_HTTP_URL: chat.httpApi.url,
      HIPOCHAT_SERVICE_KEY_SECRET_ARN: chat.serviceKey.secretArn,
    },
    bundling: {
      format: OutputFormat.ESM,
      banner: ESM_REQUIRE_BANNER,
      mainFields: ['module', 'main'],
      minify: true,
      bundleAwsSDK: false,
      forceDockerBundling: false,
    },
  });
  chat.serviceKey.grantRead(smokeFunction);

  const integ = new IntegTest(app, 'HipochatDeployment', {
    testCases: [identity, chat, smoke],
    // Nothing deployed before to update from: every run starts from nothing and ends with nothing.
    stackUpdateWorkflow: false,
    diffAssets: false,
    cdkCommandOptions: {
      destroy: { args: { force: true } },
    },
  });
  const fanout = chat.functions.get('fanout')!;
  const mappings = integ.assertions
    .awsApiCall('Lambda', 'listEventSourceMappings', { FunctionName: fanout.functionName })
    .expect(
      ExpectedResult.objectLike({
        EventSourceMappings: Array.from({ length: config.fanoutShards }, () =>
          Match.objectLike({ State: 'Enabled' }),
        ),
      }),
    )
    .waitForAssertions({ totalTimeout: Duration.minutes(10), interval: Duration.seconds(30) });
  const smokeRun = integ.assertions
    .invokeFunction({
      functionName: smokeFunction.functionName,
      invocationType: InvocationType.REQUEST_RESPONSE,
    })
    .expect(ExpectedResult.objectLike({ Payload: Match.serializedJson(Match.objectLike({ exitCode: 0 })) }))
    // Cold starts of a fresh stack may take a first run's budget; every run uses a new room.
    .waitForAssertions({ totalTimeout: Duration.minutes(10), interval: Duration.seconds(30) });
  mappings.next(smokeRun);
  return { app, integ, identity, chat, smoke, smokeFunction };
}
