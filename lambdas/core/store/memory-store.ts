import { type ChatMessage, compareIds } from '../../../protocol/index.js';
import { RateLimitedError } from '../errors.js';
import type { Identity, NewMessage } from '../protocol.js';
import type {
  AppendOptions,
  AppendResult,
  ChatStore,
  ConnectionRecord,
  Departure,
  MarkedUnread,
  PageQuery,
  PageResult,
  ReadResult,
  RoomSummary,
  TicketGrant,
  WindowCount,
} from './chat-store.js';
import { IDEMPOTENCY_TTL_SECONDS } from './chat-store.js';
import { MemoryChanges } from './memory-changes.js';
import { count, type Expiring, live, secondsLeft } from './memory-expiring.js';
import {
  forgetMentions,
  markUnread,
  mentionCount,
  recordMentions,
  withKeptMentions,
} from './memory-mentions.js';
import { assertSenderFree, MemoryModeration } from './memory-moderation.js';
import { MemoryRooms, type RoomState } from './memory-rooms.js';
import { MemorySignals } from './memory-signals.js';
import { MemoryThreads } from './memory-threads.js';

/**
 * The in-memory twin of the Redis store, for `npm start` on a bare laptop and fast unit tests.
 * Single process only: state is lost on restart.
 */
export class MemoryStore extends MemoryRooms implements ChatStore {
  readonly kind = 'memory' as const;
  private readonly tickets = new Map<string, Expiring<TicketGrant>>();
  private readonly identities = new Map<string, Expiring<Identity>>();
  private readonly userRates = new Map<string, Expiring<number>>();
  private readonly userInjections = new Map<string, Expiring<number>>();
  private lastMs = 0;
  private lastSeq = 0;

  constructor(private readonly historyLimit = 1000) {
    super();
  }
  readonly changes = new MemoryChanges((name) => this.room(name));
  readonly signals = new MemorySignals((name) => this.room(name));
  readonly moderation = new MemoryModeration((name) => this.room(name).moderation);
  readonly threads = new MemoryThreads(
    (name) => this.room(name),
    (name, messages) => this.changes.show(name, messages),
  );

