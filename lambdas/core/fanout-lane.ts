import type { ChatMessage, ReadMarkEntry } from '../../protocol/index.js';
import type { AdaptiveLimit } from './adaptive-limit.js';
import type { ConnectionSender } from './connections.js';
import { type FanoutReport, noteLags } from './fanout-figures.js';
import { batchFrames } from './fanout-frames.js';
import type { Misses } from './fanout-targets.js';
import { logger } from './logger.js';
import { type PushMode, type PushNotifier, pushReceivers } from './push.js';
import { forEachLimited } from './retry.js';
import { carryReads, isSignal, type SignalEnvelope, signalRuns } from './signals.js';
import type { ChatStore, ConnectionRecord, Departure } from './store/chat-store.js';

/** Per-room state of one batch. */
export interface RoomLane {
  room: string;
  /** Live connections, minus those that answered 410 so far. */
  connections: ConnectionRecord[];
  members?: Promise<string[]>;
  pushes: Promise<void>[];
  /** Per message, the connections that did not get it. */
  misses: Misses;
  /** A slice's: per message, the connections it served (sent, or gone), for its note. */
  served?: Map<ChatMessage, Set<string>>;
  /** Epoch ms after which the lane starts no post (a slice's deadline, the fan-out's end). */
  deadline?: number;
  /** Posts in flight, shared by the invocation's lanes; shrinks on 429. */
  window: AdaptiveLimit;
  /** Whether this lane sends the push webhook: a slice never does, its parent does once. */
  notify: boolean;
  /** Each message's largest lag so far (shared by the batch's lanes): `DeliveryLagMs`. */
  lags: Map<ChatMessage, number>;
  /** Users whose last connection went on the way (410, expiry): their `leave` follows the lane. */
  departed: Departure[];
}

/**
 * Posts a room's messages to a lane's connections from this invocation: each message as its own
 * frame, batch frames or signals, to the connections that asked for them; connections that answer
 * 410 leave the room and the lane. Starts the push webhook of notifiable messages.
 */
export class LanePoster {
  constructor(
    private readonly store: ChatStore,
    private readonly sender: ConnectionSender,
    private readonly push: PushNotifier,
    private readonly notifiableTypes: readonly string[],
    private readonly pushMode: PushMode = 'all',
  ) {}

  /** A room's messages, in order, to the lane's connections: plain ones first, then batched ones. */
  async post(
    lane: RoomLane,
    messages: readonly ChatMessage[],
    concurrency: number,
    report: FanoutReport,
  ): Promise<void> {
    for (const message of messages) await this.deliverOne(lane, message, concurrency, report);
    await this.deliverBatched(lane, messages, concurrency, report);
  }

  /**
   * Posts one frame to `targets`; connections that answered 410 are dropped from the room and the
   * lane. Returns the targets that missed the frame after retries, or past the lane's deadline.
   */
  private async postFrame(
    lane: RoomLane,
    targets: readonly ConnectionRecord[],
    data: Buffer,
    messages: readonly ChatMessage[],
    concurrency: number,
    report: FanoutReport,
  ): Promise<string[]> {
    const { room, deadline } = lane;
    const gone = new Set<string>();
    const missed: string[] = [];
    const serve = (connectionId: string) => {
      if (lane.served) for (const message of messages) lane.served.get(message)?.add(connectionId);
    };
    // When the last post that delivered the frame returned: its messages' lag.
    let deliveredAt = 0;
    const { window } = lane;
    await forEachLimited(targets, concurrency, async ({ connectionId }) => {
      if (deadline !== undefined && Date.now() >= deadline) {
        report.failed += 1;
        missed.push(connectionId);
        return;
      }
      const slot = window.acquire();
      if (slot) await slot;
      try {
        const outcome = await this.sender.post(connectionId, data, window, deadline);
        serve(connectionId);
        if (outcome === 'sent') {
          window.succeeded();
          report.sent += 1;
          deliveredAt = Date.now();
          return;
        }
        report.gone += 1;
        gone.add(connectionId);
        const departure = await this.store.dropConnection(room, connectionId);
        if (departure?.left) lane.departed.push(departure);
      } catch (error) {
        report.failed += 1;
        missed.push(connectionId);
        logger.warn('delivery failed after retries', { room, connectionId, error });
      } finally {
        window.release();
      }
    });
    if (gone.size > 0) lane.connections = lane.connections.filter((c) => !gone.has(c.connectionId));
    if (deliveredAt > 0) noteLags(lane.lags, messages, deliveredAt);
    return missed;
  }

