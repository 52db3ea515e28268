import type { ChatMessage } from '../../../protocol/index.js';
import type { BatchHandler, BatchSource, ChatBus } from './chat-bus.js';
import { busNames, shardOf } from './topology.js';

interface Pending {
  body: Buffer;
  id: string;
  deliveries: number;
  headers?: Record<string, string>;
}

/**
 * The in-memory twin of RabbitMQ: per-shard queues in one process, batches handed to the fan-out
 * handler one at a time per shard, redelivered on failure up to the delivery limit, then
 * dead-lettered (kept in `deadLetters`).
 */
export class MemoryBus implements ChatBus, BatchSource {
  readonly kind = 'memory' as const;
  readonly deadLetters: Buffer[] = [];
  private readonly queues: Pending[][];
  private readonly busy: boolean[];
  private onBatch?: BatchHandler;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly shards: number,
    private readonly deliveryLimit: number,
    private readonly batchSize = 100,
  ) {
    this.queues = Array.from({ length: shards }, () => []);
    this.busy = Array.from({ length: shards }, () => false);
  }

  async publish(message: ChatMessage): Promise<void> {
    const shard = shardOf(message.room, this.shards);
    this.queues[shard]!.push({ body: Buffer.from(JSON.stringify(message)), id: message.id, deliveries: 0 });
    this.drain(shard);
  }

  async requeue(message: ChatMessage, headers: Readonly<Record<string, string>>): Promise<void> {
    const shard = shardOf(message.room, this.shards);
    const body = Buffer.from(JSON.stringify(message));
    this.queues[shard]!.push({ body, id: message.id, deliveries: 0, headers: { ...headers } });
    this.drain(shard);
  }

  async publishLater(message: ChatMessage, delayMs: number): Promise<void> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.publish(message);
    }, delayMs);
    // A pending flush never keeps a process alive that is otherwise done.
    timer.unref();
    this.timers.add(timer);
  }

  async deadLetter(message: ChatMessage): Promise<void> {
    this.deadLetters.push(Buffer.from(JSON.stringify(message)));
  }

  async start(onBatch: BatchHandler): Promise<void> {
    this.onBatch = onBatch;
    for (let shard = 0; shard < this.shards; shard += 1) this.drain(shard);
  }

  async stop(): Promise<void> {
    this.onBatch = undefined;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.stop();
  }

  private drain(shard: number): void {
    const onBatch = this.onBatch;
    const queue = this.queues[shard]!;
    if (!onBatch || this.busy[shard] || queue.length === 0) return;
    this.busy[shard] = true;
    // Deliver after the publisher's turn, as a broker would.
    setImmediate(async () => {
      const batch = queue.splice(0, this.batchSize);
      try {
        await onBatch(
          `${busNames().shardQueue(shard)}::/`,
          batch.map((item) => ({
            body: item.body,
            messageId: item.id,
            redelivered: item.deliveries > 0,
            ...(item.headers ? { headers: item.headers } : {}),
          })),
        );
      } catch {
        const retry = batch.filter((item) => {
          item.deliveries += 1;
          if (item.deliveries < this.deliveryLimit) return true;
          this.deadLetters.push(item.body);
          return false;
        });
        queue.unshift(...retry);
      } finally {
        this.busy[shard] = false;
        this.drain(shard);
      }
    });
  }
}
