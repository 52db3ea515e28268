import { App, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { DEAD_LETTER_QUEUE, shardQueue } from '../lambdas/core/bus/topology.js';
import { DEFAULT_DELIVERY_CONCURRENCY } from '../lambdas/core/config.js';
import { functionSize, type Route, type RouteSecret, routes as routeTable } from '../lambdas/routes.js';
import { ChatAlarms } from './constructs/alarms.js';
import { Broker, BrokerTopology } from './constructs/broker.js';
import {
  type ChatEnvironment,
  ChatFunction,
  type ChatSecrets,
  type SecretVariable,
} from './constructs/chat-function.js';
import { ChatDashboard } from './constructs/dashboard.js';
import { Fanout } from './constructs/fanout.js';
import { HttpChatApi } from './constructs/http-api.js';
import { LegacyDomain } from './constructs/legacy-domain.js';
import { LogRetentionAspect } from './constructs/log-retention.js';
import { acknowledge } from './constructs/nag.js';
import { Network } from './constructs/network.js';
import { Redis } from './constructs/redis.js';
import { WebPage } from './constructs/web-page.js';
import { WebSocketChatApi } from './constructs/websocket-api.js';
import { type StackConfig, stackConfigFromContext } from './stack-config.js';

/** Properties of {@link ChatStack}. */
/**
 * Milliseconds a write waits for its replica before the sender gets a retryable 503. A replica in
 * the next Availability Zone confirms in about a millisecond, and `WAIT` returns as soon as it
 * does, so this only bounds how long a send is held while the replica lags or is gone.
 */
const REDIS_WAIT_MS = 100;

export interface ChatStackProps extends StackProps {
  readonly config: StackConfig;
  /**
   * Repository root (handler modules and `package-lock.json`).
   * @default process.cwd()
   */
  readonly projectRoot?: string;
  /**
   * The routes to deploy.
   * @default the routes table of `lambdas/routes.ts`
   */
  readonly routes?: readonly Route[];
}

function pascal(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/**
 * Cache cluster ids of every node: `<group>-001` or, in cluster mode, `<group>-0001-001`; none for
 * a serverless cache, which has no nodes.
 */
function cacheNodeIds(redis: Redis, config: StackConfig): string[] {
  if (!redis.replicationGroup) return [];
  const group = redis.replicationGroup.ref;
  const nodes = Array.from({ length: config.cache.nodesPerShard }, (_, n) => String(n + 1).padStart(3, '0'));
  if (!config.cache.clusterMode) return nodes.map((node) => `${group}-${node}`);
  return Array.from({ length: config.cache.shards }, (_, s) => String(s + 1).padStart(4, '0')).flatMap(
    (shard) => nodes.map((node) => `${group}-${shard}-${node}`),
  );
}

/**
 * The whole Hipochat deployment: network, cache, broker with its topology, one function per route
 * of the routes table, the WebSocket and HTTP APIs, sharded fan-out, alarms, and optionally the
 * legacy CloudFront domain and the hosted demo page.
 */
export class ChatStack extends Stack {
  readonly functions = new Map<string, ChatFunction>();
  readonly webSocketApi: WebSocketChatApi;
  readonly httpApi: HttpChatApi;
  readonly network: Network;
  readonly redis: Redis;
  readonly broker: Broker;
  readonly topology: BrokerTopology;
  readonly fanout: Fanout;
  readonly alarms: ChatAlarms;
  readonly dashboard: ChatDashboard;
  /** The backends' service key (`Authorization: Bearer <key>`). */
  readonly serviceKey: Secret;
  /** HMAC key of the push webhook (`X-Hipochat-Signature`). */
  readonly pushKey: Secret;
  readonly legacyDomain?: LegacyDomain;
  readonly webPage?: WebPage;

  constructor(scope: Construct, id: string, props: ChatStackProps) {
    super(scope, id, {
      description: 'Hipochat: WebSocket chat on API Gateway, Lambda, ElastiCache and Amazon MQ',
      ...props,
    });
    const { config } = props;
    const routes = props.routes ?? routeTable;
    const logRetention = config.logRetentionDays as RetentionDays;
    const dataRemoval = config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    // Also the log groups of CDK's own custom-resource handlers, which declare none.
    LogRetentionAspect.applyTo(this, logRetention);

    this.network = new Network(this, 'Network', {
      natGateways: config.natGateways,
      natProvider: config.natProvider,
      natInstanceType: config.natInstanceType,
      natAmiRefresh: config.natAmiRefresh,
      secretsEndpoint: config.secretsEndpoint,
      logRetention,
    });
    const { vpc, privateSubnets: subnets, functionSecurityGroup: securityGroup } = this.network;
    this.redis = new Redis(this, 'Cache', {
      vpc,
      subnets,
      clients: securityGroup,
      ...config.cache,
      retainData: config.removalPolicy === 'retain',
    });
    this.broker = new Broker(this, 'Broker', {
      vpc,
      subnets,
      clients: securityGroup,
      ...config.broker,
      removalPolicy: dataRemoval,
      logRetention,
    });
    this.topology = new BrokerTopology(this, 'Topology', {
      broker: this.broker,
      vpc,
      subnets,
      logRetention,
      shards: config.fanoutShards,
      deliveryLimit: config.deliveryLimit,
      queueType: config.queueType,
      runtimeUserRevision: config.brokerUserRevision,
      stage: config.stageName,
      projectRoot: props.projectRoot,
    });

    const secret = (id: string, description: string) => {
      const created = new Secret(this, id, {
        description,
        generateSecretString: { passwordLength: 48, excludePunctuation: true },
        removalPolicy: dataRemoval,
      });
      acknowledge(
        created,
        'AwsSolutions-SMG4',
        'Shared with the customer backends, which must switch keys at the same moment; rotation is a coordinated manual step (docs/deploy.md).',
      );
      return created;
    };
    this.serviceKey = secret(
      'ServiceKey',
      'Hipochat service key of backends (item, new-chat-room, unsubscribe)',
    );
    this.pushKey = secret('PushSecret', 'Hipochat push webhook HMAC key (X-Hipochat-Signature)');
    // Each function reads only the secrets its route lists in the routes table.
    const secretOf: Record<RouteSecret, readonly [SecretVariable, ISecret]> = {
      cache: ['HIPOCHAT_REDIS_AUTH_SECRET_ARN', this.redis.authSecret],
      broker: ['HIPOCHAT_RABBIT_SECRET_ARN', this.broker.runtimeCredentials],
      serviceKey: ['HIPOCHAT_SERVICE_KEY_SECRET_ARN', this.serviceKey],
      pushKey: ['HIPOCHAT_PUSH_SECRET_ARN', this.pushKey],
    };
    const secretsOf = (route: Route): ChatSecrets =>
      Object.fromEntries(route.secrets.map((name) => secretOf[name]));
    const environment: ChatEnvironment = {
      ...config.chatEnv,
      HIPOCHAT_STAGE: config.stageName,
      HIPOCHAT_REDIS_URL: this.redis.url,
      HIPOCHAT_REDIS_CLUSTER: String(this.redis.clusterMode),
      // A replication group with replicas fails over to one that may miss the last writes
      // (asynchronous replication): acknowledge only what a replica holds (docs/guarantees.md).
      // Serverless Valkey replicates on its own and takes no WAIT.
      ...(config.cache.kind === 'nodes' && config.cache.nodesPerShard > 1
        ? { HIPOCHAT_REDIS_WAIT_REPLICAS: '1', HIPOCHAT_REDIS_WAIT_MS: String(REDIS_WAIT_MS) }
        : {}),
      HIPOCHAT_RABBIT_URL: this.broker.amqpsUrl,
      HIPOCHAT_FANOUT_SHARDS: String(config.fanoutShards),
      HIPOCHAT_DELIVERY_LIMIT: String(config.deliveryLimit),
      HIPOCHAT_CLOSED_ROOMS: config.closedRooms.join(','),
      ...(config.profileUrl ? { HIPOCHAT_PROFILE_URL: config.profileUrl } : {}),
      ...(config.pushUrl ? { HIPOCHAT_PUSH_NOTIFICATION_URL: config.pushUrl } : {}),
    };
    for (const route of routes) {
      const size = functionSize(route);
      this.functions.set(
        route.name,
        new ChatFunction(this, `${pascal(route.name)}Function`, {
          entry: route.entry,
          projectRoot: props.projectRoot,
          description: `Hipochat ${route.kind} ${route.name}`,
          vpc,
          vpcSubnets: subnets,
          securityGroup,
          logRetention,
          environment,
          secrets: secretsOf(route),
          memorySize: size.memoryMb,
          timeout: Duration.seconds(size.timeoutSeconds),
          reservedConcurrentExecutions: route.kind === 'invoke' ? config.deliveryConcurrency : undefined,
        }),
      );
    }
    for (const route of routes.filter((candidate) => candidate.secrets.includes('broker'))) {
      const handler = this.functions.get(route.name)!;
      // The runtime user exists (and has its rotated password) before these functions change.
      handler.node.addDependency(this.topology.resource);
      // Publishers declare the topology too, with the queue arguments the deployment chose.
      handler.addEnvironment('HIPOCHAT_QUEUE_TYPE', config.queueType);
      if (config.brokerUserRevision > 0) {
        // A configuration change starts fresh containers, which read the rotated password.
        handler.addEnvironment('HIPOCHAT_BROKER_USER_REVISION', String(config.brokerUserRevision));
      }
    }
    const handlerOf = (route: Route): ChatFunction => this.functions.get(route.name)!;
    for (const route of routes) {
      if (route.kind !== 'invoke') continue;
      const caller = this.functions.get(route.invokedBy);
      if (!caller)
        throw new Error(`route ${route.name} is invoked by ${route.invokedBy}, which has no function`);
      const invoked = handlerOf(route);
      // This function only, unqualified (the caller invokes $LATEST): no version or alias wildcard.
      caller.addToRolePolicy(
        new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [invoked.functionArn] }),
      );
      caller.addEnvironment('HIPOCHAT_DELIVERY_FUNCTION', invoked.functionName);
      // The fan-out keeps its slices in flight within what the delivery function may run.
      caller.addEnvironment(
        'HIPOCHAT_DELIVERY_CONCURRENCY',
        String(config.deliveryConcurrency ?? DEFAULT_DELIVERY_CONCURRENCY),
      );
    }

    const authorizer = routes.find((route) => route.kind === 'authorizer');
    if (!authorizer) throw new Error('the routes table has no $connect authorizer');
    this.webSocketApi = new WebSocketChatApi(this, 'WebSocket', {
      routes: routes.flatMap((route) => (route.kind === 'ws' ? [{ route, handler: handlerOf(route) }] : [])),
      authorizer: { route: authorizer, handler: handlerOf(authorizer) },
      stageName: config.stageName,
      throttle: config.webSocketThrottle,
      logRetention,
      setAccountLoggingRole: config.apiGatewayAccount,
    });
    if (config.webPage) {
      this.webPage = new WebPage(this, 'WebPage', { logRetention, projectRoot: props.projectRoot });
    }
    this.httpApi = new HttpChatApi(this, 'Http', {
      routes: routes.flatMap((route) =>
        route.kind === 'http' ? [{ route, handler: handlerOf(route) }] : [],
      ),
      throttle: config.httpThrottle,
      logRetention,
      // The hosted page calls /talk/... from its CloudFront origin.
      corsOrigins: [...config.corsOrigins, ...(this.webPage ? [this.webPage.origin] : [])],
    });
    for (const route of routes.filter((candidate) => candidate.managesConnections)) {
      const handler = handlerOf(route);
      this.webSocketApi.grantManageConnections(handler);
      handler.addEnvironment('HIPOCHAT_CONNECTIONS_URL', this.webSocketApi.connectionsUrl);
    }

    const consumer = routes.find((route) => route.kind === 'queue');
    if (!consumer) throw new Error('the routes table has no fan-out consumer');
    this.fanout = new Fanout(this, 'Fanout', {
      handler: handlerOf(consumer),
      broker: this.broker,
      shards: config.fanoutShards,
      batchSize: config.batchSize,
      batchWindowSeconds: config.batchWindowSeconds,
      after: this.topology.resource,
    });
    const shardQueues = Array.from({ length: config.fanoutShards }, (_, shard) => shardQueue(shard));
    const cacheNodes = cacheNodeIds(this.redis, config);
    this.alarms = new ChatAlarms(this, 'Alarms', {
      stageName: config.stageName,
      fanout: handlerOf(consumer),
      brokerName: this.broker.brokerName,
      shardQueues,
      queueMetrics: Number(config.broker.engineVersion.split('.')[0]) < 4,
      webSocketStage: this.webSocketApi.stage,
      httpStage: this.httpApi.stage,
      cacheNodes,
      serverlessCache: this.redis.serverlessCache?.serverlessCacheName,
      email: config.alarmEmail,
    });
    this.dashboard = new ChatDashboard(this, 'Dashboard', {
      stageName: config.stageName,
      functions: this.functions,
      webSocketStage: this.webSocketApi.stage,
      httpStage: this.httpApi.stage,
      brokerName: this.broker.brokerName,
      shardQueues,
      deadLetterQueue: DEAD_LETTER_QUEUE,
      cacheNodes,
      serverlessCache: this.redis.serverlessCache?.serverlessCacheName,
      alarms: this.alarms.alarms,
    });
    if (config.legacyDomain) {
      this.legacyDomain = new LegacyDomain(this, 'LegacyDomain', {
        webSocketEndpoint: this.webSocketApi.api.apiEndpoint,
        webSocketStageName: config.stageName,
        httpEndpoint: this.httpApi.api.apiEndpoint,
        ...config.legacyDomain,
      });
      new CfnOutput(this, 'LegacyUrl', {
        value: this.legacyDomain.url,
        description: 'Hipochat URL layout (/talk/chat/<room>/ and /talk/...); point the old domain here',
      });
    }

    if (this.webPage) {
      new CfnOutput(this, 'WebPageUrl', {
        value: this.webPage.urlFor(this.webSocketApi.url, this.httpApi.url),
        description: 'The demo chat page, opened pointed at this stack (add &room=<room>&token=<token>)',
      });
    }

    new CfnOutput(this, 'WebSocketUrl', {
      value: this.webSocketApi.url,
      description: 'Clients connect to <url>?room=<room>&token=<token>',
    });
    new CfnOutput(this, 'HttpUrl', {
      value: this.httpApi.url,
      description: 'Base of the /talk/... HTTP routes',
    });
    new CfnOutput(this, 'ConnectionsUrl', {
      value: this.webSocketApi.connectionsUrl,
      description: 'API Gateway management endpoint (@connections)',
    });
    new CfnOutput(this, 'DashboardUrl', {
      value: this.dashboard.url,
      description: 'CloudWatch dashboard of this stage (README: Operate it)',
    });
    new CfnOutput(this, 'ServiceKeySecretArn', {
      value: this.serviceKey.secretArn,
      description: 'Secret holding the service key backends send as Authorization: Bearer <key>',
    });
  }
}

