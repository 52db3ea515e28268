/**
 * Where a message is still missing, and how a retry finds it again: the fan-out collects, per
 * message, the connections a post missed and the slices whose outcome it does not know; a requeued
 * message carries that list in AMQP headers (or, when long, in a fan-out note in Redis the headers
 * name), so its retry posts to those connections only and never again to one that has it.
 */
import type { ChatMessage } from '../../protocol/index.js';
import type { ChatBus } from './bus/chat-bus.js';
import { logger } from './logger.js';
import { metrics } from './metrics.js';
import type { ChatStore } from './store/chat-store.js';

/** Header of a requeued message: its remaining targets as JSON ({@link RetryTargets}). */
export const TARGETS_HEADER = 'x-hipochat-targets';
/** Header of a requeued message whose targets were too long for a header: the name of their note. */
export const TARGETS_NOTE_HEADER = 'x-hipochat-targets-note';
/** Targets longer than this (bytes of JSON) go to a note; Amazon MQ hands headers over as byte lists. */
const MAX_HEADER_TARGETS_BYTES = 2048;
/** How long a requeued message's targets and failure count are kept: every retry happens within. */
export const FANOUT_NOTE_SECONDS = 24 * 3600;

/**
 * How long a slice's note is kept. The fan-out drops the notes of slices that answered; one of a
 * slice that did not is read when its messages come round again, seconds later unless the queue
 * is an hour behind (then the retry goes to all of the slice's connections).
 */
export const SLICE_NOTE_SECONDS = 3600;

/** A slice whose invocation failed or timed out: it may have served some of its connections. */
export interface UncertainSlice {
  /** The slice's id: its note (what it served) is `slice:<id>`, written however it ended. */
  id: string;
  connections: string[];
}

/** Where a message is still missing. */
export interface RetryTargets {
  /** Connections known to miss it. */
  connections: string[];
  /** Slices of unknown outcome: their note decides which of their connections miss it. */
  slices: UncertainSlice[];
}

/** Whether `headers` are those of a requeued message (they name its targets). */
export function isRetry(headers: Readonly<Record<string, string>> | undefined): boolean {
  return headers?.[TARGETS_HEADER] !== undefined || headers?.[TARGETS_NOTE_HEADER] !== undefined;
}

/** The note name of what slice `id` served. */
export const sliceNoteName = (id: string) => `slice:${id}`;

/**
 * Writes slice `id`'s note: per message of `request`, the connections it did not serve (`served`
 * holds those it posted to, or found gone).
 */
export async function saveSliceNote(
  store: ChatStore,
  request: { room: string; connections: readonly { connectionId: string }[] },
  id: string,
  served: ReadonlyMap<ChatMessage, ReadonlySet<string>>,
): Promise<void> {
  const missed: Record<string, string[]> = {};
  for (const [message, got] of served) {
    missed[message.id] = request.connections.map((c) => c.connectionId).filter((c) => !got.has(c));
  }
  await store.saveFanoutNote(request.room, sliceNoteName(id), JSON.stringify(missed), SLICE_NOTE_SECONDS);
}

/** Per message, the connections that still miss it (a batch's misses, then the requeue's targets). */
export class Misses {
  private readonly byMessage = new Map<ChatMessage, { connections: Set<string>; slices: UncertainSlice[] }>();

  private of(message: ChatMessage) {
    let entry = this.byMessage.get(message);
    if (!entry) {
      entry = { connections: new Set(), slices: [] };
      this.byMessage.set(message, entry);
    }
    return entry;
  }

  /** `connectionIds` missed `message`. */
  add(message: ChatMessage, connectionIds: Iterable<string>): void {
    const ids = [...connectionIds];
    if (ids.length === 0) return;
    const entry = this.of(message);
    for (const id of ids) entry.connections.add(id);
  }

  /** A slice that held `message` failed or timed out: what it served is in its note. */
  addSlice(message: ChatMessage, slice: UncertainSlice): void {
    this.of(message).slices.push(slice);
  }

  /** Messages some connection missed. */
  get size(): number {
    return this.byMessage.size;
  }

