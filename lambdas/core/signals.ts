/**
 * Live signals on the bus: presence, typing (any ephemeral type) and read frames travel through
 * the same shard queues as the room's messages, so the fan-out delivers them in order with the
 * messages and under the same retries, but only to connections that asked with `?signals=1`.
 * Never stored, counted or pushed.
 *
 * Read marks and presence are folded: a change waits in the room's digest, and the first change
 * of a window publishes a flush that reaches the fan-out one window later; the fan-out then takes
 * the digest and delivers one `reads` frame (the newest mark per member) and the net presence
 * changes. A room's signal frames so grow with its windows, not with its members squared. Rooms
 * above the member cap get no live typing, read or presence frames at all.
 */
import { randomInt } from 'node:crypto';
import {
  BATCH_FRAME_BYTES,
  type ChatMessage,
  encodeServerFrame,
  type Profile,
  READ_DIGEST_MS,
  type ReadMarkEntry,
  readsFrame,
} from '../../protocol/index.js';
import type { ChatBus } from './bus/chat-bus.js';
import type { ChatConfig } from './config.js';
import { RateLimitedError } from './errors.js';
import { logger } from './logger.js';
import type { Identity } from './protocol.js';
import type { Arrival, Departure } from './store/chat-store.js';
import type { FoldedChange, SignalStore } from './store/signal-store.js';

/** How read marks and presence are folded. */
export interface SignalFolding {
  /** Milliseconds of one digest window (`HIPOCHAT_READ_DIGEST_MS`). @default 2000 */
  windowMs: number;
  /** Members above which a room gets no live typing, read or presence frames (`HIPOCHAT_SIGNALS_MAX_MEMBERS`). @default 100 */
  maxMembers: number;
}

/** The defaults of {@link SignalFolding}. */
export const DEFAULT_FOLDING: SignalFolding = { windowMs: READ_DIGEST_MS, maxMembers: 100 };

/** The folding a deployment configured. */
export function foldingOf(config: Pick<ChatConfig, 'readDigestMs' | 'signalsMaxMembers'>): SignalFolding {
  return { windowMs: config.readDigestMs, maxMembers: config.signalsMaxMembers };
}

/**
 * Counts a connect of the user against `limit` per minute across rooms (0: no limit), so a connect
 * and close loop cannot flood a room with presence.
 *
 * @throws RateLimitedError past the limit (the connect answers 429, as API Gateway refuses one)
 */
export async function assertConnectAllowed(store: SignalStore, userId: string, limit: number): Promise<void> {
  if (limit <= 0) return;
  const { count, ttlSeconds } = await store.countConnect(userId, 60);
  if (count > limit) {
    throw new RateLimitedError(`connect limit exceeded: ${limit} connects per minute`, {
      retryAfter: ttlSeconds,
    });
  }
}

/** The `type` of a signal on the bus (and its AMQP `type`): `~` is in no room name or default type. */
export const SIGNAL_TYPE = '~signal';

/**
 * A signal as the bus carries it: shaped like a message (room, id, timestamp) so it shares the
 * room's queue, order, requeues and fan-out slices, with the frame itself under `signal`.
 */
export interface SignalEnvelope extends ChatMessage {
  /** The frame as signals connections receive it: its wire JSON. */
  signal: string;
  /**
   * A connection that does not get it (one API Gateway may not have opened yet when the fan-out
   * posts: a 410 would drop its record). Folded presence needs none: it comes a window later.
   */
  except?: string;
  /** A flush of the room's digest: the fan-out replaces it with the digest's frames. */
  digest?: true;
  /** The marks of a `reads` frame, so a batch frame going to a connection anyway can carry them. */
  reads?: ReadMarkEntry[];
}

/**
 * Whether a bus message is a signal rather than a stored message: the signal type and a frame, both
 * set only by the server (a client's `signal` field never reaches a stored message).
 */
export function isSignal(message: ChatMessage): message is SignalEnvelope {
  return message.type === SIGNAL_TYPE && typeof (message as Partial<SignalEnvelope>).signal === 'string';
}

