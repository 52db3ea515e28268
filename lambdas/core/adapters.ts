import type { ChatBus } from './bus/chat-bus.js';
import { MemoryBus } from './bus/memory-bus.js';
import { RabbitMqBus } from './bus/rabbitmq-bus.js';
import type { ChatConfig } from './config.js';
import type { ChatStore } from './store/chat-store.js';
import { MemoryStore } from './store/memory-store.js';
import { RedisStore } from './store/redis-store.js';

/**
 * The store the config asks for: Redis when `HIPOCHAT_REDIS_URL` is set, the in-memory twin
 * otherwise. The one place that choice is made (runtime, local gateway, bench probes).
 */
export function createStore(config: ChatConfig): ChatStore {
  return config.redisUrl
    ? new RedisStore({
        url: config.redisUrl,
        cluster: config.redisCluster,
        historyLimit: config.historyLimit,
        waitReplicas: config.redisWaitReplicas,
        waitMs: config.redisWaitMs,
      })
    : new MemoryStore(config.historyLimit);
}

/**
 * The bus the config asks for: RabbitMQ when `HIPOCHAT_AMQP_URL` is set, the in-memory twin
 * otherwise (which also feeds its own batches to the fan-out).
 */
export function createBus(config: ChatConfig): ChatBus {
  return config.amqpUrl
    ? new RabbitMqBus({
        url: config.amqpUrl,
        shards: config.fanoutShards,
        deliveryLimit: config.deliveryLimit,
        namespace: config.amqpNamespace,
        queueType: config.queueType,
      })
    : new MemoryBus(config.fanoutShards, config.deliveryLimit);
}
