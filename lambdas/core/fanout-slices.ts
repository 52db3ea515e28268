import { randomUUID } from 'node:crypto';
import { type ChatMessage, MESSAGE_ID_PATTERN, ROOM_PATTERN } from '../../protocol/index.js';
import { AdaptiveLimit } from './adaptive-limit.js';
import type { PostFeedback } from './connections.js';
import type { UncertainSlice } from './fanout-targets.js';
import { logger } from './logger.js';
import type { ConnectionRecord, Departure } from './store/chat-store.js';

/** What a slice needs of a connection: where to post, in which frame shape, and whether it takes signals. */
export type SliceConnection = Pick<ConnectionRecord, 'connectionId' | 'batched' | 'signals'>;

/** The event of one delivery invocation: some of a room's messages for some of its connections. */
export interface SliceRequest {
  room: string;
  /** In room order. */
  messages: ChatMessage[];
  connections: SliceConnection[];
  /**
   * Names the slice's note: what it did not serve, written however it ends, so a retry after a
   * failed or timed-out invocation goes only where the message is missing.
   */
  id?: string;
  /** Epoch milliseconds after which the slice starts no post: it answers before its invoker gives up. */
  deadline?: number;
}

/** What one delivery invocation did. */
export interface SliceResult {
  sent: number;
  gone: number;
  failed: number;
  /** Per message id, the connections of the slice that did not get it (to be requeued for them). */
  misses: Record<string, string[]>;
  /** Connections that answered 410; the slice already dropped them from the room. */
  goneConnections: string[];
  /** Users whose last connection so went, for the parent to announce (a slice never publishes). */
  departed?: Departure[];
}

/** Runs one slice: a synchronous invocation of the delivery function (or, in tests, a stand-in). */
export interface SliceInvoker {
  /**
   * Resolves with the slice's result; rejects when the invocation failed as a whole. Tells
   * `feedback` of each throttled invocation.
   */
  deliver(request: SliceRequest, feedback?: PostFeedback): Promise<SliceResult>;
}

/** A room's slices merged: the counts, where messages are missing and the connections gone. */
export interface SlicedDelivery {
  sent: number;
  gone: number;
  failed: number;
  /** Per message id, the connections known to miss it. */
  misses: Map<string, Set<string>>;
  /** Per message id, the slices of unknown outcome (failed or timed out) that held it. */
  uncertain: Map<string, UncertainSlice[]>;
  goneConnections: Set<string>;
  departed: Departure[];
  /** Ids of the slices that answered: their notes are no longer needed. */
  answered: string[];
}

/**
 * Lambda refuses a synchronous request over 6 MB; a slice whose messages would not fit is sent as
 * several invocations, one after the other (which keeps each connection's order).
 */
export const MAX_SLICE_REQUEST_BYTES = 5 * 2 ** 20;

/**
 * Milliseconds a slice may post: it starts no post after its deadline (this long after the
 * invocation), so it ends well within the delivery function's 30 s timeout.
 */
export const SLICE_BUDGET_MS = 20_000;

/**
 * Milliseconds the invoker waits beyond a slice's deadline before giving up on it: a post in
 * flight at the deadline (5 s request timeout) and the slice's note. A slice answers first.
 */
export const SLICE_GRACE_MS = 8_000;

/**
 * Milliseconds an invocation keeps free before its timeout: it starts no post, and gives no slice a
 * deadline, later than this before its end, so a post in flight and the requeue (or the slice's
 * note) still fit.
 */
export const INVOCATION_MARGIN_MS = SLICE_GRACE_MS + 2_000;

/**
 * When an invocation with `remainingMs` left stops starting posts and slices: its end less
 * {@link INVOCATION_MARGIN_MS}, but never sooner than half its time (a short-lived one still works).
 */
export function invocationDeadline(remainingMs: number, now = Date.now()): number {
  return now + Math.max(remainingMs - INVOCATION_MARGIN_MS, remainingMs / 2);
}

/**
 * Slices one fan-out invocation runs at once, from the delivery function's concurrency shared by
 * the shards (`HIPOCHAT_DELIVERY_CONCURRENCY / HIPOCHAT_FANOUT_SHARDS`, at least one): the shards
 * together never ask Lambda for more.
 */
export function slicesInFlight(deliveryConcurrency: number, shards: number): number {
  return Math.max(1, Math.floor(deliveryConcurrency / Math.max(1, shards)));
}

/**
 * Splits `connections` into the fewest slices of at most `size`, as even as possible, keeping
 * their order: every connection is in exactly one slice, so it gets a room's messages from one
 * execution, in order. `size` below 1 counts as 1.
 */
export function sliceConnections<T>(connections: readonly T[], size: number): T[][] {
  if (connections.length === 0) return [];
  const count = Math.ceil(connections.length / Math.max(1, Math.floor(size)));
  const base = Math.floor(connections.length / count);
  const larger = connections.length % count;
  const slices: T[][] = [];
  let start = 0;
  for (let i = 0; i < count; i += 1) {
    const end = start + base + (i < larger ? 1 : 0);
    slices.push(connections.slice(start, end));
    start = end;
  }
  return slices;
}

/**
 * Groups `messages`, in order, into runs whose request (with `connections`) stays under
 * {@link MAX_SLICE_REQUEST_BYTES}. One message always fits: messages are at most 32 KB.
 */
