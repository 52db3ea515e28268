import { compareIds, MESSAGE_ID_PATTERN, type OldMessages, type RoomHistory } from '../../protocol/index.js';
import {
  AnswerBudget,
  answerBytes,
  type FittedPage,
  newestThatFit,
  type PageReader,
} from './answer-budget.js';
import type { ChatConfig } from './config.js';
import { BadRequestError } from './errors.js';
import type { Identity } from './protocol.js';
import type { SignalPublisher } from './signals.js';
import type { ChatStore } from './store/chat-store.js';

/** Which page of a room `old` answers; every part is optional. */
export interface OldQuery {
  /** Only messages newer than this id (the catch-up after a reconnect). */
  since?: string;
  /** Only messages older than this id (the page before the oldest one a client holds). */
  before?: string;
  /** At most this many messages, 1 to `HIPOCHAT_HISTORY_LIMIT`; without it, as many as fit. */
  limit?: number;
  /**
   * Whether a page without `before` marks the room read (`?mark=0`: no, for a client whose reader
   * is not looking). @default true
   */
  markRead?: boolean;
}

const MAX_ROOMS_PER_HISTORY = 50;
// Bytes kept for an answer's keys and `page` (and per room of a history answer): far more than they take.
const ANSWER_ENVELOPE_BYTES = 1024;
// Messages of the first store read of /talk/old (most rooms fit in one) and of each /talk/history room.
const FIRST_READ_OLD = 250;
const FIRST_READ_HISTORY = 20;

/**
 * The reads of a room's past (`/talk/old` and `/talk/history`), paged within the answer budget.
 * Access checks are the caller's: {@link ChatService} validates, checks the reader, then reads here.
 */
export class HistoryReads {
  constructor(
    private readonly config: ChatConfig,
    private readonly store: ChatStore,
    private readonly announce: SignalPublisher,
  ) {}

  /** @throws BadRequestError when `since` or `before` is not a message id, or `limit` is out of range */
  checkOld(query: OldQuery): void {
    for (const [name, id] of [
      ['since', query.since],
      ['before', query.before],
    ] as const) {
      if (id !== undefined && !MESSAGE_ID_PATTERN.test(id)) {
        throw new BadRequestError(`${name} must be a message id such as 1700000000000-0`);
      }
    }
    if (query.limit !== undefined) this.assertLimit(query.limit);
  }

  /** @throws BadRequestError past 50 rooms, or when `limit` is out of range */
  checkHistory(rooms: readonly string[], limit: number): void {
    if (rooms.length > MAX_ROOMS_PER_HISTORY)
      throw new BadRequestError(`at most ${MAX_ROOMS_PER_HISTORY} rooms`);
    this.assertLimit(limit);
  }

  /**
   * The newest messages (at most `limit`, older than `before`, newer than `since`) that fit the
   * answer budget, split at the reader's last visit, and where the page stops. A page without
   * `before` reaches the newest message and marks the room read (unless `markRead` is false); an
   * earlier page (`before`) leaves read state alone.
   */
  async old(room: string, identity: Identity, query: OldQuery): Promise<OldMessages> {
    const { since, before, limit, markRead: marking = true } = query;
    let lastSeenId: string | null = null;
    let first = true;
    const read: PageReader = async (page) => {
      const markRead = first && before === undefined && marking;
      const result = await this.store.page(room, identity.userId, {
        limit: page.limit,
        before: page.before ?? before,
        after: since,
        markRead,
      });
      if (first) lastSeenId = result.lastSeenId;
      first = false;
      await this.announce.read(room, identity.userId, identity.profile, result.readMark);
      return result;
    };
    const [{ messages, more }] = (await newestThatFit([read], {
      limit: limit ?? Number.POSITIVE_INFINITY,
      budget: new AnswerBudget(ANSWER_ENVELOPE_BYTES),
      // Every message is in the answer twice: in `oldy` and in one of `results`.
      cost: (message) => 2 * (answerBytes(message) + 1),
      firstRead: Math.min(limit ?? FIRST_READ_OLD, FIRST_READ_OLD),
    })) as [FittedPage];
    const seen: string | null = lastSeenId;
    const split = seen === null ? 0 : messages.findIndex((m) => compareIds(m.id, seen) > 0);
    const cut = split < 0 ? messages.length : split;
    return {
      oldy: messages,
      results: { read_messages: messages.slice(0, cut), unread_messages: messages.slice(cut) },
      page: { more, before: messages[0]?.id ?? null },
    };
  }

  /**
   * The latest `limit` messages and unread counts per room, within one answer budget for all rooms:
   * when they do not fit, each room loses its oldest first and says `more`.
   */
  async history(rooms: readonly string[], identity: Identity, limit: number): Promise<RoomHistory[]> {
    const unread = new Map<string, { unread: number; mentions: number }>();
    const readers = rooms.map((room) => this.historyReader(room, identity.userId, unread));
    const pages = await newestThatFit(readers, {
      limit,
      budget: new AnswerBudget(ANSWER_ENVELOPE_BYTES * (rooms.length + 1)),
      cost: (message) => answerBytes(message) + 1,
      firstRead: Math.min(limit, FIRST_READ_HISTORY),
    });
    return rooms.map((room, index) => {
      const { messages, more } = pages[index]!;
      return {
        room_name: room,
        unread_count: unread.get(room)?.unread ?? 0,
        mention_count: unread.get(room)?.mentions ?? 0,
        messages,
        page: { more, before: messages[0]?.id ?? null },
      };
    });
  }

  /** Reads a room's pages for `history`; the first read also puts its unread counts in `unread`. */
  private historyReader(
    room: string,
    userId: string,
    unread: Map<string, { unread: number; mentions: number }>,
  ): PageReader {
    return async (page) => {
      if (page.before !== undefined) return this.store.page(room, userId, page);
      // One more than asked tells whether more exist, in the call that brings the unread count.
      const summary = await this.store.latest(room, userId, page.limit + 1);
      unread.set(room, summary);
      const more = summary.messages.length > page.limit;
      return { messages: more ? summary.messages.slice(1) : summary.messages, more };
    };
  }

  /** @throws BadRequestError unless `limit` is an integer from 1 to `HIPOCHAT_HISTORY_LIMIT` */
  private assertLimit(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1 || limit > this.config.historyLimit) {
      throw new BadRequestError(`limit must be an integer from 1 to ${this.config.historyLimit}`);
    }
  }
}
