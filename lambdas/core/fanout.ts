import {
  BATCH_FRAME_BYTES,
  batchFrame,
  type ChatMessage,
  encodeServerFrame,
  messageFrame,
  type ReadMarkEntry,
  readsFrame,
} from '../../protocol/index.js';
import { AdaptiveLimit } from './adaptive-limit.js';
import type { ChatBus } from './bus/chat-bus.js';
import type { ConnectionSender } from './connections.js';
import { deliverInSlices, type SliceInvoker, type SliceRequest, type SliceResult } from './fanout-slices.js';
import { logger } from './logger.js';
import { metrics } from './metrics.js';
import type { PushNotifier } from './push.js';
import { forEachLimited } from './retry.js';
import {
  carryReads,
  expandDigests,
  isSignal,
  type SignalEnvelope,
  type SignalFolding,
  SignalPublisher,
  signalRuns,
} from './signals.js';
import type { ChatStore, ConnectionRecord, Departure } from './store/chat-store.js';

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
  /**
   * Rooms with more live connections than `size` (`HIPOCHAT_FANOUT_SLICE_SIZE`) are delivered in
   * parallel slices, each run by `invoker` (an invocation of the delivery function).
   * @default - no slices: one execution posts every delivery
   */
  slicing?: { size: number; invoker: SliceInvoker };
  /** How leaves found on the way (410, expiry) are folded. @default DEFAULT_FOLDING */
  signals?: Partial<SignalFolding>;
}

/**
 * Groups a room's messages into frames of at most {@link BATCH_FRAME_BYTES}, in order: a lone
 * message is sent as itself, several as `{"type":"batch","room":…,"messages":[…]}`.
 */
