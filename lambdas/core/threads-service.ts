/**
 * Replies and threads: a reply is a message with `parentId` (stored, delivered, counted unread and
 * pushed like any other); its root shows a `replies` summary in history, and the room's signals
 * connections hear of each change. The thread and threads routes read them.
 */
import {
  type ChatMessage,
  DEFAULT_THREADS_LIMIT,
  encodeServerFrame,
  MAX_THREADS_LIMIT,
  MESSAGE_ID_PATTERN,
  type RepliesSummary,
  type ThreadAnswer,
  type ThreadEntry,
  type ThreadsAnswer,
} from '../../protocol/index.js';
import {
  AnswerBudget,
  answerBytes,
  type FittedPage,
  newestThatFit,
  type PageReader,
} from './answer-budget.js';
import type { ChatService } from './chat-service.js';
import type { ChatConfig } from './config.js';
import { BadRequestError } from './errors.js';
import type { Identity } from './protocol.js';
import type { SignalPublisher } from './signals.js';
import type { ChatStore } from './store/chat-store.js';

/** Which page of a thread `thread` answers; every part is optional. */
export interface ThreadRequest {
  /** At most this many replies, 1 to `HIPOCHAT_HISTORY_LIMIT`; without it, as many as fit. */
  limit?: number;
  /** Only replies older than this id (the page before the oldest one a client holds). */
  before?: string;
}

// Bytes kept for an answer's keys and `page`: far more than they take.
const ANSWER_ENVELOPE_BYTES = 1024;
// Replies of the first store read of a thread (most threads fit in one).
const FIRST_READ = 100;

/** @throws BadRequestError unless `id` (when given) is a message id */
function checkId(name: string, id: string | undefined): void {
  if (id !== undefined && !MESSAGE_ID_PATTERN.test(id)) {
    throw new BadRequestError(`${name} must be a message id such as 1700000000000-0`);
  }
}

/** @throws BadRequestError unless the `parentId` of an injection (when given) is a message id */
export function checkParentId(parentId: string | undefined): void {
  checkId('parentId', parentId);
}

/**
 * After a reply was stored and published: the `replies` frame of its root for the room's signals
 * connections (best effort, in order with the room's messages; history holds the summary anyway).
 */
export async function announceReplies(
  announce: SignalPublisher,
  stored: ChatMessage,
  replies: RepliesSummary | undefined,
): Promise<void> {
  if (!replies || stored.parentId === undefined) return;
  const { count, lastId } = replies;
  await announce.changed(
    stored.room,
    encodeServerFrame({ kind: 'replies', room: stored.room, id: stored.parentId, count, lastId }),
  );
}

/** `GET /talk/thread/...` and `GET /talk/threads/...`. */
export class ThreadsService {
  constructor(
    private readonly config: ChatConfig,
    private readonly store: ChatStore,
    private readonly chat: ChatService,
  ) {}

  /**
   * The root and the newest replies (at most `limit`, older than `before`) that fit one answer,
   * oldest first; a page without `before` marks the thread read for the caller.
   *
   * @throws BadRequestError (a malformed id or limit, or a reply as root), ForbiddenError (closed
   *   room), NotFoundError (no such message in the room's history)
   */
  async thread(
    room: string,
    identity: Identity,
    rootId: string,
    request: ThreadRequest = {},
  ): Promise<ThreadAnswer> {
    const { limit, before } = request;
    checkId('rootId', rootId);
    checkId('before', before);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > this.config.historyLimit)) {
      throw new BadRequestError(`limit must be an integer from 1 to ${this.config.historyLimit}`);
    }
    await this.chat.assertAllowed(room, identity.userId);
    const budget = new AnswerBudget(ANSWER_ENVELOPE_BYTES);
    let root: ChatMessage | undefined;
    const read: PageReader = async (page) => {
      const first = root === undefined;
      const result = await this.store.threads.page(room, identity.userId, rootId, {
        limit: page.limit,
        before: page.before ?? before,
        markRead: first && before === undefined,
      });
      if (first) {
        root = result.root;
        // The root is in the answer whatever its size (a message is far below the budget).
        budget.take(answerBytes(root));
      }
      return { messages: result.replies, more: result.more };
    };
    const [{ messages, more }] = (await newestThatFit([read], {
      limit: limit ?? Number.POSITIVE_INFINITY,
      budget,
      cost: (message) => answerBytes(message) + 1,
      firstRead: Math.min(limit ?? FIRST_READ, FIRST_READ),
    })) as [FittedPage];
    return { room, root: root!, replies: messages, page: { more, before: messages[0]?.id ?? null } };
  }

  /**
   * The room's threads, latest activity first (at most `limit`, and as many as fit one answer),
   * each with the caller's unread replies.
   *
   * @throws BadRequestError (limit), ForbiddenError (closed room)
   */
  async threads(room: string, identity: Identity, limit = DEFAULT_THREADS_LIMIT): Promise<ThreadsAnswer> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_THREADS_LIMIT) {
      throw new BadRequestError(`limit must be an integer from 1 to ${MAX_THREADS_LIMIT}`);
    }
    await this.chat.assertAllowed(room, identity.userId);
    const budget = new AnswerBudget(ANSWER_ENVELOPE_BYTES);
    const threads: ThreadEntry[] = [];
    for (const { root, count, lastId, unread } of await this.store.threads.list(
      room,
      identity.userId,
      limit,
    )) {
      const entry = { root, count, lastId, unread };
      if (!budget.take(answerBytes(entry) + 1)) break;
      threads.push(entry);
    }
    return { room, threads };
  }
}