  private async deliverOne(lane: RoomLane, message: ChatMessage, concurrency: number, report: FanoutReport) {
    if (isSignal(message)) return this.postTo(lane, (c) => !c.batched, message, concurrency, report);
    const plain = lane.connections.filter((c) => !c.batched);
    const data = Buffer.from(JSON.stringify(message));
    lane.misses.add(message, await this.postFrame(lane, plain, data, [message], concurrency, report));
    this.queuePush(lane, message, report);
  }

  /** Starts the push webhook of a notifiable message; the lane waits for it before the batch ends. */
  queuePush(lane: RoomLane, message: ChatMessage, report: FanoutReport): void {
    const { room } = lane;
    if (lane.notify && this.push.enabled && this.notifiableTypes.includes(message.type)) {
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
    const batched = (c: ConnectionRecord) => c.batched === true;
    if (!messages.some(isSignal)) return this.postTo(lane, batched, messages, concurrency, report);
    // Signals split the run: batched connections without signals get the messages alone; those
    // with signals get each signal as its own frame (a batch holds messages only) between the
    // batch frames of the messages around it, in order.
    const deaf = (c: ConnectionRecord) => batched(c) && !c.signals;
    const plain = messages.filter((m) => !isSignal(m));
    await this.postTo(lane, deaf, plain, concurrency, report);
    const listening = (c: ConnectionRecord) => batched(c) && c.signals === true;
    // A read digest rides in the last batch frame of the run rather than a frame of its own.
    const carried = carryReads(messages);
    const parts = signalRuns(carried.messages);
    for (const [index, part] of parts.entries()) {
      const reads = index === parts.findLastIndex(Array.isArray) ? carried.reads : undefined;
      await this.postTo(lane, listening, part, concurrency, report, reads);
    }
  }

  /**
   * Posts to the lane's connections that `who` picks: messages as batch frames, or a signal as its
   * own frame to those that asked for signals, but the one it names as `except`.
   */
  private async postTo(
    lane: RoomLane,
    who: (connection: ConnectionRecord) => boolean,
    part: readonly ChatMessage[] | SignalEnvelope,
    concurrency: number,
    report: FanoutReport,
    reads?: ReadMarkEntry[],
  ) {
    if (!Array.isArray(part)) {
      const signal = part as SignalEnvelope;
      const targets = lane.connections.filter((c) => who(c) && c.signals && c.connectionId !== signal.except);
      const data = Buffer.from(signal.signal);
      lane.misses.add(signal, await this.postFrame(lane, targets, data, [signal], concurrency, report));
      return;
    }
    for (const chunk of batchFrames(lane.room, part, reads)) {
      const targets = lane.connections.filter(who);
      const missed = await this.postFrame(lane, targets, chunk.data, chunk.messages, concurrency, report);
      for (const message of chunk.messages) lane.misses.add(message, missed);
    }
  }

  private async notifyOffline(lane: RoomLane, message: ChatMessage, report: FanoutReport): Promise<void> {
    const { room } = lane;
    const online = new Set(lane.connections.map((c) => c.userId));
    // One member lookup per room and batch, not per message.
    lane.members ??= this.store.members(room);
    const members = await lane.members;
    const receivers = pushReceivers(members, online, message, this.pushMode);
    if (receivers.length === 0) return;
    const accepted = await this.push.notify({
      chat_token: room,
      receivers,
      body: message.body,
      type: message.type,
      author: message.author,
      id: message.id,
      timestamp: message.timestamp,
    });
    if (accepted) report.pushed += 1;
  }
}
