import type { ChatMessage, Profile, RepliesSummary } from '../../../protocol/index.js';
import type { Identity, NewMessage } from '../protocol.js';
import type { ChangeStore } from './change-store.js';
import type { FollowerStore } from './follower-store.js';
import type { ModerationStore } from './moderation-store.js';
import type { SignalStore } from './signal-store.js';
import type { ThreadStore } from './thread-store.js';

/** A live socket in a room. */
export interface ConnectionRecord {
  connectionId: string;
  userId: string;
  /** The client asked for batch frames (`?batch=1`): several messages may arrive in one frame. */
  batched?: boolean;
  /** The client asked for live signals (`?signals=1`): presence, typing and read frames. */
  signals?: boolean;
}

/** Options of a new connection. */
export interface ConnectOptions {
  /** Deliver every message of a fan-out batch in one `{"type":"batch"}` frame. @default false */
  batched?: boolean;
  /** Deliver presence, typing and read frames too. @default false */
  signals?: boolean;
}

/** What a connect changed in the room's presence. */
export interface Arrival {
  /** It is the user's first live connection in the room: they came online. */
  joined: boolean;
  /** Connections of the room that asked for signals, this one included (expired ones count until pruned). */
  listeners: number;
}

/**
 * A connection that went away, and what that changed: presence (`left`) and, for a `disconnect`,
 * the user's read mark (`read`).
 */
export interface Departure {
  userId: string;
  /** It was the user's last live connection in the room: they went offline. */
  left: boolean;
  /** The user's public profile as of their latest connect; null when the room never recorded one. */
  profile: Profile | null;
  /** The user's new read mark (a message id), when this departure moved it. */
  read?: string;
  /** Connections of the room that asked for signals and are still there. */
  listeners: number;
}

/** A user with a live connection in a room. */
export interface OnlineUser {
  userId: string;
  profile: Profile | null;
}

/** A member's read mark: the newest message id they have read. */
export interface ReadMark {
  userId: string;
  profile: Profile | null;
  lastRead: string;
}

/** Which page of a room's read marks `readMarks` reads. */
export interface ReadMarksQuery {
  /** At most this many marks (at least 1). */
  limit: number;
  /** Where the page starts: the `next` of the page before; absent for the first page. */
  after?: string;
}

/** One page of a room's read marks, in no particular order. */
export interface ReadMarksPage {
  marks: ReadMark[];
  /** Where the next page starts (an opaque cursor for `after`); null on the last page. */
  next: string | null;
}

/** The form of every `ReadMarksPage.next`: `<scan cursor>.<skip>`. */
export const READ_MARKS_CURSOR = /^\d{1,20}\.\d{1,7}$/;

/** Whether an ephemeral frame may go out, and to how many listeners. */
export interface EphemeralClaim {
  /** False while the user's previous ephemeral frame in the room is younger than the interval. */
  claimed: boolean;
  /** Connections of the room that asked for signals. */
  listeners: number;
  /** Members of the room (rooms above `HIPOCHAT_SIGNALS_MAX_MEMBERS` send no live signals). */
  members: number;
}

/** A live connection of a user, in some room. */
export interface UserConnection {
  connectionId: string;
  room: string;
}

/** Where a connection lives and who holds it; the fallback when a route has no authorizer context. */
export interface ConnectionHome {
  room: string;
  identity: Identity;
}

/** Options of `append`. */
export interface AppendOptions {
  /** The caller's key for the message (already scoped by caller; the store scopes it by room). */
  idempotencyKey?: string;
  /**
   * Messages allowed per sender and room in one window; a message without `senderId` counts
   * against the backend's own window of the room.
   */
  rateLimit?: { limit: number; windowSeconds: number };
  /**
   * Keep only the room's members among the message's `mentions` (a closed room); otherwise all
   * are kept. @default false
   */
  mentionMembersOnly?: boolean;
}

/** A count in a fixed window. */
export interface WindowCount {
  /** Counted so far in the window, this one included. */
  count: number;
  /** Seconds until the window ends and counting starts over. */
  ttlSeconds: number;
}

/** What `append` did. */
export interface AppendResult {
  message: ChatMessage;
  /** True when the idempotency key was seen before and the earlier message is returned. */
  duplicate: boolean;
  /** A reply's root's replies summary after it was stored (absent for a duplicate or no reply). */
  replies?: RepliesSummary;
}

/** A room's log for one reader, with the position the reader had read up to before this call. */
export interface ReadResult {
  messages: ChatMessage[];
  /** Id of the last message the reader had seen, or null if none. */
  lastSeenId: string | null;
}

