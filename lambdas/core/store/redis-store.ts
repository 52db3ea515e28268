import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { HttpError, RateLimitedError, ServiceUnavailableError } from '../errors.js';
import type { ChatMessage, Identity, NewMessage } from '../protocol.js';
import { sleep } from '../retry.js';
import {
  type AppendOptions,
  type AppendResult,
  type ChatStore,
  type ConnectionHome,
  type ConnectionRecord,
  type ConnectOptions,
  decodeMessage,
  encodeMessage,
  IDEMPOTENCY_TTL_SECONDS,
  keys,
  type ReadResult,
  type RoomSummary,
} from './chat-store.js';

type Entry = [string, string[]];

// Each script touches the keys of one room only, so it runs in one slot in cluster mode.
const scripts = {
  hcConnect: {
    numberOfKeys: 6,
    // KEYS: conns expiry members mark seq batched; ARGV: connectionId userId expiresAtMs batched
    lua: `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] == '1' then redis.call('SADD', KEYS[6], ARGV[1]) end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], redis.call('GET', KEYS[5]) or 0)
return 1`,
  },
  hcDisconnect: {
    numberOfKeys: 7,
    // KEYS: conns expiry log seen mark seq batched; ARGV: connectionId markRead leftAtMs
    lua: `
local function newer(a, b)
  local am, aseq = string.match(a, '(%d+)-(%d+)')
  local bm, bseq = string.match(b, '(%d+)-(%d+)')
  am, aseq, bm, bseq = tonumber(am), tonumber(aseq), tonumber(bm), tonumber(bseq)
  return am > bm or (am == bm and aseq > bseq)
end
local user = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[7], ARGV[1])
if not user then return false end
if ARGV[2] == '1' then
  local last = redis.call('XREVRANGE', KEYS[3], '(' .. ARGV[3] .. '-0', '-', 'COUNT', 1)
  local seen = redis.call('HGET', KEYS[4], user)
  -- Read state only moves forward: the user may have read further (sent, fetched old) since.
  if #last > 0 and (not seen or newer(last[1][1], seen)) then
    seen = last[1][1]
    redis.call('HSET', KEYS[4], user, seen)
  end
  local after = redis.call('XRANGE', KEYS[3], seen and ('(' .. seen) or '-', '+', 'COUNT', 10000)
  local seq = tonumber(redis.call('GET', KEYS[6]) or '0')
  local mark = tonumber(redis.call('HGET', KEYS[5], user) or '0')
  redis.call('HSET', KEYS[5], user, math.max(mark, seq - #after))
end
return user`,
  },
  hcConnections: {
    numberOfKeys: 3,
    // KEYS: conns expiry batched; ARGV: nowMs
    lua: `
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
if #expired > 0 then
  redis.call('HDEL', KEYS[1], unpack(expired))
  redis.call('ZREM', KEYS[2], unpack(expired))
  redis.call('SREM', KEYS[3], unpack(expired))
end
return {redis.call('HGETALL', KEYS[1]), redis.call('SMEMBERS', KEYS[3])}`,
  },
  hcAppend: {
    numberOfKeys: 6,
    // KEYS: log seq seen mark idempotency rate; ARGV: data sender maxlen idemTtl useIdem limit window
    // Unread counts are derived (room seq - reader's mark), so a message costs O(1) whatever the room size.
    lua: `
if ARGV[5] == '1' then
  local existing = redis.call('GET', KEYS[5])
  if existing then
    local entry = redis.call('XRANGE', KEYS[1], existing, existing)
    if #entry > 0 then return {existing, entry[1][2][2], 1} end
  end
end
if ARGV[6] ~= '0' then
  local count = redis.call('INCR', KEYS[6])
  if count == 1 then redis.call('EXPIRE', KEYS[6], ARGV[7]) end
  if count > tonumber(ARGV[6]) then return {false, false, 2} end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'd', ARGV[1])
local seq = redis.call('INCR', KEYS[2])
if ARGV[5] == '1' then redis.call('SET', KEYS[5], id, 'EX', ARGV[4]) end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[2], seq)
  redis.call('HSET', KEYS[3], ARGV[2], id)
end
return {id, ARGV[1], 0}`,
  },
  hcRetract: {
    numberOfKeys: 3,
    // KEYS: log seq idempotency; ARGV: id
    lua: `
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[3])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 1`,
  },
  hcRead: {
    numberOfKeys: 4,
    // KEYS: log seen mark seq; ARGV: userId start
    lua: `
local seen = redis.call('HGET', KEYS[2], ARGV[1])
local entries = redis.call('XRANGE', KEYS[1], ARGV[2], '+')
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then redis.call('HSET', KEYS[2], ARGV[1], last[1][1]) end
redis.call('HSET', KEYS[3], ARGV[1], redis.call('GET', KEYS[4]) or 0)
return {seen or false, entries}`,
  },
  hcLatest: {
    numberOfKeys: 4,
    // KEYS: log members mark seq; ARGV: userId limit
    lua: `
local entries = {}
if tonumber(ARGV[2]) > 0 then entries = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[2]) end
local unread = 0
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  unread = math.max(0, tonumber(redis.call('GET', KEYS[4]) or '0') - tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0'))
end
return {unread, entries}`,
  },
  hcHit: {
    numberOfKeys: 1,
    // KEYS: counter; ARGV: windowSeconds
    lua: `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count`,
  },
  hcAddMembers: {
    numberOfKeys: 3,
    // KEYS: members mark seq; ARGV: userIds... (new members start with nothing unread)
    lua: `
local seq = redis.call('GET', KEYS[3]) or 0
for i = 1, #ARGV do
  redis.call('SADD', KEYS[1], ARGV[i])
  redis.call('HSETNX', KEYS[2], ARGV[i], seq)
end
return #ARGV`,
  },
  hcRemoveMembers: {
    numberOfKeys: 4,
    // KEYS: members conns expiry batched; ARGV: userIds...
    lua: `
local removed = {}
local gone = {}
for i = 1, #ARGV do
  redis.call('SREM', KEYS[1], ARGV[i])
  gone[ARGV[i]] = true
end
local conns = redis.call('HGETALL', KEYS[2])
for i = 1, #conns, 2 do
  if gone[conns[i + 1]] then
    redis.call('HDEL', KEYS[2], conns[i])
    redis.call('ZREM', KEYS[3], conns[i])
    redis.call('SREM', KEYS[4], conns[i])
    table.insert(removed, conns[i])
    table.insert(removed, conns[i + 1])
  end
end
return removed`,
  },
} as const;

