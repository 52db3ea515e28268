import {
  type ChatMessage,
  compareIds,
  MESSAGE_ID_PATTERN,
  type OldMessages,
  type RoomHistory,
  type SendFrame,
  withoutServerFields,
} from '../../protocol/index.js';
import {
  AnswerBudget,
  answerBytes,
  type FittedPage,
  newestThatFit,
  type PageReader,
} from './answer-budget.js';
import type { Authenticator } from './auth.js';
import type { ChatBus } from './bus/chat-bus.js';
import { callerKey, checkIdempotencyKey } from './caller-keys.js';
import type { ChatConfig } from './config.js';
import type { ConnectionSender } from './connections.js';
import { BadRequestError, ForbiddenError, RateLimitedError } from './errors.js';
import { countUserInjection } from './injection-limit.js';
import { logger } from './logger.js';
import { metrics } from './metrics.js';
import { type Identity, type NewMessage, parseJson } from './protocol.js';
import { assertConnectAllowed, foldingOf, SignalPublisher } from './signals.js';
import { showMessage } from './store/change-store.js';
import type { AppendOptions, ChatStore, ConnectOptions, Departure } from './store/chat-store.js';

/** Which page of a room `old` answers; every part is optional. */
export interface OldQuery {
  /** Only messages newer than this id (the catch-up after a reconnect). */
  since?: string;
  /** Only messages older than this id (the page before the oldest one a client holds). */
  before?: string;
  /** At most this many messages, 1 to `HIPOCHAT_HISTORY_LIMIT`; without it, as many as fit. */
  limit?: number;
  /**
   * Whether a page without `before` marks the room read (`?mark=0`: no, for a client whose reader
   * is not looking). @default true
   */
  markRead?: boolean;
}

/** Who manages membership: a list of user ids, or Hipochat's list of user tokens. */
export interface MemberList {
  members?: string[];
  tokens?: string[];
}

const MAX_ROOMS_PER_HISTORY = 50;
// Bytes kept for an answer's keys and `page` (and per room of a history answer): far more than they take.
const ANSWER_ENVELOPE_BYTES = 1024;
// Messages of the first store read of /talk/old (most rooms fit in one) and of each /talk/history room.
const FIRST_READ_OLD = 250;
const FIRST_READ_HISTORY = 20;
const MAX_MEMBERS_PER_CALL = 1000;

/**
 * The chat: rooms, messages, read state and membership. Handlers call it; it never sees an API
 * Gateway event. Every write is validate → one store call → one confirmed publish.
 */
export class ChatService {
  constructor(
    private readonly config: ChatConfig,
    private readonly store: ChatStore,
    private readonly bus: ChatBus,
    readonly auth: Authenticator,
    private readonly sender?: ConnectionSender,
  ) {
    this.announce = new SignalPublisher(bus, store.signals, foldingOf(config), config.profileIdField);
  }

  /** Presence and read frames for the room's signals connections. */
  readonly announce: SignalPublisher;

  /** Whether `HIPOCHAT_CLOSED_ROOMS` closes this room to non-members. */
  isClosed(room: string): boolean {
    return this.config.closedRooms.some((pattern) =>
      pattern.endsWith('*') ? room.startsWith(pattern.slice(0, -1)) : pattern === room,
    );
  }

  /** @throws ForbiddenError when the room is closed and the user is not a member */
  async assertAllowed(room: string, userId: string): Promise<void> {
    if (this.isClosed(room) && !(await this.store.isMember(room, userId))) {
      throw new ForbiddenError('room is closed to non-members');
    }
  }

  /**
   * Counts a new socket of the user against `HIPOCHAT_CONNECT_LIMIT_PER_MINUTE`: once per
   * connection, whatever number of rooms it follows, so a connect and close loop cannot flood
   * rooms with presence.
   *
   * @throws RateLimitedError past the limit (429, with the seconds to wait)
   */
  async admitConnection(userId: string): Promise<void> {
    await assertConnectAllowed(this.store.signals, userId, this.config.connectLimitPerMinute);
  }

  /** Identity behind a connect: a single-use ticket or a token. */
  async identify(room: string, credentials: { token?: string; ticket?: string }): Promise<Identity> {
    if (credentials.ticket) return this.auth.redeemTicket(credentials.ticket, room);
    return this.auth.authenticate(credentials.token);
  }

