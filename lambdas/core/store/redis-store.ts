import type { ChatMessage } from '../../../protocol/index.js';
import { HttpError, ServiceUnavailableError } from '../errors.js';
import type { Identity, NewMessage } from '../protocol.js';
import { sleep } from '../retry.js';
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
  ReadMarksPage,
  ReadMarksQuery,
  ReadResult,
  RoomSummary,
  TicketGrant,
  UserConnection,
  WindowCount,
} from './chat-store.js';
import { RedisChanges } from './redis-changes.js';
import {
  createRedisClient,
  type RedisClient,
  runScript,
  type ScriptClient,
  unsent,
  whenReady,
} from './redis-client.js';
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
import { RedisFollowers } from './redis-followers.js';
import { keys, roomKeys } from './redis-keys.js';
import { RedisLog } from './redis-log.js';
import { PRUNE_KEYS } from './redis-scripts.js';
import { RedisSignals } from './redis-signals.js';
import { acknowledged, ReplicaWait } from './redis-wait.js';

/** Options of the Redis store. */
export interface RedisStoreOptions {
  /** `redis://` or `rediss://` URL (for cluster mode, of any node). */
  url: string;
  /** Use the cluster client (ElastiCache cluster mode). @default false */
  cluster?: boolean;
  /** Approximate cap of each room's log. @default 1000 */
  historyLimit?: number;
  /** Milliseconds to wait for a connection before failing a request. @default 2000 */
  connectTimeoutMs?: number;
  /** Replicas that must confirm each acknowledged write (`WAIT`); 0 turns it off. @default 0 */
  waitReplicas?: number;
  /** Milliseconds a write waits for them. @default 100 */
  waitMs?: number;
}

const RESEND_DELAY_MS = 25;
// HSCAN calls one page of read marks makes at most (members who left are skipped on the way).
const READ_MARK_ROUNDS = 4;

/**
 * Whether `error` is one JavaScript raises for code or data (`RangeError` on a value nested too
 * deep to encode, `TypeError`...), never one of the Redis client's, which extend plain `Error`.
 */
function isProgrammingError(error: unknown): boolean {
  return (
    error instanceof RangeError ||
    error instanceof TypeError ||
    error instanceof SyntaxError ||
    error instanceof ReferenceError
  );
}

/** The Redis (ElastiCache) store. All writes of one request are one script call. */
export class RedisStore implements ChatStore {
  readonly kind = 'redis' as const;
  readonly client: RedisClient;
  private readonly redis: ScriptClient;
  private readonly connectTimeoutMs: number;
  readonly changes: RedisChanges;
  readonly followers: RedisFollowers;
  private readonly log: RedisLog;
  readonly signals: RedisSignals;
  private readonly wait: ReplicaWait;

  constructor(options: RedisStoreOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    this.redis = createRedisClient({
      url: options.url,
      cluster: options.cluster ?? false,
      connectTimeoutMs: this.connectTimeoutMs,
    });
    this.client = this.redis;
    this.wait = new ReplicaWait(this.redis, { replicas: options.waitReplicas, timeoutMs: options.waitMs });
    this.changes = new RedisChanges(this.redis, (work) => this.run(work), this.wait);
    this.log = new RedisLog(this.redis, (work) => this.run(work), options.historyLimit ?? 1000, this.wait);
    this.signals = new RedisSignals(this.redis, (work) => this.run(work));
    this.followers = new RedisFollowers(this.redis, (work) => this.run(work));
  }

