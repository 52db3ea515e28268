import { createBus, createStore } from '../lambdas/core/adapters.js';
import { MemoryBus } from '../lambdas/core/bus/memory-bus.js';
import { loadConfig } from '../lambdas/core/config.js';
import { ChatError } from '../lambdas/core/errors.js';
import { createRuntime, setRuntime } from '../lambdas/core/runtime.js';
import type { DevServices } from './dev-services.js';
import { LocalGateway } from './gateway.js';
import { MqPoller } from './mq-poller.js';

/** Hides the password of a service URL in start-up lines. */
function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

async function main(): Promise<void> {
  const config = loadConfig();
  // The real SDK client signs its @connections calls; the local endpoint needs no real keys.
  process.env.AWS_REGION ??= 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
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
  const gateway = new LocalGateway({ port: config.listenPort, host: config.listenAddress, batches, dev });

  const { port, host } = await gateway.start(({ port: bound, host: boundHost }) => {
    const base = `http://${boundHost.includes(':') ? `[${boundHost}]` : boundHost}:${bound}`;
    const runtimeConfig = {
      ...config,
      profileUrl: config.profileUrl ?? `${base}/dev/profile`,
      pushUrl: config.pushUrl ?? `${base}/dev/push`,
      // A fault-injecting proxy in front of @connections (test/faults) may stand in for the gateway.
      connectionsUrl: config.connectionsUrl ?? base,
    };
    setRuntime(createRuntime(runtimeConfig, { store, bus }));
  });
  const base = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const lines = [
    `hipochat local gateway listening on http://${base}`,
    `  store:   ${config.redisUrl ? `redis ${redact(config.redisUrl)}` : 'in-memory (state is lost on restart; set HIPOCHAT_REDIS_URL for Redis)'}`,
    `  bus:     ${config.amqpUrl ? `rabbitmq ${redact(config.amqpUrl)}, ${config.fanoutShards} shard queues` : 'in-memory (set HIPOCHAT_AMQP_URL for RabbitMQ)'}`,
    `  ws:      ws://${base}/?room=<room>&token=<token>   (Hipochat: ws://${base}/talk/chat/<room>/?token=<token>)`,
    `  http:    http://${base}/talk/old/<room>/ and the other /talk/... routes`,
    `  page:    http://${base}/`,
    `  profile: ${config.profileUrl ? redact(config.profileUrl) : 'dev identity: any token of [A-Za-z0-9_-]{1,64} is a user of that name'}`,
    `  push:    ${config.pushUrl ? redact(config.pushUrl) : `dev sink, logged (GET http://${base}/dev/push lists them)`}`,
    `  members: ${config.serviceKey ? 'new-chat-room/unsubscribe need Authorization: Bearer $HIPOCHAT_SERVICE_KEY' : 'new-chat-room/unsubscribe disabled (set HIPOCHAT_SERVICE_KEY)'}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await gateway.stop();
    await Promise.all([store.close(), bus.close()]);
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const message =
    error instanceof ChatError ? error.message : String(error instanceof Error ? error.stack : error);
  process.stderr.write(`hipochat local gateway failed to start: ${message}\n`);
  process.exit(1);
});
