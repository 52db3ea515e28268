import type { Identity } from '../protocol.js';
import type {
  Follower,
  FollowerStore,
  FollowOptions,
  FollowOutcome,
  UnreadWatcher,
} from './follower-store.js';

/** What a watcher's unread count is read from: the room's members, sequence and read marks. */
export interface UnreadSource {
  members: Set<string>;
  seq: number;
  mark: Map<string, number>;
}

/** The in-memory twin of `RedisFollowers`. */
export class MemoryFollowers implements FollowerStore {
  private readonly records = new Map<string, Follower & { expiresAt: number }>();
  /** userId -> rooms the user belongs to -> when they last joined it (ms). */
  private readonly rooms = new Map<string, Map<string, number>>();
  /** Tells two joins in one millisecond apart, so the later one counts as the more recent. */
  private joins = 0;
  /** room -> userId -> until when the user watches. */
  private readonly watching = new Map<string, Map<string, number>>();
  /** userId -> watching connection id -> its expiry. */
  private readonly watches = new Map<string, Map<string, number>>();

  constructor(private readonly room: (name: string) => UnreadSource) {}

  /** Whether the connection is a live follower (the store then keeps no single-room record of it). */
  has(connectionId: string): boolean {
    return this.live(connectionId) !== undefined;
  }

  private live(connectionId: string): (Follower & { expiresAt: number }) | undefined {
    const record = this.records.get(connectionId);
    if (record && record.expiresAt <= Date.now()) this.records.delete(connectionId);
    return record && record.expiresAt > Date.now() ? record : undefined;
  }

  async open(
    connectionId: string,
    identity: Identity,
    options: FollowOptions,
    ttlSeconds: number,
  ): Promise<void> {
    const expiresAt = Date.now() + ttlSeconds * 1000;
    this.records.set(connectionId, {
      identity: structuredClone(identity),
      rooms: [],
      options: { ...options },
      expiresAt,
    });
    if (!options.unread) return;
    const watches = this.watches.get(identity.userId) ?? new Map<string, number>();
    watches.set(connectionId, expiresAt);
    this.watches.set(identity.userId, watches);
  }

  async follower(connectionId: string): Promise<Follower | null> {
    const record = this.live(connectionId);
    return record
      ? {
          identity: structuredClone(record.identity),
          rooms: [...record.rooms],
          options: { ...record.options },
        }
      : null;
  }

  async follow(connectionId: string, room: string, maxRooms: number): Promise<FollowOutcome> {
    const record = this.live(connectionId);
    if (!record) return 'unknown';
    if (record.rooms.includes(room)) return 'following';
    if (record.rooms.length >= maxRooms) return 'full';
    record.rooms.push(room);
    return 'added';
  }

  async unfollow(connectionId: string, room: string): Promise<boolean> {
    const record = this.live(connectionId);
    const index = record ? record.rooms.indexOf(room) : -1;
    if (!record || index < 0) return false;
    record.rooms.splice(index, 1);
    return true;
  }

  async close(connectionId: string): Promise<Follower | null> {
    const follower = await this.follower(connectionId);
    this.records.delete(connectionId);
    if (follower) this.watches.get(follower.identity.userId)?.delete(connectionId);
    return follower;
  }

  async addUserRoom(room: string, userIds: readonly string[]): Promise<void> {
    this.joins += 1;
    for (const userId of userIds) {
      const rooms = this.rooms.get(userId) ?? new Map<string, number>();
      rooms.set(room, this.joins);
      this.rooms.set(userId, rooms);
    }
  }

  async removeUserRoom(room: string, userIds: readonly string[]): Promise<void> {
    for (const userId of userIds) this.rooms.get(userId)?.delete(room);
  }

  async userRooms(userId: string, limit: number): Promise<string[]> {
    return [...(this.rooms.get(userId) ?? [])]
      .sort(([, a], [, b]) => b - a)
      .slice(0, limit)
      .map(([room]) => room);
  }

  async watch(room: string, userId: string, expiresAtMs: number): Promise<void> {
    const watching = this.watching.get(room) ?? new Map<string, number>();
    watching.set(userId, Math.max(watching.get(userId) ?? 0, expiresAtMs));
    this.watching.set(room, watching);
  }

  async watchers(room: string): Promise<UnreadWatcher[]> {
    const watching = this.watching.get(room);
    if (!watching) return [];
    const state = this.room(room);
    const now = Date.now();
    const watchers: UnreadWatcher[] = [];
    for (const [userId, expiresAt] of watching) {
      if (expiresAt <= now) watching.delete(userId);
      else if (state.members.has(userId)) {
        watchers.push({ userId, count: Math.max(0, state.seq - (state.mark.get(userId) ?? 0)) });
      }
    }
    return watchers;
  }

  async unwatch(room: string, userId: string): Promise<void> {
    this.watching.get(room)?.delete(userId);
  }

  async watchingConnections(userId: string): Promise<string[]> {
    const now = Date.now();
    return [...(this.watches.get(userId) ?? [])].filter(([, expiresAt]) => expiresAt > now).map(([id]) => id);
  }
}
