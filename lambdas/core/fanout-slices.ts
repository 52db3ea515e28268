import { type ChatMessage, MESSAGE_ID_PATTERN, ROOM_PATTERN } from '../../protocol/index.js';
import { logger } from './logger.js';
import { forEachLimited } from './retry.js';
import type { ConnectionRecord, Departure } from './store/chat-store.js';

/** What a slice needs of a connection: where to post, in which frame shape, and whether it takes signals. */
export type SliceConnection = Pick<ConnectionRecord, 'connectionId' | 'batched' | 'signals'>;

/** The event of one delivery invocation: some of a room's messages for some of its connections. */
export interface SliceRequest {
  room: string;
  /** In room order. */
  messages: ChatMessage[];
  connections: SliceConnection[];
}

/** What one delivery invocation did. */
export interface SliceResult {
  sent: number;
  gone: number;
  failed: number;
  /** Ids of the messages some connection of the slice did not get (to be requeued). */
  missed: string[];
  /** Connections that answered 410; the slice already dropped them from the room. */
  goneConnections: string[];
  /** Users whose last connection so went, for the parent to announce (a slice never publishes). */
  departed?: Departure[];
}

/** Runs one slice: a synchronous invocation of the delivery function (or, in tests, a stand-in). */
export interface SliceInvoker {
  /** Resolves with the slice's result; rejects when the invocation failed as a whole. */
  deliver(request: SliceRequest): Promise<SliceResult>;
}

/** A room's slices merged: the counts, the messages to requeue and the connections gone. */
export interface SlicedDelivery {
  sent: number;
  gone: number;
  failed: number;
  missed: Set<string>;
  goneConnections: Set<string>;
  departed: Departure[];
}

/**
 * Lambda refuses a synchronous request over 6 MB; a slice whose messages would not fit is sent as
 * several invocations, one after the other (which keeps each connection's order).
 */
export const MAX_SLICE_REQUEST_BYTES = 5 * 2 ** 20;

/**
 * Slices one fan-out invocation runs at once: a 100,000-member room at the default slice size.
 * More wait for a free one instead of meeting the delivery function's reserved concurrency as a
 * wall of 429s.
 */
export const SLICES_IN_FLIGHT = 100;

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

/**
 * Delivers a room's messages to `connections` in parallel slices of at most `size` and waits for
 * all of them. A slice that failed as a whole (the invocation errored, timed out, was throttled
 * past its retries) counts every one of its messages as missed, so they are requeued like any
 * other miss.
 */
export async function deliverInSlices(
  invoker: SliceInvoker,
  room: string,
  messages: readonly ChatMessage[],
  connections: readonly SliceConnection[],
  size: number,
): Promise<SlicedDelivery> {
  const merged: SlicedDelivery = {
    sent: 0,
    gone: 0,
    failed: 0,
    missed: new Set(),
    goneConnections: new Set(),
    departed: [],
  };
  const slices = sliceConnections(
    connections.map(({ connectionId, batched, signals }) => ({
      connectionId,
      ...(batched ? { batched } : {}),
      ...(signals ? { signals } : {}),
    })),
    size,
  );
  await forEachLimited(
    slices.map((slice, index) => ({ slice, index })),
    SLICES_IN_FLIGHT,
    async ({ slice, index }) => {
      for (const run of requestRuns(messages, slice)) {
        try {
          const result = await invoker.deliver({ room, messages: run, connections: slice });
          merged.sent += result.sent;
          merged.gone += result.gone;
          merged.failed += result.failed;
          for (const id of result.missed) merged.missed.add(id);
          for (const id of result.goneConnections) merged.goneConnections.add(id);
          merged.departed.push(...(result.departed ?? []));
        } catch (error) {
          merged.failed += slice.length * run.length;
          for (const message of run) merged.missed.add(message.id);
          logger.warn('fan-out slice failed', { room, slice: index, connections: slice.length, error });
        }
      }
    },
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
  return request as SliceRequest;
}
