/**
 * The backend's side of the HTTP API: injections (replies and mentions too), broadcasts,
 * moderation (edits, deletes, mutes, bans), membership and disconnects with the service key, plus
 * the user-scoped calls (presence, receipts, unread counts, history, threads, mark unread) a
 * backend makes with a user's token.
 */
import {
  type BroadcastAnswer,
  type ChatMessage,
  type HistoryAnswer,
  isValidRoom,
  MAX_BROADCAST_ROOMS,
  MAX_MENTIONS,
  MAX_THREADS_LIMIT,
  type MarkUnreadAnswer,
  MESSAGE_ID_PATTERN,
  type MembersAdded,
  type MembersRemoved,
  type ModerationAnswer,
  type NotificationAnswer,
  type PresenceAnswer,
  type ReceiptsAnswer,
  type RestrictionAnswer,
  type RestrictionKind,
  ROOM_NAME_RULE,
  type RoomHistory,
  type ThreadAnswer,
  type ThreadsAnswer,
  type UserDisconnected,
} from '../../../protocol/index.js';
import { InvalidArgumentError } from './errors.js';
import { type CallInit, call, type RequestContext, type RetryOptions } from './request.js';

/** Options of {@link HipochatServer}. */
export interface HipochatServerOptions {
  /** HTTP API base (prefix of `/talk/...`), e.g. `https://abc.execute-api.eu-west-1.amazonaws.com`. */
  httpUrl: string;
  /** The service key (`HIPOCHAT_SERVICE_KEY`), sent as `Authorization: Bearer <key>`. */
  serviceKey: string;
  /** Timeout of each attempt. @default 10000 */
  timeoutMs?: number;
  /** Retries on 429, 5xx and no answer. */
  retry?: RetryOptions;
  /** fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** A call that stores: the same `idempotencyKey` on a repeated call stores nothing twice. */
export interface StoreOptions {
  /** @default a fresh UUID per call, kept across its retries */
  idempotencyKey?: string;
}

/** Options of {@link HipochatServer.inject}: a reply, mentions, and the idempotency key. */
export interface InjectOptions extends StoreOptions {
  /** The thread root this message replies to (a message of the room that is not a reply). */
  parentId?: string;
  /**
   * Users to mention (at most {@link MAX_MENTIONS}, no commas); the server keeps members only in
   * closed rooms and drops the rest without an error.
   */
  mentions?: readonly string[];
}

/** A read made as a user (these routes answer a user's view of the room). */
export interface AsUser {
  /** The user's token, sent as `Authorization: Token <token>`. */
  token: string;
}

/**
 * The Hipochat backend client.
 *
 * @example
 * const hipochat = new HipochatServer({ httpUrl, serviceKey: process.env.HIPOCHAT_SERVICE_KEY! });
 * await hipochat.inject('lobby', 'notice', { text: 'maintenance at 18:00' });
 */
export class HipochatServer {
  private readonly context: RequestContext;

  constructor(private readonly options: HipochatServerOptions) {
    if (!options.serviceKey) throw new InvalidArgumentError('a service key is required');
    let base: URL;
    try {
      base = new URL(options.httpUrl);
    } catch (error) {
      throw new InvalidArgumentError(`invalid HTTP URL "${options.httpUrl}"`, { cause: error });
    }
    this.context = {
      base: base.toString().replace(/\/$/, ''),
      timeoutMs: options.timeoutMs ?? 10_000,
      retry: { maxRetries: 3, initialDelayMs: 250, maxDelayMs: 10_000, ...options.retry },
      fetch: options.fetch ?? globalThis.fetch,
    };
  }

  /**
   * Stores and publishes one message of `type` in `room` as the backend; with `parentId` it is a
   * reply in that thread, with `mentions` it counts for (and may push to) those users.
   *
   * @example
   * await hipochat.inject('support', 'message', 'a human will answer shortly', {
   *   parentId: '1700000000000-0',
   *   mentions: ['ann'],
   * });
   */
  async inject(room: string, type: string, body: unknown, options: InjectOptions = {}): Promise<ChatMessage> {
    const { parentId, mentions, ...store } = options;
    let query = `type=${encodeURIComponent(type)}`;
    if (parentId !== undefined) query += `&parentId=${messageId(parentId, 'parentId')}`;
    if (mentions !== undefined && mentions.length > 0) query += `&mentions=${mentionList(mentions)}`;
    return this.service({
      method: 'POST',
      path: `/talk/item/${roomPath(room)}/?${query}`,
      body,
      ...store,
    });
  }

