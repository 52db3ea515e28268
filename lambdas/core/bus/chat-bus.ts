import type { ChatMessage } from '../protocol.js';
import type { RabbitMqRecord } from './rabbitmq-event.js';

/** Publishes accepted messages for fan-out. */
export interface ChatBus {
  readonly kind: 'rabbitmq' | 'memory';
  /** Resolves once the broker confirmed the message; rejects with ServiceUnavailableError otherwise. */
  publish(message: ChatMessage): Promise<void>;
  /**
   * Sends a message straight to the dead-letter queue (the fan-out gave up on it), with the same
   * confirm guarantee as `publish`. Optional: without it a failing message fails its whole batch.
   */
  deadLetter?(message: ChatMessage): Promise<void>;
  close(): Promise<void>;
}

/** Receives the batches of one shard queue, like an event source mapping: one batch at a time. */
export type BatchHandler = (queue: string, records: RabbitMqRecord[]) => Promise<void>;

/** Something that feeds shard batches to a handler: the local MQ poller or the in-memory bus. */
export interface BatchSource {
  /** Starts delivering; a rejected handler call means the batch is redelivered. */
  start(onBatch: BatchHandler): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the `aws:rmq` record of a message body. */
export function toRecord(body: Buffer, redelivered: boolean, messageId?: string): RabbitMqRecord {
  return {
    basicProperties: {
      contentType: 'application/json',
      deliveryMode: 2,
      messageId: messageId ?? null,
      bodySize: body.length,
    },
    redelivered,
    data: body.toString('base64'),
  };
}
