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
  MarkedUnread,
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
import { RedisConnections } from './redis-connections.js';
import { RedisFollowers } from './redis-followers.js';
import { keys, roomKeys } from './redis-keys.js';
import { RedisLog } from './redis-log.js';
import { RedisModeration } from './redis-moderation.js';
import { RedisSignals } from './redis-signals.js';
import { RedisThreads } from './redis-threads.js';
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
  readonly moderation: RedisModeration;
  readonly threads: RedisThreads;
  private readonly wait: ReplicaWait;
  private readonly conns: RedisConnections;

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
    this.moderation = new RedisModeration(this.redis, (work) => this.run(work), this.wait);
    this.threads = new RedisThreads(this.redis, (work) => this.run(work));
    this.conns = new RedisConnections(this.redis, (work) => this.run(work), this.wait);
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
    options?: ConnectOptions,
  ): Promise<Arrival> {
    return this.conns.connect(room, connectionId, identity, ttlSeconds, options);
  }

  disconnect(room: string, connectionId: string, leftAtMs?: number): Promise<Departure | null> {
    return this.conns.disconnect(room, connectionId, leftAtMs);
  }

  dropConnection(room: string, connectionId: string): Promise<Departure | null> {
    return this.conns.dropConnection(room, connectionId);
  }

  connectionHome(connectionId: string): Promise<ConnectionHome | null> {
    return this.conns.connectionHome(connectionId);
  }

  connections(room: string, departed?: Departure[]): Promise<ConnectionRecord[]> {
    return this.conns.connections(room, departed);
  }

  presence(room: string, departed?: Departure[]): Promise<OnlineUser[]> {
    return this.conns.presence(room, departed);
  }

  readMarks(room: string, query: ReadMarksQuery): Promise<ReadMarksPage> {
    return this.conns.readMarks(room, query);
  }

  claimEphemeral(room: string, userId: string, intervalMs: number): Promise<EphemeralClaim> {
    return this.conns.claimEphemeral(room, userId, intervalMs);
  }

  userConnections(userId: string): Promise<UserConnection[]> {
    return this.conns.userConnections(userId);
  }

  append(message: NewMessage, options?: AppendOptions): Promise<AppendResult> {
    return this.log.append(message, options);
  }

  recall(room: string, idempotencyKey: string): Promise<ChatMessage | null> {
    return this.log.recall(room, idempotencyKey);
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

  markUnread(room: string, userId: string, id: string): Promise<MarkedUnread | null> {
    return this.log.markUnread(room, userId, id);
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
    return this.conns.removeMembers(room, userIds, departed);
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
