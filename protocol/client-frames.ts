/**
 * Frames a client sends: one union discriminated by `kind`, the encoder clients use, and the
 * parser the server reads every frame with, once. Each kind has its own reader, which answers the
 * typed frame or why it was refused; the server alone decides what a frame means, so no field a
 * client adds can make a message anything else.
 */
import { TYPING_TYPE } from './frames.js';
import { MAX_CLIENT_ID_LENGTH, MAX_MESSAGE_TYPE_LENGTH, MAX_USER_ID_BYTES, utf8Length } from './limits.js';
import { CHAT_MESSAGE_TYPE, MAX_MENTIONS, MESSAGE_ID_PATTERN } from './messages.js';
import { ROOM_NAME_RULE, ROOM_PATTERN } from './rooms.js';
import { withoutServerFields } from './server-fields.js';
import { CONTROL_FRAME_TYPES } from './server-frame-readers.js';

/** A chat line or injection from a client: `{"type":"message","body":...,"clientId"?:...}`. */
export interface SendFrame {
  kind: 'send';
  /** The message type. @default {@link CHAT_MESSAGE_TYPE} */
  type?: string;
  body: unknown;
  /** Echoed in the ack, the error frame and the delivered message, so a sender can match them. */
  clientId?: string;
  /**
   * Other fields of the frame (a Hipochat client's custom fields), stored and delivered with the
   * message; never a field the server owns (`SERVER_FIELDS`).
   */
  fields?: Record<string, unknown>;
  /** The room it goes to; needed on a connection that follows several rooms. */
  room?: string;
  /** Makes it a reply in the thread of this root message of the same room. */
  parentId?: string;
  /**
   * User ids it mentions: strings only, each once, at most {@link MAX_MENTIONS} (the reader drops
   * the rest, never refuses); the server keeps those who may read the room.
   */
  mentions?: string[];
}

/** The keep-alive frame: `{"type":"ping"}`. */
export interface PingFrame {
  kind: 'ping';
}

/**
 * "I am typing" in the room: `{"type":"typing","clientId"?:...,"body"?:...}`, or another type of
 * the server's `HIPOCHAT_EPHEMERAL_TYPES`. Ephemeral: delivered live to the room's signals
 * connections, never stored, counted or pushed. The server delivers at most one per user and room
 * per `EPHEMERAL_INTERVAL_MS`; a `clientId` gets an ack without an id.
 */
export interface TypingNoticeFrame {
  kind: 'typing';
  /** The ephemeral type. @default {@link TYPING_TYPE} */
  type?: string;
  clientId?: string;
  /** Anything the typer wants the room to see with the notice (a draft's length, say). */
  body?: unknown;
  /** The room it goes to; needed on a connection that follows several rooms. */
  room?: string;
}

/**
 * Changes the body of one of the sender's messages: `{"type":"edit","id":...,"body":...,"clientId"?:...}`.
 * Acked like a send (`id` is the edited message's).
 */
export interface EditFrame {
  kind: 'edit';
  /** The message to edit. */
  id: string;
  body: unknown;
  clientId?: string;
  /** The message's room; needed on a connection that follows several rooms. */
  room?: string;
}

/** Deletes one of the sender's messages: `{"type":"delete","id":...,"clientId"?:...}`. */
export interface DeleteFrame {
  kind: 'delete';
  /** The message to delete. */
  id: string;
  clientId?: string;
  /** The message's room; needed on a connection that follows several rooms. */
  room?: string;
}

/**
 * Toggles the sender's reaction on a message: `{"type":"react","id":...,"emoji":"👍","clientId"?:...}`;
 * the same frame again takes it back.
 */
export interface ReactFrame {
  kind: 'react';
  /** The message reacted to. */
  id: string;
  /** The reaction; the server says which ones it takes. */
  emoji: string;
  clientId?: string;
  /** The message's room; needed on a connection that follows several rooms. */
  room?: string;
}