  /** Each message with where it is missing. */
  entries(): [ChatMessage, RetryTargets][] {
    return [...this.byMessage].map(([message, { connections, slices }]) => [
      message,
      { connections: [...connections], slices },
    ]);
  }
}

/** The headers that name `targets` for the `attempt`th requeue of `message`; long lists go to a note. */
export async function targetHeaders(
  store: ChatStore,
  message: ChatMessage,
  targets: RetryTargets,
  attempt: number,
): Promise<Record<string, string>> {
  const json = JSON.stringify(targets);
  if (Buffer.byteLength(json) <= MAX_HEADER_TARGETS_BYTES) return { [TARGETS_HEADER]: json };
  const name = `targets:${message.id}:${attempt}`;
  await store.saveFanoutNote(message.room, name, json, FANOUT_NOTE_SECONDS);
  return { [TARGETS_NOTE_HEADER]: name };
}

function parseTargets(json: string | null | undefined): RetryTargets | undefined {
  try {
    const parsed = JSON.parse(json ?? '') as Partial<RetryTargets> | null;
    const ids = (list: unknown) => Array.isArray(list) && list.every((id) => typeof id === 'string');
    if (
      parsed &&
      ids(parsed.connections) &&
      Array.isArray(parsed.slices) &&
      parsed.slices.every((slice) => typeof slice?.id === 'string' && ids(slice.connections))
    ) {
      return parsed as RetryTargets;
    }
  } catch {
    // Reported by the caller.
  }
  return undefined;
}

/**
 * The connections a requeued message still has to reach, from its headers: the connections that
 * missed it, plus what each slice of unknown outcome did not serve by its note (all of its
 * connections when it left none). `undefined` for a message that is no retry, or whose targets
 * are lost (then the whole room gets it again, and clients drop the duplicate by id).
 */
export async function resolveTargets(
  store: ChatStore,
  message: ChatMessage,
  headers: Readonly<Record<string, string>> | undefined,
): Promise<Set<string> | undefined> {
  if (!headers) return undefined;
  const noteName = headers[TARGETS_NOTE_HEADER];
  let json: string | null | undefined = headers[TARGETS_HEADER];
  if (json === undefined && noteName !== undefined)
    json = (await store.fanoutNotes(message.room, [noteName]))[0];
  if (json === undefined) return undefined;
  const targets = parseTargets(json);
  if (!targets) {
    logger.error('requeued message without readable targets: delivering to the whole room', {
      room: message.room,
      id: message.id,
    });
    return undefined;
  }
  const remaining = new Set(targets.connections);
  const notes = await store.fanoutNotes(
    message.room,
    targets.slices.map((slice) => sliceNoteName(slice.id)),
  );
  targets.slices.forEach((slice, n) => {
    // The note lists, per message of the slice, the connections it did not serve.
    const note = notes[n] ? (JSON.parse(notes[n]) as Record<string, string[]>) : undefined;
    for (const id of note?.[message.id] ?? slice.connections) remaining.add(id);
  });
  return remaining;
}

/**
 * Puts each message that missed a connection back on its queue, naming where it is missing, until
 * it failed `deliveryLimit` times; then it is dead-lettered. Each keeps its id, so a client that
 * sees it late places it by id.
 */
export async function requeueMisses(
  store: ChatStore,
  bus: ChatBus,
  deliveryLimit: number,
  misses: Misses,
): Promise<void> {
  for (const [message, targets] of misses.entries()) {
    const failures = await store.countFanoutFailure(message.room, message.id, FANOUT_NOTE_SECONDS);
    if (!bus.requeue || !bus.deadLetter) throw new Error(`the ${bus.kind} bus cannot requeue`);
    if (failures >= deliveryLimit) {
      await bus.deadLetter(message);
      metrics.count('DeadLettered');
      logger.error('message dead-lettered after the delivery limit', {
        room: message.room,
        id: message.id,
        failures,
      });
      continue;
    }
    await bus.requeue(message, await targetHeaders(store, message, targets, failures));
  }
}
