import type { Channel } from 'amqplib';

/** The default namespace of exchange and queue names. */
const DEFAULT_NAMESPACE = 'hipochat';

/** Exchange and queue names of one namespace (`HIPOCHAT_AMQP_NAMESPACE`, default `hipochat`). */
export interface BusNames {
  /** The topic exchange every message is published to. */
  exchange: string;
  /** Where poison messages go after the delivery limit. */
  deadLetterExchange: string;
  deadLetterQueue: string;
  /**
   * Where delayed messages wait (the flush of a room's signal digest): published to the delay
   * exchange with their usual routing key, each with its own expiration, they dead-letter into
   * `exchange` with that key when it passes.
   */
  delayExchange: string;
  delayQueue: string;
  /** Name of fan-out shard queue `n`. */
  shardQueue(shard: number): string;
}

/** Names in `namespace`; separate namespaces let several deployments share one broker. */
export function busNames(namespace = DEFAULT_NAMESPACE): BusNames {
  return {
    exchange: namespace,
    deadLetterExchange: `${namespace}.dlx`,
    deadLetterQueue: `${namespace}.dead`,
    delayExchange: `${namespace}.delay`,
    delayQueue: `${namespace}.delayed`,
    shardQueue: (shard) => `${namespace}.fanout.${shard}`,
  };
}

const defaults = busNames();
/** The dead-letter queue of the default namespace (what the CDK stack deploys). */
export const DEAD_LETTER_QUEUE = defaults.deadLetterQueue;
/** Shard queue `n` of the default namespace (what the CDK stack deploys). */
export const shardQueue = defaults.shardQueue;

/** Stable shard of a room (FNV-1a), so one room always lands on one queue and keeps its order. */
export function shardOf(room: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < room.length; i += 1) {
    hash ^= room.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/** Routing key `<shard>.<room>`: shard queues bind `<n>.#`, outside consumers `*.<room>`. */
export function routingKey(room: string, shards: number): string {
  return `${shardOf(room, shards)}.${room}`;
}

/**
 * Routing key of a live signal (presence, typing, read) of a room: `<shard>.<room>.~signal`. The
 * room's shard queue gets it in order with the room's messages (`<n>.#`), while an outside
 * consumer binding `*.<room>` (an archive) never sees it; `~` is in no room name.
 */
export function signalRoutingKey(room: string, shards: number): string {
  return `${routingKey(room, shards)}.~signal`;
}

/**
 * Routing key of a message the fan-out requeued for the connections that still miss it:
 * `<shard>.<room>.~retry`. Its shard queue gets it (`<n>.#`); an outside consumer binding
 * `*.<room>` already had it once and never sees it again.
 */
export function retryRoutingKey(room: string, shards: number): string {
  return `${routingKey(room, shards)}.~retry`;
}

/** Shape of the broker topology. */
export interface TopologyOptions {
  shards: number;
  /** Deliveries before a message is dead-lettered. */
  deliveryLimit: number;
  /** Prefix of every name. @default 'hipochat' */
  namespace?: string;
  /**
   * Type of the shard queues; `classic` has no `x-delivery-limit` (the fan-out's own failure count
   * still dead-letters). The dead-letter queue is always quorum. @default 'quorum'
   */
  queueType?: QueueType;
}

/** RabbitMQ queue type of the shard queues (`HIPOCHAT_QUEUE_TYPE`). */
export type QueueType = 'quorum' | 'classic';

/**
 * Declares the exchange, the quorum shard queues with a delivery limit, the dead-letter queue and
 * the delay queue.
 * Idempotent; used by the publisher, the local poller and the deploy-time custom resource.
 */
export async function declareTopology(channel: Channel, options: TopologyOptions): Promise<void> {
  const names = busNames(options.namespace);
  await channel.assertExchange(names.exchange, 'topic', { durable: true });
  await channel.assertExchange(names.deadLetterExchange, 'fanout', { durable: true });
  await channel.assertQueue(names.deadLetterQueue, {
    durable: true,
    arguments: { 'x-queue-type': 'quorum' },
  });
  await channel.bindQueue(names.deadLetterQueue, names.deadLetterExchange, '');
  // Messages expire in order at the queue's head, and every delay of a deployment is the same
  // window, so none waits behind a longer one. Of the shard queues' type, so a RabbitMQ 4 cluster
  // (where classic queues are not replicated) keeps pending flushes through a node's loss. Without
  // `x-dead-letter-routing-key` an expired message keeps its own key and reaches its room's shard.
  await channel.assertExchange(names.delayExchange, 'fanout', { durable: true });
  await channel.assertQueue(names.delayQueue, {
    durable: true,
    arguments: { 'x-queue-type': options.queueType ?? 'quorum', 'x-dead-letter-exchange': names.exchange },
  });
  await channel.bindQueue(names.delayQueue, names.delayExchange, '');
  for (let shard = 0; shard < options.shards; shard += 1) {
    await channel.assertQueue(names.shardQueue(shard), {
      durable: true,
      arguments:
        options.queueType === 'classic'
          ? { 'x-queue-type': 'classic', 'x-dead-letter-exchange': names.deadLetterExchange }
          : {
              'x-queue-type': 'quorum',
              'x-delivery-limit': options.deliveryLimit,
              'x-dead-letter-exchange': names.deadLetterExchange,
            },
    });
    await channel.bindQueue(names.shardQueue(shard), names.exchange, `${shard}.#`);
  }
}
