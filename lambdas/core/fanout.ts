import { type ChatMessage, compareIds, type ReadMarkEntry } from '../../protocol/index.js';
import { AdaptiveLimit } from './adaptive-limit.js';
import type { ChatBus } from './bus/chat-bus.js';
import type { ConnectionSender } from './connections.js';
import { type FanoutReport, noteLags, recordBatch } from './fanout-figures.js';
import { batchFrames } from './fanout-frames.js';
import { deliverInSlices, type SliceInvoker, type SliceRequest, type SliceResult } from './fanout-slices.js';
import { Misses, requeueMisses, resolveTargets, saveSliceNote, sliceNoteName } from './fanout-targets.js';
import { UnreadNotifier } from './fanout-unread.js';
import { logger } from './logger.js';
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

export type { FanoutReport } from './fanout-figures.js';
export { batchFrames } from './fanout-frames.js';

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
  slicing?: {
    size: number;
    invoker: SliceInvoker;
    /** Slices one invocation runs at once (`slicesInFlight`). @default 16 */
    inFlight?: number;
  };
  /** How leaves found on the way (410, expiry) are folded. @default DEFAULT_FOLDING */
  signals?: Partial<SignalFolding>;
}

/** AMQP headers of the batch's requeued messages, which name where each is still missing. */
export type RetryHeaders = ReadonlyMap<ChatMessage, Readonly<Record<string, string>>>;

