import { type ChatMessage, compareIds } from '../../protocol/index.js';
import { AdaptiveLimit } from './adaptive-limit.js';
import type { ChatBus } from './bus/chat-bus.js';
import type { ConnectionSender } from './connections.js';
import { ServiceUnavailableError } from './errors.js';
import { type FanoutReport, noteLags, recordBatch } from './fanout-figures.js';
import { LanePoster, type RoomLane } from './fanout-lane.js';
import { deliverInSlices, type SliceInvoker, type SliceRequest, type SliceResult } from './fanout-slices.js';
import { Misses, requeueMisses, resolveTargets, saveSliceNote, sliceNoteName } from './fanout-targets.js';
import { UnreadNotifier } from './fanout-unread.js';
import { logger } from './logger.js';
import type { PushMode, PushNotifier } from './push.js';
import { backoffDelay, sleep } from './retry.js';
import { expandDigests, isSignal, type SignalFolding, SignalPublisher } from './signals.js';
import type { ChatStore, ConnectionRecord, Departure } from './store/chat-store.js';

export type { FanoutReport } from './fanout-figures.js';
export { batchFrames } from './fanout-frames.js';

/** Options of the fan-out. */
export interface FanoutOptions {
  /** Posts in flight at once across the batch. */
  concurrency: number;
  /** Types that trigger the push webhook for offline members. */
  notifiableTypes: readonly string[];
  /** Whom the push webhook names (`HIPOCHAT_PUSH_MODE`). @default 'all' */
  pushMode?: PushMode;
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

/**
 * Pauses between tries of a batch while the store or the broker is unavailable: short enough to
 * catch a restart soon after it (the store's client reconnects at most 400 ms apart).
 */
const UNAVAILABLE_BASE_MS = 100;
const UNAVAILABLE_CAP_MS = 1000;

/** AMQP headers of the batch's requeued messages, which name where each is still missing. */
export type RetryHeaders = ReadonlyMap<ChatMessage, Readonly<Record<string, string>>>;

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
  private readonly poster: LanePoster;

  constructor(
    private readonly store: ChatStore,
    private readonly sender: ConnectionSender,
    push: PushNotifier,
    private readonly options: FanoutOptions,
    private readonly bus?: ChatBus,
  ) {
    this.poster = new LanePoster(store, sender, push, options.notifiableTypes, options.pushMode);
  }

  /**
   * Delivers a batch. The event source mapping retries a failed batch as a whole, and every retry
   * counts against the delivery limit of every message in it, so one poison message would drag
   * its batch-mates into the dead-letter queue. Instead only the messages that missed a
   * connection go back, one by one, each naming the connections that miss it (`retries` brings
   * those names back): requeued until they failed `deliveryLimit` times, then dead-lettered.
   *
   * A store or broker that is unavailable (503) is no fault of the messages: the batch is tried
   * again here, with capped backoff, until `deadline`. Rejected at once, every redelivery would
   * count, and an outage of a few seconds would dead-letter messages already acknowledged to
   * their senders. Past the deadline, or on any other error, it rejects and the batch is retried.
   */
  async process(
    messages: readonly ChatMessage[],
    retries: RetryHeaders = new Map(),
    deadline?: number,
  ): Promise<FanoutReport> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await this.processOnce(messages, retries, deadline);
      } catch (error) {
        const pause = UNAVAILABLE_BASE_MS + backoffDelay(attempt, UNAVAILABLE_BASE_MS, UNAVAILABLE_CAP_MS);
        if (!(error instanceof ServiceUnavailableError) || deadline === undefined) throw error;
        if (Date.now() + pause >= deadline) throw error;
        const note = { messages: messages.length, attempt: attempt + 1, error };
        if (attempt === 0) logger.warn('fan-out batch waits for the store or broker to come back', note);
        else logger.debug('fan-out batch still waits for the store or broker', note);
        await sleep(pause);
      }
    }
  }

  /** One try of {@link process}: delivers, then requeues the messages that missed a connection. */
  private async processOnce(
    messages: readonly ChatMessage[],
    retries: RetryHeaders,
    deadline: number | undefined,
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
      // Every room settles before the batch fails: a try again never overlaps this one's posts.
      const rooms = await Promise.allSettled(
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
      const failed = rooms.find((room) => room.status === 'rejected');
      if (failed) throw failed.reason;
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
    await this.poster.post(lane, messages, concurrency, report);
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
      await this.poster.post(lane, messages, concurrency, report);
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
    for (const message of messages) if (!isSignal(message)) this.poster.queuePush(lane, message, report);
  }
}
