import {
  BATCH_FRAME_BYTES,
  batchFrame,
  type ChatMessage,
  encodeServerFrame,
  messageFrame,
} from '../../protocol/index.js';
import type { ChatBus } from './bus/chat-bus.js';
import type { ConnectionSender } from './connections.js';
import { logger } from './logger.js';
import type { PushNotifier } from './push.js';
import { forEachLimited } from './retry.js';
import type { ChatStore, ConnectionRecord } from './store/chat-store.js';

/** Counts of one fan-out batch. */
export interface FanoutReport {
  messages: number;
  sent: number;
  gone: number;
  failed: number;
  pushed: number;
}

/** Options of the fan-out. */
export interface FanoutOptions {
  /** Posts in flight at once across the batch. */
  concurrency: number;
  /** Types that trigger the push webhook for offline members. */
  notifiableTypes: readonly string[];
  /** Failed fan-outs of one message before it is dead-lettered (`HIPOCHAT_DELIVERY_LIMIT`). */
  deliveryLimit: number;
}

/**
 * Groups a room's messages into frames of at most {@link BATCH_FRAME_BYTES}, in order: a lone
 * message is sent as itself, several as `{"type":"batch","room":…,"messages":[…]}`.
 */
export function batchFrames(
  room: string,
  messages: readonly ChatMessage[],
): { messages: ChatMessage[]; data: Buffer }[] {
  const frames: { messages: ChatMessage[]; data: Buffer }[] = [];
  const envelope = Buffer.byteLength(encodeServerFrame(batchFrame(room, [])));
  let current: { messages: ChatMessage[]; lone: string; bytes: number } = {
    messages: [],
    lone: '',
    bytes: envelope,
  };
  const flush = () => {
    if (current.messages.length === 0) return;
    const data = Buffer.from(
      current.messages.length === 1 ? current.lone : encodeServerFrame(batchFrame(room, current.messages)),
    );
    frames.push({ messages: current.messages, data });
    current = { messages: [], lone: '', bytes: envelope };
  };
  for (const message of messages) {
    const part = encodeServerFrame(messageFrame(message));
    // The message plus its comma in the batch's array.
    const bytes = Buffer.byteLength(part) + 1;
    if (current.messages.length > 0 && current.bytes + bytes > BATCH_FRAME_BYTES) flush();
    if (current.messages.length === 0) current.lone = part;
    current.messages.push(message);
    current.bytes += bytes;
  }
  flush();
  return frames;
}

/** How long the failure count of a message is remembered. */
const FAILURE_MEMORY_SECONDS = 24 * 3600;

/** Per-room state of one batch. */
interface RoomLane {
  room: string;
  /** Live connections, minus those that answered 410 so far. */
  connections: ConnectionRecord[];
  members?: Promise<string[]>;
  pushes: Promise<void>[];
  /** Messages some connection of the room did not get. */
  failed: ChatMessage[];
}

/**
 * Error raised when some posts failed after retries. `failed` names the messages that did not
 * reach every connection; the handler requeues just those (or the whole batch is redelivered).
 */
export class FanoutError extends Error {
  constructor(
    readonly report: FanoutReport,
    readonly failed: readonly ChatMessage[] = [],
  ) {
    super(`fan-out failed for ${report.failed} deliveries`);
    this.name = 'FanoutError';
  }
}

/**
 * Delivers published messages to every live connection of their room. Rooms are processed in
 * parallel, the messages of one room in order, all posts under one concurrency bound. A
 * redelivered batch is harmless: clients drop ids they already have.
 */
export class FanoutService {
  constructor(
    private readonly store: ChatStore,
    private readonly sender: ConnectionSender,
    private readonly push: PushNotifier,
    private readonly options: FanoutOptions,
    private readonly bus?: ChatBus,
  ) {}

  /**
   * Delivers a batch. The event source mapping retries a failed batch as a whole, and every retry
   * counts against the delivery limit of every message in it, so one poison message would drag
   * its batch-mates into the dead-letter queue. Instead only the messages that missed a
   * connection go back, one by one: republished (clients dedupe by id) until they failed
   * `deliveryLimit` times, then dead-lettered. Any other error rejects, and the batch is retried.
   */
  async process(messages: readonly ChatMessage[]): Promise<FanoutReport> {
    try {
      return await this.deliver(messages);
    } catch (error) {
      if (!(error instanceof FanoutError) || !this.bus?.deadLetter) throw error;
      await this.requeue(error.failed);
      logger.warn('fan-out batch done with requeued messages', {
        ...error.report,
        requeued: error.failed.length,
      });
      return error.report;
    }
  }

