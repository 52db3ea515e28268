import { timingSafeEqual } from 'node:crypto';
import {
  type ChatMessage,
  compareIds,
  MESSAGE_ID_PATTERN,
  type OldMessages,
  type RoomHistory,
} from '../../protocol/index.js';
import type { Authenticator } from './auth.js';
import type { ChatBus } from './bus/chat-bus.js';
import type { ChatConfig } from './config.js';
import type { ConnectionSender } from './connections.js';
import { BadRequestError, ForbiddenError, RateLimitedError } from './errors.js';
import { logger } from './logger.js';
import { type Identity, type NewMessage, parseClientFrame, parseJson } from './protocol.js';
import type { AppendOptions, ChatStore, ConnectOptions } from './store/chat-store.js';

/** Who manages membership: a list of user ids, or Hipochat's list of user tokens. */
export interface MemberList {
  members?: string[];
  tokens?: string[];
}

// Fields a client may not set: the server owns them.
const SERVER_FIELDS = new Set([
  'id',
  'room',
  'token',
  'timestamp',
  'author',
  'senderId',
  'type',
  'body',
  'message',
]);
const MAX_ROOMS_PER_HISTORY = 50;
const MAX_MEMBERS_PER_CALL = 1000;

/** Compares secrets in constant time. */
function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

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
  ) {}

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

  /** Identity behind a connect: a single-use ticket or a token. */
  async identify(room: string, credentials: { token?: string; ticket?: string }): Promise<Identity> {
    if (credentials.ticket) return this.auth.redeemTicket(credentials.ticket, room);
    return this.auth.authenticate(credentials.token);
  }

  /** A socket joined: the user becomes a member and their unread count resets. */
  async join(
    room: string,
    identity: Identity,
    connectionId: string,
    options: ConnectOptions = {},
  ): Promise<void> {
    await this.assertAllowed(room, identity.userId);
    await this.store.connect(room, connectionId, identity, this.config.connectionTtlSeconds, options);
  }

  /** A socket left at `leftAtMs`: everything before counts as read for its user. */
  async leave(room: string | undefined, connectionId: string, leftAtMs?: number): Promise<void> {
    const home = room ?? (await this.store.connectionHome(connectionId))?.room;
    if (home) await this.store.disconnect(home, connectionId, leftAtMs);
  }

  /** The room and identity of a connection, when the authorizer context is missing. */
  async connectionHome(connectionId: string) {
    return this.store.connectionHome(connectionId);
  }

  /**
   * A websocket frame from a member. Returns the stored message; it reaches every connection of
   * the room, the sender's included, through the fan-out.
   */
  async send(room: string, identity: Identity, frameText: string | undefined): Promise<ChatMessage> {
    const frame = parseClientFrame(frameText, this.config.maxMessageBytes, this.config.messageTypes);
    const extra: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(frame)) {
      if (!SERVER_FIELDS.has(key)) extra[key] = value;
    }
    const message: NewMessage = {
      ...extra,
      type: frame.type ?? this.config.regularType,
      room,
      token: room,
      timestamp: Date.now() / 1000,
      body: frame.body,
      author: identity.profile,
      senderId: identity.userId,
    };
    const limit = this.config.userRateLimitPerMinute;
    if (limit > 0 && (await this.store.countUserMessage(identity.userId, 60)) > limit) {
      throw new RateLimitedError(`rate limit exceeded: ${limit} messages per minute across rooms`);
    }
    return this.accept(message, {
      idempotencyKey: frame.clientId ? `c:${identity.userId}:${frame.clientId}` : undefined,
      rateLimit: { limit: this.config.rateLimitPerMinute, windowSeconds: 60 },
    });
  }

  /**
   * `POST /talk/item/{room}/?type=T`: a backend (or a user) injects a JSON body into the room.
   * `identity` is null for the service key.
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
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,128}$/.test(idempotencyKey)) {
      throw new BadRequestError('Idempotency-Key must be 1-128 printable characters');
    }
    if (identity) await this.assertAllowed(room, identity.userId);
    const body = parseJson(bodyText, this.config.maxMessageBytes);
    const message: NewMessage = {
      type: kind,
      room,
      token: room,
      timestamp: Date.now() / 1000,
      body,
      author: identity?.profile ?? null,
      ...(identity ? { senderId: identity.userId } : {}),
    };
    return this.accept(message, { idempotencyKey: idempotencyKey ? `i:${idempotencyKey}` : undefined });
  }

  private async accept(message: NewMessage, options: AppendOptions): Promise<ChatMessage> {
    const { message: stored, duplicate } = await this.store.append(message, options);
    try {
      // A retried request publishes again: the first publish may be the one that failed.
      await this.bus.publish(stored);
    } catch (error) {
      if (!duplicate) {
        await this.store.retract(stored, options.idempotencyKey).catch((cause: unknown) => {
          logger.error('could not retract an unpublished message', {
            room: stored.room,
            id: stored.id,
            error: cause,
          });
        });
      }
      throw error;
    }
    return stored;
  }

  /** `GET /talk/old/{room}/`: all messages split at the reader's last visit; marks them read. */
  async old(room: string, identity: Identity, sinceId?: string): Promise<OldMessages> {
    if (sinceId !== undefined && !MESSAGE_ID_PATTERN.test(sinceId)) {
      throw new BadRequestError('since must be a message id such as 1700000000000-0');
    }
    await this.assertAllowed(room, identity.userId);
    const { messages, lastSeenId } = await this.store.read(room, identity.userId, sinceId);
    const split = lastSeenId === null ? 0 : messages.findIndex((m) => compareIds(m.id, lastSeenId) > 0);
    const cut = split < 0 ? messages.length : split;
    return {
      oldy: messages,
      results: { read_messages: messages.slice(0, cut), unread_messages: messages.slice(cut) },
    };
  }

  /** `GET /talk/history/{rooms}/?limit=N`: the latest N messages and unread count per room. */
  async history(rooms: readonly string[], identity: Identity, limit: number): Promise<RoomHistory[]> {
    if (rooms.length > MAX_ROOMS_PER_HISTORY)
      throw new BadRequestError(`at most ${MAX_ROOMS_PER_HISTORY} rooms`);
    if (!Number.isInteger(limit) || limit < 1 || limit > this.config.historyLimit) {
      throw new BadRequestError(`limit must be an integer from 1 to ${this.config.historyLimit}`);
    }
    return Promise.all(
      rooms.map(async (room) => {
        await this.assertAllowed(room, identity.userId);
        const { messages, unread } = await this.store.latest(room, identity.userId, limit);
        return { room_name: room, unread_count: unread, messages };
      }),
    );
  }

  /** `GET /talk/notification/{room}/`: the reader's unread count. */
  async notification(room: string, identity: Identity): Promise<number> {
    await this.assertAllowed(room, identity.userId);
    return this.store.unread(room, identity.userId);
  }

  /** @throws ForbiddenError unless `bearer` is the configured service key */
  assertService(bearer: string | undefined): void {
    const key = this.config.serviceKey;
    if (!key) throw new ForbiddenError('membership management is disabled: HIPOCHAT_SERVICE_KEY is not set');
    if (!bearer || !sameSecret(bearer, key)) throw new ForbiddenError('service key required');
  }

  /** Whether `bearer` is the service key (backends inject without a user token). */
  isService(bearer: string | undefined): boolean {
    const key = this.config.serviceKey;
    return Boolean(key && bearer && sameSecret(bearer, key));
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
    return { room, added: ids };
  }

  /** `POST /talk/unsubscribe/{room}/`: removes members and closes their sockets in the room. */
  async removeMembers(
    room: string,
    list: MemberList,
  ): Promise<{ room: string; removed: string[]; disconnected: number }> {
    const ids = await this.userIds(list);
    const connections = await this.store.removeMembers(room, ids);
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
