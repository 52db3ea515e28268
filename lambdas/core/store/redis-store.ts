import { type ChatMessage, compareIds } from '../../../protocol/index.js';
import { HttpError, RateLimitedError, ServiceUnavailableError } from '../errors.js';
import type { Identity, NewMessage } from '../protocol.js';
import { sleep } from '../retry.js';
import {
  type AppendOptions,
  type AppendResult,
  type ChatStore,
  type ConnectionHome,
  type ConnectionRecord,
  type ConnectOptions,
  IDEMPOTENCY_TTL_SECONDS,
  type PageQuery,
  type PageResult,
  type ReadResult,
  type RoomSummary,
  type TicketGrant,
  type WindowCount,
} from './chat-store.js';
import { createRedisClient, type RedisClient, type ScriptClient, unsent, whenReady } from './redis-client.js';
import { keys } from './redis-keys.js';

type Entry = [string, string[]];

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

function pairs(flat: string[]): ConnectionRecord[] {
  const records: ConnectionRecord[] = [];
  for (let i = 0; i < flat.length; i += 2) records.push({ connectionId: flat[i]!, userId: flat[i + 1]! });
  return records;
}

function markBatched(records: ConnectionRecord[], batched: string[]): ConnectionRecord[] {
  if (batched.length === 0) return records;
  const set = new Set(batched);
  for (const record of records) if (set.has(record.connectionId)) record.batched = true;
  return records;
}

/** Serialises a message for the log: the id is the log position, so it is not stored twice. */
function encodeMessage(message: NewMessage): string {
  return JSON.stringify(message);
}

/** Rebuilds a message from its log entry. */
function decodeMessage(id: string, data: string): ChatMessage {
  return { id, ...(JSON.parse(data) as NewMessage) };
}

function decodeEntries(entries: Entry[]): ChatMessage[] {
  return entries.map(([id, fields]) => decodeMessage(id, fields[1]!));
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

  constructor(options: RedisStoreOptions) {
    this.historyLimit = options.historyLimit ?? 1000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    this.redis = createRedisClient({
      url: options.url,
      cluster: options.cluster ?? false,
      connectTimeoutMs: this.connectTimeoutMs,
    });
    this.client = this.redis;
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
  ): Promise<void> {
    const expiresAt = Date.now() + ttlSeconds * 1000;
    const home: ConnectionHome = { room, identity };
    return this.run(async () => {
      await Promise.all([
        this.redis.hcConnect(
          keys.conns(room),
          keys.expiry(room),
          keys.members(room),
          keys.mark(room),
          keys.seq(room),
          keys.batched(room),
          connectionId,
          identity.userId,
          expiresAt,
          options.batched ? '1' : '0',
        ),
        this.client.set(keys.connection(connectionId), JSON.stringify(home), 'EX', ttlSeconds),
      ]);
    });
  }

  private leave(room: string, connectionId: string, leftAtMs: number | undefined): Promise<string | null> {
    return this.run(async () => {
      const [user] = await Promise.all([
        this.redis.hcDisconnect(
          keys.conns(room),
          keys.expiry(room),
          keys.log(room),
          keys.seen(room),
          keys.mark(room),
          keys.seq(room),
          keys.batched(room),
          connectionId,
          leftAtMs === undefined ? '0' : '1',
          leftAtMs ?? 0,
        ) as Promise<string | null>,
        this.client.del(keys.connection(connectionId)),
      ]);
      return user ?? null;
    });
  }

  disconnect(room: string, connectionId: string, leftAtMs = Date.now()): Promise<string | null> {
    return this.leave(room, connectionId, leftAtMs);
  }

  async dropConnection(room: string, connectionId: string): Promise<void> {
    await this.leave(room, connectionId, undefined);
  }

  connectionHome(connectionId: string): Promise<ConnectionHome | null> {
    return this.run(async () => {
      const raw = await this.client.get(keys.connection(connectionId));
      return raw ? (JSON.parse(raw) as ConnectionHome) : null;
    });
  }

  connections(room: string): Promise<ConnectionRecord[]> {
    return this.run(async () => {
      const [flat, batched] = (await this.redis.hcConnections(
        keys.conns(room),
        keys.expiry(room),
        keys.batched(room),
        Date.now(),
      )) as [string[], string[]];
      return markBatched(pairs(flat), batched);
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
      const [seen, entries, more] = (await this.redis.hcPage(
        keys.log(room),
        keys.seen(room),
        keys.mark(room),
        keys.seq(room),
        userId,
        nothingOlder ? '0-0' : before !== undefined ? `(${before}` : '+',
        after !== undefined ? `(${after}` : '-',
        Math.max(1, query.limit),
        query.markRead ? '1' : '0',
      )) as [string | null, Entry[], number];
      return { messages: decodeEntries(entries).reverse(), lastSeenId: seen ?? null, more: more === 1 };
    });
  }

  latest(room: string, userId: string, limit: number): Promise<RoomSummary> {
    return this.run(async () => {
      const [unread, entries] = (await this.redis.hcLatest(
        keys.log(room),
        keys.members(room),
        keys.mark(room),
        keys.seq(room),
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

  removeMembers(room: string, userIds: readonly string[]): Promise<ConnectionRecord[]> {
    if (userIds.length === 0) return Promise.resolve([]);
    return this.run(async () =>
      pairs(
        (await this.redis.hcRemoveMembers(
          keys.members(room),
          keys.conns(room),
          keys.expiry(room),
          keys.batched(room),
          ...userIds,
        )) as string[],
      ),
    );
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