/** Splits a room's messages at each signal: the runs of messages and the signals between them, in order. */
export function signalRuns(messages: readonly ChatMessage[]): (ChatMessage[] | SignalEnvelope)[] {
  const parts: (ChatMessage[] | SignalEnvelope)[] = [];
  let run: ChatMessage[] = [];
  for (const message of messages) {
    if (!isSignal(message)) {
      run.push(message);
      continue;
    }
    if (run.length > 0) parts.push(run);
    parts.push(message);
    run = [];
  }
  if (run.length > 0) parts.push(run);
  return parts;
}

/**
 * An id for the envelope's trips through the bus (requeues and failure counts are kept by id);
 * clients never see it. The random sequence keeps two processes from sharing one.
 */
function envelopeId(): string {
  return `${Date.now()}-${randomInt(2 ** 47)}`;
}

/** The envelope of one signal frame (its wire JSON) for a room. */
export function signalEnvelope(room: string, frame: string, except?: string): SignalEnvelope {
  return {
    id: envelopeId(),
    type: SIGNAL_TYPE,
    room,
    token: room,
    timestamp: Date.now() / 1000,
    body: null,
    author: null,
    signal: frame,
    ...(except === undefined ? {} : { except }),
  };
}

/** The flush of a room's digest, published to arrive one window later. */
export function digestFlush(room: string): SignalEnvelope {
  return { ...signalEnvelope(room, ''), digest: true };
}

/** Whether a bus message is the flush of a room's digest. */
export function isDigestFlush(message: ChatMessage): boolean {
  return isSignal(message) && message.digest === true;
}

