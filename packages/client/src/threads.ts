/**
 * Threads on the client: keeps the `replies` summary of each thread root the timeline holds
 * current, from the live `replies` frame (signals connections), from each reply that arrives (so a
 * connection without signals counts too), and from the roots history and thread answers show, and
 * turns each change into one `replies` event.
 */
import {
  type ChatMessage,
  compareIds,
  type RepliesFrame,
  type RepliesSummary,
} from '../../../protocol/index.js';
import type { RepliesEvent } from './events.js';
import type { RoomTimeline } from './timeline.js';

/**
 * The summary to keep after `update`, or undefined when it changes nothing. A summary naming an
 * older newest reply is stale; `exact` (the server's count: a frame or an answer) replaces the
 * count of the same newest reply, a count the client made up does not.
 */
export function nextReplies(
  current: RepliesSummary | undefined,
  update: RepliesSummary,
  exact: boolean,
): RepliesSummary | undefined {
  if (current) {
    const order = compareIds(update.lastId, current.lastId);
    if (order < 0 || (order === 0 && (!exact || update.count === current.count))) return undefined;
  }
  return { count: update.count, lastId: update.lastId };
}

/** The summary after one more reply `replyId`, or undefined when the summary already counts it. */
export function afterReply(current: RepliesSummary | undefined, replyId: string): RepliesSummary | undefined {
  return nextReplies(current, { count: (current?.count ?? 0) + 1, lastId: replyId }, false);
}

/** Whether `message` mentions the user `userId` (false while the user id is not known). */
export function mentionsUser(message: ChatMessage, userId: string | undefined): boolean {
  return userId !== undefined && (message.mentions?.includes(userId) ?? false);
}

/** The replies summaries of one room's timeline. */
export class ThreadSummaries {
  constructor(
    private readonly room: string,
    private readonly timeline: RoomTimeline,
    private readonly emit: (event: RepliesEvent) => void,
  ) {}

  /** A message entered the timeline: a reply counts on its root. */
  accepted(message: ChatMessage): void {
    if (message.parentId === undefined) return;
    const root = this.timeline.get(message.parentId);
    if (!root) return;
    const replies = afterReply(root.replies, message.id);
    if (replies) this.apply(message.parentId, replies);
  }

  /** The live `replies` frame: the root's count and newest reply now (also for a root not held). */
  frame(frame: RepliesFrame): void {
    const root = this.timeline.get(frame.id);
    const replies = nextReplies(root?.replies, { count: frame.count, lastId: frame.lastId }, true);
    if (replies) this.apply(frame.id, replies);
  }

  /** A root as an answer of the server shows it (history, a thread, the threads list). */
  seen(root: ChatMessage): void {
    if (!root.replies || !this.timeline.get(root.id)) return;
    const replies = nextReplies(this.timeline.get(root.id)?.replies, root.replies, true);
    if (replies) this.apply(root.id, replies);
  }

  private apply(id: string, replies: RepliesSummary): void {
    const message = this.timeline.setReplies(id, replies);
    this.emit({
      room: this.room,
      id,
      count: replies.count,
      lastId: replies.lastId,
      ...(message ? { message } : {}),
    });
  }
}
