/**
 * The fields that belong to the server: every field of every server frame, and those a stored
 * message or its bus envelope carries. A client sets none of them; a message's own fields come
 * from the server, and other custom fields a Hipochat client adds ride along beside them.
 */
import type { ServerFrameKind, ServerFrameOf } from './frames.js';
import type { ChatMessage } from './messages.js';

/** The wire field names of a server frame of one kind (see `encodeServerFrame`). */
export type WireFieldOf<K extends ServerFrameKind> = K extends 'message'
  ? keyof ChatMessage
  : K extends 'error'
    ? 'ERROR' | 'clientId' | 'room' | 'reason' | 'retryAfter'
    : 'type' | Exclude<keyof ServerFrameOf<K>, 'kind'>;

/**
 * Every wire field of each server frame kind. A new kind or field that is not listed here fails to
 * compile (below), so the server's fields can never drift from what it sends.
 */
export const SERVER_FRAME_FIELDS = {
  message: [
    'id',
    'type',
    'room',
    'token',
    'timestamp',
    'body',
    'author',
    'senderId',
    'clientId',
    'edited',
    'deleted',
    'reactions',
    'parentId',
    'mentions',
    'replies',
  ],
  batch: ['type', 'room', 'messages', 'reads'],
  reads: ['type', 'room', 'marks'],
  ack: ['type', 'id', 'clientId'],
  error: ['ERROR', 'clientId', 'room', 'reason', 'retryAfter'],
  pong: ['type'],
  presence: ['type', 'event', 'room', 'user'],
  typing: ['type', 'room', 'author', 'senderId', 'clientId', 'timestamp', 'body'],
  read: ['type', 'room', 'user', 'id'],
  edit: ['type', 'room', 'id', 'body', 'edited'],
  delete: ['type', 'room', 'id'],
  reaction: ['type', 'room', 'id', 'emoji', 'user', 'count', 'added'],
  subscribed: ['type', 'room', 'unread', 'missed', 'more'],
  unsubscribed: ['type', 'room'],
  unread: ['type', 'room', 'count', 'rooms'],
  replies: ['type', 'room', 'id', 'count', 'lastId'],
} as const satisfies { readonly [K in ServerFrameKind]: readonly WireFieldOf<K>[] };

type Unlisted = {
  [K in ServerFrameKind]: Exclude<WireFieldOf<K>, (typeof SERVER_FRAME_FIELDS)[K][number]>;
}[ServerFrameKind];

/** Compiles only while {@link SERVER_FRAME_FIELDS} lists every field of every server frame. */
export const EVERY_SERVER_FIELD_LISTED: [Unlisted] extends [never] ? true : Unlisted = true;

/**
 * Fields a stored message or its bus envelope may carry that no frame shows as such: the signal
 * envelope's frame, the connection it skips and the digest flush mark, and the frames' discriminant.
 */
export const ENVELOPE_FIELDS = ['signal', 'except', 'digest', 'kind'] as const;

/** The names a client never sets: what a stored message is built without (then the server adds its own). */
export const SERVER_FIELDS: readonly string[] = [
  ...new Set<string>([...Object.values(SERVER_FRAME_FIELDS).flat(), ...ENVELOPE_FIELDS]),
];

const serverFields = new Set(SERVER_FIELDS);

/** Whether a field name belongs to the server (see {@link SERVER_FIELDS}). */
export function isServerField(name: string): boolean {
  return serverFields.has(name);
}

/**
 * A client's own fields: `fields` without any that belongs to the server, nor `message` (Hipochat's
 * name for the body) or `__proto__`. Built with `fromEntries`, which defines each key as data.
 */
export function withoutServerFields(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!fields) return {};
  return Object.fromEntries(
    Object.entries(fields).filter(
      ([name]) => !serverFields.has(name) && name !== 'message' && name !== '__proto__',
    ),
  );
}