  /**
   * A socket joined: the user becomes a member and their unread count resets; a first one is a join.
   * The connect limit is the caller's ({@link ChatService.admitConnection}), once per connection.
   */
  async join(
    room: string,
    identity: Identity,
    connectionId: string,
    options: ConnectOptions = {},
  ): Promise<void> {
    await this.assertAllowed(room, identity.userId);
    const ttl = this.config.connectionTtlSeconds;
    const [arrival] = await Promise.all([
      this.store.connect(room, connectionId, identity, ttl, options),
      // The user's rooms across the store, for live unread counts.
      this.store.followers.addUserRoom(room, [identity.userId]),
    ]);
    await this.announce.arrived(room, identity, arrival, options.signals === true);
  }

  /** A socket left at `leftAtMs`: everything before counts as read for its user; a last one is a leave. */
  async leave(room: string | undefined, connectionId: string, leftAtMs?: number): Promise<void> {
    const home = room ?? (await this.store.connectionHome(connectionId))?.room;
    if (home) await this.announce.departed(home, [await this.store.disconnect(home, connectionId, leftAtMs)]);
  }

  /** The room and identity of a connection, when the authorizer context is missing. */
  async connectionHome(connectionId: string) {
    return this.store.connectionHome(connectionId);
  }

  /**
   * A message frame from a member, as the wire's parser typed it. Returns the stored message; it
   * reaches every connection of the room, the sender's included, through the fan-out. The message
   * is the frame's own fields, none of them the server's, plus the server's.
   */
  async send(room: string, identity: Identity, frame: SendFrame): Promise<ChatMessage> {
    // A socket keeps the identity it connected with; a member removed while closing their socket
    // failed must not post on. One SISMEMBER, for closed rooms only.
    await this.assertAllowed(room, identity.userId);
    const message: NewMessage = {
      ...withoutServerFields(frame.fields),
      type: frame.type ?? this.config.regularType,
      room,
      token: room,
      timestamp: Date.now() / 1000,
      body: frame.body,
      author: identity.profile,
      senderId: identity.userId,
      ...(frame.clientId === undefined ? {} : { clientId: frame.clientId }),
    };
    await this.countAcrossRooms(identity.userId);
    return this.accept(message, {
      idempotencyKey: frame.clientId ? callerKey('c', identity.userId, frame.clientId) : undefined,
      rateLimit: { limit: this.config.rateLimitPerMinute, windowSeconds: 60 },
    });
  }

  /**
   * Counts a user's message (or edit, delete, reaction) against `HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE`
   * across rooms, when set.
   *
   * @throws RateLimitedError when the user is over it
   */
  async countAcrossRooms(userId: string): Promise<void> {
    const limit = this.config.userRateLimitPerMinute;
    if (limit <= 0) return;
    const { count, ttlSeconds } = await this.store.countUserMessage(userId, 60);
    if (count > limit) {
      throw new RateLimitedError(`rate limit exceeded: ${limit} messages per minute across rooms`, {
        retryAfter: ttlSeconds,
      });
    }
  }

  /**
   * `POST /talk/item/{room}/?type=T`: a backend (or a user) injects a JSON body into the room.
   * `identity` is null for the service key. A user's injections share the budget of their frames
   * (per room, and across rooms when set) and have their own across rooms; the backend has its own per room,
   * `HIPOCHAT_BACKEND_RATE_LIMIT_PER_MINUTE` (off by default). An `idempotencyKey` is the
   * caller's own: a user's key never answers the backend's request or another user's.
   */
  async inject(
    room: string,
    identity: Identity | null,
    type: string | undefined,
    bodyText: string | undefined,
    idempotencyKey?: string,
  ): Promise<ChatMessage> {
    const kind = type ?? this.config.regularType;
    if (!this.config.messageTypes.includes(kind)) {
      throw new BadRequestError(`type must be one of: ${this.config.messageTypes.join(', ')}`);
    }
    checkIdempotencyKey(idempotencyKey);
    if (identity) await this.assertAllowed(room, identity.userId);
    const body = parseJson(bodyText, this.config.maxMessageBytes, 'body', this.config.maxBodyDepth);
    const message: NewMessage = {
      type: kind,
      room,
      token: room,
      timestamp: Date.now() / 1000,
      body,
      author: identity?.profile ?? null,
      ...(identity ? { senderId: identity.userId } : {}),
    };
    const backendLimit = this.config.backendRateLimitPerMinute;
    if (identity) await this.countAcrossRooms(identity.userId);
    if (identity) await countUserInjection(this.store, this.config, identity.userId);
    return this.accept(message, {
      idempotencyKey: idempotencyKey ? callerKey('i', identity?.userId ?? null, idempotencyKey) : undefined,
      rateLimit: identity
        ? { limit: this.config.rateLimitPerMinute, windowSeconds: 60 }
        : backendLimit > 0
          ? { limit: backendLimit, windowSeconds: 60 }
          : undefined,
    });
  }

