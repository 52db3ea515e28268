import type { Channel } from 'amqplib';

/** The topic exchange every message is published to. */
export const EXCHANGE = 'hipochat';
/** Where poison messages end after the delivery limit. */
export const DEAD_LETTER_EXCHANGE = 'hipochat.dlx';
export const DEAD_LETTER_QUEUE = 'hipochat.dead';

/** Name of fan-out shard queue `n`. */
export function shardQueue(shard: number): string {
  return `hipochat.fanout.${shard}`;
}

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

/** Shape of the broker topology. */
export interface TopologyOptions {
  shards: number;
  /** Deliveries before a message is dead-lettered. */
  deliveryLimit: number;
}

/**
 * Declares the exchange, the quorum shard queues with a delivery limit and the dead-letter queue.
 * Idempotent; used by the publisher, the local poller and the deploy-time custom resource.
 */
export async function declareTopology(channel: Channel, options: TopologyOptions): Promise<void> {
  await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
  await channel.assertExchange(DEAD_LETTER_EXCHANGE, 'fanout', { durable: true });
  await channel.assertQueue(DEAD_LETTER_QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(DEAD_LETTER_QUEUE, DEAD_LETTER_EXCHANGE, '');
  for (let shard = 0; shard < options.shards; shard += 1) {
    await channel.assertQueue(shardQueue(shard), {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-delivery-limit': options.deliveryLimit,
        'x-dead-letter-exchange': DEAD_LETTER_EXCHANGE,
      },
    });
    await channel.bindQueue(shardQueue(shard), EXCHANGE, `${shard}.#`);
  }
}
