import { createBus, createStore } from '../lambdas/core/adapters.js';
import { MemoryBus } from '../lambdas/core/bus/memory-bus.js';
import { loadConfig } from '../lambdas/core/config.js';
import { SignedPostSender } from '../lambdas/core/connections.js';
import { serviceUse } from '../lambdas/core/credentials.js';
import { ChatError } from '../lambdas/core/errors.js';
import { createRuntime, setRuntime } from '../lambdas/core/runtime.js';
import { httpRoutes, routes } from '../lambdas/routes.js';
import { DependencyWatch, rabbitMqDependency, redisDependency } from './dependency-watch.js';
import { type DevServices, devIdentityWarning } from './dev-services.js';
import { LocalGateway } from './gateway.js';
import { localFunctionName } from './lambda-context.js';
import { MqPoller } from './mq-poller.js';
import {
  applyLocalMetrics,
  DEFAULT_LOCAL_KEYS,
  defaultKeysWarning,
  redactUrl as redact,
  startupFailure,
} from './startup-report.js';

/** Where the gateway was asked to listen, once the configuration is read (for a start-up failure). */
let listening: { port: number; host: string } | undefined;

async function main(): Promise<void> {
  const config = loadConfig();
  listening = { port: config.listenPort, host: config.listenAddress };
  applyLocalMetrics(process.env, config.localMetrics);
  // The real SDK client signs its @connections calls; the local endpoint needs no real keys.
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= DEFAULT_LOCAL_KEYS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= DEFAULT_LOCAL_KEYS.secretAccessKey;
  // Lambda runs Node 24; the SDK's notice about older local Node versions is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  const store = createStore(config);
  const bus = createBus(config);
  // The in-memory bus feeds its own batches. With RabbitMQ the poller reads the shard queues; it
  // shares the publisher's namespace, so gateways on one broker never take each other's batches.
  const batches =
    bus instanceof MemoryBus
      ? bus
      : new MqPoller({
          url: config.amqpUrl!,
          shards: config.fanoutShards,
          deliveryLimit: config.deliveryLimit,
          namespace: config.amqpNamespace,
        });
  const dev: DevServices = { profile: !config.profileUrl, push: !config.pushUrl, received: [] };
  // `@connections` verifies SigV4 with the keys the runtime's SDK client and SignedPostSender sign with.
  const credentials = {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID!,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY!,
    sessionToken: process.env.AWS_SESSION_TOKEN || undefined,
  };
  const gateway = new LocalGateway({
    port: config.listenPort,
    host: config.listenAddress,
    batches,
    dev,
    credentials,
    postLatencyMs: config.localPostLatencyMs,
    postRps: config.localPostRps,
    postFailRate: config.localPostFailRate,
    invokeConcurrency: config.localInvokeConcurrency,
  });
  const delivery = routes.find((route) => route.kind === 'invoke');

  const { port, host } = await gateway.start(({ port: bound, host: boundHost }) => {
    const base = `http://${boundHost.includes(':') ? `[${boundHost}]` : boundHost}:${bound}`;
    const runtimeConfig = {
      ...config,
      profileUrl: config.profileUrl ?? `${base}/dev/profile`,
      pushUrl: config.pushUrl ?? `${base}/dev/push`,
      // A fault-injecting proxy in front of @connections (test/faults) may stand in for the gateway.
      connectionsUrl: config.connectionsUrl ?? base,
      // Big rooms go to the delivery function through this gateway's Invoke API.
      deliveryFunction: config.deliveryFunction ?? (delivery ? localFunctionName(delivery.name) : undefined),
      lambdaEndpoint: config.lambdaEndpoint ?? base,
    };
    // Every invocation runs in this one process, slices included; each bounds its own posts in
    // flight (HIPOCHAT_FANOUT_CONCURRENCY), so the shared socket pool must not bound them all.
    const sender = new SignedPostSender({ endpoint: runtimeConfig.connectionsUrl, maxSockets: Infinity });
    setRuntime(createRuntime(runtimeConfig, { store, bus, sender }));
  });
  const base = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const backend = [
    ...new Set(httpRoutes.filter((route) => route.caller !== 'user').map((route) => serviceUse(route))),
  ].join(', ');
  const lines = [
    `hipochat local gateway listening on http://${base}`,
    `  store:   ${config.redisUrl ? `redis ${redact(config.redisUrl)}` : 'in-memory (state is lost on restart; set HIPOCHAT_REDIS_URL for Redis)'}`,
    `  bus:     ${config.amqpUrl ? `rabbitmq ${redact(config.amqpUrl)}, ${config.fanoutShards} shard queues` : 'in-memory (set HIPOCHAT_AMQP_URL for RabbitMQ)'}`,
    `  fan-out: ${config.fanoutSliceSize > 0 ? `rooms over ${config.fanoutSliceSize} connections in parallel slices (local Lambda Invoke API)` : 'no slices (HIPOCHAT_FANOUT_SLICE_SIZE=0)'}${config.localPostLatencyMs > 0 ? `; @connections answers after ${config.localPostLatencyMs} ms` : ''}${config.localPostRps > 0 ? `; ${config.localPostRps} posts/s` : ''}${config.localPostFailRate > 0 ? `; ${config.localPostFailRate * 100}% of posts fail` : ''}${config.localInvokeConcurrency > 0 ? `; ${config.localInvokeConcurrency} invocations at once` : ''}`,
    `  ws:      ws://${base}/?room=<room>&token=<token>   (Hipochat: ws://${base}/talk/chat/<room>/?token=<token>)`,
    `  http:    http://${base}/talk/old/<room>/ and the other /talk/... routes`,
    `  page:    http://${base}/`,
    `  profile: ${config.profileUrl ? redact(config.profileUrl) : 'dev identity: any token of [A-Za-z0-9_-]{1,64} is a user of that name'}`,
    `  push:    ${config.pushUrl ? redact(config.pushUrl) : `dev sink, logged (GET http://${base}/dev/push lists them)`}`,
    `  backend: ${config.serviceKey ? `Authorization: Bearer $HIPOCHAT_SERVICE_KEY for ${backend}` : `${backend}: disabled (set HIPOCHAT_SERVICE_KEY)`}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  for (const warning of [devIdentityWarning(dev, host), defaultKeysWarning(credentials, host)]) {
    if (warning) process.stderr.write(`${warning}\n`);
  }
  // Says at once which service is unreachable (and when it is back); the gateway serves meanwhile.
  const watch = new DependencyWatch(
    [
      ...(config.redisUrl ? [redisDependency(config.redisUrl)] : []),
      ...(config.amqpUrl ? [rabbitMqDependency(config.amqpUrl)] : []),
    ],
    (line) => process.stderr.write(`${line}\n`),
  );
  watch.start();

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await watch.stop();
    await gateway.stop();
    await Promise.all([store.close(), bus.close()]);
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const message = error instanceof ChatError ? error.message : startupFailure(error, listening);
  process.stderr.write(`hipochat local gateway failed to start: ${message}\n`);
  process.exit(1);
});
