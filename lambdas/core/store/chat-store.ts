import type { ChatMessage, Identity, NewMessage } from '../protocol.js';

/** A live socket in a room. */
export interface ConnectionRecord {
  connectionId: string;
  userId: string;
  /** The client asked for batch frames (`?batch=1`): several messages may arrive in one frame. */
  batched?: boolean;
}

/** Options of a new connection. */
export interface ConnectOptions {
  /** Deliver every message of a fan-out batch in one `{"type":"batch"}` frame. @default false */
  batched?: boolean;
}

/** Where a connection lives and who holds it; the fallback when a route has no authorizer context. */
export interface ConnectionHome {
  room: string;
  identity: Identity;
}

/** Options of `append`. */
export interface AppendOptions {
  idempotencyKey?: string;
  /** Messages allowed per sender and room in one window. */
  rateLimit?: { limit: number; windowSeconds: number };
}

/** What `append` did. */
export interface AppendResult {
  message: ChatMessage;
  /** True when the idempotency key was seen before and the earlier message is returned. */
  duplicate: boolean;
}

/** A room's log for one reader, with the position the reader had read up to before this call. */
export interface ReadResult {
  messages: ChatMessage[];
  /** Id of the last message the reader had seen, or null if none. */
  lastSeenId: string | null;
}

/** The latest messages of a room and the reader's unread count. */
export interface RoomSummary {
  messages: ChatMessage[];
  unread: number;
}

/**
 * Room state: connections, members, the message log and counters. Implemented on Redis and in
 * memory; both pass one contract suite. Every method touches one room only (one hash slot).
 */
export interface ChatStore {
  /** Which store this is, for start-up lines and the benchmark. */
  readonly kind: 'redis' | 'memory';
  /** Records a live socket; the user becomes a member and their unread count resets. */
  connect(
    room: string,
    connectionId: string,
    identity: Identity,
    ttlSeconds: number,
    options?: ConnectOptions,
  ): Promise<void>;
  /**
   * Forgets a socket and marks the room read up to the moment it left (messages stored after
   * `leftAtMs` stay unread even when `$disconnect` runs late); returns its user.
   */
  disconnect(room: string, connectionId: string, leftAtMs?: number): Promise<string | null>;
  /** Forgets a socket that API Gateway reported gone (410), without touching read state. */
  dropConnection(room: string, connectionId: string): Promise<void>;
  /** The room and user of a connection, while its record lives. */
  connectionHome(connectionId: string): Promise<ConnectionHome | null>;
  /** Live connections of a room; expired records are pruned on the way. */
  connections(room: string): Promise<ConnectionRecord[]>;
  /**
   * Stores a message, increments unread for every other member, marks it read for the sender.
   * With an idempotency key, a second call returns the first message instead of storing again.
   * With a rate limit, a sender over `limit` messages per window in this room is refused
   * (`RateLimitedError`) and nothing is stored.
   */
  append(message: NewMessage, options?: AppendOptions): Promise<AppendResult>;
  /** Undoes `append` when the message could not be published. */
  retract(message: ChatMessage, idempotencyKey?: string): Promise<void>;
  /** All messages (or those after `sinceId`); marks them read for the reader. */
  read(room: string, userId: string, sinceId?: string): Promise<ReadResult>;
  /** The latest `limit` messages, oldest first, and the reader's unread count. */
  latest(room: string, userId: string, limit: number): Promise<RoomSummary>;
  unread(room: string, userId: string): Promise<number>;
  isMember(room: string, userId: string): Promise<boolean>;
  members(room: string): Promise<string[]>;
  addMembers(room: string, userIds: readonly string[]): Promise<void>;
  /** Removes members and returns their live connections, which are forgotten too. */
  removeMembers(room: string, userIds: readonly string[]): Promise<ConnectionRecord[]>;
  /** A short-lived value (profile cache, tickets). */
  getValue(key: string): Promise<string | null>;
  setValue(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** Reads and deletes a value in one step (single-use tickets). */
  takeValue(key: string): Promise<string | null>;
  /** Counts a hit in a fixed window (INCR + EXPIRE) and returns the count so far. */
  hit(key: string, windowSeconds: number): Promise<number>;
  close(): Promise<void>;
}

/** Redis keys; every key of a room carries the `{room}` hash tag. */
export const keys = {
  conns: (room: string) => `hc:{${room}}:conns`,
  expiry: (room: string) => `hc:{${room}}:expiry`,
  members: (room: string) => `hc:{${room}}:members`,
  log: (room: string) => `hc:{${room}}:log`,
  /** Messages appended so far; a reader's unread count is `seq - mark`. */
  seq: (room: string) => `hc:{${room}}:seq`,
  /** userId -> the room's `seq` when the user last read everything. */
  mark: (room: string) => `hc:{${room}}:mark`,
  /** Connection ids that asked for batch frames. */
  batched: (room: string) => `hc:{${room}}:batched`,
  seen: (room: string) => `hc:{${room}}:seen`,
  idempotency: (room: string, key: string) => `hc:{${room}}:idem:${key}`,
  rate: (room: string, userId: string) => `hc:{${room}}:rate:${userId}`,
  connection: (connectionId: string) => `hc:conn:${connectionId}`,
  /** Per-user message counter across rooms (its own slot: one more round trip when enabled). */
  userRate: (userId: string) => `hc:rate:${userId}`,
  /** How often the fan-out failed a message (it is requeued until the delivery limit). */
  fanoutFailures: (room: string, id: string) => `hc:{${room}}:fanout-failures:${id}`,
} as const;

/** How long an idempotency key is remembered. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

/** Serialises a message for the log: the id is the log position, so it is not stored twice. */
export function encodeMessage(message: NewMessage): string {
  return JSON.stringify(message);
}

/** Rebuilds a message from its log entry. */
export function decodeMessage(id: string, data: string): ChatMessage {
  return { id, ...(JSON.parse(data) as NewMessage) };
}
