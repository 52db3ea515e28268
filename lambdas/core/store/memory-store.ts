import { type ChatMessage, compareIds, type Profile } from '../../../protocol/index.js';
import { RateLimitedError } from '../errors.js';
import type { Identity, NewMessage } from '../protocol.js';
import type {
  AppendOptions,
  AppendResult,
  Arrival,
  ChatStore,
  ConnectionHome,
  ConnectionRecord,
  ConnectOptions,
  Departure,
  EphemeralClaim,
  OnlineUser,
  PageQuery,
  PageResult,
  ReadMark,
  ReadMarksPage,
  ReadMarksQuery,
  ReadResult,
  RoomSummary,
  TicketGrant,
  UserConnection,
  WindowCount,
} from './chat-store.js';
import { IDEMPOTENCY_TTL_SECONDS } from './chat-store.js';
import { MemoryChanges } from './memory-changes.js';
import { count, type Expiring, live, secondsLeft } from './memory-expiring.js';
import { MemoryFollowers } from './memory-followers.js';
import { MemorySignals } from './memory-signals.js';

/** One room of the in-memory store (its changes live in `MemoryChanges`). */
export interface RoomState {
  conns: Map<string, { userId: string; expiresAt: number; batched: boolean; signals: boolean }>;
  /** userId -> live connections of the user (presence: online while above 0). */
  tabs: Map<string, number>;
  /** userId -> public profile as of the user's latest connect. */
  profiles: Map<string, Profile>;
  /** userId -> taken until the user's next ephemeral frame may go out. */
  ephemeral: Map<string, Expiring<number>>;
  members: Set<string>;
  log: ChatMessage[];
  /** Messages appended so far; a reader's unread count is `seq - mark`. */
  seq: number;
  mark: Map<string, number>;
  seen: Map<string, string>;
  idempotency: Map<string, { id: string; expiresAt: number }>;
  /** userId -> messages sent in the current rate window. */
  rate: Map<string, Expiring<number>>;
  /** The backend's (service key) injections in the current rate window, under one key. */
  backendRate: Map<string, Expiring<number>>;
  /** messageId -> failed fan-outs. */
  fanoutFailures: Map<string, Expiring<number>>;
  /** name -> fan-out note. */
  fanoutNotes: Map<string, Expiring<string>>;
}

/**
 * The in-memory twin of the Redis store, for `npm start` on a bare laptop and fast unit tests.
 * Single process only: state is lost on restart.
 */
export class MemoryStore implements ChatStore {
  readonly kind = 'memory' as const;
  private readonly rooms = new Map<string, RoomState>();
  private readonly tickets = new Map<string, Expiring<TicketGrant>>();
  private readonly identities = new Map<string, Expiring<Identity>>();
  private readonly userRates = new Map<string, Expiring<number>>();
  private readonly userInjections = new Map<string, Expiring<number>>();
  private readonly homes = new Map<string, ConnectionHome & { expiresAt: number }>();
  /** userId -> connectionId -> the connection's room and expiry: the user's index across rooms. */
  private readonly userConns = new Map<string, Map<string, { room: string; expiresAt: number }>>();
  private lastMs = 0;
  private lastSeq = 0;

  constructor(private readonly historyLimit = 1000) {}
  readonly changes = new MemoryChanges((name) => this.room(name));
  readonly signals = new MemorySignals((name) => this.room(name));
  readonly followers = new MemoryFollowers((name) => this.room(name));

  private room(name: string): RoomState {
    let state = this.rooms.get(name);
    if (!state) {
      state = {
        conns: new Map(),
        tabs: new Map(),
        profiles: new Map(),
        ephemeral: new Map(),
        members: new Set(),
        log: [],
        seq: 0,
        mark: new Map(),
        seen: new Map(),
        idempotency: new Map(),
        rate: new Map(),
        backendRate: new Map(),
        fanoutFailures: new Map(),
        fanoutNotes: new Map(),
      };
      this.rooms.set(name, state);
    }
    return state;
  }

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

