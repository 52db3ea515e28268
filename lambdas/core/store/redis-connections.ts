import type { Identity } from '../protocol.js';
import type {
  Arrival,
  ConnectionHome,
  ConnectionRecord,
  ConnectOptions,
  Departure,
  EphemeralClaim,
  OnlineUser,
  ReadMarksPage,
  ReadMarksQuery,
  UserConnection,
} from './chat-store.js';
import type { StoreRun } from './redis-changes.js';
import { runScript, type ScriptClient } from './redis-client.js';
import {
  type DisconnectAnswer,
  departureOf,
  markFlag,
  onlineUsers,
  pairs,
  pushDepartures,
  readMarks,
  userConnection,
} from './redis-codec.js';
import { keys, roomKeys } from './redis-keys.js';
import { PRUNE_KEYS } from './redis-scripts.js';
import { acknowledged, type ReplicaWait } from './redis-wait.js';

// HSCAN calls one page of read marks makes at most (members who left are skipped on the way).
const READ_MARK_ROUNDS = 4;

/**
 * A room's connections on Redis: connect and leave, presence, read marks, ephemeral claims and the
 * user's index of connections across rooms. Each call is one script in the room's slot (the
 * user's index, in its own slot, is a second command).
 */
export class RedisConnections {
  /**
   * @param run runs one request (reconnects once, maps a Redis failure to a 503)
   * @param wait the replicas a member removal waits for
   */
  constructor(
    private readonly redis: ScriptClient,
    private readonly run: StoreRun,
    private readonly wait: ReplicaWait,
  ) {}

  connect(
    room: string,
    connectionId: string,
    identity: Identity,
    ttlSeconds: number,
    options: ConnectOptions = {},
  ): Promise<Arrival> {
    const now = Date.now();
    const expiresAt = now + ttlSeconds * 1000;
    const home: ConnectionHome = { room, identity };
    return this.run(async () => {
      const [[joined, listeners]] = await Promise.all([
        runScript(this.redis, 'hcConnect', roomKeys(room, ...PRUNE_KEYS, 'members', 'mark', 'seq'), {
          connectionId,
          userId: identity.userId,
          expiresAtMs: expiresAt,
          batched: options.batched ? '1' : '0',
          signals: options.signals ? '1' : '0',
          profile: JSON.stringify(identity.profile),
        }) as Promise<[number, number]>,
        // A follower's record lists its rooms and stays as it is.
        runScript(
          this.redis,
          'hcHome',
          { record: keys.connection(connectionId) },
          { home: JSON.stringify(home), ttlSeconds },
        ),
        // The user's index across rooms has its own slot: a second command, sent together.
        runScript(
          this.redis,
          'hcUserConnection',
          { userConnections: keys.userConnections(identity.userId) },
          { member: userConnection(connectionId, room), expiresAtMs: expiresAt, nowMs: now },
        ),
      ]);
      return { joined: joined === 1, listeners: Number(listeners) };
    });
  }

  private leave(room: string, connectionId: string, leftAtMs: number | undefined): Promise<Departure | null> {
    return this.run(async () => {
      const [result] = await Promise.all([
        runScript(
          this.redis,
          'hcDisconnect',
          roomKeys(room, ...PRUNE_KEYS, 'log', 'seen', 'mark', 'seq', 'mentionFrom'),
          {
            connectionId,
            markRead: leftAtMs === undefined ? '0' : '1',
            leftAtMs: leftAtMs ?? 0,
          },
        ) as Promise<DisconnectAnswer | null>,
        // A follower's record outlives each room it leaves (closing the follower drops it).
        runScript(this.redis, 'hcForgetHome', { record: keys.connection(connectionId) }, {}),
      ]);
      if (!result) return null;
      // The user is known only now: their index across rooms (a stale entry would expire anyway).
      await this.redis.zrem(keys.userConnections(result[0]), userConnection(connectionId, room));
      return departureOf(result);
    });
  }

  disconnect(room: string, connectionId: string, leftAtMs = Date.now()): Promise<Departure | null> {
    return this.leave(room, connectionId, leftAtMs);
  }