export function batchFrames(
  room: string,
  messages: readonly ChatMessage[],
  reads?: ReadMarkEntry[],
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
  // A read digest rides in the last frame, which becomes a batch frame even for one message, or
  // goes as a frame of its own when the two would not fit in one.
  const last = frames.at(-1);
  if (reads && reads.length > 0 && last) {
    const carried = Buffer.from(encodeServerFrame({ ...batchFrame(room, last.messages), reads }));
    if (carried.byteLength <= BATCH_FRAME_BYTES) last.data = carried;
    else frames.push({ messages: [], data: Buffer.from(encodeServerFrame(readsFrame(room, reads))) });
  }
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
 * Notes the lag of `messages` delivered at `at` (epoch ms) since their acceptance (`timestamp`,
 * seconds), keeping each message's largest.
 */
function noteLags(lags: Map<ChatMessage, number>, messages: readonly ChatMessage[], at: number): void {
  for (const message of messages) {
    if (typeof message.timestamp !== 'number') continue;
    // Clocks of two machines: never below zero.
    const lag = Math.max(0, Math.round(at - message.timestamp * 1000));
    if (!((lags.get(message) ?? -1) >= lag)) lags.set(message, lag);
  }
}

/** Publishes a batch's figures: totals once, lags once per message, never a call per delivery. */
function recordBatch(report: FanoutReport, lags: Map<ChatMessage, number>, durationMs: number): void {
  metrics.count('Deliveries', report.sent);
  metrics.count('DeliveriesGone', report.gone);
  metrics.count('DeliveriesFailed', report.failed);
  metrics.observe('FanoutBatchSize', report.messages);
  metrics.observe('FanoutDurationMs', Math.round(durationMs * 100) / 100);
  for (const lag of lags.values()) metrics.observe('DeliveryLagMs', lag);
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
        metrics.count('DeadLettered');
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

  /**
   * Delivers a batch once; rejects with a {@link FanoutError} naming the messages some connection
   * missed. Its figures go to the invocation's metrics however it ends.
   */
  async deliver(messages: readonly ChatMessage[]): Promise<FanoutReport> {
    const started = performance.now();
    const report: FanoutReport = { messages: messages.length, sent: 0, gone: 0, failed: 0, pushed: 0 };
    const lags = new Map<ChatMessage, number>();
    const window = new AdaptiveLimit({ max: this.options.concurrency });
    const { slicing } = this.options;
    try {
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
        [...byRoom].map(async ([room, batch]) => {
          // Digest flushes become the room's folded read and presence frames.
          const roomMessages = await expandDigests(this.store.signals, room, batch);
          const departed: Departure[] = [];
          const lane: RoomLane = {
            room,
            connections: await this.store.connections(room, departed),
            pushes: [],
            failed: [],
            lags,
            window,
            notify: true,
            departed,
          };
          if (slicing && slicing.size > 0 && lane.connections.length > slicing.size) {
            await this.deliverSliced(lane, roomMessages, slicing, report);
          } else {
            for (const message of roomMessages) await this.deliverOne(lane, message, perRoom, report);
            await this.deliverBatched(lane, roomMessages, perRoom, report);
          }
          // Webhook calls overlap the room's next deliveries; the batch is acked after all of them.
          await Promise.all(lane.pushes);
          failed.push(...lane.failed);
          if (lane.departed.length > 0) {
            const publisher = new SignalPublisher(this.bus, this.store.signals, this.options.signals);
            await publisher.departed(room, lane.departed);
          }
        }),
      );
      if (report.failed > 0) throw new FanoutError(report, failed);
      return report;
    } finally {
      recordBatch(report, lags, performance.now() - started);
    }
  }

  /**
   * Runs one slice of a big room (the delivery function's work): the room's messages to the
   * slice's connections, exactly as an unsliced room gets them, without the push webhook (the
   * parent sends it once) and without batch metrics (the parent counts the slices' results).
   */
  async deliverSlice(request: SliceRequest): Promise<SliceResult> {
    const { room, messages } = request;
    const report: FanoutReport = { messages: messages.length, sent: 0, gone: 0, failed: 0, pushed: 0 };
    const lane: RoomLane = {
      room,
      // The slice never pushes, so it needs no user ids.
      connections: request.connections.map((c) => ({ userId: '', ...c })),
      pushes: [],
      failed: [],
      lags: new Map(),
      window: new AdaptiveLimit({ max: this.options.concurrency }),
      notify: false,
      departed: [],
    };
    const { concurrency } = this.options;
    for (const message of messages) await this.deliverOne(lane, message, concurrency, report);
    await this.deliverBatched(lane, messages, concurrency, report);
    const live = new Set(lane.connections.map((c) => c.connectionId));
    return {
      sent: report.sent,
      gone: report.gone,
      failed: report.failed,
      missed: [...new Set(lane.failed.map((message) => message.id))],
      goneConnections: request.connections.map((c) => c.connectionId).filter((id) => !live.has(id)),
      departed: lane.departed,
    };
  }

  /**
   * Posts one frame to `targets`; connections that answered 410 are dropped from the room and the
   * lane. Returns whether some target missed the frame after retries.
   */
  private async postFrame(
    lane: RoomLane,
    targets: readonly ConnectionRecord[],
    data: Buffer,
    messages: readonly ChatMessage[],
    concurrency: number,
    report: FanoutReport,
  ): Promise<boolean> {
    const { room } = lane;
    const gone = new Set<string>();
    let missed = false;
    // When the last post that delivered the frame returned: its messages' lag.
    let deliveredAt = 0;
    const { window } = lane;
    await forEachLimited(targets, concurrency, async ({ connectionId }) => {
      const slot = window.acquire();
      if (slot) await slot;
      try {
        const outcome = await this.sender.post(connectionId, data, window);
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
        missed = true;
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
    if (
      await this.postFrame(lane, plain, Buffer.from(JSON.stringify(message)), [message], concurrency, report)
    ) {
      lane.failed.push(message);
    }
    this.queuePush(lane, message, report);
  }

  /** Starts the push webhook of a notifiable message; the lane waits for it before the batch ends. */
  private queuePush(lane: RoomLane, message: ChatMessage, report: FanoutReport): void {
    const { room } = lane;
    if (lane.notify && this.push.enabled && this.options.notifiableTypes.includes(message.type)) {
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
      if (await this.postFrame(lane, targets, data, [signal], concurrency, report)) lane.failed.push(signal);
      return;
    }
    for (const chunk of batchFrames(lane.room, part, reads)) {
      const targets = lane.connections.filter(who);
      if (await this.postFrame(lane, targets, chunk.data, chunk.messages, concurrency, report))
        lane.failed.push(...chunk.messages);
    }
  }

  /**
   * A big room: its connections go to parallel slices (each one execution of the delivery
   * function) while this invocation waits. Slices report what they missed and which connections
   * answered 410; the push webhook is sent from here, once per message.
   */
  private async deliverSliced(
    lane: RoomLane,
    messages: readonly ChatMessage[],
    slicing: NonNullable<FanoutOptions['slicing']>,
    report: FanoutReport,
  ) {
    const outcome = await deliverInSlices(
      slicing.invoker,
      lane.room,
      messages,
      lane.connections,
      slicing.size,
    );
    report.sent += outcome.sent;
    report.gone += outcome.gone;
    report.failed += outcome.failed;
    if (outcome.sent > 0) noteLags(lane.lags, messages, Date.now());
    lane.failed.push(...messages.filter((message) => outcome.missed.has(message.id)));
    const gone = outcome.goneConnections;
    if (gone.size > 0) lane.connections = lane.connections.filter((c) => !gone.has(c.connectionId));
    lane.departed.push(...outcome.departed);
    for (const message of messages) if (!isSignal(message)) this.queuePush(lane, message, report);
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
      id: message.id,
      timestamp: message.timestamp,
    });
    if (accepted) report.pushed += 1;
  }
}
