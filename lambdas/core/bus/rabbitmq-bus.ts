import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { ChatMessage } from '../../../protocol/index.js';
import { ServiceUnavailableError } from '../errors.js';
import { isSignal } from '../signals.js';
import type { ChatBus } from './chat-bus.js';
import {
  busNames,
  declareTopology,
  type QueueType,
  retryRoutingKey,
  routingKey,
  signalRoutingKey,
} from './topology.js';

/** Options of the RabbitMQ publisher. */
export interface RabbitMqBusOptions {
  url: string;
  shards: number;
  deliveryLimit: number;
  /** Prefix of exchange and queue names. @default 'hipochat' */
  namespace?: string;
  /** Type of the shard queues, as the deployment declared them. @default 'quorum' */
  queueType?: QueueType;
  /** Milliseconds to wait for a confirm before failing the publish. @default 5000 */
  confirmTimeoutMs?: number;
}

/** Heartbeats let both sides notice a dead peer (a broker restart, a frozen Lambda). */
export function withHeartbeat(raw: string, seconds = 30): string {
  const url = new URL(raw);
  if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(seconds));
  return url.toString();
}

interface Link {
  connection: ChannelModel;
  channel: ConfirmChannel;
}

/**
 * Publishes on a confirm channel. The connection is opened on first use and replaced after the
 * broker closed it (restart, idle timeout after a Lambda freeze).
 */
export class RabbitMqBus implements ChatBus {
  readonly kind = 'rabbitmq' as const;
  private link?: Promise<Link>;
  private closed = false;
  private readonly exchange: string;
  private readonly deadLetterExchange: string;
  private readonly delayExchange: string;

  constructor(private readonly options: RabbitMqBusOptions) {
    const names = busNames(options.namespace);
    this.exchange = names.exchange;
    this.deadLetterExchange = names.deadLetterExchange;
    this.delayExchange = names.delayExchange;
  }

  private open(): Promise<Link> {
    if (!this.link) {
      const attempt = (async () => {
        const connection = await amqp.connect(withHeartbeat(this.options.url), { timeout: 3000 });
        const forget = () => {
          if (this.link === attempt) this.link = undefined;
        };
        connection.on('error', forget);
        connection.on('close', forget);
        try {
          const channel = await connection.createConfirmChannel();
          channel.on('error', forget);
          channel.on('close', forget);
          await declareTopology(channel, this.options);
          return { connection, channel };
        } catch (error) {
          await connection.close().catch(() => {});
          throw error;
        }
      })();
      this.link = attempt;
      attempt.catch(() => {
        if (this.link === attempt) this.link = undefined;
      });
    }
    return this.link;
  }

  publish(message: ChatMessage): Promise<void> {
    const key = isSignal(message) ? signalRoutingKey : routingKey;
    return this.send(this.exchange, key(message.room, this.options.shards), message);
  }

  publishLater(message: ChatMessage, delayMs: number): Promise<void> {
    const key = isSignal(message) ? signalRoutingKey : routingKey;
    return this.send(this.delayExchange, key(message.room, this.options.shards), message, {
      expiration: String(Math.max(0, Math.round(delayMs))),
    });
  }

  deadLetter(message: ChatMessage): Promise<void> {
    return this.send(this.deadLetterExchange, '', message);
  }

  requeue(message: ChatMessage, headers: Readonly<Record<string, string>>): Promise<void> {
    return this.send(this.exchange, retryRoutingKey(message.room, this.options.shards), message, {
      headers,
    });
  }

  private async send(
    exchange: string,
    key: string,
    message: ChatMessage,
    extra: { expiration?: string; headers?: Readonly<Record<string, string>> } = {},
  ): Promise<void> {
    if (this.closed) throw new ServiceUnavailableError('broker unavailable: publisher closed');
    // Encoded before the broker is asked: a message that cannot be encoded is no broker failure.
    const body = Buffer.from(JSON.stringify(message));
    try {
      const { channel } = await this.open();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error('publish confirm timed out')),
          this.options.confirmTimeoutMs ?? 5000,
        );
        channel.publish(
          exchange,
          key,
          body,
          {
            persistent: true,
            contentType: 'application/json',
            messageId: message.id,
            type: message.type,
            ...extra,
          },
          (error) => {
            clearTimeout(timer);
            if (error) reject(error instanceof Error ? error : new Error(String(error)));
            else resolve();
          },
        );
      });
    } catch (error) {
      throw new ServiceUnavailableError('broker unavailable', { cause: error });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const link = this.link;
    this.link = undefined;
    if (link) await (await link.catch(() => undefined))?.connection.close().catch(() => {});
  }
}
