import { type ChatMessage, compareIds } from '../../../protocol/index.js';
import { HttpError, RateLimitedError, ServiceUnavailableError } from '../errors.js';
import type { Identity, NewMessage } from '../protocol.js';
import { sleep } from '../retry.js';
import {
  type AppendOptions,
  type AppendResult,
  type Arrival,
  type ChatStore,
  type ConnectionHome,
  type ConnectionRecord,
  type ConnectOptions,
  type Departure,
  type EphemeralClaim,
  IDEMPOTENCY_TTL_SECONDS,
  type OnlineUser,
  type PageQuery,
  type PageResult,
  type ReadMark,
  type ReadResult,
  type RoomSummary,
  type TicketGrant,
  type UserConnection,
  type WindowCount,
} from './chat-store.js';
import { RedisChanges } from './redis-changes.js';
import { createRedisClient, type RedisClient, type ScriptClient, unsent, whenReady } from './redis-client.js';
import {
  type DisconnectAnswer,
  decodeEntries,
  decodeMessage,
  departureOf,
  type Entry,
  encodeMessage,
  markFlag,
  onlineUsers,
  pairs,
  pushDepartures,
  readMarks,
  userConnection,
} from './redis-codec.js';
import { keys } from './redis-keys.js';
import { RedisSignals } from './redis-signals.js';

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
}

