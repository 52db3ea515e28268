/**
 * Live signals on the bus: presence, typing (any ephemeral type) and read frames travel through
 * the same shard queues as the room's messages, so the fan-out delivers them in order with the
 * messages and under the same retries, but only to connections that asked with `?signals=1`.
 * Never stored, counted or pushed.
 */
import { randomInt } from 'node:crypto';
import { type ChatMessage, encodeServerFrame, type Profile } from '../../protocol/index.js';
import type { ChatBus } from './bus/chat-bus.js';
import { logger } from './logger.js';
import type { Identity } from './protocol.js';
import type { Arrival, Departure } from './store/chat-store.js';

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
   * A connection that does not get it: the one that just joined, which API Gateway may not have
   * opened yet when the fan-out posts (a 410 would drop its record).
   */
  except?: string;
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
 * Nothing is published when no connection of the room asked for signals.
 */
export class SignalPublisher {
  /** @param idField the profile field that names a user, for a user the room has no profile of */
  constructor(
    private readonly bus: ChatBus | undefined,
    private readonly idField = 'id',
  ) {}

  /** The public profile of a user: as recorded, or just their id. */
  profileOf(userId: string, profile: Profile | null): Profile {
    return profile ?? { [this.idField]: userId };
  }

  /** A connection opened: `join` when it is the user's first in the room (the joiner is not told). */
  async arrived(
    room: string,
    identity: Identity,
    connectionId: string,
    arrival: Arrival,
    ownSignals: boolean,
  ): Promise<void> {
    if (!arrival.joined || arrival.listeners - (ownSignals ? 1 : 0) <= 0) return;
    const frame = encodeServerFrame({ kind: 'presence', event: 'join', room, user: identity.profile });
    await this.publish(signalEnvelope(room, frame, connectionId));
  }

  /**
   * Connections went away (null: one that was not there): a `read` frame for a read mark they
   * moved, then `leave` for a user's last connection.
   */
  async departed(room: string, departures: readonly (Departure | null)[]): Promise<void> {
    for (const departure of departures) {
      if (!departure || departure.listeners <= 0) continue;
      const user = this.profileOf(departure.userId, departure.profile);
      if (departure.read !== undefined) {
        await this.read(room, user, { id: departure.read, listeners: departure.listeners });
      }
      if (departure.left) {
        await this.publish(
          signalEnvelope(room, encodeServerFrame({ kind: 'presence', event: 'leave', room, user })),
        );
      }
    }
  }

  /** A member's read mark moved to message `mark.id` (no mark: it did not move). */
  async read(room: string, user: Profile, mark?: { id: string; listeners: number }): Promise<void> {
    if (!mark || mark.listeners <= 0) return;
    const frame = encodeServerFrame({ kind: 'read', room, user, id: mark.id });
    await this.publish(signalEnvelope(room, frame));
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