/**
 * Follows one more room on this connection: `{"type":"subscribe","room":"r3","since"?:"<id>"}`,
 * answered `{"type":"subscribed","room":"r3","unread":N}` (then the messages after `since`, when
 * given) or an error frame naming the room.
 */
export interface SubscribeFrame {
  kind: 'subscribe';
  room: string;
  /** Replays the room's messages after this id, as `since` does on connect. */
  since?: string;
  clientId?: string;
}

/**
 * Stops following a room: `{"type":"unsubscribe","room":"r3"}`, answered
 * `{"type":"unsubscribed","room":"r3"}`; nothing of that room reaches the connection afterwards.
 */
export interface UnsubscribeFrame {
  kind: 'unsubscribe';
  room: string;
  clientId?: string;
}

/**
 * Asks for the unread counts of the rooms the user belongs to: `{"type":"unread"}`, answered
 * `{"type":"unread","rooms":{"r4":2,...}}`; a connection opened with `?unread=1` sends it first,
 * then keeps the counts with the live `unread` frames.
 */
export interface UnreadQueryFrame {
  kind: 'unread';
}

/** A frame a client sends. */
export type ClientFrame =
  | SendFrame
  | PingFrame
  | TypingNoticeFrame
  | EditFrame
  | DeleteFrame
  | ReactFrame
  | SubscribeFrame
  | UnsubscribeFrame
  | UnreadQueryFrame;

/** The `kind` of a client frame. */
export type ClientFrameKind = ClientFrame['kind'];

/** The client frame of one kind. */
export type ClientFrameOf<K extends ClientFrameKind> = Extract<ClientFrame, { kind: K }>;

/** The `type` on the wire of the client frames that are no message, typing aside. */
export const CLIENT_CONTROL_TYPES = {
  ping: 'ping',
  edit: 'edit',
  delete: 'delete',
  react: 'react',
  subscribe: 'subscribe',
  unsubscribe: 'unsubscribe',
  unread: 'unread',
} as const satisfies { [K in Exclude<ClientFrameKind, 'send' | 'typing'>]: string };

/**
 * The types no message may have: the server frames' and the client's control frames'. A message of
 * such a type would be read as that frame, so the server refuses to configure one.
 */
export const RESERVED_MESSAGE_TYPES: readonly string[] = [
  ...new Set([...CONTROL_FRAME_TYPES, ...Object.values(CLIENT_CONTROL_TYPES)]),
];

/** What the server configures about client frames. */
export interface ClientFrameRules {
  /** The types stored as messages (`HIPOCHAT_MESSAGE_TYPES`). */
  messageTypes: readonly string[];
  /** The types delivered live and never stored (`HIPOCHAT_EPHEMERAL_TYPES`). */
  ephemeralTypes: readonly string[];
  /** The type of a message frame without one (`HIPOCHAT_REGULAR_MESSAGE_TYPE`). @default {@link CHAT_MESSAGE_TYPE} */
  regularType?: string;
}

/** Why a client frame was refused. */
export type FrameRefusalReason =
  | 'not-json'
  | 'not-object'
  | 'bad-type'
  | 'unknown-type'
  | 'bad-client-id'
  | 'missing-body'
  | 'bad-id'
  | 'bad-emoji'
  | 'bad-room'
  | 'bad-parent';

/** A client frame the server does not take, and why, in words fit for an error frame. */
export interface RefusedFrame {
  kind: 'refused';
  reason: FrameRefusalReason;
  message: string;
  /** The frame's `clientId` when it had a usable one, so the error frame names it. */
  clientId?: string;
}

type WireFields = Record<string, unknown>;

/** What every reader gets besides the fields: the frame's type and its checked `clientId`. */
interface Head {
  type: string | undefined;
  clientId: string | undefined;
}

const refused = (reason: FrameRefusalReason, message: string, clientId?: string): RefusedFrame =>
  clientId === undefined
    ? { kind: 'refused', reason, message }
    : { kind: 'refused', reason, message, clientId };

const withClientId = <F extends object>(frame: F, clientId: string | undefined): F =>
  clientId === undefined ? frame : { ...frame, clientId };

