import type { Identity } from '../protocol.js';
import type {
  Follower,
  FollowerStore,
  FollowOptions,
  FollowOutcome,
  UnreadWatcher,
} from './follower-store.js';
import type { StoreRun } from './redis-changes.js';
import { runScript, type ScriptClient } from './redis-client.js';
import { keys, roomKeys } from './redis-keys.js';

/** The record's prefix: a follower's, not a single-room connection's (whose record is JSON). */
const FOLLOWER_MARK = 'F ';

/** A follower record's text (see `redis-follower-scripts.ts`). */
function recordText(rooms: readonly string[], identity: Identity, options: FollowOptions): string {
  return `${FOLLOWER_MARK}${rooms.join(' ')}\n${JSON.stringify({ identity, options })}`;
}

/** Reads a follower record; null for anything else (a single-room record, nothing). */
export function parseFollowerRecord(raw: string | null): Follower | null {
  if (!raw?.startsWith(FOLLOWER_MARK)) return null;
  const newline = raw.indexOf('\n');
  const rooms = raw.slice(FOLLOWER_MARK.length, newline).split(' ').filter(Boolean);
  const { identity, options } = JSON.parse(raw.slice(newline + 1)) as Omit<Follower, 'rooms'>;
  return { identity, rooms, options };
}

/** Followers and unread watchers on Redis: the record is `hc:conn:<id>`, the user's keys their own. */
export class RedisFollowers implements FollowerStore {
  constructor(
    private readonly redis: ScriptClient,
    private readonly run: StoreRun,
  ) {}

  open(connectionId: string, identity: Identity, options: FollowOptions, ttlSeconds: number): Promise<void> {
    const now = Date.now();
    return this.run(async () => {
      await Promise.all([
        this.redis.set(keys.connection(connectionId), recordText([], identity, options), 'EX', ttlSeconds),
        options.unread
          ? runScript(
              this.redis,
              'hcUserConnection',
              { userConnections: keys.userWatch(identity.userId) },
              { member: connectionId, expiresAtMs: now + ttlSeconds * 1000, nowMs: now },
            )
          : undefined,
      ]);
    });
  }

  follower(connectionId: string): Promise<Follower | null> {
    return this.run(async () => parseFollowerRecord(await this.redis.get(keys.connection(connectionId))));
  }

  follow(connectionId: string, room: string, maxRooms: number): Promise<FollowOutcome> {
    return this.run(
      async () =>
        (await runScript(
          this.redis,
          'hcFollow',
          { record: keys.connection(connectionId) },
          { room, maxRooms },
        )) as FollowOutcome,
    );
  }

  unfollow(connectionId: string, room: string): Promise<boolean> {
    return this.run(
      async () =>
        (await runScript(this.redis, 'hcUnfollow', { record: keys.connection(connectionId) }, { room })) ===
        1,
    );
  }

  close(connectionId: string): Promise<Follower | null> {
    return this.run(async () => {
      const follower = parseFollowerRecord(await this.redis.getdel(keys.connection(connectionId)));
      // The user is known only now: a second command, in the user's own slot.
      if (follower?.options.unread)
        await this.redis.zrem(keys.userWatch(follower.identity.userId), connectionId);
      return follower;
    });
  }

  async addUserRoom(room: string, userIds: readonly string[]): Promise<void> {
    const now = Date.now();
    await this.run(() =>
      Promise.all(userIds.map((userId) => this.redis.zadd(keys.userRooms(userId), now, room))),
    );
  }

  async removeUserRoom(room: string, userIds: readonly string[]): Promise<void> {
    await this.run(() => Promise.all(userIds.map((userId) => this.redis.zrem(keys.userRooms(userId), room))));
  }

  userRooms(userId: string, limit: number): Promise<string[]> {
    return this.run(() => this.redis.zrevrange(keys.userRooms(userId), 0, Math.max(1, limit) - 1));
  }

  async watch(room: string, userId: string, expiresAtMs: number): Promise<void> {
    await this.run(() =>
      runScript(this.redis, 'hcWatch', roomKeys(room, 'watching'), { userId, expiresAtMs }),
    );
  }

  watchers(room: string): Promise<UnreadWatcher[]> {
    return this.run(async () => {
      const flat = (await runScript(
        this.redis,
        'hcWatchers',
        roomKeys(room, 'watching', 'members', 'mark', 'seq'),
        { nowMs: Date.now() },
      )) as (string | number)[];
      const watchers: UnreadWatcher[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        watchers.push({ userId: String(flat[i]), count: Number(flat[i + 1]) });
      }
      return watchers;
    });
  }

  async unwatch(room: string, userId: string): Promise<void> {
    await this.run(() => this.redis.hdel(keys.watching(room), userId));
  }

  watchingConnections(userId: string): Promise<string[]> {
    return this.run(() => this.redis.zrangebyscore(keys.userWatch(userId), Date.now(), '+inf'));
  }
}