/** Which slice of a room's log `page` reads. */
export interface PageQuery {
  /** At most this many messages, the newest that match (at least 1). */
  limit: number;
  /** Only messages older than this id (exclusive). */
  before?: string;
  /** Only messages newer than this id (exclusive). */
  after?: string;
  /** Mark the room read up to its newest message, as `read` does. @default false */
  markRead?: boolean;
}

/** One page of a room's log, oldest first. */
export interface PageResult extends ReadResult {
  /** More messages match the query beyond `limit` (older than the oldest returned). */
  more: boolean;
  /**
   * The reader's new read mark when `markRead` moved it, and how many connections of the room
   * asked for signals (who would hear of it).
   */
  readMark?: { id: string; listeners: number };
}

/** What a connect ticket grants: one connection to `room` as `identity`. */
export interface TicketGrant {
  room: string;
  identity: Identity;
}

/** The latest messages of a room and the reader's unread count. */
export interface RoomSummary {
  messages: ChatMessage[];
  unread: number;
  /** Messages by others mentioning the reader since their read mark. */
  mentions: number;
}

/** What `markUnread` did: the reader's new read mark and their counts from it. */
export interface MarkedUnread {
  /** The message just before the one marked unread; null when there is none. */
  lastRead: string | null;
  /** Others' messages from the one marked unread on (0 for a non-member, as `latest` counts). */
  unread: number;
  /** Mentions of the reader among them. */
  mentions: number;
  /** Connections of the room that asked for signals (who would hear of the moved mark). */
  listeners: number;
}

/**
 * Room state: connections, members, the message log and counters. Implemented on Redis and in
 * memory; both pass one contract suite. Every method that takes a room touches that room only
 * (one hash slot).
 */
