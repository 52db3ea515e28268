/**
 * Reading the server's frames: one reader per typed frame, and the parser that tells a message,
 * a control frame and an error apart by the server's encoding (see `frames.ts`).
 */

import {
  ackFrame,
  batchFrame,
  type ErrorFrame,
  ephemeralAckFrame,
  errorFrame,
  type MessageFrame,
  messageFrame,
  type ReadMarkEntry,
  readsFrame,
  type ServerFrame,
  type ServerFrameOf,
  type SubscribedFrame,
  type TypingFrame,
} from './frames.js';
import { type EditMark, isChatMessage, type Profile, type Reactions } from './messages.js';

/**
 * What {@link parseServerFrame} could not read: text that is not JSON, or JSON that is no frame
 * this version knows. Clients ignore the latter, so a newer server may add frames.
 */
export interface UnreadableFrame {
  kind: 'unreadable';
  reason: 'not-json' | 'unknown';
}

// Frames that travel as `{"type": <kind>, ...fields}`.
type TypedFrame = Exclude<ServerFrame, MessageFrame | ErrorFrame>;
type WireFields = Record<string, unknown>;

// One reader per typed frame (the mapped type makes a missing one a compile error); `undefined`
// when the fields do not fit, and the frame is then read as a message if it is one.
const READERS: { [K in TypedFrame['kind']]: (wire: WireFields) => ServerFrameOf<K> | undefined } = {
  batch: (wire) => {
    if (!Array.isArray(wire.messages)) return undefined;
    const frame = batchFrame(
      typeof wire.room === 'string' ? wire.room : '',
      wire.messages.filter(isChatMessage),
    );
    if (Array.isArray(wire.reads)) frame.reads = wire.reads.filter(isReadMarkEntry);
    return frame;
  },
  ack: (wire) => {
    if (typeof wire.clientId !== 'string') return undefined;
    if (typeof wire.id === 'string') return ackFrame(wire.id, wire.clientId);
    // An `id` of another type is no ack (and may be a message named "ack").
    return wire.id === undefined ? ephemeralAckFrame(wire.clientId) : undefined;
  },
  pong: () => ({ kind: 'pong' }),
  presence: (wire) =>
    (wire.event === 'join' || wire.event === 'leave') && typeof wire.room === 'string' && isProfile(wire.user)
      ? { kind: 'presence', event: wire.event, room: wire.room, user: wire.user }
      : undefined,
  typing: (wire) => {
    if (typeof wire.room !== 'string' || !(wire.author === null || isProfile(wire.author))) return undefined;
    const frame: TypingFrame = { kind: 'typing', room: wire.room, author: wire.author };
    if (typeof wire.senderId === 'string') frame.senderId = wire.senderId;
    if (typeof wire.clientId === 'string') frame.clientId = wire.clientId;
    if (typeof wire.timestamp === 'number') frame.timestamp = wire.timestamp;
    if (wire.body !== undefined) frame.body = wire.body;
    return frame;
  },
  read: (wire) =>
    typeof wire.room === 'string' && isProfile(wire.user) && typeof wire.id === 'string'
      ? { kind: 'read', room: wire.room, user: wire.user, id: wire.id }
      : undefined,
  reads: (wire) =>
    typeof wire.room === 'string' && Array.isArray(wire.marks)
      ? readsFrame(wire.room, wire.marks.filter(isReadMarkEntry))
      : undefined,
  edit: (wire) =>
    typeof wire.room === 'string' && typeof wire.id === 'string' && isEditMark(wire.edited)
      ? { kind: 'edit', room: wire.room, id: wire.id, body: wire.body, edited: wire.edited }
      : undefined,
  delete: (wire) =>
    typeof wire.room === 'string' && typeof wire.id === 'string'
      ? { kind: 'delete', room: wire.room, id: wire.id }
      : undefined,
  reaction: (wire) =>
    typeof wire.room === 'string' &&
    typeof wire.id === 'string' &&
    typeof wire.emoji === 'string' &&
    typeof wire.user === 'string' &&
    typeof wire.count === 'number' &&
    typeof wire.added === 'boolean'
      ? {
          kind: 'reaction',
          room: wire.room,
          id: wire.id,
          emoji: wire.emoji,
          user: wire.user,
          count: wire.count,
          added: wire.added,
        }
      : undefined,
  subscribed: (wire) => {
    if (typeof wire.room !== 'string' || typeof wire.unread !== 'number') return undefined;
    const frame: SubscribedFrame = { kind: 'subscribed', room: wire.room, unread: wire.unread };
    if (Array.isArray(wire.missed)) frame.missed = wire.missed.filter(isChatMessage);
    if (typeof wire.more === 'boolean') frame.more = wire.more;
    return frame;
  },
  unsubscribed: (wire) =>
    typeof wire.room === 'string' ? { kind: 'unsubscribed', room: wire.room } : undefined,
  unread: (wire) => {
    if (typeof wire.room === 'string' && typeof wire.count === 'number') {
      return { kind: 'unread', room: wire.room, count: wire.count };
    }
    if (wire.rooms === null || typeof wire.rooms !== 'object' || Array.isArray(wire.rooms)) return undefined;
    const rooms: Record<string, number> = {};
    for (const [room, count] of Object.entries(wire.rooms))
      if (typeof count === 'number') rooms[room] = count;
    return { kind: 'unread', rooms };
  },
  replies: (wire) =>
    typeof wire.room === 'string' &&
    typeof wire.id === 'string' &&
    typeof wire.count === 'number' &&
    typeof wire.lastId === 'string'
      ? { kind: 'replies', room: wire.room, id: wire.id, count: wire.count, lastId: wire.lastId }
      : undefined,
};