/** The id of the message a change names, or why not. */
function messageIdOf(wire: WireFields, head: Head): string | RefusedFrame {
  const id = wire.id;
  return typeof id === 'string' && MESSAGE_ID_PATTERN.test(id)
    ? id
    : refused('bad-id', 'id must be a message id such as 1700000000000-0', head.clientId);
}

/** A frame's `room` when it names one (a string); checked against the connection's rooms later. */
const roomOf = (wire: WireFields): { room?: string } =>
  typeof wire.room === 'string' ? { room: wire.room } : {};

/** The room a subscribe or unsubscribe frame names, or why not. */
function namedRoom(wire: WireFields, head: Head): string | RefusedFrame {
  return typeof wire.room === 'string' && ROOM_PATTERN.test(wire.room)
    ? wire.room
    : refused('bad-room', `room must be a room name: ${ROOM_NAME_RULE}`, head.clientId);
}

/**
 * A message's mentions: the distinct non-empty strings of an array, the first {@link MAX_MENTIONS};
 * anything else is dropped, never refused, as old clients may send a `mentions` of their own.
 * The same cleaning serves the `mentions=u1,u2` query parameter of an injection.
 */
export function readMentions(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const ids = new Set<string>();
  for (const id of value) {
    if (ids.size === MAX_MENTIONS) break;
    if (typeof id === 'string' && id.length > 0 && utf8Length(id) <= MAX_USER_ID_BYTES) ids.add(id);
  }
  return [...ids];
}

function mentionsOf(wire: WireFields): { mentions?: string[] } {
  const ids = readMentions(wire.mentions);
  return ids.length > 0 ? { mentions: ids } : {};
}

/** A body is there unless absent, `null` or `""` (as Hipochat had it). */
const hasBody = (body: unknown): boolean => body !== undefined && body !== null && body !== '';

/**
 * One reader per client frame kind (the mapped type makes a missing one a compile error). A
 * reader takes only the fields its frame defines: nothing else a client sends reaches the server's
 * logic, and a message keeps only the custom fields that are not the server's.
 */
const CLIENT_READERS: {
  [K in ClientFrameKind]: (
    wire: WireFields,
    head: Head,
    rules: ClientFrameRules,
  ) => ClientFrameOf<K> | RefusedFrame;
} = {
  send: (wire, { type, clientId }, rules) => {
    // Hipochat clients sent `{"message": ...}`: it is the body.
    const body = wire.body !== undefined ? wire.body : wire.message;
    if (!hasBody(body)) return refused('missing-body', 'missing body', clientId);
    const kind = type ?? rules.regularType ?? CHAT_MESSAGE_TYPE;
    if (!rules.messageTypes.includes(kind)) {
      return refused('unknown-type', `unknown message type: ${kind}`, clientId);
    }
    const parentId = wire.parentId;
    if (parentId !== undefined && !(typeof parentId === 'string' && MESSAGE_ID_PATTERN.test(parentId))) {
      return refused('bad-parent', 'parentId must be a message id such as 1700000000000-0', clientId);
    }
    return withClientId(
      {
        kind: 'send',
        type: kind,
        body,
        fields: withoutServerFields(wire),
        ...roomOf(wire),
        ...(parentId === undefined ? {} : { parentId }),
        ...mentionsOf(wire),
      },
      clientId,
    );
  },
  ping: () => ({ kind: 'ping' }),
  typing: (wire, { type, clientId }) =>
    withClientId(
      {
        kind: 'typing',
        type: type ?? TYPING_TYPE,
        ...(wire.body === undefined ? {} : { body: wire.body }),
        ...roomOf(wire),
      },
      clientId,
    ),
  edit: (wire, head) => {
    const id = messageIdOf(wire, head);
    if (typeof id !== 'string') return id;
    if (!hasBody(wire.body)) return refused('missing-body', 'missing body', head.clientId);
    return withClientId({ kind: 'edit', id, body: wire.body, ...roomOf(wire) }, head.clientId);
  },
  delete: (wire, head) => {
    const id = messageIdOf(wire, head);
    return typeof id === 'string' ? withClientId({ kind: 'delete', id, ...roomOf(wire) }, head.clientId) : id;
  },
  react: (wire, head) => {
    const id = messageIdOf(wire, head);
    if (typeof id !== 'string') return id;
    if (typeof wire.emoji !== 'string' || wire.emoji.length === 0) {
      return refused('bad-emoji', 'emoji must be one emoji, given as a string', head.clientId);
    }
    return withClientId({ kind: 'react', id, emoji: wire.emoji, ...roomOf(wire) }, head.clientId);
  },
  subscribe: (wire, head) => {
    const room = namedRoom(wire, head);
    if (typeof room !== 'string') return room;
    if (
      wire.since !== undefined &&
      !(typeof wire.since === 'string' && MESSAGE_ID_PATTERN.test(wire.since))
    ) {
      return refused('bad-id', 'since must be a message id such as 1700000000000-0', head.clientId);
    }
    const since = typeof wire.since === 'string' ? { since: wire.since } : {};
    return withClientId({ kind: 'subscribe', room, ...since }, head.clientId);
  },
  unsubscribe: (wire, head) => {
    const room = namedRoom(wire, head);
    return typeof room === 'string' ? withClientId({ kind: 'unsubscribe', room }, head.clientId) : room;
  },
  unread: () => ({ kind: 'unread' }),
};

