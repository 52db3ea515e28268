import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import type { BatchHandler, BatchSource } from '../lambdas/core/bus/chat-bus.js';
import { withHeartbeat } from '../lambdas/core/bus/rabbitmq-bus.js';
import { busNames, declareTopology } from '../lambdas/core/bus/topology.js';
import { logger } from '../lambdas/core/logger.js';
import { backoffDelay, sleep } from '../lambdas/core/retry.js';
import { failureCause, secretsOf } from './dependency-watch.js';

/** Pause before a failed batch is requeued for its next delivery. */
const FAILED_BATCH_PAUSE_MS = 500;

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

/** The string headers of a consumed message (amqplib hands long strings over as text or bytes). */
function stringHeaders(headers: Record<string, unknown> | undefined): { headers?: Record<string, string> } {
  const found: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (typeof value === 'string') found[name] = value;
    else if (Buffer.isBuffer(value)) found[name] = value.toString('utf8');
  }
  return Object.keys(found).length > 0 ? { headers: found } : {};
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
  private reconnecting = false;
  /** The cause last logged: a broker that stays away is logged once per cause, not per attempt. */
  private reported?: string;
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

  /**
   * Starts consuming. An unreachable broker does not fail the start: the poller keeps retrying
   * (as a mapping would), publishes answer 503 meanwhile, and the gateway reports it at start-up.
   */
  async start(onBatch: BatchHandler): Promise<void> {
    this.onBatch = onBatch;
    this.stopped = false;
    try {
      await this.connect();
    } catch (error) {
      this.unreachable(error, 0);
      void this.reconnect();
    }
  }

  private async connect(): Promise<void> {
    const connection = await amqp.connect(withHeartbeat(this.options.url), { timeout: 3000 });
    let ready = false;
    let closed = false;
    connection.on('error', () => {});
    // Registered before any await, so a close during setup is never missed.
    connection.on('close', (error?: Error) => {
      closed = true;
      if (ready) this.lost(connection, error);
    });
    try {
      const setup = await connection.createChannel();
      await declareTopology(setup, this.options);
      await setup.close();
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
      if (closed) throw new Error('the broker closed the connection during setup');
      if (this.stopped) throw new Error('the poller stopped during setup');
      this.connection = connection;
      ready = true;
    } catch (error) {
      // Half-set-up consumers die with their connection; the broker requeues what they held.
      this.resetShards();
      await connection.close().catch(() => {});
      throw error;
    }
  }

  private resetShards(): void {
    for (const shard of this.shards) {
      clearTimeout(shard.timer);
      shard.timer = undefined;
      shard.channel = undefined;
      shard.buffer = [];
      shard.busy = false;
    }
  }

  private lost(connection: ChannelModel, error?: Error): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.resetShards();
    if (!this.stopped) {
      this.reported = error ? failureCause(error, secretsOf(this.options.url)) : 'connection closed';
      logger.warn('mq poller lost the broker; reconnecting', { cause: this.reported });
      void this.reconnect();
    }
  }

  /** Logs a failed attempt: a warning when the cause is new, else a debug line (no stack either way). */
  private unreachable(error: unknown, attempt: number): void {
    const cause = failureCause(error, secretsOf(this.options.url));
    if (cause === this.reported) {
      logger.debug('mq poller still cannot reach the broker; retrying', { attempt, cause });
      return;
    }
    this.reported = cause;
    logger.warn('mq poller cannot reach the broker; retrying', { attempt, cause });
  }

  /** One reconnect loop at a time: two would leave a second, orphaned consumer holding messages. */
  private async reconnect(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      for (let attempt = 0; !this.stopped; attempt += 1) {
        await sleep(200 + backoffDelay(attempt, 200, 5000));
        if (this.stopped) return;
        try {
          await this.connect();
          this.reported = undefined;
          logger.info('mq poller reconnected');
          return;
        } catch (error) {
          this.unreachable(error, attempt + 1);
        }
      }
    } finally {
      this.reconnecting = false;
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
        batch.map((m) => ({
          body: m.content,
          messageId: m.properties.messageId as string | undefined,
          redelivered: m.fields.redelivered,
          ...stringHeaders(m.properties.headers),
        })),
      );
      if (channel === shard.channel) channel.ack(last, true);
    } catch (error) {
      logger.warn('fan-out batch failed; requeueing', { queue: shard.queue, size: batch.length, error });
      // A pause before the redelivery: a store or broker that just came back gets its clients
      // reconnected before the batch's deliveries, counted against the limit, run out.
      await sleep(FAILED_BATCH_PAUSE_MS);
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