  async connect(
    room: string,
    connectionId: string,
    identity: Identity,
    ttlSeconds: number,
    options: ConnectOptions = {},
  ): Promise<Arrival> {
    const state = this.room(room);
    const expiresAt = Date.now() + ttlSeconds * 1000;
    const fresh = !state.conns.has(connectionId);
    state.conns.set(connectionId, {
      userId: identity.userId,
      expiresAt,
      batched: options.batched === true,
      signals: options.signals === true,
    });
    state.members.add(identity.userId);
    state.mark.set(identity.userId, state.seq);
    state.profiles.set(identity.userId, structuredClone(identity.profile));
    const tabs = (state.tabs.get(identity.userId) ?? 0) + (fresh ? 1 : 0);
    state.tabs.set(identity.userId, tabs);
    // A follower's record lists its rooms instead.
    const home = { room, identity: structuredClone(identity), expiresAt };
    if (!this.followers.has(connectionId)) this.homes.set(connectionId, home);
    const index = this.userConns.get(identity.userId) ?? new Map();
    index.set(connectionId, { room, expiresAt });
    this.userConns.set(identity.userId, index);
    return { joined: fresh && tabs === 1, listeners: this.listeners(state) };
  }

  private listeners(state: RoomState): number {
    let count = 0;
    for (const conn of state.conns.values()) if (conn.signals) count += 1;
    return count;
  }

  /** Takes away one of the user's connections from presence; true when it was their last. */
  private depart(state: RoomState, userId: string): boolean {
    const tabs = state.tabs.get(userId) ?? 0;
    if (tabs > 1) state.tabs.set(userId, tabs - 1);
    else state.tabs.delete(userId);
    // A connection recorded before presence existed has no count, and so makes no leave.
    return tabs === 1;
  }

  /** Forgets a connection of the room: its record, its place in the user's index, its presence. */
  private forget(state: RoomState, connectionId: string, userId: string): boolean {
    state.conns.delete(connectionId);
    this.userConns.get(userId)?.delete(connectionId);
    return this.depart(state, userId);
  }

  private profileOf(state: RoomState, userId: string): Profile | null {
    const profile = state.profiles.get(userId);
    return profile ? structuredClone(profile) : null;
  }

  private departure(state: RoomState, userId: string, left: boolean, read?: string): Departure {
    const profile = this.profileOf(state, userId);
    return { userId, left, profile, ...(read ? { read } : {}), listeners: this.listeners(state) };
  }

  private leave(room: string, connectionId: string, leftAtMs: number | undefined): Departure | null {
    const state = this.room(room);
    this.homes.delete(connectionId);
    const conn = state.conns.get(connectionId);
    if (!conn) return null;
    const left = this.forget(state, connectionId, conn.userId);
    let read: string | undefined;
    if (leftAtMs !== undefined) {
      const last = state.log.findLast((m) => compareIds(m.id, `${leftAtMs}-0`) < 0);
      const known = state.seen.get(conn.userId);
      // Read state only moves forward: the user may have read further (sent, fetched old) since.
      if (last && (!known || compareIds(last.id, known) > 0)) {
        state.seen.set(conn.userId, last.id);
        read = last.id;
      }
      const seen = state.seen.get(conn.userId);
      const after = seen ? state.log.filter((m) => compareIds(m.id, seen) > 0).length : state.log.length;
      state.mark.set(conn.userId, Math.max(state.mark.get(conn.userId) ?? 0, state.seq - after));
    }
    return this.departure(state, conn.userId, left, read);
  }

  async disconnect(room: string, connectionId: string, leftAtMs = Date.now()): Promise<Departure | null> {
    return this.leave(room, connectionId, leftAtMs);
  }

  async dropConnection(room: string, connectionId: string): Promise<Departure | null> {
    return this.leave(room, connectionId, undefined);
  }

  async connectionHome(connectionId: string): Promise<ConnectionHome | null> {
    const home = this.homes.get(connectionId);
    if (!home || home.expiresAt <= Date.now()) return null;
    return { room: home.room, identity: structuredClone(home.identity) };
  }

  /** Forgets the room's expired connections; users who so went offline go onto `departed`. */
  private prune(state: RoomState, departed: Departure[] | undefined): void {
    const now = Date.now();
    const gone: string[] = [];
    for (const [connectionId, conn] of state.conns) {
      if (conn.expiresAt <= now && this.forget(state, connectionId, conn.userId)) gone.push(conn.userId);
    }
    for (const userId of gone) departed?.push(this.departure(state, userId, true));
  }