/** The kind a frame's `type` names under `rules`: a change, a keep-alive, an ephemeral type or a message. */
function kindOf(type: string | undefined, rules: ClientFrameRules): ClientFrameKind {
  if (type === undefined) return 'send';
  for (const [kind, wireType] of Object.entries(CLIENT_CONTROL_TYPES)) {
    if (type === wireType) return kind as ClientFrameKind;
  }
  return rules.ephemeralTypes.includes(type) ? 'typing' : 'send';
}

/**
 * Reads a decoded client frame: the typed frame, or why it is refused. Never throws. A frame
 * without `type` is a message of the regular type (Hipochat clients never sent one).
 */
export function readClientFrame(wire: unknown, rules: ClientFrameRules): ClientFrame | RefusedFrame {
  if (wire === null || typeof wire !== 'object' || Array.isArray(wire)) {
    return refused('not-object', 'frame must be a JSON object with a body');
  }
  const fields = wire as WireFields;
  const clientId = clientIdOf(fields);
  if (fields.clientId !== undefined && clientId === undefined) {
    return refused('bad-client-id', `clientId must be a string of 1 to ${MAX_CLIENT_ID_LENGTH} characters`);
  }
  const type = fields.type;
  if (
    type !== undefined &&
    (typeof type !== 'string' || type.length === 0 || type.length > MAX_MESSAGE_TYPE_LENGTH)
  ) {
    return refused(
      'bad-type',
      `type must be a string of 1 to ${MAX_MESSAGE_TYPE_LENGTH} characters`,
      clientId,
    );
  }
  const head: Head = { type: type as string | undefined, clientId };
  const kind = kindOf(type, rules);
  return CLIENT_READERS[kind](fields, head, rules);
}

/** Parses a client frame's JSON text (see {@link readClientFrame}). Never throws. */
export function parseClientFrame(text: string, rules: ClientFrameRules): ClientFrame | RefusedFrame {
  let wire: unknown;
  try {
    wire = JSON.parse(text);
  } catch {
    return refused('not-json', 'frame is not valid JSON');
  }
  return readClientFrame(wire, rules);
}

/** A frame's `clientId` when it is usable (a string of 1 to {@link MAX_CLIENT_ID_LENGTH} characters). */
export function clientIdOf(wire: unknown): string | undefined {
  if (wire === null || typeof wire !== 'object') return undefined;
  const clientId = (wire as WireFields).clientId;
  return typeof clientId === 'string' && clientId.length > 0 && clientId.length <= MAX_CLIENT_ID_LENGTH
    ? clientId
    : undefined;
}