/** Per-room state of one batch. */
interface RoomLane {
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
 * Error raised when some posts failed after retries. `misses` names, per message, the connections
 * it did not reach; the handler requeues it for just those (or the whole batch is redelivered).
 */
export class FanoutError extends Error {
  constructor(
    readonly report: FanoutReport,
    readonly misses = new Misses(),
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
   * connection go back, one by one, each naming the connections that miss it (`retries` brings
   * those names back): requeued until they failed `deliveryLimit` times, then dead-lettered. Any
   * other error rejects, and the batch is retried.
   */
  async process(
    messages: readonly ChatMessage[],
    retries: RetryHeaders = new Map(),
    deadline?: number,
  ): Promise<FanoutReport> {
    try {
      return await this.deliver(messages, retries, deadline);
    } catch (error) {
      if (!(error instanceof FanoutError) || !this.bus?.requeue || !this.bus.deadLetter) throw error;
      await requeueMisses(this.store, this.bus, this.options.deliveryLimit, error.misses);
      logger.warn('fan-out batch done with requeued messages', {
        ...error.report,
        requeued: error.misses.size,
      });
      return error.report;
    }
  }

  /**
   * Delivers a batch once; rejects with a {@link FanoutError} naming where messages are missing.
   * A requeued message (its headers in `retries`) goes only to the connections that miss it, before
   * the room's new messages. No post or slice starts after `deadline` (epoch ms, the invocation's
   * end less its margin): what is left is a miss, requeued like any other. Its figures go to the
   * invocation's metrics however it ends.
   */
  async deliver(
    messages: readonly ChatMessage[],
    retries: RetryHeaders = new Map(),
    deadline?: number,
  ): Promise<FanoutReport> {
    const started = performance.now();
    const report: FanoutReport = { messages: messages.length, sent: 0, gone: 0, failed: 0, pushed: 0 };
    const lags = new Map<ChatMessage, number>();
    const window = new AdaptiveLimit({ max: this.options.concurrency });
    // Slices in flight, shared by the rooms of this invocation.
    const slices = new AdaptiveLimit({ max: this.options.slicing?.inFlight ?? 16 });
    try {
      const byRoom = new Map<string, ChatMessage[]>();
      for (const message of messages) {
        const list = byRoom.get(message.room) ?? [];
        list.push(message);
        byRoom.set(message.room, list);
      }
      // One lane per room keeps per-room order; each lane shares the post budget.
      const perRoom = Math.max(1, Math.floor(this.options.concurrency / Math.max(1, byRoom.size)));
      const misses = new Misses();
      await Promise.all(
        [...byRoom].map(async ([room, batch]) => {
          // Digest flushes become the room's folded read and presence frames.
          const roomMessages = await expandDigests(this.store.signals, room, batch);
          const departed: Departure[] = [];
          const connections = await this.store.connections(room, departed);
          const lanes: RoomLane[] = [];
          const run = async (targets: ConnectionRecord[], run: ChatMessage[], notify: boolean) => {
            const lane: RoomLane = {
              room,
              connections: targets,
              pushes: [],
              misses,
              deadline,
              lags,
              window,
              notify,
              departed,
            };
            lanes.push(lane);
            await this.deliverRun(lane, run, perRoom, report, slices);
          };
          // Requeued messages are older than the room's new ones: oldest first, each only where missing.
          const retried = roomMessages.filter((m) => retries.has(m)).sort((a, b) => compareIds(a.id, b.id));
          for (const message of retried) {
            const targets = await resolveTargets(this.store, message, retries.get(message));
            await run(
              targets ? connections.filter((c) => targets.has(c.connectionId)) : connections,
              [message],
              false,
            );
          }
          const fresh = roomMessages.filter((m) => !retries.has(m));
          if (fresh.length > 0) await run(connections, fresh, true);
          await new UnreadNotifier(this.store, this.sender, this.options.concurrency).notify(room, fresh);
          // Webhook calls overlap the room's next deliveries; the batch is acked after all of them.
          for (const lane of lanes) await Promise.all(lane.pushes);
          if (departed.length > 0) {
            const publisher = new SignalPublisher(this.bus, this.store.signals, this.options.signals);
            await publisher.departed(room, departed);
          }
        }),
      );
      if (misses.size > 0) throw new FanoutError(report, misses);
      return report;
    } finally {
      recordBatch(report, lags, performance.now() - started);
    }
  }

  /** A room's messages to the lane's connections: in slices when they are many, else from here. */
  private async deliverRun(
    lane: RoomLane,
    messages: readonly ChatMessage[],
    concurrency: number,
    report: FanoutReport,
    slices: AdaptiveLimit,
  ): Promise<void> {
    const { slicing } = this.options;
    if (slicing && slicing.size > 0 && lane.connections.length > slicing.size) {
      return this.deliverSliced(lane, messages, slicing, report, slices);
    }
    for (const message of messages) await this.deliverOne(lane, message, concurrency, report);
    await this.deliverBatched(lane, messages, concurrency, report);
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
      misses: new Misses(),
      served: new Map(messages.map((message) => [message, new Set<string>()])),
      deadline: request.deadline,
      lags: new Map(),
      window: new AdaptiveLimit({ max: this.options.concurrency }),
      notify: false,
      departed: [],
    };
    const { concurrency } = this.options;
    try {
      for (const message of messages) await this.deliverOne(lane, message, concurrency, report);
      await this.deliverBatched(lane, messages, concurrency, report);
    } finally {
      // However the slice ends, its note says what it did not serve: a retry after an invocation
      // that failed or timed out posts there only.
      if (request.id) await saveSliceNote(this.store, request, request.id, lane.served!);
    }
    const live = new Set(lane.connections.map((c) => c.connectionId));
    const misses: Record<string, string[]> = {};
    for (const [message, targets] of lane.misses.entries()) misses[message.id] = targets.connections;
    return {
      sent: report.sent,
      gone: report.gone,
      failed: report.failed,
      misses,
      goneConnections: request.connections.map((c) => c.connectionId).filter((id) => !live.has(id)),
      departed: lane.departed,
    };
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
      lane.misses.add(signal, await this.postFrame(lane, targets, data, [signal], concurrency, report));
      return;
    }
    for (const chunk of batchFrames(lane.room, part, reads)) {
      const targets = lane.connections.filter(who);
      const missed = await this.postFrame(lane, targets, chunk.data, chunk.messages, concurrency, report);
      for (const message of chunk.messages) lane.misses.add(message, missed);
    }
  }

  /**
   * A big room: its connections go to parallel slices (each one execution of the delivery
   * function) while this invocation waits. Slices report where they missed and which connections
   * answered 410; the push webhook is sent from here, once per message.
   */
  private async deliverSliced(
    lane: RoomLane,
    messages: readonly ChatMessage[],
    slicing: NonNullable<FanoutOptions['slicing']>,
    report: FanoutReport,
    inFlight: AdaptiveLimit,
  ) {
    const { invoker, size } = slicing;
    const outcome = await deliverInSlices(invoker, lane.room, messages, lane.connections, size, {
      inFlight,
      deadline: lane.deadline,
    });
    report.sent += outcome.sent;
    report.gone += outcome.gone;
    report.failed += outcome.failed;
    if (outcome.sent > 0) noteLags(lane.lags, messages, Date.now());
    // Best effort: an answered slice's note only takes room until it expires.
    await this.store
      .dropFanoutNotes(lane.room, outcome.answered.map(sliceNoteName))
      .catch((error: unknown) => {
        logger.warn('fan-out notes of answered slices left to expire', { room: lane.room, error });
      });
    for (const message of messages) {
      lane.misses.add(message, outcome.misses.get(message.id) ?? []);
      for (const slice of outcome.uncertain.get(message.id) ?? []) lane.misses.addSlice(message, slice);
    }
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