  private async accept(message: NewMessage, options: AppendOptions): Promise<ChatMessage> {
    const { message: stored, duplicate } = await this.store.append(message, options);
    // A retry answered from its idempotency record gets the stored message and publishes nothing:
    // publishing again would deliver and push it twice. The first request did publish it, since a
    // failed publish retracts the message and its idempotency record (below), so a retry after a
    // failed publish is stored and published anew, not a duplicate.
    if (duplicate) {
      // A retry after an edit or delete answers the current version, never the old body.
      const { version } = await this.store.changes.current(stored.room, stored.id);
      return version ? showMessage(stored.id, version) : stored;
    }
    try {
      await this.bus.publish(stored);
    } catch (error) {
      await this.store.retract(stored, options.idempotencyKey).catch((cause: unknown) => {
        logger.error('could not retract an unpublished message', {
          room: stored.room,
          id: stored.id,
          error: cause,
        });
      });
      throw error;
    }
    // A duplicate was accepted (and counted) the first time.
    if (!duplicate) metrics.count('MessagesAccepted');
    return stored;
  }

  /**
   * `GET /talk/old/{room}/`: the newest messages (at most `limit`, older than `before`, newer than
   * `since`) that fit the answer budget, split at the reader's last visit, and where the page
   * stops. A page without `before` reaches the newest message and marks the room read (unless
   * `markRead` is false); an earlier page (`before`) leaves read state alone.
   */
  async old(room: string, identity: Identity, query: OldQuery = {}): Promise<OldMessages> {
    const { since, before, limit, markRead: marking = true } = query;
    for (const [name, id] of [
      ['since', since],
      ['before', before],
    ] as const) {
      if (id !== undefined && !MESSAGE_ID_PATTERN.test(id)) {
        throw new BadRequestError(`${name} must be a message id such as 1700000000000-0`);
      }
    }
    if (limit !== undefined) this.assertLimit(limit);
    await this.assertAllowed(room, identity.userId);
    let lastSeenId: string | null = null;
    let first = true;
    const read: PageReader = async (page) => {
      const markRead = first && before === undefined && marking;
      const result = await this.store.page(room, identity.userId, {
        limit: page.limit,
        before: page.before ?? before,
        after: since,
        markRead,
      });
      if (first) lastSeenId = result.lastSeenId;
      first = false;
      await this.announce.read(room, identity.userId, identity.profile, result.readMark);
      return result;
    };
    const [{ messages, more }] = (await newestThatFit([read], {
      limit: limit ?? Number.POSITIVE_INFINITY,
      budget: new AnswerBudget(ANSWER_ENVELOPE_BYTES),
      // Every message is in the answer twice: in `oldy` and in one of `results`.
      cost: (message) => 2 * (answerBytes(message) + 1),
      firstRead: Math.min(limit ?? FIRST_READ_OLD, FIRST_READ_OLD),
    })) as [FittedPage];
    const seen: string | null = lastSeenId;
    const split = seen === null ? 0 : messages.findIndex((m) => compareIds(m.id, seen) > 0);
    const cut = split < 0 ? messages.length : split;
    return {
      oldy: messages,
      results: { read_messages: messages.slice(0, cut), unread_messages: messages.slice(cut) },
      page: { more, before: messages[0]?.id ?? null },
    };
  }

