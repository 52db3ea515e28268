import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import type { HipochatEnv } from '../../lambdas/core/config.js';
import { acknowledge, managedPolicyFinding } from './nag.js';

/** Function environment: only variables the config schema (`envSchema`) knows, as strings. */
export type ChatEnvironment = { readonly [K in keyof HipochatEnv]?: string };

/**
 * Variables holding the ARN of a Secrets Manager secret the function reads at cold start, so no
 * secret value ever sits in a function's configuration.
 */
export type SecretVariable =
  | 'HIPOCHAT_SERVICE_KEY_SECRET_ARN'
  | 'HIPOCHAT_PUSH_SECRET_ARN'
  | 'HIPOCHAT_REDIS_AUTH_SECRET_ARN'
  | 'HIPOCHAT_RABBIT_SECRET_ARN';

/** Secrets of a function by the variable that carries their ARN. */
export type ChatSecrets = { readonly [K in SecretVariable]?: ISecret };

/** ESM output still meets CommonJS dependencies (amqplib); give them a `require`. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/** Properties of {@link ChatFunction}. */
export interface ChatFunctionProps {
  /** Handler module relative to `projectRoot`; it exports `handler`. */
  readonly entry: string;
  /**
   * Repository root: where `package-lock.json` and the handler modules are.
   * @default process.cwd()
   */
  readonly projectRoot?: string;
  readonly description?: string;
  readonly vpc: IVpc;
  readonly vpcSubnets: SubnetSelection;
  readonly securityGroup: ISecurityGroup;
  /** Retention of the function's log group. */
  readonly logRetention: RetentionDays;
  /**
   * Configuration variables.
   * @default - none
   */
  readonly environment?: ChatEnvironment;
  /**
   * Secrets the function may read; each ARN lands in its variable and read access is granted.
   * @default - none
   */
  readonly secrets?: ChatSecrets;
  /**
   * Memory in MB; CPU share grows with it.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Timeout.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Concurrent executions reserved for (and capping) the function.
   * @default - the account's unreserved pool
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * One chat handler as a Lambda function with the project's defaults: Node.js 24 on ARM64, an ESM
 * bundle built by the local esbuild (minified, with source maps, the runtime's AWS SDK left out),
 * its own log group with a retention period, private subnets and the shared security group, active
 * tracing, and an environment typed by the config schema.
 */
export class ChatFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: ChatFunctionProps) {
    const projectRoot = props.projectRoot ?? process.cwd();
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const secretArns: Record<string, string> = {};
    for (const [variable, secret] of Object.entries(props.secrets ?? {})) {
      if (secret) secretArns[variable] = secret.secretArn;
    }
    super(scope, id, {
      entry: join(projectRoot, props.entry),
      handler: 'handler',
      projectRoot,
      depsLockFilePath: join(projectRoot, 'package-lock.json'),
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      tracing: Tracing.ACTIVE,
      logGroup,
      loggingFormat: LoggingFormat.JSON,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [props.securityGroup],
      environment: {
        ...(props.environment as Record<string, string> | undefined),
        ...secretArns,
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        format: OutputFormat.ESM,
        banner: ESM_REQUIRE_BANNER,
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.EXTERNAL,
        sourcesContent: false,
        // The runtime ships AWS SDK v3; leaving it out keeps every bundle small.
        bundleAwsSDK: false,
        // esbuild comes from node_modules; Docker is neither needed nor available in CI.
        forceDockerBundling: false,
      },
    });
    for (const secret of Object.values(props.secrets ?? {})) secret?.grantRead(this);
    acknowledge(
      this,
      managedPolicyFinding(this, 'service-role/AWSLambdaBasicExecutionRole'),
      'AWS-maintained baseline that lets the function write its own log streams; nothing else.',
    );
    acknowledge(
      this,
      managedPolicyFinding(this, 'service-role/AWSLambdaVPCAccessExecutionRole'),
      'AWS-maintained network interface actions Lambda needs to place the function in the private subnets.',
    );
    acknowledge(
      this,
      'AwsSolutions-IAM5[Resource::*]',
      'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
    );
  }
}