/** Read marks in groups whose `reads` frame stays within one frame ({@link BATCH_FRAME_BYTES}). */
function framesOf(marks: readonly ReadMarkEntry[]): ReadMarkEntry[][] {
  const groups: ReadMarkEntry[][] = [];
  // The frame's own keys and room name, generously.
  const envelopeBytes = 512;
  let group: ReadMarkEntry[] = [];
  let bytes = envelopeBytes;
  for (const mark of marks) {
    const size = Buffer.byteLength(JSON.stringify(mark)) + 1;
    if (group.length > 0 && bytes + size > BATCH_FRAME_BYTES) {
      groups.push(group);
      group = [];
      bytes = envelopeBytes;
    }
    group.push(mark);
    bytes += size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * Replaces the digest flushes among a room's messages with the digest's frames: each net presence
 * change, then one `reads` envelope with the newest mark per member. The digest is taken once
 * (a second flush in the batch finds it empty); messages without a flush pass as they are.
 */
export async function expandDigests(
  store: SignalStore,
  room: string,
  messages: ChatMessage[],
): Promise<ChatMessage[]> {
  if (!messages.some(isDigestFlush)) return messages;
  const expanded: ChatMessage[] = [];
  for (const message of messages) {
    if (!isDigestFlush(message)) {
      expanded.push(message);
      continue;
    }
    const { reads, presence } = await store.take(room);
    for (const { user, event } of presence) {
      expanded.push(signalEnvelope(room, encodeServerFrame({ kind: 'presence', event, room, user })));
    }
    for (const marks of framesOf(reads.map(({ user, id }) => ({ user, id })))) {
      const envelope: SignalEnvelope = signalEnvelope(room, encodeServerFrame(readsFrame(room, marks)));
      envelope.reads = marks;
      expanded.push(envelope);
    }
  }
  return expanded;
}

/**
 * Takes the `reads` envelopes out of a run that holds messages too, so their marks ride in the
 * run's last batch frame instead of frames of their own; a run of signals only is left as it is.
 */
export function carryReads(messages: readonly ChatMessage[]): {
  messages: ChatMessage[];
  reads?: ReadMarkEntry[];
} {
  const readsOf = (m: ChatMessage) => (isSignal(m) ? m.reads : undefined);
  if (!messages.some((m) => !isSignal(m)) || !messages.some(readsOf)) return { messages: [...messages] };
  const newest = new Map<string, ReadMarkEntry>();
  for (const message of messages) {
    for (const mark of readsOf(message) ?? []) newest.set(JSON.stringify(mark.user), mark);
  }
  return { messages: messages.filter((m) => !readsOf(m)), reads: [...newest.values()] };
}

/** What an ephemeral frame carries besides its type and room. */
export interface EphemeralSignal {
  type: string;
  identity: Identity;
  clientId?: string;
  body?: unknown;
}

/**
 * Publishes signals, best effort: a signal that cannot be published is logged and dropped, since
 * the state it tells of (who is online, who read what) is always there to read from its route.
 * Nothing is published when no connection of the room asked for signals. Read marks and presence
 * are folded into the room's digest (see the top of this file).
 */
export class SignalPublisher {
  private readonly folding: SignalFolding;

  /**
   * @param store where the digests are folded; without it read marks and presence are not announced
   * @param folding the digest window and member cap @default {@link DEFAULT_FOLDING}
   * @param idField the profile field that names a user, for a user the room has no profile of
   */
  constructor(
    private readonly bus: ChatBus | undefined,
    private readonly store?: SignalStore,
    folding: Partial<SignalFolding> = {},
    private readonly idField = 'id',
  ) {
    this.folding = { ...DEFAULT_FOLDING, ...folding };
  }

  /** Members above which a room gets no live typing, read or presence frames. */
  get maxMembers(): number {
    return this.folding.maxMembers;
  }

  /** The public profile of a user: as recorded, or just their id. */
  profileOf(userId: string, profile: Profile | null): Profile {
    return profile ?? { [this.idField]: userId };
  }

  /** A connection opened: `join` when it is the user's first in the room. */
  async arrived(room: string, identity: Identity, arrival: Arrival, ownSignals: boolean): Promise<void> {
    if (!arrival.joined || arrival.listeners - (ownSignals ? 1 : 0) <= 0) return;
    await this.fold(room, {
      kind: 'presence',
      event: 'join',
      userId: identity.userId,
      user: identity.profile,
    });
  }

  /**
   * Connections went away (null: one that was not there): the read mark they moved, then `leave`
   * for a user's last connection.
   */
  async departed(room: string, departures: readonly (Departure | null)[]): Promise<void> {
    for (const departure of departures) {
      if (!departure || departure.listeners <= 0) continue;
      const { userId } = departure;
      const user = this.profileOf(userId, departure.profile);
      if (departure.read !== undefined)
        await this.fold(room, { kind: 'read', userId, user, id: departure.read });
      if (departure.left) await this.fold(room, { kind: 'presence', event: 'leave', userId, user });
    }
  }

  /** A member's read mark moved to message `mark.id` (no mark: it did not move). */
  async read(
    room: string,
    userId: string,
    user: Profile,
    mark?: { id: string; listeners: number },
  ): Promise<void> {
    if (!mark || mark.listeners <= 0) return;
    await this.fold(room, { kind: 'read', userId, user, id: mark.id });
  }

  /** Folds a change into the room's digest; the first of a window schedules the flush. */
  private async fold(room: string, change: FoldedChange): Promise<void> {
    if (!this.bus || !this.store) return;
    const { windowMs, maxMembers } = this.folding;
    try {
      // The gate outlives the window: a flush that comes a little late still frees it before the
      // next one is scheduled, so two digests of a room never come closer than a window.
      const outcome = await this.store.fold(room, change, 2 * windowMs, maxMembers);
      // A flush that cannot be published leaves the gate to expire: the next change schedules one.
      if (outcome === 'schedule') await this.bus.publishLater(digestFlush(room), windowMs);
    } catch (error) {
      logger.warn('signal dropped: not folded', { room, error });
    }
  }

  /**
   * An ephemeral frame, shaped like a message without an id:
   * `{"type":<type>,"room","author","senderId","clientId"?,"timestamp","body"?}`.
   */
  async ephemeral(room: string, signal: EphemeralSignal): Promise<void> {
    const { type, identity, clientId, body } = signal;
    const frame = JSON.stringify({
      type,
      room,
      author: identity.profile,
      senderId: identity.userId,
      ...(clientId === undefined ? {} : { clientId }),
      timestamp: Date.now() / 1000,
      ...(body === undefined ? {} : { body }),
    });
    await this.publish(signalEnvelope(room, frame));
  }

  /**
   * A message changed (an `edit`, `delete` or `reaction` frame, its wire JSON): it rides the bus
   * like every signal, in order with the room's messages. Best effort like them: the history
   * holds the change whatever happens to the frame.
   */
  async changed(room: string, frame: string): Promise<void> {
    await this.publish(signalEnvelope(room, frame));
  }

  private async publish(envelope: SignalEnvelope): Promise<void> {
    if (!this.bus) return;
    try {
      await this.bus.publish(envelope);
    } catch (error) {
      logger.warn('signal dropped: not published', { room: envelope.room, error });
    }
  }
}