function isEditMark(value: unknown): value is EditMark {
  if (value === null || typeof value !== 'object') return false;
  const mark = value as { at?: unknown; by?: unknown };
  return typeof mark.at === 'number' && (mark.by === null || typeof mark.by === 'string');
}

/** Whether a value is a reactions summary (`{"👍":{"count":2,"users":["ua","ub"]}}`). */
export function isReactions(value: unknown): value is Reactions {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  return Object.values(value).every((entry) => {
    if (entry === null || typeof entry !== 'object') return false;
    const summary = entry as { count?: unknown; users?: unknown };
    return (
      typeof summary.count === 'number' &&
      Array.isArray(summary.users) &&
      summary.users.every((user) => typeof user === 'string')
    );
  });
}

function isProfile(value: unknown): value is Profile {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isReadMarkEntry(value: unknown): value is ReadMarkEntry {
  if (value === null || typeof value !== 'object') return false;
  const entry = value as { user?: unknown; id?: unknown };
  return isProfile(entry.user) && typeof entry.id === 'string';
}

/**
 * The `type`s of server frames that are not messages. A message type must not be one of these,
 * or clients would read the message as that frame.
 */
export const CONTROL_FRAME_TYPES: readonly string[] = Object.keys(READERS);

/**
 * Reads a frame from the server by the server's encoding, never by what a sender put in a message.
 * Never throws: a client must survive any frame. A frame whose `type` names a control frame is
 * that frame when its fields fit (no message type may name one: the server refuses such a type at
 * start-up); else a frame with a string `id` and `type` is a message, whatever other fields it
 * carries (an `ERROR` field in a message, as stored before the server dropped such fields, keeps it
 * a message); else `{"ERROR": ...}` is an error.
 */
export function parseServerFrame(text: string): ServerFrame | UnreadableFrame {
  let wire: unknown;
  try {
    wire = JSON.parse(text);
  } catch {
    return { kind: 'unreadable', reason: 'not-json' };
  }
  if (wire === null || typeof wire !== 'object' || Array.isArray(wire)) {
    return { kind: 'unreadable', reason: 'unknown' };
  }
  const fields = wire as WireFields;
  const type = fields.type;
  // hasOwnProperty, not `in`: `toString` is no frame type (and Object.hasOwn is too new for Safari 15).
  // biome-ignore lint/suspicious/noPrototypeBuiltins: Object.hasOwn needs Safari 15.4; the client supports 15
  if (typeof type === 'string' && Object.prototype.hasOwnProperty.call(READERS, type)) {
    const frame = READERS[type as TypedFrame['kind']](fields);
    if (frame) return frame;
  }
  if (isChatMessage(wire)) return messageFrame(wire);
  if (typeof fields.ERROR === 'string') {
    return errorFrame(
      fields.ERROR,
      typeof fields.clientId === 'string' ? fields.clientId : undefined,
      typeof fields.room === 'string' ? fields.room : undefined,
      {
        ...(typeof fields.reason === 'string' ? { reason: fields.reason } : {}),
        ...(typeof fields.retryAfter === 'number' ? { retryAfter: fields.retryAfter } : {}),
      },
    );
  }
  return { kind: 'unreadable', reason: 'unknown' };
}
