/**
 * Messages that change after they were stored: edits, deletes (tombstones) and reactions, and the
 * room's occupancy counts. Both stores keep changes beside the log (a message log cannot be
 * rewritten in place): an overlay of current versions by message id, and the reactions by message
 * id, applied whenever the log is read.
 */
import {
  type ChatMessage,
  MAX_LISTED_REACTORS,
  type ReactionSummary,
  type Reactions,
  type RepliesSummary,
} from '../../../protocol/index.js';
import type { NewMessage } from '../protocol.js';

/** A message's current version without its id (the log's own or the overlay's), or a tombstone. */
export type StoredVersion = NewMessage & { deleted?: true };

export { MAX_LISTED_REACTORS };

/** What `current` found. */
export interface CurrentVersion {
  /** The current version, or null when the room's log has no such message (or it was trimmed). */
  version: StoredVersion | null;
  /** Its exact stored text: `replace` succeeds only while the message still is that. */
  text: string | null;
  /** The idempotency key was used before: a retry, to be acked with nothing changed. */
  duplicate: boolean;
}

/** Rate limit and idempotency of one change, as for `append`. */
export interface ChangeOptions {
  /** The caller's key (already scoped by caller; the store scopes it by room). */
  idempotencyKey?: string;
  /** Changes allowed per sender (`actor`, or the backend when null) and room in one window, shared with messages. */
  rateLimit?: { limit: number; windowSeconds: number };
}

/** What `replace` did. */
export type ReplaceOutcome = 'replaced' | 'missing' | 'conflict';

/** What `react` did: a retry changed nothing; else whether the user's reaction is there now, and the emoji's count. */
export type ReactOutcome = { duplicate: true } | { duplicate: false; added: boolean; count: number };

/** Live connections and members of a room. */
export interface Occupancy {
  connections: number;
  members: number;
}

/** Edits, deletes, reactions and occupancy of rooms; every method touches one room's slot. */
export interface ChangeStore {
  /** The current version of message `id` (and whether `idempotencyKey` was used already). */
  current(room: string, id: string, idempotencyKey?: string): Promise<CurrentVersion>;
  /**
   * Replaces the current version of message `id` with `next` when it still is `expectedText`
   * (compare and set; `conflict` otherwise, and the caller reads again), counts the change against
   * the sender's rate limit (`RateLimitedError`), and remembers the idempotency key. A tombstone
   * (`next.deleted`) drops the message's reactions too.
   */
  replace(
    room: string,
    id: string,
    expectedText: string,
    next: StoredVersion,
    actor: string | null,
    options?: ChangeOptions,
  ): Promise<ReplaceOutcome>;
  /**
   * Toggles `userId`'s `emoji` on message `id` in one step: removes it when there, else adds it
   * unless the message already has `maxDistinct` other emoji (`ConflictError`). Every reacting
   * user counts, while the summary history shows lists at most {@link MAX_LISTED_REACTORS} per
   * emoji (`clipped` beyond), so a message's summary stays small whatever the room size.
   * `NotFoundError` for a message not in the log or deleted; `RateLimitedError` over the sender's
   * rate limit.
   */
  react(
    room: string,
    id: string,
    userId: string,
    emoji: string,
    maxDistinct: number,
    options?: ChangeOptions,
  ): Promise<ReactOutcome>;
  /** Live connections (expired ones count until pruned) and members of the room. */
  occupancy(room: string): Promise<Occupancy>;
}

/**
 * The summary of one emoji from every user who reacted with it, in the order they did: the count,
 * the first {@link MAX_LISTED_REACTORS} users, and `clipped` when more reacted.
 */
export function summaryOf(users: Iterable<string>): ReactionSummary {
  const listed: string[] = [];
  let count = 0;
  for (const user of users) {
    if (listed.length < MAX_LISTED_REACTORS) listed.push(user);
    count += 1;
  }
  return count > listed.length ? { count, users: listed, clipped: true } : { count, users: listed };
}

/**
 * A summary as a store kept it: a summary stored before users were capped (`{"👍":["ua","ub"]}`)
 * reads as its summary. Null-prototype, since an emoji is a user's key.
 */
export function readSummary(stored: unknown): Reactions {
  const summary = Object.create(null) as Reactions;
  if (stored === null || typeof stored !== 'object') return summary;
  for (const [emoji, entry] of Object.entries(stored)) {
    if (Array.isArray(entry)) summary[emoji] = summaryOf(entry as string[]);
    else if (entry !== null && typeof entry === 'object') summary[emoji] = entry as ReactionSummary;
  }
  return summary;
}

/**
 * A message as history shows it: the current version, with its reactions summary when any and,
 * on a thread root, its replies summary.
 */
export function showMessage(
  id: string,
  version: StoredVersion,
  reactions?: Reactions,
  replies?: RepliesSummary,
): ChatMessage {
  const message: ChatMessage = { id, ...version };
  if (reactions && Object.keys(reactions).length > 0) message.reactions = reactions;
  else delete message.reactions;
  if (replies) message.replies = replies;
  else delete message.replies;
  return message;
}

/**
 * A tombstone of a message: its id, place, type, room, time, author, `clientId` (so its sender
 * still matches a retry's ack) and `parentId` (a deleted reply stays in its thread) stay; body, other client fields, edit mark and reactions go, so the
 * old body is never returned. `deleted` comes first, so a Lua script can tell a tombstone by its
 * opening bytes without decoding it.
 */
export function tombstoneOf(version: StoredVersion): StoredVersion {
  const { type, room, token, timestamp, author, senderId, clientId, parentId } = version;
  return {
    deleted: true,
    type,
    room,
    token,
    timestamp,
    author,
    ...(senderId === undefined ? {} : { senderId }),
    ...(clientId === undefined ? {} : { clientId }),
    ...(parentId === undefined ? {} : { parentId }),
  } as StoredVersion;
}

/** The opening bytes of every tombstone's JSON (see {@link tombstoneOf}). */
export const TOMBSTONE_PREFIX = '{"deleted":true,';
