import { type ChatMessage, compareIds, type Profile } from '../../../protocol/index.js';
import type { Identity } from '../protocol.js';
import type {
  Arrival,
  ConnectionHome,
  ConnectionRecord,
  ConnectOptions,
  Departure,
  EphemeralClaim,
  OnlineUser,
  ReadMark,
  ReadMarksPage,
  ReadMarksQuery,
  UserConnection,
} from './chat-store.js';
import { type Expiring, live } from './memory-expiring.js';
import { MemoryFollowers } from './memory-followers.js';
import { emptyThreads, type RoomThreads } from './memory-threads.js';

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
  /** userId -> the `seq` of each message by others that mentions the user, oldest first. */
  mentions: Map<string, number[]>;
  /** userId -> after a mark unread, where mentions count from while that `mark` stands. */
  mentionFrom: Map<string, { mark: number; from: number }>;
  idempotency: Map<string, { id: string; expiresAt: number }>;
  /** userId -> messages sent in the current rate window. */
  rate: Map<string, Expiring<number>>;
  /** The backend's (service key) injections in the current rate window, under one key. */
  backendRate: Map<string, Expiring<number>>;
  /** messageId -> failed fan-outs. */
  fanoutFailures: Map<string, Expiring<number>>;
  /** name -> fan-out note. */
  fanoutNotes: Map<string, Expiring<string>>;
  /** `<mute|ban>:<userId>` -> until when (ms) moderation restricts the user. */
  moderation: Map<string, number>;
  /** Replies and threads (see `memory-threads.ts`). */
  threads: RoomThreads;
}

/**
 * The in-memory store's rooms and who is in them: connections, presence, read marks and the
 * user's index of connections across rooms. `MemoryStore` adds the messages and the rest.
 */
export class MemoryRooms {
  private readonly rooms = new Map<string, RoomState>();
  private readonly homes = new Map<string, ConnectionHome & { expiresAt: number }>();
  /** userId -> connectionId -> the connection's room and expiry: the user's index across rooms. */
  private readonly userConns = new Map<string, Map<string, { room: string; expiresAt: number }>>();
  readonly followers = new MemoryFollowers((name) => this.room(name));

  /** The state of a room, created on first use. */
  protected room(name: string): RoomState {
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
        mentions: new Map(),
        mentionFrom: new Map(),
        idempotency: new Map(),
        rate: new Map(),
        backendRate: new Map(),
        fanoutFailures: new Map(),
        fanoutNotes: new Map(),
        moderation: new Map(),
        threads: emptyThreads(),
      };
      this.rooms.set(name, state);
    }
    return state;
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

  protected listeners(state: RoomState): number {
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
  protected forget(state: RoomState, connectionId: string, userId: string): boolean {
    state.conns.delete(connectionId);
    this.userConns.get(userId)?.delete(connectionId);
    return this.depart(state, userId);
  }

  private profileOf(state: RoomState, userId: string): Profile | null {
    const profile = state.profiles.get(userId);
    return profile ? structuredClone(profile) : null;
  }

  protected departure(state: RoomState, userId: string, left: boolean, read?: string): Departure {
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
    // A mark unread that still stands is kept, whatever the socket saw.
    const unreadMark = state.mentionFrom.get(conn.userId);
    const standing = unreadMark !== undefined && unreadMark.mark === (state.mark.get(conn.userId) ?? 0);
    if (leftAtMs !== undefined && !standing) {
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
}