  private async requeue(failed: readonly ChatMessage[]): Promise<void> {
    const bus = this.bus!;
    for (const message of failed) {
      const failures = await this.store.countFanoutFailure(message.room, message.id, FAILURE_MEMORY_SECONDS);
      if (failures >= this.options.deliveryLimit) {
        await bus.deadLetter!(message);
        logger.error('message dead-lettered after the delivery limit', {
          room: message.room,
          id: message.id,
          failures,
        });
      } else {
        await bus.publish(message);
      }
    }
  }

  async deliver(messages: readonly ChatMessage[]): Promise<FanoutReport> {
    const report: FanoutReport = { messages: messages.length, sent: 0, gone: 0, failed: 0, pushed: 0 };
    const byRoom = new Map<string, ChatMessage[]>();
    for (const message of messages) {
      const list = byRoom.get(message.room) ?? [];
      list.push(message);
      byRoom.set(message.room, list);
    }
    // One lane per room keeps per-room order; each lane shares the post budget.
    const perRoom = Math.max(1, Math.floor(this.options.concurrency / Math.max(1, byRoom.size)));
    const failed: ChatMessage[] = [];
    await Promise.all(
      [...byRoom].map(async ([room, roomMessages]) => {
        const lane: RoomLane = {
          room,
          connections: await this.store.connections(room),
          pushes: [],
          failed: [],
        };
        for (const message of roomMessages) await this.deliverOne(lane, message, perRoom, report);
        await this.deliverBatched(lane, roomMessages, perRoom, report);
        // Webhook calls overlap the room's next deliveries; the batch is acked after all of them.
        await Promise.all(lane.pushes);
        failed.push(...lane.failed);
      }),
    );
    if (report.failed > 0) throw new FanoutError(report, failed);
    return report;
  }

  /**
   * Posts one frame to `targets`; connections that answered 410 are dropped from the room and the
   * lane. Returns whether some target missed the frame after retries.
   */
  private async postFrame(
    lane: RoomLane,
    targets: readonly ConnectionRecord[],
    data: Buffer,
    concurrency: number,
    report: FanoutReport,
  ): Promise<boolean> {
    const { room } = lane;
    const gone = new Set<string>();
    let missed = false;
    await forEachLimited(targets, concurrency, async ({ connectionId }) => {
      try {
        const outcome = await this.sender.post(connectionId, data);
        if (outcome === 'sent') {
          report.sent += 1;
          return;
        }
        report.gone += 1;
        gone.add(connectionId);
        await this.store.dropConnection(room, connectionId);
      } catch (error) {
        report.failed += 1;
        missed = true;
        logger.warn('delivery failed after retries', { room, connectionId, error });
      }
    });
    if (gone.size > 0) lane.connections = lane.connections.filter((c) => !gone.has(c.connectionId));
    return missed;
  }

  private async deliverOne(lane: RoomLane, message: ChatMessage, concurrency: number, report: FanoutReport) {
    const { room } = lane;
    const plain = lane.connections.filter((c) => !c.batched);
    if (await this.postFrame(lane, plain, Buffer.from(JSON.stringify(message)), concurrency, report)) {
      lane.failed.push(message);
    }
    if (this.push.enabled && this.options.notifiableTypes.includes(message.type)) {
      lane.pushes.push(
        this.notifyOffline(lane, message, report).catch((error: unknown) => {
          // Push is best effort; the message itself was delivered, so the batch stands.
          logger.error('push notification skipped: members unavailable', { room, id: message.id, error });
        }),
      );
    }
  }

  /**
   * Connections that asked for batch frames get the room's messages of this batch together:
   * API Gateway bills a frame per 32 KB, so a busy room costs a fraction of a frame per message.
   */
  private async deliverBatched(
    lane: RoomLane,
    messages: readonly ChatMessage[],
    concurrency: number,
    report: FanoutReport,
  ) {
    if (!lane.connections.some((c) => c.batched)) return;
    for (const chunk of batchFrames(lane.room, messages)) {
      const batched = lane.connections.filter((c) => c.batched);
      if (await this.postFrame(lane, batched, chunk.data, concurrency, report))
        lane.failed.push(...chunk.messages);
    }
  }

  private async notifyOffline(lane: RoomLane, message: ChatMessage, report: FanoutReport): Promise<void> {
    const { room } = lane;
    const online = new Set(lane.connections.map((c) => c.userId));
    // One member lookup per room and batch, not per message.
    lane.members ??= this.store.members(room);
    const members = await lane.members;
    const receivers = members.filter((member) => !online.has(member) && member !== message.senderId);
    const accepted = await this.push.notify({
      chat_token: room,
      receivers,
      body: message.body,
      type: message.type,
      author: message.author,
    });
    if (accepted) report.pushed += 1;
  }
}