  private nextId(): string {
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.lastSeq = 0;
    } else {
      this.lastSeq += 1;
    }
    return `${this.lastMs}-${this.lastSeq}`;
  }

  async append(message: NewMessage, options: AppendOptions = {}): Promise<AppendResult> {
    const state = this.room(message.room);
    const senderId = message.senderId;
    const { idempotencyKey, rateLimit } = options;
    const earlier = idempotencyKey ? this.remembered(message.room, idempotencyKey) : null;
    if (earlier) return { message: earlier, duplicate: true };
    if (senderId) assertSenderFree(state.moderation, senderId, Date.now());
    MemoryThreads.assertParent(state, message.parentId);
    if (rateLimit) {
      const [counters, key] = senderId ? [state.rate, senderId] : [state.backendRate, 'backend'];
      if (count(counters, key, rateLimit.windowSeconds, false) > rateLimit.limit) {
        throw new RateLimitedError(undefined, { retryAfter: secondsLeft(counters, key) });
      }
    }
    const kept = withKeptMentions(state, message, options.mentionMembersOnly === true);
    const stored: ChatMessage = { id: this.nextId(), ...structuredClone(kept) };
    state.log.push(stored);
    if (state.log.length > this.historyLimit) state.log.splice(0, state.log.length - this.historyLimit);
    if (idempotencyKey) {
      state.idempotency.set(idempotencyKey, {
        id: stored.id,
        expiresAt: Date.now() + IDEMPOTENCY_TTL_SECONDS * 1000,
      });
    }
    state.seq += 1;
    recordMentions(state, stored, this.historyLimit);
    if (senderId) {
      state.mark.set(senderId, state.seq);
      state.seen.set(senderId, stored.id);
    }
    const replies = MemoryThreads.addReply(state, stored);
    return { message: structuredClone(stored), duplicate: false, ...(replies ? { replies } : {}) };
  }

  async recall(room: string, idempotencyKey: string): Promise<ChatMessage | null> {
    return this.remembered(room, idempotencyKey);
  }

  // Synchronous, so `append` checks and stores with nothing in between.
  private remembered(room: string, idempotencyKey: string): ChatMessage | null {
    const state = this.room(room);
    const known = state.idempotency.get(idempotencyKey);
    const earlier =
      known && known.expiresAt > Date.now() ? state.log.find((m) => m.id === known.id) : undefined;
    return earlier ? structuredClone(earlier) : null;
  }

  async retract(message: ChatMessage, idempotencyKey?: string): Promise<void> {
    const state = this.room(message.room);
    const index = state.log.findIndex((m) => m.id === message.id);
    if (index < 0) return;
    state.log.splice(index, 1);
    if (idempotencyKey) state.idempotency.delete(idempotencyKey);
    forgetMentions(state, message);
    state.seq = Math.max(0, state.seq - 1);
    MemoryThreads.dropReply(state, message);
  }

  async read(room: string, userId: string, sinceId?: string): Promise<ReadResult> {
    const state = this.room(room);
    const lastSeenId = state.seen.get(userId) ?? null;
    const messages = sinceId ? state.log.filter((m) => compareIds(m.id, sinceId) > 0) : state.log;
    const last = state.log.at(-1);
    if (last) state.seen.set(userId, last.id);
    state.mark.set(userId, state.seq);
    return { messages: this.changes.show(room, messages), lastSeenId };
  }

  async page(room: string, userId: string, query: PageQuery): Promise<PageResult> {
    const state = this.room(room);
    const lastSeenId = state.seen.get(userId) ?? null;
    const { before, after } = query;
    const matching = state.log.filter(
      (m) =>
        (before === undefined || compareIds(m.id, before) < 0) &&
        (after === undefined || compareIds(m.id, after) > 0),
    );
    const messages = matching.slice(-Math.max(1, query.limit));
    let readMark: PageResult['readMark'];
    if (query.markRead) {
      const last = state.log.at(-1);
      if (last) state.seen.set(userId, last.id);
      if (last && last.id !== lastSeenId) readMark = { id: last.id, listeners: this.listeners(state) };
      state.mark.set(userId, state.seq);
    }
    return {
      messages: this.changes.show(room, messages),
      lastSeenId,
      more: matching.length > messages.length,
      ...(readMark ? { readMark } : {}),
    };
  }

  async latest(room: string, userId: string, limit: number): Promise<RoomSummary> {
    const state = this.room(room);
    return {
      messages: limit > 0 ? this.changes.show(room, state.log.slice(-limit)) : [],
      unread: this.unreadOf(state, userId),
      mentions: mentionCount(state, userId),
    };
  }

  async markUnread(room: string, userId: string, id: string): Promise<MarkedUnread | null> {
    const state = this.room(room);
    const marked = markUnread(state, userId, id);
    return marked ? { ...marked, listeners: this.listeners(state) } : null;
  }

  async unread(room: string, userId: string): Promise<number> {
    return this.unreadOf(this.room(room), userId);
  }

  private unreadOf(state: RoomState, userId: string): number {
    return state.members.has(userId) ? Math.max(0, state.seq - (state.mark.get(userId) ?? 0)) : 0;
  }

  async isMember(room: string, userId: string): Promise<boolean> {
    return this.room(room).members.has(userId);
  }

  async members(room: string): Promise<string[]> {
    return [...this.room(room).members];
  }

  async addMembers(room: string, userIds: readonly string[]): Promise<void> {
    const state = this.room(room);
    for (const id of userIds) {
      state.members.add(id);
      if (!state.mark.has(id)) state.mark.set(id, state.seq);
    }
  }

  async removeMembers(
    room: string,
    userIds: readonly string[],
    departed?: Departure[],
  ): Promise<ConnectionRecord[]> {
    const state = this.room(room);
    const gone = new Set(userIds);
    for (const id of userIds) state.members.delete(id);
    const removed: ConnectionRecord[] = [];
    const left: string[] = [];
    for (const [connectionId, conn] of state.conns) {
      if (!gone.has(conn.userId)) continue;
      if (this.forget(state, connectionId, conn.userId)) left.push(conn.userId);
      removed.push({ connectionId, userId: conn.userId });
    }
    for (const userId of left) departed?.push(this.departure(state, userId, true));
    return removed;
  }

  async saveTicket(ticketHash: string, grant: TicketGrant, ttlSeconds: number): Promise<void> {
    this.tickets.set(ticketHash, {
      value: structuredClone(grant),
      expiresAt: Date.now() + ttlSeconds * 1000,
    });
  }

  async takeTicket(ticketHash: string): Promise<TicketGrant | null> {
    const grant = live(this.tickets, ticketHash) ?? null;
    this.tickets.delete(ticketHash);
    return grant;
  }

  async cacheIdentity(tokenHash: string, identity: Identity, ttlSeconds: number): Promise<void> {
    this.identities.set(tokenHash, {
      value: structuredClone(identity),
      expiresAt: Date.now() + ttlSeconds * 1000,
    });
  }

  async cachedIdentity(tokenHash: string): Promise<Identity | null> {
    const identity = live(this.identities, tokenHash);
    return identity ? structuredClone(identity) : null;
  }

  async countUserMessage(userId: string, windowSeconds: number, kind = 'message'): Promise<WindowCount> {
    const counters = kind === 'injection' ? this.userInjections : this.userRates;
    const counted = count(counters, userId, windowSeconds, false);
    return { count: counted, ttlSeconds: secondsLeft(counters, userId) };
  }

  async countFanoutFailure(room: string, messageId: string, ttlSeconds: number): Promise<number> {
    return count(this.room(room).fanoutFailures, messageId, ttlSeconds, true);
  }

  async saveFanoutNote(room: string, name: string, value: string, ttlSeconds: number): Promise<void> {
    this.room(room).fanoutNotes.set(name, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  async fanoutNotes(room: string, names: readonly string[]): Promise<(string | null)[]> {
    const notes = this.room(room).fanoutNotes;
    return names.map((name) => live(notes, name) ?? null);
  }

  async dropFanoutNotes(room: string, names: readonly string[]): Promise<void> {
    for (const name of names) this.room(room).fanoutNotes.delete(name);
  }

  async close(): Promise<void> {}
}