  /**
   * Runs one request. A socket the server closed while the process sat idle (a frozen Lambda,
   * `timeout`, a failover) fails the first command before it is sent; the client then reconnects
   * and the command is tried once more, so the user never sees that error.
   */
  private async run<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await whenReady(this.client, this.connectTimeoutMs);
        return await work();
      } catch (error) {
        // A refusal, or a bug of ours (a RangeError, TypeError...): Redis did not fail, so it is no 503.
        if (error instanceof HttpError || isProgrammingError(error)) throw error;
        if (attempt === 0 && unsent(error)) {
          // Let the client notice the closed socket and start reconnecting before `whenReady()`.
          await sleep(RESEND_DELAY_MS);
          continue;
        }
        throw new ServiceUnavailableError('store unavailable', { cause: error });
      }
    }
  }

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
        runScript(
          this.redis,
          'hcConnect',
          roomKeys(
            room,
            'conns',
            'expiry',
            'members',
            'mark',
            'seq',
            'batched',
            'signals',
            'tabs',
            'profiles',
          ),
          {
            connectionId,
            userId: identity.userId,
            expiresAtMs: expiresAt,
            batched: options.batched ? '1' : '0',
            signals: options.signals ? '1' : '0',
            profile: JSON.stringify(identity.profile),
          },
        ) as Promise<[number, number]>,
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
          roomKeys(
            room,
            'conns',
            'expiry',
            'log',
            'seen',
            'mark',
            'seq',
            'batched',
            'signals',
            'tabs',
            'profiles',
          ),
          { connectionId, markRead: leftAtMs === undefined ? '0' : '1', leftAtMs: leftAtMs ?? 0 },
        ) as Promise<DisconnectAnswer | null>,
        // A follower's record outlives each room it leaves (closing the follower drops it).
        runScript(this.redis, 'hcForgetHome', { record: keys.connection(connectionId) }, {}),
      ]);
      if (!result) return null;
      // The user is known only now: their index across rooms (a stale entry would expire anyway).
      await this.client.zrem(keys.userConnections(result[0]), userConnection(connectionId, room));
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
      const raw = await this.client.get(keys.connection(connectionId));
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
      const members = await this.client.zrangebyscore(keys.userConnections(userId), Date.now(), '+inf');
      return members.map((member) => {
        const space = member.indexOf(' ');
        return { connectionId: member.slice(0, space), room: member.slice(space + 1) };
      });
    });
  }

  append(message: NewMessage, options?: AppendOptions): Promise<AppendResult> {
    return this.log.append(message, options);
  }

  retract(message: ChatMessage, idempotencyKey?: string): Promise<void> {
    return this.log.retract(message, idempotencyKey);
  }

  read(room: string, userId: string, sinceId?: string): Promise<ReadResult> {
    return this.log.read(room, userId, sinceId);
  }

  page(room: string, userId: string, query: PageQuery): Promise<PageResult> {
    return this.log.page(room, userId, query);
  }

  latest(room: string, userId: string, limit: number): Promise<RoomSummary> {
    return this.log.latest(room, userId, limit);
  }

  async unread(room: string, userId: string): Promise<number> {
    return (await this.latest(room, userId, 0)).unread;
  }

  isMember(room: string, userId: string): Promise<boolean> {
    return this.run(async () => (await this.client.sismember(keys.members(room), userId)) === 1);
  }

  members(room: string): Promise<string[]> {
    return this.run(() => this.client.smembers(keys.members(room)));
  }

  async addMembers(room: string, userIds: readonly string[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.run(async () =>
      acknowledged(
        await this.wait.script(room, 'hcAddMembers', roomKeys(room, 'members', 'mark', 'seq'), {}, userIds),
      ),
    );
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
          this.client.zrem(keys.userConnections(r.userId), userConnection(r.connectionId, room)),
        ),
      );
      // Not replicated: the removal stays on the primary and its retry is a no-op that waits again
      // (the members' connection records are gone, so their sockets are closed by nothing but time).
      acknowledged(waited);
      pushDepartures(gone, Number(listeners), departed);
      return records;
    });
  }

  async saveTicket(ticketHash: string, grant: TicketGrant, ttlSeconds: number): Promise<void> {
    await this.run(() => this.client.set(keys.ticket(ticketHash), JSON.stringify(grant), 'EX', ttlSeconds));
  }

  takeTicket(ticketHash: string): Promise<TicketGrant | null> {
    return this.run(async () => {
      const raw = await this.client.getdel(keys.ticket(ticketHash));
      return raw ? (JSON.parse(raw) as TicketGrant) : null;
    });
  }

  async cacheIdentity(tokenHash: string, identity: Identity, ttlSeconds: number): Promise<void> {
    await this.run(() =>
      this.client.set(keys.identity(tokenHash), JSON.stringify(identity), 'EX', ttlSeconds),
    );
  }

  cachedIdentity(tokenHash: string): Promise<Identity | null> {
    return this.run(async () => {
      const raw = await this.client.get(keys.identity(tokenHash));
      return raw ? (JSON.parse(raw) as Identity) : null;
    });
  }

  countUserMessage(userId: string, windowSeconds: number, kind = 'message'): Promise<WindowCount> {
    const key = kind === 'injection' ? keys.userInjections(userId) : keys.userRate(userId);
    return this.count(key, windowSeconds, false);
  }

  async countFanoutFailure(room: string, messageId: string, ttlSeconds: number): Promise<number> {
    return (await this.count(keys.fanoutFailures(room, messageId), ttlSeconds, true)).count;
  }

  async saveFanoutNote(room: string, name: string, value: string, ttlSeconds: number): Promise<void> {
    await this.run(() => this.client.set(keys.fanoutNote(room, name), value, 'EX', ttlSeconds));
  }

  async fanoutNotes(room: string, names: readonly string[]): Promise<(string | null)[]> {
    if (names.length === 0) return [];
    // One slot: every key carries the room's hash tag.
    return this.run(() => this.client.mget(...names.map((name) => keys.fanoutNote(room, name))));
  }

  async dropFanoutNotes(room: string, names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    await this.run(() => this.client.del(...names.map((name) => keys.fanoutNote(room, name))));
  }

  /** INCR with a TTL set by the first count, or by every count when `slide`; and the TTL left. */
  private count(key: string, ttlSeconds: number, slide: boolean): Promise<WindowCount> {
    return this.run(async () => {
      const [count, ttl] = (await runScript(
        this.redis,
        'hcCount',
        { counter: key },
        { ttlSeconds, slide: slide ? '1' : '0' },
      )) as [number, number];
      return { count: Number(count), ttlSeconds: Math.max(1, Number(ttl)) };
    });
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