  /** Stores and publishes one message in each room (at most {@link MAX_BROADCAST_ROOMS}). */
  async broadcast(
    rooms: readonly string[],
    type: string,
    body: unknown,
    options: StoreOptions = {},
  ): Promise<BroadcastAnswer> {
    if (rooms.length === 0) return refuse('name at least one room to broadcast to');
    if (rooms.length > MAX_BROADCAST_ROOMS) {
      return refuse(`too many rooms: ${rooms.length}, one broadcast takes at most ${MAX_BROADCAST_ROOMS}`);
    }
    for (const room of rooms) roomPath(room);
    // The rooms travel in the body: `,` is legal in a room name.
    return this.service({
      method: 'POST',
      path: `/talk/broadcast/?type=${encodeURIComponent(type)}`,
      body: { rooms, body },
      ...options,
    });
  }

  /** Closes every connection of a user in every room (after revoking their token, say). */
  async disconnectUser(userId: string): Promise<UserDisconnected> {
    if (!userId) return refuse('a user id is required');
    return this.service({ method: 'POST', path: `/talk/disconnect/${encodeURIComponent(userId)}/` });
  }

  /** Replaces the body of any message of `room`; resolves with the new version (404: no such message). */
  async editMessage(
    room: string,
    id: string,
    body: unknown,
    options: StoreOptions = {},
  ): Promise<ChatMessage> {
    if (!id) return refuse('a message id is required');
    return this.service({
      method: 'POST',
      path: `/talk/edit/${roomPath(room)}/`,
      body: { id, body },
      ...options,
    });
  }

  /** Deletes any message of `room`; resolves with the tombstone (404: no such message). */
  async deleteMessage(room: string, id: string, options: StoreOptions = {}): Promise<ChatMessage> {
    if (!id) return refuse('a message id is required');
    return this.service({
      method: 'POST',
      path: `/talk/delete/${roomPath(room)}/`,
      body: { id },
      ...options,
    });
  }

  /** Adds members to a room (making it closed to others). */
  async addMembers(room: string, members: readonly string[]): Promise<MembersAdded> {
    return this.service({
      method: 'POST',
      path: `/talk/new-chat-room/${roomPath(room)}/`,
      body: { members },
    });
  }

  /** Removes members from a room and closes their sockets there. */
  async removeMembers(room: string, members: readonly string[]): Promise<MembersRemoved> {
    return this.service({ method: 'POST', path: `/talk/unsubscribe/${roomPath(room)}/`, body: { members } });
  }

  /** Who is online in `room`, as `user` sees it. */
  async presence(room: string, user: AsUser): Promise<PresenceAnswer> {
    return this.asUser(user, `/talk/presence/${roomPath(room)}/`);
  }

  /** One page of read marks; pass the answer's `next` as `after` until it is null. */
  async receipts(room: string, user: AsUser & { limit?: number; after?: string }): Promise<ReceiptsAnswer> {
    const query = new URLSearchParams();
    if (user.limit !== undefined) query.set('limit', String(user.limit));
    if (user.after !== undefined) query.set('after', user.after);
    const search = query.toString();
    return this.asUser(user, `/talk/receipts/${roomPath(room)}/${search ? `?${search}` : ''}`);
  }

  /** Every page of read marks, one after the other. */
  async *receiptPages(room: string, user: AsUser & { limit?: number }): AsyncGenerator<ReceiptsAnswer> {
    let after: string | undefined;
    do {
      const page = await this.receipts(room, { ...user, ...(after === undefined ? {} : { after }) });
      yield page;
      after = page.next ?? undefined;
    } while (after !== undefined);
  }

  /** The user's unread count in `room`. */
  async notifications(room: string, user: AsUser): Promise<number> {
    const answer = await this.asUser<NotificationAnswer>(user, `/talk/notification/${roomPath(room)}/`);
    return answer.notification;
  }

  /** The latest `limit` messages and the user's unread count of each room. */
  async history(rooms: readonly string[], user: AsUser & { limit?: number }): Promise<RoomHistory[]> {
    const path = `/talk/history/${rooms.map(roomPath).join(',')}/?limit=${user.limit ?? 20}`;
    return (await this.asUser<HistoryAnswer>(user, path)).results;
  }

  /** The user's unread count and mentions of them in `room` (`mentions` absent on older servers). */
  async unreadCounts(room: string, user: AsUser): Promise<NotificationAnswer> {
    return this.asUser(user, `/talk/notification/${roomPath(room)}/`);
  }

  /**
   * A thread as `user` sees it: the root and one page of replies, oldest first; pass the answer's
   * `page.before` as `before` for older replies. Reading the newest page marks the thread read for
   * the user. Rejects with `NotFoundError` for an unknown root, `BadRequestError` for a reply.
   */
  async thread(
    room: string,
    rootId: string,
    user: AsUser & { limit?: number; before?: string },
  ): Promise<ThreadAnswer> {
    const query = new URLSearchParams();
    if (user.limit !== undefined) query.set('limit', String(positive(user.limit, 'limit')));
    if (user.before !== undefined) query.set('before', messageId(user.before, 'before'));
    const search = query.toString();
    const root = messageId(rootId, 'rootId');
    return this.asUser(user, `/talk/thread/${roomPath(room)}/${root}/${search ? `?${search}` : ''}`);
  }

