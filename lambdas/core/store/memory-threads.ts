import { type ChatMessage, compareIds, type RepliesSummary } from '../../../protocol/index.js';
import { BadRequestError, NotFoundError } from '../errors.js';
import type { RoomState } from './memory-rooms.js';
import {
  BAD_PARENT,
  NOT_A_ROOT,
  type ThreadPage,
  type ThreadQuery,
  type ThreadStore,
  type ThreadSummary,
} from './thread-store.js';

/** One reply in its root's index. */
interface IndexedReply {
  id: string;
  /** '' for the backend. */
  senderId: string;
}

/** A room's threads, like the Redis hashes and sorted sets. */
export interface RoomThreads {
  /** rootId -> replies summary. */
  summaries: Map<string, RepliesSummary>;
  /** rootId -> its replies, oldest first. */
  replies: Map<string, IndexedReply[]>;
  /** `<rootId>\0<userId>` -> the newest reply the user read in the thread. */
  marks: Map<string, string>;
}

/** A room's empty threads. */
export function emptyThreads(): RoomThreads {
  return { summaries: new Map(), replies: new Map(), marks: new Map() };
}

/** The in-memory twin of the Redis store's threads. */
export class MemoryThreads implements ThreadStore {
  /**
   * @param roomOf the store's state of a room (created on first use)
   * @param show copies of log messages as history shows them
   */
  constructor(
    private readonly roomOf: (room: string) => RoomState,
    private readonly show: (room: string, messages: readonly ChatMessage[]) => ChatMessage[],
  ) {}

  /** @throws BadRequestError unless `parentId` is a message of the room's log that is no reply */
  static assertParent(state: RoomState, parentId: string | undefined): void {
    if (parentId === undefined) return;
    const parent = state.log.find((message) => message.id === parentId);
    if (!parent || parent.parentId !== undefined) throw new BadRequestError(BAD_PARENT);
  }

  /** Records a stored reply under its root; answers the root's new summary. */
  static addReply(state: RoomState, reply: ChatMessage): RepliesSummary | undefined {
    const parentId = reply.parentId;
    if (parentId === undefined) return undefined;
    const threads = state.threads;
    const summary = { count: (threads.summaries.get(parentId)?.count ?? 0) + 1, lastId: reply.id };
    threads.summaries.set(parentId, summary);
    const replies = threads.replies.get(parentId) ?? [];
    replies.push({ id: reply.id, senderId: reply.senderId ?? '' });
    threads.replies.set(parentId, replies);
    if (reply.senderId) threads.marks.set(`${parentId}\0${reply.senderId}`, reply.id);
    MemoryThreads.forgetTrimmed(state);
    return { ...summary };
  }

  /** Takes a retracted reply back from its root's summary and index. */
  static dropReply(state: RoomState, reply: ChatMessage): void {
    const parentId = reply.parentId;
    if (parentId === undefined) return;
    const threads = state.threads;
    const replies = (threads.replies.get(parentId) ?? []).filter((entry) => entry.id !== reply.id);
    const last = replies.at(-1);
    if (last) {
      threads.replies.set(parentId, replies);
      threads.summaries.set(parentId, { count: replies.length, lastId: last.id });
    } else {
      threads.replies.delete(parentId);
      threads.summaries.delete(parentId);
    }
  }

  /** Forgets the threads whose root the log trimmed. */
  private static forgetTrimmed(state: RoomState): void {
    const oldest = state.log[0]?.id;
    for (const rootId of state.threads.summaries.keys()) {
      if (oldest === undefined || compareIds(rootId, oldest) < 0) MemoryThreads.forget(state, rootId);
    }
  }

  private static forget(state: RoomState, rootId: string): void {
    const threads = state.threads;
    threads.summaries.delete(rootId);
    threads.replies.delete(rootId);
    for (const key of threads.marks.keys()) if (key.startsWith(`${rootId}\0`)) threads.marks.delete(key);
  }

  async page(room: string, userId: string, rootId: string, query: ThreadQuery): Promise<ThreadPage> {
    const state = this.roomOf(room);
    const root = state.log.find((message) => message.id === rootId);
    if (!root) throw new NotFoundError('message not found');
    if (root.parentId !== undefined) throw new BadRequestError(NOT_A_ROOT);
    const indexed = state.threads.replies.get(rootId) ?? [];
    const { before } = query;
    const matching = indexed.filter((entry) => before === undefined || compareIds(entry.id, before) < 0);
    const chosen = matching.slice(-Math.max(1, query.limit));
    const ids = new Set(chosen.map((entry) => entry.id));
    const replies = state.log.filter((message) => ids.has(message.id));
    const newest = indexed.at(-1);
    if (query.markRead && newest) state.threads.marks.set(`${rootId}\0${userId}`, newest.id);
    const [shown, ...shownReplies] = this.show(room, [root, ...replies]);
    return { root: shown!, replies: shownReplies, more: matching.length > chosen.length };
  }

  async list(room: string, userId: string, limit: number): Promise<ThreadSummary[]> {
    const state = this.roomOf(room);
    const threads = state.threads;
    const byActivity = [...threads.summaries.entries()].sort(([, a], [, b]) =>
      compareIds(b.lastId, a.lastId),
    );
    const found: ThreadSummary[] = [];
    for (const [rootId, summary] of byActivity) {
      if (found.length >= Math.max(1, limit)) break;
      const root = state.log.find((message) => message.id === rootId);
      if (!root) {
        MemoryThreads.forget(state, rootId);
        continue;
      }
      const mark = threads.marks.get(`${rootId}\0${userId}`);
      const unread = (threads.replies.get(rootId) ?? []).filter(
        (entry) => entry.senderId !== userId && (mark === undefined || compareIds(entry.id, mark) > 0),
      ).length;
      found.push({ root: this.show(room, [root])[0]!, ...summary, unread });
    }
    return found;
  }
}