/** Options of {@link createChatApp}. */
export interface ChatAppOptions {
  /** Context as `-c key=value` would give it (`profile`, `stage`, `shards`, ...). */
  readonly context?: Record<string, unknown>;
  /** Cloud assembly directory. */
  readonly outdir?: string;
  /**
   * Run the cdk-nag AwsSolutions checks; an unacknowledged finding fails synthesis.
   * @default true
   */
  readonly nag?: boolean;
  /**
   * Repository root.
   * @default process.cwd()
   */
  readonly projectRoot?: string;
}

/**
 * The CDK app: one {@link ChatStack} named `Hipochat-<stage>`, configured from context, checked by
 * cdk-nag, with CloudFormation template validation findings (warnings included) failing synthesis.
 */
export function createChatApp(options: ChatAppOptions = {}): {
  app: App;
  stack: ChatStack;
  config: StackConfig;
} {
  const app = new App({
    outdir: options.outdir,
    context: options.context,
    postCliContext: {
      // Template validation errors stay errors, and its warnings count as errors too.
      '@aws-cdk/core:validateAgainstDefaultRules': true,
      '@aws-cdk/core:strictCfnValidateErrors': true,
    },
  });
  const config = stackConfigFromContext(app.node);
  const stack = new ChatStack(app, `Hipochat-${config.stageName}`, {
    config,
    projectRoot: options.projectRoot,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, config };
}