export interface ChatStore {
  /** Which store this is, for start-up lines and the benchmark. */
  readonly kind: 'redis' | 'memory';
  /** Edits, deletes, reactions and occupancy, beside the log (history shows their current state). */
  readonly changes: ChangeStore;
  /** Folded read marks and presence, and the per-user connect counter. */
  readonly signals: SignalStore;
  /** Connections that follow rooms by subscribing, the user's rooms and unread watchers. */
  readonly followers: FollowerStore;
  /** Mutes and bans of users in rooms. */
  readonly moderation: ModerationStore;
  /** Threads: a root's replies page by page, the room's threads, the readers' thread read marks. */
  readonly threads: ThreadStore;
  /**
   * Records a live socket; the user becomes a member and their unread count resets. The user's
   * first live connection in the room makes them online (`joined`); their public profile is kept
   * for presence and read receipts. The connection also joins the user's index across rooms.
   */
  connect(
    room: string,
    connectionId: string,
    identity: Identity,
    ttlSeconds: number,
    options?: ConnectOptions,
  ): Promise<Arrival>;
  /**
   * Forgets a socket and marks the room read up to the moment it left (messages stored after
   * `leftAtMs` stay unread even when `$disconnect` runs late; a standing `markUnread` of the user is
   * kept instead); returns its user and what changed,
   * or null when the socket was not there.
   */
  disconnect(room: string, connectionId: string, leftAtMs?: number): Promise<Departure | null>;
  /** Forgets a socket that API Gateway reported gone (410), without touching read state. */
  dropConnection(room: string, connectionId: string): Promise<Departure | null>;
  /** The room and user of a connection, while its record lives. */
  connectionHome(connectionId: string): Promise<ConnectionHome | null>;
  /**
   * Live connections of a room; expired records are pruned on the way, and users whose last
   * connection expired are pushed onto `departed` (when given), each once.
   */
  connections(room: string, departed?: Departure[]): Promise<ConnectionRecord[]>;
  /** Users online in the room, each once; prunes expired connections like `connections`. */
  presence(room: string, departed?: Departure[]): Promise<OnlineUser[]>;
  /**
   * One page of the read marks of the room's members (users with none yet are left out): at most
   * `limit`, with bounded work per page whatever the room size. Paging from no `after` through
   * each `next` to null visits every member who had a mark throughout once (a member whose mark
   * appeared or went meanwhile may be missed, as with Redis SCAN).
   */
  readMarks(room: string, query: ReadMarksQuery): Promise<ReadMarksPage>;
  /**
   * Claims the user's ephemeral slot in the room for `intervalMs` (SET NX PX): a second claim
   * inside the interval fails. Separate from the message rate limit.
   */
  claimEphemeral(room: string, userId: string, intervalMs: number): Promise<EphemeralClaim>;
  /** The user's live connections in every room (their own index, outside any room's slot). */
  userConnections(userId: string): Promise<UserConnection[]>;
  /**
   * Stores a message, increments unread for every other member, marks it read for the sender.
   * Its `mentions` are cleaned (`mentionMembersOnly`) and counted for each mentioned user but the
   * sender in the same step; the stored message carries the kept ones, or none when none remain.
   * With an idempotency key, a second call returns the first message instead of storing again.
   * With a rate limit, a sender (or the backend) over `limit` messages per window in this room is
   * refused (`RateLimitedError` with `retryAfter`, the seconds left in the window) and nothing is
   * stored. A duplicate is answered before the rate limit is counted. A sender (`senderId`) muted
   * or banned in the room is refused (`RestrictedError`, after the duplicate check, before the
   * rate limit) and nothing is stored; the backend (no sender) never is.
   * A reply (`parentId`) whose root is no message of the room's log, or is a reply, is refused
   * (`BadRequestError`) before the rate limit is counted; a stored reply updates its root's
   * summary (answered as `replies`).
   */
  append(message: NewMessage, options?: AppendOptions): Promise<AppendResult>;
  /**
   * The message an `append` with this idempotency key stored, while its record lasts, or null: a
   * retry answered before anything else is asked (the moderation hook) about it.
   */
  recall(room: string, idempotencyKey: string): Promise<ChatMessage | null>;
  /** Undoes `append` when the message could not be published. */
  retract(message: ChatMessage, idempotencyKey?: string): Promise<void>;
  /** All messages (or those after `sinceId`); marks them read for the reader. */
  read(room: string, userId: string, sinceId?: string): Promise<ReadResult>;
  /**
   * The newest `limit` messages between `after` and `before` (both exclusive), oldest first, the
   * reader's last seen id before this call, and whether more match; with `markRead`, marks the
   * room read up to its newest message like `read`. Bounded reads, so an answer can be paged.
   */
  page(room: string, userId: string, query: PageQuery): Promise<PageResult>;
  /** The latest `limit` messages, oldest first, and the reader's unread and mention counts. */
  latest(room: string, userId: string, limit: number): Promise<RoomSummary>;
  /**
   * Moves the reader's read mark to just before message `id`: their unread count becomes the
   * others' messages from `id` on, their mentions those among them, and their last read message
   * the one before `id`. Null (nothing changed) when `id` is no message of the room's log.
   */
  markUnread(room: string, userId: string, id: string): Promise<MarkedUnread | null>;
  unread(room: string, userId: string): Promise<number>;
  isMember(room: string, userId: string): Promise<boolean>;
  members(room: string): Promise<string[]>;
  addMembers(room: string, userIds: readonly string[]): Promise<void>;
  /**
   * Removes members and returns their live connections, which are forgotten too; the users who so
   * went offline are pushed onto `departed` (when given).
   */
  removeMembers(
    room: string,
    userIds: readonly string[],
    departed?: Departure[],
  ): Promise<ConnectionRecord[]>;
  /** Keeps a connect ticket until it is taken or `ttlSeconds` pass; keyed by its hash, never the ticket. */
  saveTicket(ticketHash: string, grant: TicketGrant, ttlSeconds: number): Promise<void>;
  /** Reads and deletes a ticket in one step, so a ticket connects once. */
  takeTicket(ticketHash: string): Promise<TicketGrant | null>;
  /** Caches the identity of a token (by its hash) so the profile endpoint is asked once per `ttlSeconds`. */
  cacheIdentity(tokenHash: string, identity: Identity, ttlSeconds: number): Promise<void>;
  /** The cached identity of a token hash, while it lives. */
  cachedIdentity(tokenHash: string): Promise<Identity | null>;
  /**
   * Counts a message (or, with `kind` `injection`, a `POST /talk/item` injection, in a counter of
   * its own) of a user across rooms in a fixed window that starts with the first one (the per-room
   * limit is part of `append`); returns the count so far and the window's rest.
   */
  countUserMessage(
    userId: string,
    windowSeconds: number,
    kind?: 'message' | 'injection',
  ): Promise<WindowCount>;
  /**
   * Counts a failed fan-out of a message and returns the failures so far; the count is kept
   * `ttlSeconds` after the latest failure, long enough for every redelivery.
   */
  countFanoutFailure(room: string, messageId: string, ttlSeconds: number): Promise<number>;
  /**
   * Keeps a fan-out note of a room (a requeued message's remaining targets, what a slice served)
   * under `name` for `ttlSeconds`, replacing an older one.
   */
  saveFanoutNote(room: string, name: string, value: string, ttlSeconds: number): Promise<void>;
  /** The fan-out notes of a room by name, in order; `null` for one that is absent or expired. */
  fanoutNotes(room: string, names: readonly string[]): Promise<(string | null)[]>;
  /** Drops fan-out notes of a room that are no longer needed (absent ones are no error). */
  dropFanoutNotes(room: string, names: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** How long an idempotency key is remembered. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
