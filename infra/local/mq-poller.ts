import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import type { BatchHandler, BatchSource } from '../../lambdas/core/bus/chat-bus.js';
import { toRecord } from '../../lambdas/core/bus/chat-bus.js';
import { withHeartbeat } from '../../lambdas/core/bus/rabbitmq-bus.js';
import { busNames, declareTopology } from '../../lambdas/core/bus/topology.js';
import { logger } from '../../lambdas/core/logger.js';
import { backoffDelay, sleep } from '../../lambdas/core/retry.js';

/** Options of the local stand-in for the Amazon MQ event source mappings. */
export interface MqPollerOptions {
  url: string;
  shards: number;
  deliveryLimit: number;
  /** Prefix of exchange and queue names. @default 'hipochat' */
  namespace?: string;
  /** Most messages per batch. @default 100 */
  batchSize?: number;
  /** Milliseconds to gather a batch. @default 5 */
  batchWindowMs?: number;
}

interface ShardState {
  queue: string;
  /** One channel per shard, so a multiple-ack never reaches another shard's deliveries. */
  channel?: Channel;
  buffer: ConsumeMessage[];
  busy: boolean;
  timer?: NodeJS.Timeout;
}

/**
 * Consumes the shard queues like an event source mapping: per queue one batch at a time, acked
 * when the handler resolves, nacked (requeued, counted against the delivery limit) when it
 * rejects. Reconnects with capped backoff when the broker goes away.
 */
export class MqPoller implements BatchSource {
  private connection?: ChannelModel;
  private onBatch?: BatchHandler;
  private stopped = false;
  private readonly shards: ShardState[];
  private readonly batchSize: number;
  private readonly windowMs: number;

  constructor(private readonly options: MqPollerOptions) {
    this.batchSize = options.batchSize ?? 100;
    this.windowMs = options.batchWindowMs ?? 5;
    const names = busNames(options.namespace);
    this.shards = Array.from({ length: options.shards }, (_, n) => ({
      queue: names.shardQueue(n),
      buffer: [],
      busy: false,
    }));
  }

  async start(onBatch: BatchHandler): Promise<void> {
    this.onBatch = onBatch;
    this.stopped = false;
    await this.connect();
  }

  private async connect(): Promise<void> {
    const connection = await amqp.connect(withHeartbeat(this.options.url), { timeout: 3000 });
    connection.on('error', () => {});
    try {
      const setup = await connection.createChannel();
      await declareTopology(setup, this.options);
      await setup.close();
      this.connection = connection;
      connection.on('close', (error?: Error) => this.lost(connection, error));
      for (const shard of this.shards) {
        const channel = await connection.createChannel();
        channel.on('error', () => {});
        channel.on('close', () => {
          if (this.connection === connection) void connection.close().catch(() => {});
        });
        // Prefetch bounds what one shard holds unacknowledged, like a mapping's batch size.
        await channel.prefetch(this.batchSize);
        shard.channel = channel;
        await channel.consume(shard.queue, (message) => {
          if (!message) return;
          shard.buffer.push(message);
          this.schedule(shard, channel);
        });
      }
    } catch (error) {
      await connection.close().catch(() => {});
      throw error;
    }
  }

  private lost(connection: ChannelModel, error?: Error): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    for (const shard of this.shards) {
      clearTimeout(shard.timer);
      shard.timer = undefined;
      shard.channel = undefined;
      shard.buffer = [];
      shard.busy = false;
    }
    if (!this.stopped) {
      logger.warn('mq poller lost the broker; reconnecting', { error });
      void this.reconnect();
    }
  }

  private async reconnect(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt += 1) {
      await sleep(200 + backoffDelay(attempt, 200, 5000));
      if (this.stopped) return;
      try {
        await this.connect();
        logger.info('mq poller reconnected');
        return;
      } catch (error) {
        logger.warn('mq poller reconnect failed', { attempt, error });
      }
    }
  }

  private schedule(shard: ShardState, channel: Channel): void {
    if (shard.busy) return;
    if (shard.buffer.length >= this.batchSize) {
      clearTimeout(shard.timer);
      shard.timer = undefined;
      void this.flush(shard, channel);
    } else if (!shard.timer) {
      shard.timer = setTimeout(() => {
        shard.timer = undefined;
        void this.flush(shard, channel);
      }, this.windowMs);
    }
  }

  private async flush(shard: ShardState, channel: Channel): Promise<void> {
    const onBatch = this.onBatch;
    if (!onBatch || shard.busy || shard.buffer.length === 0 || channel !== shard.channel) return;
    shard.busy = true;
    const batch = shard.buffer.splice(0, this.batchSize);
    const last = batch.at(-1)!;
    try {
      await onBatch(
        `${shard.queue}::/`,
        batch.map((m) =>
          toRecord(m.content, m.fields.redelivered, m.properties.messageId as string | undefined),
        ),
      );
      if (channel === shard.channel) channel.ack(last, true);
    } catch (error) {
      logger.warn('fan-out batch failed; requeueing', { queue: shard.queue, size: batch.length, error });
      if (channel === shard.channel) channel.nack(last, true, true);
    } finally {
      if (channel === shard.channel) {
        shard.busy = false;
        if (shard.buffer.length > 0) this.schedule(shard, channel);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.onBatch = undefined;
    const connection = this.connection;
    this.connection = undefined;
    for (const shard of this.shards) {
      clearTimeout(shard.timer);
      shard.channel = undefined;
    }
    await connection?.close().catch(() => {});
  }
}