type ScriptName = keyof typeof scripts;
type Client = Redis | Cluster;
type ScriptClient = Client & Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;

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

function decodeEntries(entries: Entry[]): ChatMessage[] {
  return entries.map(([id, fields]) => decodeMessage(id, fields[1]!));
}

const RESEND_DELAY_MS = 25;

/** Errors ioredis raises for a command it never wrote to the socket: resending cannot apply it twice. */
function unsent(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return /Stream isn't writeable|Connection is closed/.test(message);
}

/** The Redis (ElastiCache) store. All writes of one request are one script call. */
export class RedisStore implements ChatStore {
  readonly kind = 'redis' as const;
  readonly client: Client;
  private readonly redis: ScriptClient;
  private readonly historyLimit: number;
  private readonly connectTimeoutMs: number;

  constructor(options: RedisStoreOptions) {
    this.historyLimit = options.historyLimit ?? 1000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    const url = new URL(options.url);
    const tls = url.protocol === 'rediss:';
    // A frozen Lambda must fail fast instead of queueing commands behind a dead socket.
    const common: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      connectTimeout: this.connectTimeoutMs,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
      username: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : undefined,
      ...(tls ? { tls: {} } : {}),
    };
    if (options.cluster) {
      this.client = new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
        lazyConnect: true,
        enableOfflineQueue: false,
        // ElastiCache TLS certificates name the configuration endpoint, not the node IPs.
        dnsLookup: (address, callback) => callback(null, address),
        redisOptions: common,
        clusterRetryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
      });
    } else {
      const db = Number(url.pathname.replace('/', '') || 0);
      this.client = new Redis({ ...common, host: url.hostname, port: Number(url.port || 6379), db });
    }
    // Errors surface on the request that hits them; without a listener ioredis logs each one.
    this.client.on('error', () => {});
    for (const [name, script] of Object.entries(scripts)) {
      this.client.defineCommand(name, { numberOfKeys: script.numberOfKeys, lua: script.lua });
    }
    this.redis = this.client as ScriptClient;
  }

  /** Connects on first use and after the server closed an idle socket. */
  private async ready(): Promise<void> {
    const status = this.client.status;
    if (status === 'ready') return;
    if (status === 'wait' || status === 'end' || status === 'close') {
      await this.client.connect().catch((error: unknown) => {
        if (this.client.status !== 'ready') throw error;
      });
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.client.off('ready', onReady);
        reject(new Error('redis not ready'));
      }, this.connectTimeoutMs);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      this.client.once('ready', onReady);
    });
  }

  /**
   * Runs one request. A socket the server closed while the process sat idle (a frozen Lambda,
   * `timeout`, a failover) fails the first command before it is sent; the client then reconnects
   * and the command is tried once more, so the user never sees that error.
   */
  private async run<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.ready();
        return await work();
      } catch (error) {
        if (error instanceof HttpError) throw error;
        if (attempt === 0 && unsent(error)) {
          // Let the client notice the closed socket and start reconnecting before `ready()`.
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

  append(message: NewMessage, options: AppendOptions = {}): Promise<AppendResult> {
    const room = message.room;
    const sender = message.senderId ?? '';
    const { idempotencyKey, rateLimit } = options;
    return this.run(async () => {
      const [id, data, status] = (await this.redis.hcAppend(
        keys.log(room),
        keys.seq(room),
        keys.seen(room),
        keys.mark(room),
        keys.idempotency(room, idempotencyKey ?? ''),
        keys.rate(room, sender),
        encodeMessage(message),
        sender,
        this.historyLimit,
        IDEMPOTENCY_TTL_SECONDS,
        idempotencyKey ? '1' : '0',
        rateLimit && sender ? rateLimit.limit : 0,
        rateLimit?.windowSeconds ?? 60,
      )) as [string, string, number];
      if (status === 2) throw new RateLimitedError();
      return { message: decodeMessage(id, data), duplicate: status === 1 };
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

  getValue(key: string): Promise<string | null> {
    return this.run(() => this.client.get(key));
  }

  async setValue(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.run(() => this.client.set(key, value, 'EX', ttlSeconds));
  }

  takeValue(key: string): Promise<string | null> {
    return this.run(() => this.client.getdel(key));
  }

  hit(key: string, windowSeconds: number): Promise<number> {
    return this.run(async () => Number(await this.redis.hcHit(key, windowSeconds)));
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