  dropConnection(room: string, connectionId: string): Promise<Departure | null> {
    return this.leave(room, connectionId, undefined);
  }

  connectionHome(connectionId: string): Promise<ConnectionHome | null> {
    return this.run(async () => {
      const raw = await this.redis.get(keys.connection(connectionId));
      // A follower's record is no single room's home (see `followers.follower`).
      return raw?.startsWith('{') ? (JSON.parse(raw) as ConnectionHome) : null;
    });
  }

  /** The keys of the scripts that prune a room's expired connections. */
  private pruneKeys(room: string) {
    return roomKeys(room, ...PRUNE_KEYS);
  }

  connections(room: string, departed?: Departure[]): Promise<ConnectionRecord[]> {
    return this.run(async () => {
      const [flat, batched, signals, gone] = (await runScript(
        this.redis,
        'hcConnections',
        this.pruneKeys(room),
        {
          nowMs: Date.now(),
        },
      )) as [string[], string[], string[], string[]];
      pushDepartures(gone, signals.length, departed);
      return markFlag(markFlag(pairs(flat), batched, 'batched'), signals, 'signals');
    });
  }

  presence(room: string, departed?: Departure[]): Promise<OnlineUser[]> {
    return this.run(async () => {
      const [gone, online, listeners] = (await runScript(this.redis, 'hcPresence', this.pruneKeys(room), {
        nowMs: Date.now(),
      })) as [string[], string[], number];
      pushDepartures(gone, Number(listeners), departed);
      return onlineUsers(online);
    });
  }

  readMarks(room: string, query: ReadMarksQuery): Promise<ReadMarksPage> {
    const [cursor, skip] = (query.after ?? '0.0').split('.');
    return this.run(async () => {
      const [flat, next, nextSkip] = (await runScript(
        this.redis,
        'hcReadMarks',
        roomKeys(room, 'seen', 'members', 'profiles'),
        {
          cursor: cursor ?? '0',
          skip: skip ?? '0',
          limit: Math.max(1, query.limit),
          rounds: READ_MARK_ROUNDS,
        },
      )) as [string[], string, number];
      const done = next === '0' && Number(nextSkip) === 0;
      return { marks: readMarks(flat), next: done ? null : `${next}.${nextSkip}` };
    });
  }

  claimEphemeral(room: string, userId: string, intervalMs: number): Promise<EphemeralClaim> {
    return this.run(async () => {
      const [claimed, listeners, members] = (await runScript(
        this.redis,
        'hcEphemeral',
        { ephemeral: keys.ephemeral(room, userId), signals: keys.signals(room), members: keys.members(room) },
        { intervalMs },
      )) as [number, number, number];
      return { claimed: claimed === 1, listeners: Number(listeners), members: Number(members) };
    });
  }

  userConnections(userId: string): Promise<UserConnection[]> {
    return this.run(async () => {
      const members = await this.redis.zrangebyscore(keys.userConnections(userId), Date.now(), '+inf');
      return members.map((member) => {
        const space = member.indexOf(' ');
        return { connectionId: member.slice(0, space), room: member.slice(space + 1) };
      });
    });
  }

  removeMembers(
    room: string,
    userIds: readonly string[],
    departed?: Departure[],
  ): Promise<ConnectionRecord[]> {
    if (userIds.length === 0) return Promise.resolve([]);
    return this.run(async () => {
      const waited = await this.wait.script(
        room,
        'hcRemoveMembers',
        { ...this.pruneKeys(room), members: keys.members(room) },
        {},
        userIds,
      );
      const [removed, gone, listeners] = waited.answer as [string[], string[], number];
      const records = pairs(removed);
      await Promise.all(
        records.map((r) =>
          this.redis.zrem(keys.userConnections(r.userId), userConnection(r.connectionId, room)),
        ),
      );
      // Not replicated: the removal stays on the primary and its retry is a no-op that waits again
      // (the members' connection records are gone, so their sockets are closed by nothing but time).
      acknowledged(waited);
      pushDepartures(gone, Number(listeners), departed);
      return records;
    });
  }
}
