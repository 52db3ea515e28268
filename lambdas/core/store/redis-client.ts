import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { ChatError } from '../errors.js';
import { type ArgsOf, type KeysOf, scriptArguments } from './redis-script-spec.js';
import { type ScriptName, scripts } from './redis-scripts.js';

/** A standalone or cluster-mode client. */
export type RedisClient = Redis | Cluster;

/** A client with the store's scripts defined as commands. */
export type ScriptClient = RedisClient &
  Record<ScriptName, (...args: (string | number)[]) => Promise<unknown>>;

type Spec<N extends ScriptName> = (typeof scripts)[N];

/**
 * Runs script `name` with its keys and arguments by name (`rest`: the arguments a variadic script
 * takes after the named ones); the answer is the script's, untyped.
 */
export function runScript<N extends ScriptName>(
  client: ScriptClient,
  name: N,
  keys: KeysOf<Spec<N>>,
  args: ArgsOf<Spec<N>>,
  rest: readonly (string | number)[] = [],
): Promise<unknown> {
  const command = client[name] as (...list: (string | number)[]) => Promise<unknown>;
  return command.apply(client, scriptArguments(scripts[name], keys, args, rest));
}

/** Where and how the store connects. */
export interface RedisClientOptions {
  /** `redis://` or `rediss://` URL (for cluster mode, of any node). */
  url: string;
  /** Use the cluster client (ElastiCache cluster mode). */
  cluster: boolean;
  /** Milliseconds to wait for a connection before failing a request. */
  connectTimeoutMs: number;
}

/**
 * Creates a client that connects on first use and fails fast: a frozen Lambda must not queue
 * commands behind a dead socket. The store's scripts are defined on it.
 */
export function createRedisClient(options: RedisClientOptions): ScriptClient {
  const url = new URL(options.url);
  const tls = url.protocol === 'rediss:';
  const common: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    connectTimeout: options.connectTimeoutMs,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, RECONNECT_MAX_DELAY_MS),
    // After a failover the old primary is a replica and refuses writes: reconnect, which finds the
    // promoted primary behind the moved endpoint; the refused command is retried by the store.
    reconnectOnError: (error) => readOnly(error),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    ...(tls ? { tls: {} } : {}),
  };
  let client: RedisClient;
  if (options.cluster) {
    client = new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
      lazyConnect: true,
      enableOfflineQueue: false,
      // ElastiCache TLS certificates name the configuration endpoint, not the node IPs.
      dnsLookup: (address, callback) => callback(null, address),
      redisOptions: common,
      clusterRetryStrategy: (attempt) => Math.min(100 * 2 ** attempt, RECONNECT_MAX_DELAY_MS),
    });
  } else {
    const db = Number(url.pathname.replace('/', '') || 0);
    client = new Redis({ ...common, host: url.hostname, port: Number(url.port || 6379), db });
  }
  // Errors surface on the request that hits them; without a listener ioredis logs each one. An
  // error before the connection is ready is a failed connect: the server is down until `ready`.
  const observed = client;
  observed.on('error', () => {
    if (observed.status !== 'ready') knownDown.add(observed);
  });
  observed.on('ready', () => knownDown.delete(observed));
  for (const [name, script] of Object.entries(scripts)) {
    client.defineCommand(name, { numberOfKeys: script.keys.length, lua: script.lua });
  }
  return client as ScriptClient;
}

/** Clients whose last connection attempt failed; the client keeps reconnecting in the background. */
const knownDown = new WeakSet<RedisClient>();

/** Longest pause between reconnect attempts: a server that is back is used again within it. */
export const RECONNECT_MAX_DELAY_MS = 400;

/** The error of a request refused at once because the last connection attempt failed. */
export class StoreDownError extends ChatError {
  constructor() {
    super('redis unreachable: the last connection attempt failed, reconnecting');
  }
}

/**
 * Waits for a usable connection: connects on first use and after the server closed an idle socket.
 * While the server is known down (its last connection attempt failed) it refuses at once instead
 * of holding the request for the connect timeout: the background reconnect goes on, at most
 * {@link RECONNECT_MAX_DELAY_MS} apart, and clears that on `ready`.
 */
export async function whenReady(client: RedisClient, timeoutMs: number): Promise<void> {
  const status = client.status;
  if (status === 'ready') return;
  if (status === 'wait' || status === 'end' || status === 'close') {
    await client.connect().catch((error: unknown) => {
      if (client.status !== 'ready') throw error;
    });
    return;
  }
  if (knownDown.has(client)) throw new StoreDownError();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error('redis not ready'));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

/** A write refused by a replica (`READONLY`): the server the endpoint named is no primary any more. */
export function readOnly(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('READONLY');
}

/**
 * Errors of a command that was not applied: ioredis never wrote it to the socket, or a replica
 * refused it (`READONLY`, applying nothing, not even part of a script). Resending cannot apply it twice.
 */
export function unsent(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return readOnly(error) || /Stream isn't writeable|Connection is closed/.test(message);
}