  async connections(room: string, departed?: Departure[]): Promise<ConnectionRecord[]> {
    const state = this.room(room);
    this.prune(state, departed);
    return [...state.conns].map(([connectionId, conn]) => ({
      connectionId,
      userId: conn.userId,
      ...(conn.batched ? { batched: true } : {}),
      ...(conn.signals ? { signals: true } : {}),
    }));
  }

  async presence(room: string, departed?: Departure[]): Promise<OnlineUser[]> {
    const state = this.room(room);
    this.prune(state, departed);
    return [...state.tabs.keys()].map((userId) => ({ userId, profile: this.profileOf(state, userId) }));
  }

  async readMarks(room: string, query: ReadMarksQuery): Promise<ReadMarksPage> {
    const state = this.room(room);
    // The cursor is a position in `seen`, whose entries keep their insertion order.
    const start = Number((query.after ?? '0.0').split('.')[0]);
    const users = [...state.seen.keys()];
    const marks: ReadMark[] = [];
    let at = start;
    for (; at < users.length && marks.length < Math.max(1, query.limit); at += 1) {
      const userId = users[at]!;
      if (state.members.has(userId)) {
        marks.push({ userId, lastRead: state.seen.get(userId)!, profile: this.profileOf(state, userId) });
      }
    }
    return { marks, next: at < users.length ? `${at}.0` : null };
  }

  async claimEphemeral(room: string, userId: string, intervalMs: number): Promise<EphemeralClaim> {
    const state = this.room(room);
    const claimed = live(state.ephemeral, userId) === undefined;
    if (claimed) state.ephemeral.set(userId, { value: 1, expiresAt: Date.now() + intervalMs });
    return { claimed, listeners: this.listeners(state), members: state.members.size };
  }

  async userConnections(userId: string): Promise<UserConnection[]> {
    const now = Date.now();
    const index = this.userConns.get(userId);
    if (!index) return [];
    const live: UserConnection[] = [];
    for (const [connectionId, { room, expiresAt }] of index) {
      if (expiresAt <= now) index.delete(connectionId);
      else live.push({ connectionId, room });
    }
    return live;
  }

  async append(message: NewMessage, options: AppendOptions = {}): Promise<AppendResult> {
    const state = this.room(message.room);
    const senderId = message.senderId;
    const { idempotencyKey, rateLimit } = options;
    if (idempotencyKey) {
      const known = state.idempotency.get(idempotencyKey);
      const earlier =
        known && known.expiresAt > Date.now() ? state.log.find((m) => m.id === known.id) : undefined;
      if (earlier) return { message: structuredClone(earlier), duplicate: true };
    }
    if (rateLimit) {
      const [counters, key] = senderId ? [state.rate, senderId] : [state.backendRate, 'backend'];
      if (count(counters, key, rateLimit.windowSeconds, false) > rateLimit.limit) {
        throw new RateLimitedError(undefined, { retryAfter: secondsLeft(counters, key) });
      }
    }
    const stored: ChatMessage = { id: this.nextId(), ...structuredClone(message) };
    state.log.push(stored);
    if (state.log.length > this.historyLimit) state.log.splice(0, state.log.length - this.historyLimit);
    if (idempotencyKey) {
      state.idempotency.set(idempotencyKey, {
        id: stored.id,
        expiresAt: Date.now() + IDEMPOTENCY_TTL_SECONDS * 1000,
      });
    }
    state.seq += 1;
    if (senderId) {
      state.mark.set(senderId, state.seq);
      state.seen.set(senderId, stored.id);
    }
    return { message: structuredClone(stored), duplicate: false };
  }

  async retract(message: ChatMessage, idempotencyKey?: string): Promise<void> {
    const state = this.room(message.room);
    const index = state.log.findIndex((m) => m.id === message.id);
    if (index < 0) return;
    state.log.splice(index, 1);
    if (idempotencyKey) state.idempotency.delete(idempotencyKey);
    state.seq = Math.max(0, state.seq - 1);
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
    };
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