const RESEND_DELAY_MS = 25;

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
  private readonly historyLimit: number;
  private readonly connectTimeoutMs: number;
  readonly changes: RedisChanges;
  readonly signals: RedisSignals;

  constructor(options: RedisStoreOptions) {
    this.historyLimit = options.historyLimit ?? 1000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    this.redis = createRedisClient({
      url: options.url,
      cluster: options.cluster ?? false,
      connectTimeoutMs: this.connectTimeoutMs,
    });
    this.client = this.redis;
    this.changes = new RedisChanges(this.redis, (work) => this.run(work));
    this.signals = new RedisSignals(this.redis, (work) => this.run(work));
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
        this.redis.hcConnect(
          keys.conns(room),
          keys.expiry(room),
          keys.members(room),
          keys.mark(room),
          keys.seq(room),
          keys.batched(room),
          keys.signals(room),
          keys.tabs(room),
          keys.profiles(room),
          connectionId,
          identity.userId,
          expiresAt,
          options.batched ? '1' : '0',
          options.signals ? '1' : '0',
          JSON.stringify(identity.profile),
        ) as Promise<[number, number]>,
        this.client.set(keys.connection(connectionId), JSON.stringify(home), 'EX', ttlSeconds),
        // The user's index across rooms has its own slot: a second command, sent together.
        this.redis.hcUserConnection(
          keys.userConnections(identity.userId),
          userConnection(connectionId, room),
          expiresAt,
          now,
        ),
      ]);
      return { joined: joined === 1, listeners: Number(listeners) };
    });
  }

  private leave(room: string, connectionId: string, leftAtMs: number | undefined): Promise<Departure | null> {
    return this.run(async () => {
      const [result] = await Promise.all([
        this.redis.hcDisconnect(
          keys.conns(room),
          keys.expiry(room),
          keys.log(room),
          keys.seen(room),
          keys.mark(room),
          keys.seq(room),
          keys.batched(room),
          keys.signals(room),
          keys.tabs(room),
          keys.profiles(room),
          connectionId,
          leftAtMs === undefined ? '0' : '1',
          leftAtMs ?? 0,
        ) as Promise<DisconnectAnswer | null>,
        this.client.del(keys.connection(connectionId)),
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
      return raw ? (JSON.parse(raw) as ConnectionHome) : null;
    });
  }

  /** The keys of the scripts that prune a room's expired connections. */
  private pruneKeys(room: string): string[] {
    return [
      keys.conns(room),
      keys.expiry(room),
      keys.batched(room),
      keys.signals(room),
      keys.tabs(room),
      keys.profiles(room),
    ];
  }

  connections(room: string, departed?: Departure[]): Promise<ConnectionRecord[]> {
    return this.run(async () => {
      const [flat, batched, signals, gone] = (await this.redis.hcConnections(
        ...this.pruneKeys(room),
        Date.now(),
      )) as [string[], string[], string[], string[]];
      pushDepartures(gone, signals.length, departed);
      return markFlag(markFlag(pairs(flat), batched, 'batched'), signals, 'signals');
    });
  }

  presence(room: string, departed?: Departure[]): Promise<OnlineUser[]> {
    return this.run(async () => {
      const [gone, online, listeners] = (await this.redis.hcPresence(
        ...this.pruneKeys(room),
        Date.now(),
      )) as [string[], string[], number];
      pushDepartures(gone, Number(listeners), departed);
      return onlineUsers(online);
    });
  }

  readMarks(room: string): Promise<ReadMark[]> {
    return this.run(async () => {
      const flat = await this.redis.hcReadMarks(keys.seen(room), keys.members(room), keys.profiles(room));
      return readMarks(flat as string[]);
    });
  }

  claimEphemeral(room: string, userId: string, intervalMs: number): Promise<EphemeralClaim> {
    return this.run(async () => {
      const [claimed, listeners, members] = (await this.redis.hcEphemeral(
        keys.ephemeral(room, userId),
        keys.signals(room),
        keys.members(room),
        intervalMs,
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

  async append(message: NewMessage, options: AppendOptions = {}): Promise<AppendResult> {
    const room = message.room;
    const sender = message.senderId ?? '';
    const { idempotencyKey, rateLimit } = options;
    // Encoded before the store is asked, so a message that cannot be encoded is no store failure.
    const data = encodeMessage(message);
    return this.run(async () => {
      const [id, stored, status, ttl] = (await this.redis.hcAppend(
        keys.log(room),
        keys.seq(room),
        keys.seen(room),
        keys.mark(room),
        keys.idempotency(room, idempotencyKey ?? ''),
        sender ? keys.rate(room, sender) : keys.backendRate(room),
        data,
        sender,
        this.historyLimit,
        IDEMPOTENCY_TTL_SECONDS,
        idempotencyKey ? '1' : '0',
        rateLimit ? rateLimit.limit : 0,
        rateLimit?.windowSeconds ?? 60,
      )) as [string, string, number, number?];
      if (status === 2) throw new RateLimitedError(undefined, { retryAfter: Math.max(1, ttl ?? 1) });
      return { message: decodeMessage(id, stored), duplicate: status === 1 };
    });
  }

  async retract(message: ChatMessage, idempotencyKey?: string): Promise<void> {
    const room = message.room;
    await this.run(() =>
      this.redis.hcRetract(
        keys.log(room),
        keys.seq(room),
        keys.idempotency(room, idempotencyKey ?? ''),
        message.id,
      ),
    );
  }

  read(room: string, userId: string, sinceId?: string): Promise<ReadResult> {
    return this.run(async () => {
      const [seen, entries] = (await this.redis.hcRead(
        keys.log(room),
        keys.seen(room),
        keys.mark(room),
        keys.seq(room),
        keys.edits(room),
        keys.reactions(room),
        userId,
        sinceId ? `(${sinceId}` : '-',
      )) as [string | null, Entry[]];
      return { messages: decodeEntries(entries), lastSeenId: seen ?? null };
    });
  }

  page(room: string, userId: string, query: PageQuery): Promise<PageResult> {
    const { before, after } = query;
    // `(0-0` is no valid exclusive end for Redis; `0-0` is, and no entry has that id.
    const nothingOlder = before !== undefined && compareIds(before, '0-0') <= 0;
    return this.run(async () => {
      const [seen, entries, more, moved, listeners] = (await this.redis.hcPage(
        keys.log(room),
        keys.seen(room),
        keys.mark(room),
        keys.seq(room),
        keys.signals(room),
        keys.edits(room),
        keys.reactions(room),
        userId,
        nothingOlder ? '0-0' : before !== undefined ? `(${before}` : '+',
        after !== undefined ? `(${after}` : '-',
        Math.max(1, query.limit),
        query.markRead ? '1' : '0',
      )) as [string | null, Entry[], number, string | null, number];
      return {
        messages: decodeEntries(entries).reverse(),
        lastSeenId: seen ?? null,
        more: more === 1,
        ...(moved ? { readMark: { id: moved, listeners: Number(listeners) } } : {}),
      };
    });
  }

  latest(room: string, userId: string, limit: number): Promise<RoomSummary> {
    return this.run(async () => {
      const [unread, entries] = (await this.redis.hcLatest(
        keys.log(room),
        keys.members(room),
        keys.mark(room),
        keys.seq(room),
        keys.edits(room),
        keys.reactions(room),
        userId,
        limit,
      )) as [number, Entry[]];
      return { messages: decodeEntries(entries).reverse(), unread };
    });
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
    await this.run(() =>
      this.redis.hcAddMembers(keys.members(room), keys.mark(room), keys.seq(room), ...userIds),
    );
  }

  removeMembers(
    room: string,
    userIds: readonly string[],
    departed?: Departure[],
  ): Promise<ConnectionRecord[]> {
    if (userIds.length === 0) return Promise.resolve([]);
    return this.run(async () => {
      const [removed, gone, listeners] = (await this.redis.hcRemoveMembers(
        keys.members(room),
        ...this.pruneKeys(room),
        ...userIds,
      )) as [string[], string[], number];
      const records = pairs(removed);
      await Promise.all(
        records.map((r) =>
          this.client.zrem(keys.userConnections(r.userId), userConnection(r.connectionId, room)),
        ),
      );
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

  countUserMessage(userId: string, windowSeconds: number): Promise<WindowCount> {
    return this.count(keys.userRate(userId), windowSeconds, false);
  }

  async countFanoutFailure(room: string, messageId: string, ttlSeconds: number): Promise<number> {
    return (await this.count(keys.fanoutFailures(room, messageId), ttlSeconds, true)).count;
  }

  /** INCR with a TTL set by the first count, or by every count when `slide`; and the TTL left. */
  private count(key: string, ttlSeconds: number, slide: boolean): Promise<WindowCount> {
    return this.run(async () => {
      const [count, ttl] = (await this.redis.hcCount(key, ttlSeconds, slide ? '1' : '0')) as [number, number];
      return { count: Number(count), ttlSeconds: Math.max(1, Number(ttl)) };
    });
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
