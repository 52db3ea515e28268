/**
 * Replies and threads. A reply is a message of the log with `parentId` (its root, a message of the
 * same room that is no reply itself); beside the log each store keeps, per room: the roots' replies
 * summaries (`{count, lastId}`, overlaid on the root whenever the log is read), the reply ids of each
 * root (so a thread reads without scanning the log), the threads by latest activity, and each
 * user's thread read marks. A root the log trimmed takes its thread with it.
 */
import type { ChatMessage, RepliesSummary } from '../../../protocol/index.js';

/** The answer of {@link ThreadStore.page}'s refusal: why a thread could not be read. */
export const NOT_A_ROOT = 'that message is a reply, not a thread root';

/** The error a send or injection gets for a `parentId` that names no root of the room. */
export const BAD_PARENT = 'parentId must name a message of this room that is not a reply';

/** Which page of a thread's replies `page` reads. */
export interface ThreadQuery {
  /** At most this many replies, the newest that match (at least 1). */
  limit: number;
  /** Only replies older than this id (exclusive). */
  before?: string;
  /** Mark the thread read for the reader up to its newest reply. @default false */
  markRead?: boolean;
}

/** One page of a thread. */
export interface ThreadPage {
  /** The root as history shows it (current version, reactions, `replies`). */
  root: ChatMessage;
  /** Replies, oldest first, as history shows them. */
  replies: ChatMessage[];
  /** More replies match beyond `limit` (older than the oldest returned). */
  more: boolean;
}

/** A thread of a room, for the threads list. */
export interface ThreadSummary extends RepliesSummary {
  root: ChatMessage;
  /** Replies by others after the reader's thread read mark. */
  unread: number;
}

/** Threads of rooms; every method touches one room's slot. */
export interface ThreadStore {
  /**
   * The root `rootId` and the newest `limit` replies older than `before`, oldest first; with
   * `markRead`, the reader's thread read mark moves to the thread's newest reply.
   *
   * @throws NotFoundError when the room's log has no such message (never stored, or trimmed)
   * @throws BadRequestError ({@link NOT_A_ROOT}) when it is a reply
   */
  page(room: string, userId: string, rootId: string, query: ThreadQuery): Promise<ThreadPage>;
  /** The room's threads whose root the log still holds, latest activity first, at most `limit`. */
  list(room: string, userId: string, limit: number): Promise<ThreadSummary[]>;
}
