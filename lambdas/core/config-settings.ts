/**
 * The settings table: every `HIPOCHAT_*` variable that is a setting of its own, its config key and
 * its rule; config.ts builds `ChatConfig`, the env schema and docs/configuration.md from it.
 */
import { DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES_LIMIT } from '../../protocol/limits.js';
import {
  anyText,
  bool,
  doc,
  fraction,
  int,
  list,
  oneOf,
  optionalList,
  optionalText,
  optionalUrl,
  secret,
  text,
} from './config-rules.js';

/**
 * Delivery function invocations in flight across all shards when nothing reserves them: the
 * account's unreserved pool is shared with every other function (1,000 on most accounts, as low as
 * 10 on a fresh one; Lambda keeps 100 of it unreserved).
 */
export const DEFAULT_DELIVERY_CONCURRENCY = 100;

/**
 * Every setting: its config key, the environment variable it comes from, and the rule. A new
 * variable is one line here; `ChatConfig` and the env schema follow.
 */
export const settings = {
  /** Profile endpoint asked with `Authorization: Token <token>`. */
  profileUrl: [
    'HIPOCHAT_PROFILE_URL',
    optionalUrl,
    doc('profile endpoint (Hipochat)', 'local: built-in dev identity'),
  ],
  profileIdField: [
    'HIPOCHAT_PROFILE_ID_FIELD',
    text('id'),
    doc('profile field holding the user id (then `id`, `user_id`)'),
  ],
  profileCacheSeconds: [
    'HIPOCHAT_PROFILE_CACHE_SECONDS',
    int(30, 0, 3600),
    doc('profile cache in Redis; `0` disables'),
  ],
  /** Top-level profile fields that leave the server; unset: the id field, `username`, name and avatar fields. */
  profilePublicFields: [
    'HIPOCHAT_PROFILE_PUBLIC_FIELDS',
    optionalList,
    doc(
      "profile fields that leave the server (`author`, push), always with the id's; primitives only",
      'id fields, `username`, names, avatars',
    ),
  ],
  pushUrl: [
    'HIPOCHAT_PUSH_NOTIFICATION_URL',
    optionalUrl,
    doc('push webhook (Hipochat)', 'local: built-in sink (`GET /dev/push`)'),
  ],
  /** HMAC key of the push webhook; without it requests go unsigned. */
  pushSecret: [
    'HIPOCHAT_PUSH_SECRET',
    optionalText,
    doc('HMAC key of `X-Hipochat-Signature`', 'unset (unsigned)'),
  ],
  serviceKey: [
    'HIPOCHAT_SERVICE_KEY',
    optionalText,
    doc('`Authorization: Bearer` key of backend calls', 'unset (backend routes off)'),
  ],
  /** `redis://` or `rediss://` URL (else built from `HIPOCHAT_REDIS_HOST`); absent means the in-memory store. */
  redisUrl: [
    'HIPOCHAT_REDIS_URL',
    secret(optionalUrl),
    doc('`redis://` / `rediss://user:pass@host:port/db`', 'unset (in-memory)'),
  ],
  redisCluster: [
    'HIPOCHAT_REDIS_CLUSTER',
    bool(false),
    doc('use the cluster client (ElastiCache cluster mode)'),
  ],
  /**
   * Replicas that must confirm a write (`WAIT`) before it is acknowledged or published; 0 (default)
   * acknowledges what the primary has. Set it where the cache replicates asynchronously to replicas.
   */
  redisWaitReplicas: [
    'HIPOCHAT_REDIS_WAIT_REPLICAS',
    int(0, 0, 5),
    doc(
      'replicas that must hold a write (`WAIT`) before it is acknowledged; see Reliability',
      '`0` (prod with `cache=nodes`: `1`)',
    ),
  ],
  /** Milliseconds a write waits for `HIPOCHAT_REDIS_WAIT_REPLICAS`; past it the sender gets a retryable 503. */
  redisWaitMs: [
    'HIPOCHAT_REDIS_WAIT_MS',
    int(100, 1, 10_000),
    doc('how long a write waits for them; then a retryable "not acknowledged" (503)'),
  ],
  /** `amqp://` or `amqps://` URL (else built from `HIPOCHAT_RABBIT_*`); absent means the in-memory bus. */
  amqpUrl: [
    'HIPOCHAT_AMQP_URL',
    secret(optionalUrl),
    doc('`amqp://` / `amqps://user:pass@host:port/vhost`', 'unset (in-memory)'),
  ],
  /** Prefix of the exchange and queue names; one broker can serve several deployments. */
  amqpNamespace: [
    'HIPOCHAT_AMQP_NAMESPACE',
    text('hipochat', /^[A-Za-z0-9_.-]{1,100}$/, '1-100 characters of [A-Za-z0-9_.-]'),
    doc('prefix of exchange and queue names (several deployments on one broker)'),
  ],
  /** RabbitMQ type of the shard queues; must match what the deployment declared. */
  queueType: [
    'HIPOCHAT_QUEUE_TYPE',
    oneOf(['quorum', 'classic'], 'quorum'),
    doc('RabbitMQ type of the shard queues; must match what the deployment declared'),
  ],
  /** API Gateway management endpoint (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`). */
  connectionsUrl: [
    'HIPOCHAT_CONNECTIONS_URL',
    optionalUrl,
    doc(
      'API Gateway management endpoint (`https://<api>.execute-api.<region>.amazonaws.com/<stage>`)',
      'local: the gateway itself',
    ),
  ],
  listenPort: ['HIPOCHAT_LISTEN_PORT', int(8888, 0, 65535), doc('local gateway port (`0` = any free port)')],
  listenAddress: [
    'HIPOCHAT_LISTEN_ADDRESS',
    anyText('127.0.0.1'),
    doc("local gateway address (Hipochat's default was `0.0.0.0`)"),
  ],
  messageTypes: [
    'HIPOCHAT_MESSAGE_TYPES',
    list('message,notification,injection'),
    doc("accepted message types; never a server or control frame's (`ack`, `edit`, `typing`, ...)"),
  ],
  notifiableTypes: [
    'HIPOCHAT_NOTIFIABLE_MESSAGE_TYPES',
    list('message,notification'),
    doc('types that trigger the push webhook'),
  ],
  regularType: ['HIPOCHAT_REGULAR_MESSAGE_TYPE', text('message'), doc('type of a frame without `type`')],
  /** Client frame types delivered live to signals connections only: never stored, counted or pushed. */
  ephemeralTypes: [
    'HIPOCHAT_EPHEMERAL_TYPES',
    list('typing'),
    doc('client frame types delivered live to `signals=1` connections only'),
  ],
  /** Milliseconds a room's read marks and presence changes are folded into one digest (`reads` frame). */
  readDigestMs: [
    'HIPOCHAT_READ_DIGEST_MS',
    int(2000, 100, 60_000),
    doc("ms a room's read marks and presence fold into one digest (`reads` frame), 100 to 60000"),
  ],
  /** Members above which a room sends no live typing, read or presence frames (the routes still answer). */
  signalsMaxMembers: [
    'HIPOCHAT_SIGNALS_MAX_MEMBERS',
    int(100, 0, 1_000_000),
    doc('members above which a room sends no live typing, read or presence frames'),
  ],
  /** Websocket connects per user per minute across rooms (more answer 429); 0 means no limit. */
  connectLimitPerMinute: [
    'HIPOCHAT_CONNECT_LIMIT_PER_MINUTE',
    int(60, 0, 1_000_000),
    doc('websocket connects per user per minute across rooms; more answer 429 (`0`: no limit)'),
  ],
  /** Rooms only members may connect to, read or post in; `*` closes every room, `prefix*` a family. */
  closedRooms: [
    'HIPOCHAT_CLOSED_ROOMS',
    list(''),
    doc('rooms only members may use: names, `prefix*`, or `*` for all', 'empty'),
  ],
  maxMessageBytes: [
    'HIPOCHAT_MAX_MESSAGE_BYTES',
    int(
      DEFAULT_MAX_MESSAGE_BYTES,
      64,
      MAX_MESSAGE_BYTES_LIMIT,
      'API Gateway closes a websocket on frames over 32 KB, and the server adds id, author, timestamp and room',
    ),
    doc("largest frame / item body (its outbound frame must fit API Gateway's 32 KB)"),
  ],
  /** Nesting levels a frame's body (and each client field) or an item body may have; deeper is refused. */
  maxBodyDepth: [
    'HIPOCHAT_MAX_BODY_DEPTH',
    int(32, 1, 512),
    doc('levels of arrays/objects a body may nest (1 to 512); deeper is a 400 / error frame'),
  ],
  historyLimit: [
    'HIPOCHAT_HISTORY_LIMIT',
    int(1000, 1, 1_000_000),
    doc('messages kept per room (approximate trim) and largest `limit` of a page'),
  ],
  /**
   * Reactions offered besides every RGI emoji: names (`[a-z0-9_+-]{1,32}`) and/or single emoji;
   * unset, only emoji.
   */
  reactions: [
    'HIPOCHAT_REACTIONS',
    optionalList,
    doc(
      'names (`[a-z0-9_+-]{1,32}`) and/or emoji accepted as reactions besides any RGI emoji',
      'unset (emoji only)',
    ),
  ],
  /** Seconds after sending that an author may edit or delete a message; 0 (default) means no limit. */
  editWindowSeconds: [
    'HIPOCHAT_EDIT_WINDOW_SECONDS',
    int(0, 0, 100_000_000),
    doc('seconds an author may edit or delete a message after sending it; `0`: no limit'),
  ],
  fanoutShards: [
    'HIPOCHAT_FANOUT_SHARDS',
    int(4, 1, 64),
    doc('fan-out queues (one event source mapping each)'),
  ],
  /** Posts in flight per execution: API Gateway answers in ~20 ms, so 128 keeps the CPU, not the wait, the limit. */
  fanoutConcurrency: [
    'HIPOCHAT_FANOUT_CONCURRENCY',
    int(128, 1, 1024),
    doc('posts in flight per execution (fan-out or slice); halves on 429, grows back'),
  ],
  /** Live connections above which a room is delivered in parallel slices (docs/performance.md); 0 never. */
  fanoutSliceSize: [
    'HIPOCHAT_FANOUT_SLICE_SIZE',
    int(1000, 0, 1_000_000),
    doc('rooms with more live connections go out in parallel slices (`0`: never)'),
  ],
  /** Name or ARN of the delivery function that runs fan-out slices; unset means no slices. */
  deliveryFunction: [
    'HIPOCHAT_DELIVERY_FUNCTION',
    optionalText,
    doc(
      'the delivery function that runs slices; unset means no slices',
      "set by the stack; local: the gateway's",
    ),
  ],
  /** Lambda API endpoint for the slices (the local gateway's); unset: `https://lambda.<region>.amazonaws.com`. */
  lambdaEndpoint: [
    'HIPOCHAT_LAMBDA_ENDPOINT',
    optionalUrl,
    doc(
      'Lambda API the fan-out invokes slices through (`https://lambda.<region>.amazonaws.com`)',
      'regional Lambda; local: the gateway',
    ),
  ],
  /**
   * Delivery function invocations (fan-out slices) in flight across all shards: each shard runs at
   * most this divided by `HIPOCHAT_FANOUT_SHARDS`. The stack sets it to the reserved concurrency.
   */
  deliveryConcurrency: [
    'HIPOCHAT_DELIVERY_CONCURRENCY',
    int(DEFAULT_DELIVERY_CONCURRENCY, 1, 10_000),
    doc('slices in flight, all shards together (each shard: this / shards)', '`100`; set by the stack'),
  ],
  /** Local gateway only: milliseconds `@connections` waits before answering, like API Gateway on AWS. */
  localPostLatencyMs: [
    'HIPOCHAT_LOCAL_POST_LATENCY_MS',
    int(0, 0, 10_000),
    doc('local gateway only: `@connections` answers after this delay (API Gateway-like timings)'),
  ],
  /** Local gateway only: posts per second `@connections` admits (token bucket, burst half the rate), else 429; 0 no limit. */
  localPostRps: [
    'HIPOCHAT_LOCAL_POST_RPS',
    int(0, 0, 1_000_000),
    doc('local only: posts/s `@connections` admits (burst: half), else 429', '`0` (no limit)'),
  ],
  /** Local gateway only: the share of posts `@connections` answers 500, at random. */
  localPostFailRate: [
    'HIPOCHAT_LOCAL_POST_FAIL_RATE',
    fraction(0),
    doc('local only: share of posts (0 to 1) answered 500, at random'),
  ],
  /** Local gateway only: delivery invocations the local Invoke API runs at once, else 429; 0 no limit. */
  localInvokeConcurrency: [
    'HIPOCHAT_LOCAL_INVOKE_CONCURRENCY',
    int(0, 0, 10_000),
    doc('local only: delivery invocations at once, else 429 TooManyRequests', '`0` (no limit)'),
  ],
  deliveryLimit: [
    'HIPOCHAT_DELIVERY_LIMIT',
    int(5, 1, 100),
    doc('deliveries before a fan-out message is dead-lettered'),
  ],
  connectionTtlSeconds: [
    'HIPOCHAT_CONNECTION_TTL_SECONDS',
    int(3 * 3600, 7200, 86_400),
    doc("life of a connection record without `$disconnect` (> 2 h, API Gateway's maximum)"),
  ],
  maxRoomsPerConnection: [
    'HIPOCHAT_MAX_ROOMS_PER_CONNECTION',
    int(50, 1, 1000),
    doc('rooms one connection may follow (`?rooms=` and `subscribe` frames together)'),
  ],
  rateLimitPerMinute: [
    'HIPOCHAT_RATE_LIMIT_PER_MINUTE',
    int(120, 1, 100_000),
    doc('messages per user per room per minute, frames and `/talk/item` together'),
  ],
  /** Messages per user per minute across all rooms; 0 (default) skips the extra Redis round trip. */
  userRateLimitPerMinute: [
    'HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE',
    int(0, 0, 1_000_000),
    doc(
      'messages per user per minute across rooms (one more Redis round trip per message when on)',
      '`0` (off)',
    ),
  ],
  /**
   * `POST /talk/item` injections per user per minute across all rooms (the per-room limit still
   * applies in each); 0 turns it off. Backends (service key) have their own limit.
   */
  userInjectionLimitPerMinute: [
    'HIPOCHAT_USER_INJECTION_LIMIT_PER_MINUTE',
    int(120, 0, 1_000_000),
    doc('`/talk/item` injections per user per minute across rooms (then 429); `0`: off'),
  ],
  /** Backend (service key) injections per room per minute; 0 (default) means no limit. */
  backendRateLimitPerMinute: [
    'HIPOCHAT_BACKEND_RATE_LIMIT_PER_MINUTE',
    int(0, 0, 1_000_000),
    doc('backend (service key) injections per room per minute; over it is a 429', '`0` (off)'),
  ],
  logLevel: [
    'HIPOCHAT_LOG_LEVEL',
    oneOf(['debug', 'info', 'warn', 'error'], 'info'),
    doc('`debug`, `info`, `warn`, `error` (JSON lines)'),
  ],
  /** Share of invocations that log at debug level whatever `logLevel` says. */
  logSampleRate: [
    'HIPOCHAT_LOG_SAMPLE_RATE',
    fraction(0),
    doc('share of invocations (0 to 1) logged at `debug` whatever the level'),
  ],
  /** Local gateway only: EMF metric records on stdout; off by default so local logs stay readable. */
  localMetrics: [
    'HIPOCHAT_LOCAL_METRICS',
    bool(false),
    doc(
      'local gateway only: write the EMF metric records to stdout (the deployed functions always write them)',
    ),
  ],
  /** Deployment stage, a key of every log line when set. */
  stage: [
    'HIPOCHAT_STAGE',
    optionalText,
    doc(
      'deployment stage: key `stage` of every log line, dimension `stage` of every metric',
      'unset (`local` in metrics)',
    ),
  ],
  /** Whom the push webhook names: every offline member (Hipochat), or only the mentioned ones. */
  pushMode: [
    'HIPOCHAT_PUSH_MODE',
    oneOf(['all', 'mentions'], 'all'),
    doc(
      'whom the push webhook names: `all` offline members, or only the offline members a message `mentions`',
    ),
  ],
  /**
   * The moderation hook: before a user's message, reply, edit or injection is stored, the server
   * POSTs it here (signed like the push webhook) and waits for allow, reject or replace.
   */
  moderationUrl: [
    'HIPOCHAT_MODERATION_URL',
    optionalUrl,
    doc(
      "moderation hook asked before a user's message, reply, edit or injection is stored (signed like the push webhook)",
      'unset (no hook)',
    ),
  ],
  /** Milliseconds the moderation hook has to answer; then `moderationFailure` decides. */
  moderationTimeoutMs: [
    'HIPOCHAT_MODERATION_TIMEOUT_MS',
    int(1500, 50, 8000),
    doc('milliseconds the moderation hook has to answer before `HIPOCHAT_MODERATION_FAILURE` decides'),
  ],
  /** What a message becomes when the hook errs, times out or answers nonsense. */
  moderationFailure: [
    'HIPOCHAT_MODERATION_FAILURE',
    oneOf(['allow', 'reject'], 'reject'),
    doc('`allow` or `reject` a message when the moderation hook errs, times out or answers malformed'),
  ],
} as const;