export function requestRuns(
  messages: readonly ChatMessage[],
  connections: readonly SliceConnection[],
  maxBytes = MAX_SLICE_REQUEST_BYTES,
): ChatMessage[][] {
  const fixed = Buffer.byteLength(JSON.stringify(connections)) + 256;
  const runs: ChatMessage[][] = [];
  let current: ChatMessage[] = [];
  let bytes = fixed;
  for (const message of messages) {
    const size = Buffer.byteLength(JSON.stringify(message)) + 1;
    if (current.length > 0 && bytes + size > maxBytes) {
      runs.push(current);
      current = [];
      bytes = fixed;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) runs.push(current);
  return runs;
}

/** Notes that `connections` missed message `id`. */
function addMisses(merged: SlicedDelivery, id: string, connections: readonly string[]): void {
  const known = merged.misses.get(id) ?? new Set();
  for (const connection of connections) known.add(connection);
  merged.misses.set(id, known);
}

/** Options of {@link deliverInSlices}. */
export interface SlicedOptions {
  /**
   * Slots of slices in flight, shared by the rooms of an invocation; an invocation Lambda throttled
   * halves it. @default 16 slots for this call alone
   */
  inFlight?: AdaptiveLimit;
  /** Milliseconds each slice may post. @default {@link SLICE_BUDGET_MS} */
  budgetMs?: number;
  /**
   * Epoch ms no slice posts past (the fan-out's own end, less its margin); a slice that would get
   * less than a second is not invoked: its connections miss its messages.
   */
  deadline?: number;
}

/**
 * Delivers a room's messages to `connections` in parallel slices of at most `size` and waits for
 * all of them. A slice reports, per message, the connections it missed; a slice that failed as a
 * whole (the invocation errored, timed out, was throttled past its retries) is uncertain: its note
 * tells a retry what it served, so no connection gets a message twice.
 */
export async function deliverInSlices(
  invoker: SliceInvoker,
  room: string,
  messages: readonly ChatMessage[],
  connections: readonly SliceConnection[],
  size: number,
  options: SlicedOptions = {},
): Promise<SlicedDelivery> {
  const merged: SlicedDelivery = {
    sent: 0,
    gone: 0,
    failed: 0,
    misses: new Map(),
    uncertain: new Map(),
    goneConnections: new Set(),
    departed: [],
    answered: [],
  };
  const slices = sliceConnections(
    connections.map(({ connectionId, batched, signals }) => ({
      connectionId,
      ...(batched ? { batched } : {}),
      ...(signals ? { signals } : {}),
    })),
    size,
  );
  const inFlight = options.inFlight ?? new AdaptiveLimit({ max: 16 });
  const budgetMs = options.budgetMs ?? SLICE_BUDGET_MS;
  await Promise.all(
    slices.map(async (slice, index) => {
      const slot = inFlight.acquire();
      if (slot) await slot;
      try {
        for (const run of requestRuns(messages, slice)) {
          const id = randomUUID();
          const deadline = Math.min(Date.now() + budgetMs, options.deadline ?? Number.POSITIVE_INFINITY);
          if (deadline - Date.now() < 1000) {
            // Too late to start a slice: none of its connections gets the run now.
            merged.failed += slice.length * run.length;
            const ids = slice.map((c) => c.connectionId);
            for (const message of run) addMisses(merged, message.id, ids);
            continue;
          }
          try {
            const result = await invoker.deliver(
              { room, messages: run, connections: slice, id, deadline },
              inFlight,
            );
            inFlight.succeeded();
            merged.sent += result.sent;
            merged.gone += result.gone;
            merged.failed += result.failed;
            for (const [message, missed] of Object.entries(result.misses)) addMisses(merged, message, missed);
            for (const gone of result.goneConnections) merged.goneConnections.add(gone);
            merged.departed.push(...(result.departed ?? []));
            merged.answered.push(id);
          } catch (error) {
            merged.failed += slice.length * run.length;
            const uncertain = { id, connections: slice.map((c) => c.connectionId) };
            for (const message of run) {
              merged.uncertain.set(message.id, [...(merged.uncertain.get(message.id) ?? []), uncertain]);
            }
            logger.warn('fan-out slice failed', { room, slice: index, connections: slice.length, error });
          }
        }
      } finally {
        inFlight.release();
      }
    }),
  );
  return merged;
}

/** The error of a delivery event that is not a {@link SliceRequest}. */
export class SliceRequestError extends Error {
  override readonly name = 'SliceRequestError';
}

/**
 * Checks a delivery event: only the fan-out may invoke the delivery function, but its event is
 * still input, and a wrong one must fail loudly rather than post to nobody.
 */
export function parseSliceRequest(event: unknown): SliceRequest {
  const request = event as Partial<SliceRequest> | null;
  if (
    !request ||
    typeof request.room !== 'string' ||
    !ROOM_PATTERN.test(request.room) ||
    !Array.isArray(request.messages) ||
    !Array.isArray(request.connections)
  ) {
    throw new SliceRequestError('a delivery event needs room, messages and connections');
  }
  for (const message of request.messages) {
    if (message?.room !== request.room || !MESSAGE_ID_PATTERN.test(String(message.id))) {
      throw new SliceRequestError('every message of a delivery event belongs to its room and has an id');
    }
  }
  for (const connection of request.connections) {
    if (typeof connection?.connectionId !== 'string' || connection.connectionId.length === 0) {
      throw new SliceRequestError('every connection of a delivery event has a connectionId');
    }
  }
  if (
    (request.id !== undefined && (typeof request.id !== 'string' || !/^[\w-]{1,64}$/.test(request.id))) ||
    (request.deadline !== undefined && !Number.isFinite(request.deadline))
  ) {
    throw new SliceRequestError(
      'a delivery event id is 1-64 word characters, its deadline epoch milliseconds',
    );
  }
  return request as SliceRequest;
}
