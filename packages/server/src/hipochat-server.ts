/**
 * The backend's side of the HTTP API: injections, broadcasts, moderation, membership and
 * disconnects with the service key, plus the user-scoped reads (presence, receipts, unread
 * counts, history) a backend makes with a user's token.
 */
import {
  type BroadcastAnswer,
  type ChatMessage,
  type HistoryAnswer,
  isValidRoom,
  MAX_BROADCAST_ROOMS,
  type MembersAdded,
  type MembersRemoved,
  type NotificationAnswer,
  type PresenceAnswer,
  type ReceiptsAnswer,
  ROOM_NAME_RULE,
  type RoomHistory,
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

  /** Stores and publishes one message of `type` in `room` as the backend. */
  async inject(room: string, type: string, body: unknown, options: StoreOptions = {}): Promise<ChatMessage> {
    return this.service({
      method: 'POST',
      path: `/talk/item/${roomPath(room)}/?type=${encodeURIComponent(type)}`,
      body,
      ...options,
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

  private service<T>(init: Omit<CallInit, 'authorization'>): Promise<T> {
    return call(this.context, { ...init, authorization: `Bearer ${this.options.serviceKey}` });
  }

  private asUser<T>(user: AsUser, path: string): Promise<T> {
    if (!user.token) return refuse('a user token is required');
    return call(this.context, { method: 'GET', path, authorization: `Token ${user.token}` });
  }
}

function roomPath(room: string): string {
  if (!isValidRoom(room)) throw new InvalidArgumentError(`invalid room "${room}": use ${ROOM_NAME_RULE}`);
  return room;
}

function refuse(message: string): Promise<never> {
  return Promise.reject(new InvalidArgumentError(message));
}
