import type { ChatMessage } from '../../../protocol/index.js';

/** Publishes accepted messages for fan-out. */
export interface ChatBus {
  readonly kind: 'rabbitmq' | 'memory';
  /** Resolves once the broker confirmed the message; rejects with ServiceUnavailableError otherwise. */
  publish(message: ChatMessage): Promise<void>;
  /**
   * Publishes a message that reaches the fan-out `delayMs` later (a room's signal digest flush),
   * with the same confirm guarantee as `publish`.
   */
  publishLater(message: ChatMessage, delayMs: number): Promise<void>;
  /**
   * Sends a message straight to the dead-letter queue (the fan-out gave up on it), with the same
   * confirm guarantee as `publish`. Optional: without it a failing message fails its whole batch.
   */
  deadLetter?(message: ChatMessage): Promise<void>;
  /**
   * Puts a message the fan-out could not deliver everywhere back on its room's shard queue, with
   * `headers` (AMQP headers, which no client can set) naming where it is still missing. Outside
   * consumers of the room never see it again. Same confirm guarantee as `publish`.
   */
  requeue?(message: ChatMessage, headers: Readonly<Record<string, string>>): Promise<void>;
  close(): Promise<void>;
}

/**
 * One message as a shard queue hands it to its consumer. Plain bytes, not an `aws:rmq` record:
 * shaping Lambda events is the local gateway's job (local/mq-events.ts).
 */
export interface Delivery {
  body: Buffer;
  messageId?: string;
  /** Whether the queue delivered it before (a failed batch is delivered again). */
  redelivered: boolean;
  /** String AMQP headers (a requeued message's remaining targets). */
  headers?: Record<string, string>;
}

/** Receives the batches of one shard queue, like an event source mapping: one batch at a time. */
export type BatchHandler = (queue: string, deliveries: Delivery[]) => Promise<void>;

/** Something that feeds shard batches to a handler: the local MQ poller or the in-memory bus. */
export interface BatchSource {
  /** Starts delivering; a rejected handler call means the batch is redelivered. */
  start(onBatch: BatchHandler): Promise<void>;
  stop(): Promise<void>;
}
