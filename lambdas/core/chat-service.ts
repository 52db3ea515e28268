import {
  type ChatMessage,
  type OldMessages,
  type RoomHistory,
  type SendFrame,
  withoutServerFields,
} from '../../protocol/index.js';
import type { Authenticator } from './auth.js';
import type { ChatBus } from './bus/chat-bus.js';
import { callerKey, checkIdempotencyKey } from './caller-keys.js';
import type { ChatConfig } from './config.js';
import type { ConnectionSender } from './connections.js';
import { BadRequestError, ForbiddenError, RateLimitedError } from './errors.js';
import { HistoryReads, type OldQuery } from './history-reads.js';
import { countUserInjection } from './injection-limit.js';
import { logger } from './logger.js';
import { metrics } from './metrics.js';
import type { ModerationGate } from './moderation-gate.js';
import { type Identity, type NewMessage, parseJson } from './protocol.js';
import { assertConnectAllowed, foldingOf, SignalPublisher } from './signals.js';
import { showMessage } from './store/change-store.js';
import type { AppendOptions, ChatStore, ConnectOptions, Departure } from './store/chat-store.js';
import { announceReplies, checkParentId } from './threads-service.js';

/** Who manages membership: a list of user ids, or Hipochat's list of user tokens. */
export interface MemberList {
  members?: string[];
  tokens?: string[];
}

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
    readonly moderation: ModerationGate,
    private readonly sender?: ConnectionSender,
  ) {
    this.announce = new SignalPublisher(bus, store.signals, foldingOf(config), config.profileIdField);
    this.reads = new HistoryReads(config, store, this.announce);
  }

  private readonly reads: HistoryReads;

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

  /** {@link ChatService.assertAllowed}, and refuses a user banned from the room (connect, subscribe, read). */
  async assertReader(room: string, userId: string, what: string): Promise<void> {
    await Promise.all([
      this.assertAllowed(room, userId),
      this.moderation.assertNotBanned(room, userId, what),
    ]);
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
    const idempotencyKey = frame.clientId ? callerKey('c', identity.userId, frame.clientId) : undefined;
    const earlier = await this.resent(room, idempotencyKey);
    if (earlier) return earlier;
    const type = frame.type ?? this.config.regularType;
    const body = await this.moderation.screenFrame(room, identity, type, frame);
    const message: NewMessage = {
      ...withoutServerFields(frame.fields),
      type,
      room,
      token: room,
      timestamp: Date.now() / 1000,
      body,
      author: identity.profile,
      senderId: identity.userId,
      ...(frame.clientId === undefined ? {} : { clientId: frame.clientId }),
      ...(frame.mentions ? { mentions: frame.mentions } : {}),
      ...(frame.parentId === undefined ? {} : { parentId: frame.parentId }),
    };
    await this.countAcrossRooms(identity.userId);
    return this.accept(message, {
      idempotencyKey,
      rateLimit: { limit: this.config.rateLimitPerMinute, windowSeconds: 60 },
      mentionMembersOnly: this.isClosed(room),
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
   * `POST /talk/item/{room}/?type=T[&mentions=…][&parentId=<root id>]`: a backend (or a user)
   * injects a JSON body into the room (a reply in the thread of `parentId`).
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
    extras: { mentions?: string[]; parentId?: string } = {},
  ): Promise<ChatMessage> {
    const kind = type ?? this.config.regularType;
    checkParentId(extras.parentId);
    if (!this.config.messageTypes.includes(kind)) {
      throw new BadRequestError(`type must be one of: ${this.config.messageTypes.join(', ')}`);
    }
    checkIdempotencyKey(idempotencyKey);
    if (identity) await this.assertAllowed(room, identity.userId);
    const sent = parseJson(bodyText, this.config.maxMessageBytes, 'body', this.config.maxBodyDepth);
    const key = idempotencyKey ? callerKey('i', identity?.userId ?? null, idempotencyKey) : undefined;
    // Backend calls skip the hook, and their append answers a retry.
    const earlier = identity ? await this.resent(room, key) : null;
    if (earlier) return earlier;
    const body = identity
      ? await this.moderation.screen('item', room, identity, { type: kind, body: sent })
      : sent;
    const message: NewMessage = {
      type: kind,
      room,
      token: room,
      timestamp: Date.now() / 1000,
      body,
      author: identity?.profile ?? null,
      ...(identity ? { senderId: identity.userId } : {}),
      ...(extras.mentions?.length ? { mentions: extras.mentions } : {}),
      ...(extras.parentId === undefined ? {} : { parentId: extras.parentId }),
    };
    const backendLimit = this.config.backendRateLimitPerMinute;
    if (identity) await this.countAcrossRooms(identity.userId);
    if (identity) await countUserInjection(this.store, this.config, identity.userId);
    return this.accept(message, {
      idempotencyKey: key,
      rateLimit: identity
        ? { limit: this.config.rateLimitPerMinute, windowSeconds: 60 }
        : backendLimit > 0
          ? { limit: backendLimit, windowSeconds: 60 }
          : undefined,
      mentionMembersOnly: this.isClosed(room),
    });
  }

  /**
   * A retry (the same clientId or Idempotency-Key) answered from the stored message before the
   * moderation hook is asked: asking again could reject or replace what was already accepted and
   * delivered. Without a hook the append answers retries, at no extra store call.
   */
  private async resent(room: string, idempotencyKey: string | undefined): Promise<ChatMessage | null> {
    if (!idempotencyKey || !this.moderation.asksHook) return null;
    const earlier = await this.store.recall(room, idempotencyKey);
    return earlier ? this.currentOf(earlier) : null;
  }

  /** A retry after an edit or delete answers the current version, never the old body. */
  private async currentOf(stored: ChatMessage): Promise<ChatMessage> {
    const { version } = await this.store.changes.current(stored.room, stored.id);
    return version ? showMessage(stored.id, version) : stored;
  }

  private async accept(message: NewMessage, options: AppendOptions): Promise<ChatMessage> {
    const {
      message: stored,
      duplicate,
      replies,
    } = await this.store.append(message, options).catch((error: unknown) => {
      throw this.moderation.refused(error, message.room, message.senderId, 'send');
    });
    // A retry answered from its idempotency record gets the stored message and publishes nothing:
    // publishing again would deliver and push it twice. The first request did publish it, since a
    // failed publish retracts the message and its idempotency record (below), so a retry after a
    // failed publish is stored and published anew, not a duplicate.
    if (duplicate) return this.currentOf(stored);
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
    await announceReplies(this.announce, stored, replies);
    return stored;
  }

  /**
   * `GET /talk/old/{room}/`: the newest messages that fit the answer budget, split at the reader's
   * last visit ({@link HistoryReads.old}).
   */
  async old(room: string, identity: Identity, query: OldQuery = {}): Promise<OldMessages> {
    this.reads.checkOld(query);
    await this.assertReader(room, identity.userId, 'history');
    return this.reads.old(room, identity, query);
  }

  /**
   * `GET /talk/history/{rooms}/?limit=N`: the latest N messages and unread counts per room
   * ({@link HistoryReads.history}).
   */
  async history(rooms: readonly string[], identity: Identity, limit: number): Promise<RoomHistory[]> {
    this.reads.checkHistory(rooms, limit);
    await Promise.all(rooms.map((room) => this.assertReader(room, identity.userId, 'history')));
    return this.reads.history(rooms, identity, limit);
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
    await this.assertReader(room, identity.userId, 'connect');
    return this.auth.issueTicket(room, identity);
  }
}