  /**
   * The threads of `room`, latest activity first (at most `limit`, up to
   * {@link MAX_THREADS_LIMIT}), each with the replies `user` has not read.
   */
  async threads(room: string, user: AsUser & { limit?: number }): Promise<ThreadsAnswer> {
    const limit =
      user.limit === undefined ? '' : `?limit=${positive(user.limit, 'limit', MAX_THREADS_LIMIT)}`;
    return this.asUser(user, `/talk/threads/${roomPath(room)}/${limit}`);
  }

  /**
   * Marks `room` unread for `user` from message `id` on (their read mark moves to just before it);
   * resolves with their unread count from there.
   */
  async markUnread(room: string, id: string, user: AsUser): Promise<MarkUnreadAnswer> {
    return this.asUser(user, `/talk/unread/${roomPath(room)}/`, { id: messageId(id, 'id') });
  }

  /**
   * Mutes `user` in `room` for `seconds`: their sends there are refused (with the seconds left)
   * while they keep reading and appearing online. `0` lifts it; a new call replaces the old one.
   *
   * @example
   * const { restriction } = await hipochat.mute('lobby', 'mallory', 600);
   */
  async mute(room: string, user: string, seconds: number): Promise<RestrictionAnswer> {
    return this.restrict('mute', room, user, seconds);
  }

  /** Lifts a mute (the same as `mute(room, user, 0)`); resolves with `restriction: null`. */
  async unmute(room: string, user: string): Promise<RestrictionAnswer> {
    return this.restrict('mute', room, user, 0);
  }

  /**
   * Bans `user` from `room` for `seconds`: their sockets in the room close (`disconnected` says how
   * many) and connects, subscribes, sends and history reads are refused until it ends. `0` lifts it.
   */
  async ban(room: string, user: string, seconds: number): Promise<RestrictionAnswer> {
    return this.restrict('ban', room, user, seconds);
  }

  /** Lifts a ban (the same as `ban(room, user, 0)`). */
  async unban(room: string, user: string): Promise<RestrictionAnswer> {
    return this.restrict('ban', room, user, 0);
  }

  /** The active mutes and bans of `room`, soonest end first. */
  async moderation(room: string): Promise<ModerationAnswer> {
    return this.service({ method: 'GET', path: `/talk/moderation/${roomPath(room)}/` });
  }

  private restrict(
    kind: RestrictionKind,
    room: string,
    user: string,
    seconds: number,
  ): Promise<RestrictionAnswer> {
    if (!user) return refuse('a user id is required');
    if (!Number.isInteger(seconds) || seconds < 0) {
      return refuse(`seconds must be a whole number from 0 (0 lifts the ${kind}), got ${seconds}`);
    }
    return this.service({
      method: 'POST',
      path: `/talk/${kind}/${roomPath(room)}/${encodeURIComponent(user)}/`,
      body: { seconds },
    });
  }

  private service<T>(init: Omit<CallInit, 'authorization'>): Promise<T> {
    return call(this.context, { ...init, authorization: `Bearer ${this.options.serviceKey}` });
  }

  /** A user-scoped call: a GET, or a POST of `body`. */
  private asUser<T>(user: AsUser, path: string, body?: unknown): Promise<T> {
    if (!user.token) return refuse('a user token is required');
    const method = body === undefined ? 'GET' : 'POST';
    return call(this.context, { method, path, body, authorization: `Token ${user.token}` });
  }
}

function roomPath(room: string): string {
  if (!isValidRoom(room)) throw new InvalidArgumentError(`invalid room "${room}": use ${ROOM_NAME_RULE}`);
  return room;
}

/** `id` when it has the message id format (`<milliseconds>-<sequence>`). */
function messageId(id: string, name: string): string {
  if (!MESSAGE_ID_PATTERN.test(id)) {
    throw new InvalidArgumentError(`invalid ${name} "${id}": a message id such as 1700000000000-0`);
  }
  return id;
}

/** The `mentions` query value: the distinct ids, comma-separated. */
function mentionList(mentions: readonly string[]): string {
  const users = [...new Set(mentions)];
  if (users.length > MAX_MENTIONS) {
    throw new InvalidArgumentError(
      `too many mentions: ${users.length}, a message takes at most ${MAX_MENTIONS}`,
    );
  }
  for (const user of users) {
    if (!user || user.includes(','))
      throw new InvalidArgumentError(`invalid mention "${user}": a user id without commas`);
  }
  return users.map(encodeURIComponent).join(',');
}

function positive(value: number, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}, got ${value}`);
  }
  return value;
}

function refuse(message: string): Promise<never> {
  return Promise.reject(new InvalidArgumentError(message));
}
