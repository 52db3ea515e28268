/**
 * Frames the server sends: one union discriminated by `kind` (the client's own are in
 * `client-frames.ts`); the encoder and the parser map it to and from the wire JSON, whose shapes
 * are historical (a message travels as itself, an error as Hipochat's `{"ERROR": ...}`) and so
 * cannot be discriminated by one field.
 *
 * Adding a server frame (presence, typing, ...): add its interface to {@link ServerFrame} and a
 * builder; the compiler then asks for its reader in `READERS` (server-frame-readers.ts), its fields
 * in `SERVER_FRAME_FIELDS` (server-fields.ts) and a case in every exhaustive `switch` of a client.
 * It travels as `{"type": <kind>, ...fields}`.
 */
import type { ChatMessage, EditMark, Profile } from './messages.js';

/** The `type` of the typing frame both ways, and the default of `HIPOCHAT_EPHEMERAL_TYPES`. */
export const TYPING_TYPE = 'typing';

/**
 * The least time between two ephemeral frames of one user in one room that the server delivers;
 * it drops the extra ones silently, so clients throttle to it.
 */
export const EPHEMERAL_INTERVAL_MS = 2000;

/** The connect query parameter (`signals=1`, both URL shapes) that asks for presence, typing and read frames. */
export const SIGNALS_PARAMETER = 'signals';

/**
 * The connect query parameter (`unread=1`) that asks for live unread counts of the rooms the
 * connection does not follow; only for connections that follow rooms (`?rooms=` or no room).
 */
export const UNREAD_PARAMETER = 'unread';

/** One delivered message, on the wire as the {@link ChatMessage} itself. */
export interface MessageFrame {
  kind: 'message';
  message: ChatMessage;
}

/**
 * Several messages of a room in one frame, in id order: `{"type":"batch","room":...,"messages":[...]}`.
 * Only for connections that asked with `?batch=1`; API Gateway bills the frame once.
 */
export interface BatchFrame {
  kind: 'batch';
  room: string;
  messages: ChatMessage[];
  /**
   * The room's read digest ({@link ReadsFrame}'s `marks`) when one was due for a signals
   * connection that gets this batch anyway: the frame is billed once.
   */
  reads?: ReadMarkEntry[];
}

/**
 * The answer to a send that carried a `clientId`: `{"type":"ack","id":...,"clientId":...}`; an
 * ephemeral frame (typing) is never stored, so its ack has no `id`.
 */
export interface AckFrame {
  kind: 'ack';
  /** The stored message's id; absent for an ephemeral frame. */
  id?: string;
  clientId: string;
}

/**
 * A refused frame: Hipochat's `{"ERROR":"...","clientId"?:...}`. The connection stays open;
 * without a `clientId` the server answers frames in order.
 */
export interface ErrorFrame {
  kind: 'error';
  message: string;
  clientId?: string;
  /** The room a refused subscribe, unsubscribe or send named. */
  room?: string;
  /**
   * Why moderation refused the frame, in the words of the moderation hook (a rejected message)
   * or `muted` / `banned`; absent for every other refusal.
   */
  reason?: string;
  /** Seconds until a mute or ban that refused the frame ends. */
  retryAfter?: number;
}

/**
 * The text of the error frame (and the 401 body) for a refused token; clients stop reconnecting
 * on it instead of retrying forever.
 */
export const AUTHENTICATION_ERROR = 'authentication error';

/** The answer to {@link PingFrame}: `{"type":"pong"}`. */
export interface PongFrame {
  kind: 'pong';
}

/**
 * A user came online in a room (their first connection there opened) or went offline (their last
 * one closed or expired): `{"type":"presence","event":"join"|"leave","room":...,"user":{...}}`.
 * Only for connections that asked with `?signals=1`, as are {@link TypingFrame} and {@link ReadFrame}.
 */
export interface PresenceFrame {
  kind: 'presence';
  event: 'join' | 'leave';
  room: string;
  /** The user's public profile. */
  user: Profile;
}

/**
 * Someone is typing: `{"type":"typing","room":...,"author":{...},"senderId":...}`, shaped like a
 * message without an `id` (never stored). A second one keeps the notice alive.
 */
export interface TypingFrame {
  kind: 'typing';
  room: string;
  /** The typer's public profile. */
  author: Profile | null;
  senderId?: string;
  /** The sender's `clientId`, so a client can tell its own frame when the server echoes it. */
  clientId?: string;
  timestamp?: number;
  body?: unknown;
}

/**
 * A member's read mark moved (they read the room up to `id`):
 * `{"type":"read","room":...,"user":{...},"id":"<message id>"}`. Earlier servers sent one per mark;
 * this one folds marks into {@link ReadsFrame}, and clients still read this frame.
 */
export interface ReadFrame {
  kind: 'read';
  room: string;
  /** The reader's public profile. */
  user: Profile;
  /** The newest message id they have read. */
  id: string;
}

/** One member's read mark in a {@link ReadsFrame}: their public profile and the newest id they read. */
export interface ReadMarkEntry {
  user: Profile;
  id: string;
}

/**
 * The read marks of a room that moved in the last {@link READ_DIGEST_MS} window (the server's
 * `HIPOCHAT_READ_DIGEST_MS`), the newest per member:
 * `{"type":"reads","room":...,"marks":[{"user":{...},"id":"<message id>"},...]}`. A signals
 * connection gets at most one per window and room, alone or as the `reads` field of a batch frame.
 * It replaces the one {@link ReadFrame} per mark of earlier servers.
 */
export interface ReadsFrame {
  kind: 'reads';
  room: string;
  marks: ReadMarkEntry[];
}