  /**
   * `GET /talk/history/{rooms}/?limit=N`: the latest N messages and unread count per room, within
   * one answer budget for all rooms: when they do not fit, each room loses its oldest first and
   * says `more`.
   */
  async history(rooms: readonly string[], identity: Identity, limit: number): Promise<RoomHistory[]> {
    if (rooms.length > MAX_ROOMS_PER_HISTORY)
      throw new BadRequestError(`at most ${MAX_ROOMS_PER_HISTORY} rooms`);
    this.assertLimit(limit);
    await Promise.all(rooms.map((room) => this.assertAllowed(room, identity.userId)));
    const unread = new Map<string, number>();
    const readers = rooms.map((room) => this.historyReader(room, identity.userId, unread));
    const pages = await newestThatFit(readers, {
      limit,
      budget: new AnswerBudget(ANSWER_ENVELOPE_BYTES * (rooms.length + 1)),
      cost: (message) => answerBytes(message) + 1,
      firstRead: Math.min(limit, FIRST_READ_HISTORY),
    });
    return rooms.map((room, index) => {
      const { messages, more } = pages[index]!;
      return {
        room_name: room,
        unread_count: unread.get(room) ?? 0,
        messages,
        page: { more, before: messages[0]?.id ?? null },
      };
    });
  }

  /** Reads a room's pages for `history`; the first read also puts its unread count in `unread`. */
  private historyReader(room: string, userId: string, unread: Map<string, number>): PageReader {
    return async (page) => {
      if (page.before !== undefined) return this.store.page(room, userId, page);
      // One more than asked tells whether more exist, in the call that brings the unread count.
      const summary = await this.store.latest(room, userId, page.limit + 1);
      unread.set(room, summary.unread);
      const more = summary.messages.length > page.limit;
      return { messages: more ? summary.messages.slice(1) : summary.messages, more };
    };
  }

  /** @throws BadRequestError unless `limit` is an integer from 1 to `HIPOCHAT_HISTORY_LIMIT` */
  private assertLimit(limit: number): void {
    if (!Number.isInteger(limit) || limit < 1 || limit > this.config.historyLimit) {
      throw new BadRequestError(`limit must be an integer from 1 to ${this.config.historyLimit}`);
    }
  }

  /** `GET /talk/notification/{room}/`: the reader's unread count. */
  async notification(room: string, identity: Identity): Promise<number> {
    await this.assertAllowed(room, identity.userId);
    return this.store.unread(room, identity.userId);
  }

  private async userIds(list: MemberList): Promise<string[]> {
    const members = list.members ?? [];
    const tokens = list.tokens ?? [];
    if (members.length + tokens.length === 0)
      throw new BadRequestError('members (user ids) or tokens are required');
    if (members.length + tokens.length > MAX_MEMBERS_PER_CALL) {
      throw new BadRequestError(`at most ${MAX_MEMBERS_PER_CALL} members per call`);
    }
    if (members.some((id) => typeof id !== 'string' || id.length === 0 || id.length > 256)) {
      throw new BadRequestError('members must be non-empty strings');
    }
    const resolved = await Promise.all(
      tokens.map(async (token) => (await this.auth.authenticate(token)).userId),
    );
    return [...new Set([...members, ...resolved])];
  }

  /** `POST /talk/new-chat-room/{room}/`: adds members. */
  async addMembers(room: string, list: MemberList): Promise<{ room: string; added: string[] }> {
    const ids = await this.userIds(list);
    await this.store.addMembers(room, ids);
    await this.store.followers.addUserRoom(room, ids);
    return { room, added: ids };
  }

  /** `POST /talk/unsubscribe/{room}/`: removes members and closes their sockets in the room. */
  async removeMembers(
    room: string,
    list: MemberList,
  ): Promise<{ room: string; removed: string[]; disconnected: number }> {
    const ids = await this.userIds(list);
    const departed: Departure[] = [];
    const connections = await this.store.removeMembers(room, ids, departed);
    await this.store.followers.removeUserRoom(room, ids);
    await this.announce.departed(room, departed);
    const sender = this.sender;
    if (sender) {
      await Promise.all(
        connections.map((c) =>
          sender.disconnect(c.connectionId).catch((error: unknown) => {
            logger.warn('could not close an unsubscribed connection', { room, error });
          }),
        ),
      );
    }
    return { room, removed: ids, disconnected: connections.length };
  }

  /** `POST /talk/ticket/{room}/`: a single-use connect ticket so tokens stay out of URLs. */
  async ticket(room: string, identity: Identity): Promise<{ ticket: string; expiresIn: number }> {
    await this.assertAllowed(room, identity.userId);
    return this.auth.issueTicket(room, identity);
  }
}
