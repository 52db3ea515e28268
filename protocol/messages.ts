/**
 * Messages as they travel: the stored and delivered shape, the id format and its order.
 */

/** A user's profile as the profile endpoint returned it, without secrets. */
export type Profile = Record<string, unknown>;

/** A stored and delivered message, in Hipochat's shape plus `id` and `type`. */
export interface ChatMessage {
  /** Unique, ordered id (the Redis stream id, `<ms>-<seq>`; see {@link MESSAGE_ID_PATTERN}). */
  id: string;
  /** `message` for a chat line ({@link CHAT_MESSAGE_TYPE}); any other configured type is an injection. */
  type: string;
  room: string;
  /** Hipochat's name for the room. */
  token: string;
  /** Seconds since the epoch, with fraction. */
  timestamp: number;
  body: unknown;
  /** The sender's profile, or `null` for a backend injection without one. */
  author: Profile | null;
  /** The sender's user id (never a token); absent for anonymous injections. */
  senderId?: string;
  /** Client-chosen id echoed back so a sender can match its own message. */
  clientId?: string;
  /** Set once the message was edited: when, and by whom (`null` for the backend). */
  edited?: EditMark;
  /** A deleted message's tombstone: it keeps its id and place but has no body. */
  deleted?: true;
  /** Who reacted with what; absent when nobody has. */
  reactions?: Reactions;
  /** The thread root this message replies to (a message of the same room that is no reply itself). */
  parentId?: string;
  /** User ids the sender mentioned, as the server kept them (at most {@link MAX_MENTIONS}). */
  mentions?: string[];
  /** On a thread root: how many replies it has and the newest one's id; absent without replies. */
  replies?: RepliesSummary;
}

/** A thread root's replies, as history and the live `replies` frame show them. */
export interface RepliesSummary {
  /** Replies stored under the root (deleted ones stay as tombstones and count). */
  count: number;
  /** The newest reply's id. */
  lastId: string;
}

/** The most user ids one message may mention; the server drops the rest. */
export const MAX_MENTIONS = 20;

/** When and by whom a message was last edited. */
export interface EditMark {
  /** Seconds since the epoch, with fraction. */
  at: number;
  /** The editor's user id, or `null` when the backend edited it (moderation). */
  by: string | null;
}

/** One emoji's reactions on a message. */
export interface ReactionSummary {
  /** Every user who reacted with it. */
  count: number;
  /** The reacting users' ids (at most 20 are listed; `count` counts them all). */
  users: string[];
  /** More users reacted than `users` lists. */
  clipped?: true;
}

/** A message's reactions by emoji (one emoji, or a name the server's `HIPOCHAT_REACTIONS` offers). */
export type Reactions = Record<string, ReactionSummary>;

/**
 * The type of a chat line. Frames without a `type` mean it (Hipochat clients never sent one), and
 * clients show every other type as an injection.
 */
export const CHAT_MESSAGE_TYPE = 'message';

/** A message id: `<milliseconds>-<sequence>`, as Redis streams number entries. */
export const MESSAGE_ID_PATTERN = /^\d{1,16}-\d{1,16}$/;

const ID_PARTS = /^(\d{1,16})-(\d{1,16})$/;

/**
 * Orders message ids; negative when `a` comes first. Both parts compare as numbers (`10-0` after
 * `9-0`), with BigInt because 16 digits exceed a double's exact range. Ids outside
 * {@link MESSAGE_ID_PATTERN} fall back to string order, so a client never throws on a bad frame.
 */
export function compareIds(a: string, b: string): number {
  const ma = ID_PARTS.exec(a);
  const mb = ID_PARTS.exec(b);
  if (!ma || !mb) return a < b ? -1 : a > b ? 1 : 0;
  const msA = BigInt(ma[1]!);
  const msB = BigInt(mb[1]!);
  if (msA !== msB) return msA < msB ? -1 : 1;
  const seqA = BigInt(ma[2]!);
  const seqB = BigInt(mb[2]!);
  return seqA === seqB ? 0 : seqA < seqB ? -1 : 1;
}

/**
 * Whether a decoded value has what every delivered message has (a string `id` and `type`);
 * clients skip anything else rather than fail on it.
 */
export function isChatMessage(value: unknown): value is ChatMessage {
  if (value === null || typeof value !== 'object') return false;
  const record = value as { id?: unknown; type?: unknown };
  return typeof record.id === 'string' && typeof record.type === 'string';
}