/** The default window of read digests and presence folding, in milliseconds. */
export const READ_DIGEST_MS = 2000;

/**
 * A message was edited: `{"type":"edit","room":...,"id":...,"body":...,"edited":{"at":...,"by":...}}`.
 * Only for signals connections, as are {@link MessageDeletedFrame} and {@link ReactionFrame}.
 */
export interface MessageEditedFrame {
  kind: 'edit';
  room: string;
  id: string;
  /** The new body. */
  body: unknown;
  edited: EditMark;
}

/** A message was deleted (it is a tombstone now): `{"type":"delete","room":...,"id":...}`. */
export interface MessageDeletedFrame {
  kind: 'delete';
  room: string;
  id: string;
}

/**
 * One user's reaction was toggled:
 * `{"type":"reaction","room":...,"id":...,"emoji":"👍","user":"ua","count":3,"added":true}`. The
 * change, not the message's whole summary (history answers that), and `count` is the emoji's count
 * after it, so applying the frame twice is harmless.
 */
export interface ReactionFrame {
  kind: 'reaction';
  room: string;
  id: string;
  emoji: string;
  /** The user id of who reacted or took their reaction back. */
  user: string;
  /** Users reacting with `emoji` now (0: nobody is any more). */
  count: number;
  /** True when `user` reacted, false when they took it back. */
  added: boolean;
}

/**
 * The answer to a subscribe: `{"type":"subscribed","room":...,"unread":N}`, `unread` being what the
 * user had not read before; with `since`, also the messages after it (`missed`, oldest first, at
 * most a page; `more` when older ones after `since` did not fit: `/talk/old` pages them).
 */
export interface SubscribedFrame {
  kind: 'subscribed';
  room: string;
  unread: number;
  missed?: ChatMessage[];
  more?: boolean;
}

/** The answer to an unsubscribe: `{"type":"unsubscribed","room":...}`. */
export interface UnsubscribedFrame {
  kind: 'unsubscribed';
  room: string;
}

/**
 * Unread counts, for connections that asked with `?unread=1`: one room's new count when it changed
 * and the connection does not follow that room (`{"type":"unread","room":"r9","count":3}`), or the
 * counts of the user's rooms in answer to `{"type":"unread"}` (`{"type":"unread","rooms":{"r4":2}}`).
 */
export interface UnreadFrame {
  kind: 'unread';
  room?: string;
  count?: number;
  rooms?: Record<string, number>;
}

/**
 * A thread root's replies changed (a reply was stored):
 * `{"type":"replies","room":...,"id":"<root id>","count":3,"lastId":"<newest reply id>"}`. Only for
 * signals connections; `count` is the total after the change, so applying it twice is harmless.
 */
export interface RepliesFrame {
  kind: 'replies';
  room: string;
  /** The thread root's id. */
  id: string;
  count: number;
  lastId: string;
}

/** A frame the server sends. */
export type ServerFrame =
  | MessageFrame
  | BatchFrame
  | AckFrame
  | ErrorFrame
  | PongFrame
  | PresenceFrame
  | TypingFrame
  | ReadFrame
  | ReadsFrame
  | MessageEditedFrame
  | MessageDeletedFrame
  | ReactionFrame
  | SubscribedFrame
  | UnsubscribedFrame
  | UnreadFrame
  | RepliesFrame;

/** The `kind` of a server frame. */
export type ServerFrameKind = ServerFrame['kind'];

/** The server frame of one kind. */
export type ServerFrameOf<K extends ServerFrameKind> = Extract<ServerFrame, { kind: K }>;

/** A delivered message frame. */
export function messageFrame(message: ChatMessage): MessageFrame {
  return { kind: 'message', message };
}

/** A batch frame of a room's messages (in id order). */
export function batchFrame(room: string, messages: ChatMessage[]): BatchFrame {
  return { kind: 'batch', room, messages };
}

/** The read digest of a room: the newest mark per member. */
export function readsFrame(room: string, marks: ReadMarkEntry[]): ReadsFrame {
  return { kind: 'reads', room, marks };
}

/** The acknowledgement of a stored message. */
export function ackFrame(id: string, clientId: string): AckFrame {
  return { kind: 'ack', id, clientId };
}

/** The acknowledgement of an ephemeral frame (typing): no id, nothing was stored. */
export function ephemeralAckFrame(clientId: string): AckFrame {
  return { kind: 'ack', clientId };
}

/**
 * An error frame; `clientId` names the refused frame when the client sent one, `room` the room a
 * refused subscribe, unsubscribe or send named.
 */
export function errorFrame(
  message: string,
  clientId?: string,
  room?: string,
  details: Pick<ErrorFrame, 'reason' | 'retryAfter'> = {},
): ErrorFrame {
  return {
    kind: 'error',
    message,
    ...(clientId ? { clientId } : {}),
    ...(room === undefined ? {} : { room }),
    ...(details.reason === undefined ? {} : { reason: details.reason }),
    ...(details.retryAfter === undefined ? {} : { retryAfter: details.retryAfter }),
  };
}

/** The JSON text of a server frame. */
export function encodeServerFrame(frame: ServerFrame): string {
  switch (frame.kind) {
    case 'message':
      return JSON.stringify(frame.message);
    case 'error':
      return JSON.stringify({
        ERROR: frame.message,
        clientId: frame.clientId,
        room: frame.room,
        reason: frame.reason,
        retryAfter: frame.retryAfter,
      });
    default: {
      const { kind, ...fields } = frame;
      return JSON.stringify({ type: kind, ...fields });
    }
  }
}
