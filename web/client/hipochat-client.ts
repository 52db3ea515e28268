/**
 * Hipochat client: one small typed module for browsers and Node (the demo page and the CLI use
 * it). It connects with either URL shape, reconnects with capped exponential backoff and jitter,
 * catches up through `GET /talk/old/{room}/?since=<id>` after every (re)connect, and emits each
 * message exactly once (deduplicated by `id`). Messages change (edit, delete, reactions): it keeps
 * each one's current version and emits every change once, live or found in a later history answer.
 *
 * It depends on nothing but the platform (the global `WebSocket` and `fetch`) and the wire
 * definitions in `protocol/`, which it shares with the server. Node 20 has no global
 * `WebSocket`; pass one (for example `ws`'s) in {@link HipochatClientOptions.WebSocket}.
 */

import {
  AUTHENTICATION_ERROR,
  type BroadcastAnswer,
  CHAT_MESSAGE_TYPE,
  type ChatMessage,
  type ConnectTicket,
  compareIds,
  DEFAULT_MAX_MESSAGE_BYTES,
  type EditMark,
  EPHEMERAL_INTERVAL_MS,
  encodeClientFrame,
  FINAL_CLOSE_CODES,
  type HistoryAnswer,
  type HttpErrorBody,
  isValidRoom,
  KEEP_ALIVE_FRAME,
  KEEP_ALIVE_INTERVAL_MS,
  MAX_BROADCAST_ROOMS,
  MAX_LISTED_REACTORS,
  type MembersAdded,
  type MembersRemoved,
  type MessageDeletedFrame,
  type MessageEditedFrame,
  type NotificationAnswer,
  type OldMessages,
  type PresenceAnswer,
  type Profile,
  parseServerFrame,
  RECONNECT_INITIAL_DELAY_MS,
  RECONNECT_MAX_DELAY_MS,
  type ReactionFrame,
  type Reactions,
  type ReadMarkEntry,
  type ReceiptsAnswer,
  ROOM_NAME_RULE,
  type RoomHistory,
  SIGNALS_PARAMETER,
  type UserDisconnected,
  utf8Length,
} from '../../protocol/index.js';
import { pageIsReading, ReadMarker } from './read-marker.js';

// What users of the library need from the wire, so `hipochat-serverless/client` is enough.
export type {
  BroadcastAnswer,
  ChatMessage,
  EditMark,
  HistoryPage,
  OldMessages,
  PresenceAnswer,
  Profile,
  ReactionSummary,
  Reactions,
  ReadReceipt,
  ReceiptsAnswer,
  RoomHistory,
  UserDisconnected,
} from '../../protocol/index.js';
export {
  compareIds,
  DEFAULT_MAX_MESSAGE_BYTES,
  EPHEMERAL_INTERVAL_MS,
  MAX_BROADCAST_ROOMS,
  MESSAGE_ID_PATTERN,
  utf8Length,
} from '../../protocol/index.js';
export { READ_MARK_INTERVAL_MS } from './read-marker.js';

/** Connection states, in the order a healthy connection goes through them. */
export type ConnectionState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'closed';

/** The `state` event. */
export interface StateChange {
  state: ConnectionState;
  /** Why: the close reason, the failure, or `client closed`. */
  reason?: string;
  /** Consecutive failed attempts so far (while reconnecting). */
  attempt?: number;
  /** Milliseconds until the next attempt (while reconnecting). */
  delayMs?: number;
}

/** What went wrong, for the `error` event. */
export type ErrorKind = 'frame' | 'auth' | 'http' | 'connection' | 'send' | 'timeout';

/** The `error` event. */
export interface ClientErrorEvent {
  kind: ErrorKind;
  message: string;
}

/** Where a message came from. */
export interface MessageMeta {
  /** `history` for the catch-up after a (re)connect, `live` for a pushed frame. */
  source: 'history' | 'live';
  /** Whether the server counted it as unread for this user (history only). */
  unread: boolean;
  /** Whether this client's user sent it (known once the server has acknowledged a send). */
  own: boolean;
}

/** The `history` event: what one catch-up (or {@link HipochatClient.loadEarlier}) brought, already deduplicated. */
export interface HistoryBatch {
  /** True for the first catch-up of this client (the newest history with the read/unread split). */
  initial: boolean;
  /** True for a page of older messages from {@link HipochatClient.loadEarlier}. */
  earlier: boolean;
  /** The server holds messages older than the oldest one loaded ({@link HipochatClient.hasEarlier}). */
  more: boolean;
  read: ChatMessage[];
  unread: ChatMessage[];
}

/** Which page of a room `GET /talk/old/{room}/` answers. */
export interface OldQuery {
  /** Only messages newer than this id. */
  since?: string;
  /** Only messages older than this id. */
  before?: string;
  /** At most this many messages (1 to the server's `HIPOCHAT_HISTORY_LIMIT`); without it, as many as fit in one answer. */
  limit?: number;
  /** `false` reads without marking the room read (`mark=0`; older servers mark it anyway). @default true */
  markRead?: boolean;
}

/** Messages {@link HipochatClient.loadEarlier} asks for when neither it nor `pageSize` says. */
export const DEFAULT_PAGE_SIZE = 50;

/** The server's answer to a send. */
export interface SendAck {
  /** The stored message's id (empty when the type is ephemeral on the server, which stores nothing). */
  id: string;
  clientId: string;
  /** The server took the frame as an ephemeral type (typing): delivered live, never stored. */
  ephemeral?: true;
}

/**
 * The user id in a public profile: the server's default id fields, `id` then `user_id` (the
 * server's `HIPOCHAT_PROFILE_ID_FIELD`). Presence, typing and read signals name users by profile.
 */
export function profileUserId(profile: Profile | null | undefined): string | undefined {
  for (const field of ['id', 'user_id']) {
    const value = profile?.[field];
    if (typeof value === 'string' && value) return value;
    if (typeof value === 'number') return String(value);
  }
  return undefined;
}

/** `{ userId }` when the profile shows the user's id, else nothing (for spreading into an event). */
function userIdField(profile: Profile): { userId?: string } {
  const userId = profileUserId(profile);
  return userId === undefined ? {} : { userId };
}

/** The `presence` event: a user came online in the room (`join`) or went offline (`leave`). */
export interface PresenceEvent {
  event: 'join' | 'leave';
  room: string;
  /** The user's public profile. */
  user: Profile;
  /** The user's id, when the profile shows it ({@link profileUserId}). */
  userId?: string;
}

/** The `typing` event: another user is typing (a notice lasts until about 3 s without a new one). */
export interface TypingEvent {
  room: string;
  /** The typer's public profile. */
  author: Profile | null;
  /** The typer's user id. */
  senderId?: string;
  body?: unknown;
}

/** The `read` event: a member read the room up to message `id`. */
export interface ReadEvent {
  room: string;
  /** The reader's public profile. */
  user: Profile;
  /** The reader's id, when the profile shows it ({@link profileUserId}). */
  userId?: string;
  /** The newest message id the member has read. */
  id: string;
}

/**
 * The `edit` event: a message's body changed (live, or found changed in a later history answer).
 * Redelivered and stale edits are not emitted.
 */
export interface EditEvent {
  room: string;
  id: string;
  body: unknown;
  edited: EditMark;
  /** The message as it is now, when this client has it. */
  message?: ChatMessage;
}

/** The `delete` event: a message was deleted, once per message. */
export interface DeleteEvent {
  room: string;
  id: string;
  /** The tombstone (the message without its body, `deleted: true`), when this client had the message. */
  message?: ChatMessage;
}

/**
 * The `reaction` event: a message's reactions changed; `reactions` is the whole summary as this
 * client has it now (the server's change applied to the summary it had).
 */
export interface ReactionEvent {
  room: string;
  id: string;
  reactions: Reactions;
  /** The live change that caused it (absent when a history answer brought the new summary). */
  change?: { emoji: string; user: string; count: number; added: boolean };
  /** The message as it is now, when this client has it. */
  message?: ChatMessage;
}

/** Messages whose current version a reconnect fetches again when `refreshOnReconnect` does not say. */
export const DEFAULT_REFRESH_ON_RECONNECT = 50;

/**
 * How often {@link HipochatClient.sendTyping} sends at most: a little over the server's
 * {@link EPHEMERAL_INTERVAL_MS}, so network jitter never brings two frames closer than the server
 * allows (it would drop the second silently and the notice would flicker).
 */
export const TYPING_SEND_INTERVAL_MS = EPHEMERAL_INTERVAL_MS + 200;

/** Events and their payloads. */
export interface HipochatEvents {
  /** A chat line (`type` = `message`), once per id. */
  message: (message: ChatMessage, meta: MessageMeta) => void;
  /** A message of any other type (a backend injection), once per id. */
  injection: (message: ChatMessage, meta: MessageMeta) => void;
  /** The result of a catch-up, after its messages were emitted. */
  history: (batch: HistoryBatch) => void;
  error: (error: ClientErrorEvent) => void;
  state: (change: StateChange) => void;
  /** This client's user id became known (from the first acknowledged send). */
  self: (userId: string) => void;
  /** A user came online or went offline in the room (with `signals: true`). */
  presence: (event: PresenceEvent) => void;
  /** Another user is typing (with `signals: true`); this client's own notices are not emitted. */
  typing: (event: TypingEvent) => void;
  /** A member's read mark moved (with `signals: true`). */
  read: (event: ReadEvent) => void;
  /** A message was edited (live with `signals: true`; from history after a reconnect either way). */
  edit: (event: EditEvent) => void;
  /** A message was deleted (live with `signals: true`; from history after a reconnect either way). */
  delete: (event: DeleteEvent) => void;
  /** A message's reactions changed (live with `signals: true`; from history after a reconnect either way). */
  reaction: (event: ReactionEvent) => void;
}

// Method-derived function types are compared bivariantly, so the richer event types of the
// browser's and `ws`'s handlers still fit this minimal surface.
type Handler<E> = { bivariant(event: E): void }['bivariant'];

/** Minimal WebSocket surface the client needs (the browser's, undici's and `ws`'s all fit). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onerror: Handler<unknown> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
}

/** A WebSocket constructor. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Reconnection policy. */
export interface ReconnectOptions {
  /** First delay. @default {@link RECONNECT_INITIAL_DELAY_MS} (500) */
  initialDelayMs?: number;
  /** Cap of the exponential delay. @default {@link RECONNECT_MAX_DELAY_MS} (15000) */
  maxDelayMs?: number;
  /** Consecutive failed attempts before giving up (state `closed`). @default Infinity */
  maxAttempts?: number;
}

/** Options of {@link HipochatClient}. */
export interface HipochatClientOptions {
  /**
   * WebSocket endpoint: `ws://host:8888` or a stage URL (API Gateway shape, `?room=&token=` is
   * appended), or `ws://host:8888/talk/chat/` (Hipochat shape, `<room>/?token=` is appended).
   */
  url: string;
  /** HTTP API base (prefix of `/talk/...`). @default the ws URL's origin with http(s) */
  httpUrl?: string;
  room: string;
  /** The user's token (`Authorization: Token <token>`). */
  token: string;
  /** URL shape. @default `legacy` when the URL path contains `/talk/chat`, else `apigateway` */
  shape?: 'apigateway' | 'legacy';
  /** Connect with a single-use ticket from `POST /talk/ticket/{room}/`, keeping the token out of the ws URL. */
  useTicket?: boolean;
  /** `false` never reconnects. */
  reconnect?: ReconnectOptions | false;
  /**
   * Ask for batch frames (`?batch=1`): the server may put several messages of a room in one frame,
   * which API Gateway bills once. The client unpacks them; events are the same. @default true
   */
  batch?: boolean;
  /**
   * Ask for live signals (`?signals=1`): `presence`, `typing` and `read` events. Each is an API
   * Gateway message, so it is off unless asked for. @default false
   */
  signals?: boolean;
  /** The server's `HIPOCHAT_MAX_MESSAGE_BYTES`. @default {@link DEFAULT_MAX_MESSAGE_BYTES} (16384) */
  maxMessageBytes?: number;
  /**
   * Messages of the first catch-up and of each {@link HipochatClient.loadEarlier} page. Without it
   * the first catch-up holds as many as the server fits in one answer (Hipochat's whole history
   * in most rooms) and `loadEarlier` asks for {@link DEFAULT_PAGE_SIZE}.
   */
  pageSize?: number;
  /**
   * Send `{"type":"ping"}` this often while live: API Gateway closes a socket idle for 10 minutes
   * and browsers cannot send protocol pings. `0` turns it off. @default {@link KEEP_ALIVE_INTERVAL_MS} (300000)
   */
  keepAliveMs?: number;
  /**
   * How many of the newest messages seen a reconnect fetches again, so edits, deletes and
   * reactions missed while away show (as `edit`, `delete` and `reaction` events). `0` fetches only
   * what is new. @default {@link DEFAULT_REFRESH_ON_RECONNECT} (50)
   */
  refreshOnReconnect?: number;
  /** Give up on an opening socket after this long. @default 10000 */
  connectTimeoutMs?: number;
  /** HTTP request timeout. @default 10000 */
  requestTimeoutMs?: number;
  /** Reject a send with no acknowledgement after this long. @default 10000 */
  sendTimeoutMs?: number;
  /** WebSocket constructor. @default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Source of randomness for jitter (tests pin it). @default Math.random */
  random?: () => number;
  /**
   * Mark the room read as live messages of other users arrive (never for one's own), while
   * `isReading` says the reader is looking, at most once per {@link READ_MARK_INTERVAL_MS}. Off,
   * the room is marked read by {@link HipochatClient.markRead} and catch-ups only. @default false
   */
  autoMarkRead?: boolean;
  /**
   * Whether the reader is looking at the room now; {@link HipochatClient.markRead} does nothing
   * while it answers false. @default in a browser: the page is visible and has focus; elsewhere: true
   */
  isReading?: () => boolean;
  /** Least milliseconds between two read marks (tests and the bench shorten it). @default {@link READ_MARK_INTERVAL_MS} */
  readMarkIntervalMs?: number;
}

/** An error the client raises (invalid options, over-size sends, refused requests). */
export class HipochatError extends Error {
  /** HTTP status when an HTTP request failed. */
  readonly status?: number;
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, status?: number) {
    super(message);
    this.name = 'HipochatError';
    this.kind = kind;
    if (status !== undefined) this.status = status;
  }
}

const OPEN = 1;
// As long as `crypto.randomUUID()`, the longest clientId `send` generates.
const UUID_SIZED_ID = '00000000-0000-0000-0000-000000000000';
// Close codes after which reconnecting would only be refused again (or was asked not to).
const FINAL_CLOSE_CODE_SET = new Set(FINAL_CLOSE_CODES);

/**
 * Capped exponential backoff with jitter: attempt 1 waits about `initial`, each next one twice
 * as long up to `max`; the delay is drawn from the upper half so clients spread out after an
 * outage but never retry immediately.
 */
export function backoffDelay(attempt: number, initial: number, max: number, random = Math.random): number {
  const base = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + random() * (base / 2));
}

/** Parses a ws URL, explaining what is wrong with a bad one. */
export function parseWsUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HipochatError(
      'connection',
      `invalid ws URL "${raw}": expected ws://host:port or wss://host/stage`,
    );
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new HipochatError(
      'connection',
      `invalid ws URL "${raw}": the scheme must be ws:// or wss://, not ${url.protocol}//`,
    );
  }
  return url;
}

/** Parses an HTTP base URL, explaining what is wrong with a bad one. */
export function parseHttpUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HipochatError('http', `invalid HTTP URL "${raw}": expected http://host:port or https://host`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HipochatError(
      'http',
      `invalid HTTP URL "${raw}": the scheme must be http:// or https://, not ${url.protocol}//`,
    );
  }
  return url;
}

/** The HTTP base a ws URL implies: same host, http(s), no path (the local gateway serves both). */
export function httpUrlFromWs(wsUrl: string): string {
  const url = parseWsUrl(wsUrl);
  return `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`;
}

/** Options of {@link HipochatHttp}. */
export interface HipochatHttpOptions {
  /** HTTP API base (prefix of `/talk/...`). */
  httpUrl: string;
  /** `Authorization: Token <token>`. */
  token?: string;
  /** `Authorization: Bearer <key>` (membership, backend injections). */
  serviceKey?: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Typed calls of the HTTP API. Errors become {@link HipochatError} with the server's text. */
export class HipochatHttp {
  private readonly base: string;

  constructor(private readonly options: HipochatHttpOptions) {
    this.base = parseHttpUrl(options.httpUrl).toString().replace(/\/$/, '');
  }

  /**
   * History split at the last visit: the newest messages that fit one answer, or a page of them
   * (`limit`, `before`), optionally only after `since` (a string is `since`). A page without
   * `before` marks the room read; `page.more` says whether older messages exist.
   */
  async old(room: string, query: OldQuery | string = {}): Promise<OldMessages> {
    const { since, before, limit, markRead } = typeof query === 'string' ? { since: query } : query;
    const params = new URLSearchParams();
    if (since) params.set('since', since);
    if (before) params.set('before', before);
    if (limit !== undefined) params.set('limit', String(limit));
    if (markRead === false) params.set('mark', '0');
    const search = params.toString();
    return this.request('GET', `/talk/old/${roomPath(room)}/${search ? `?${search}` : ''}`);
  }

  /** The user's unread count in `room`. */
  async notification(room: string): Promise<number> {
    const result = await this.request<NotificationAnswer>('GET', `/talk/notification/${roomPath(room)}/`);
    return result.notification;
  }

  /** The latest `limit` messages and unread count of each room. */
  async history(rooms: readonly string[], limit = 20): Promise<RoomHistory[]> {
    const path = rooms.map(roomPath).join(',');
    const result = await this.request<HistoryAnswer>('GET', `/talk/history/${path}/?limit=${limit}`);
    return result.results;
  }

  /** Injects a JSON body as a message of `type` (user token, or the service key as the backend). */
  async inject(room: string, type: string, body: unknown, idempotencyKey?: string): Promise<ChatMessage> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    return this.request('POST', `/talk/item/${roomPath(room)}/?type=${encodeURIComponent(type)}`, {
      body: JSON.stringify(body),
      headers,
      service: Boolean(this.options.serviceKey),
    });
  }

  /** Who is online in `room`: each user once, by public profile (members only in closed rooms). */
  async presence(room: string): Promise<PresenceAnswer> {
    return this.request('GET', `/talk/presence/${roomPath(room)}/`);
  }

  /**
   * One page of the members' read marks in `room` (the newest message id each has read); pass an
   * answer's `next` as `after` for the next page, until it is null.
   */
  async receipts(room: string, page: { limit?: number; after?: string } = {}): Promise<ReceiptsAnswer> {
    const query = new URLSearchParams();
    if (page.limit !== undefined) query.set('limit', String(page.limit));
    if (page.after !== undefined) query.set('after', page.after);
    const search = query.size > 0 ? `?${query}` : '';
    return this.request('GET', `/talk/receipts/${roomPath(room)}/${search}`);
  }

  /**
   * Stores and publishes one message of `type` with `body` in each room, as the backend (service
   * key); at most {@link MAX_BROADCAST_ROOMS} rooms. An `idempotencyKey` makes a retried call store
   * nothing twice.
   */
  async broadcast(
    rooms: readonly string[],
    type: string,
    body: unknown,
    idempotencyKey?: string,
  ): Promise<BroadcastAnswer> {
    if (!this.options.serviceKey) throw new HipochatError('auth', 'a service key is required');
    if (rooms.length === 0) throw new HipochatError('http', 'name at least one room to broadcast to');
    if (rooms.length > MAX_BROADCAST_ROOMS) {
      throw new HipochatError(
        'http',
        `too many rooms: ${rooms.length}, one broadcast takes at most ${MAX_BROADCAST_ROOMS}`,
      );
    }
    for (const room of rooms) roomPath(room);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    // The rooms travel in the body: `,` is legal in a room name.
    return this.request('POST', `/talk/broadcast/?type=${encodeURIComponent(type)}`, {
      body: JSON.stringify({ rooms, body }),
      headers,
      service: true,
    });
  }

  /**
   * Closes every connection of a user in every room (service key), for example after revoking
   * their token: an open socket otherwise keeps the identity it connected with.
   */
  async disconnectUser(userId: string): Promise<UserDisconnected> {
    if (!this.options.serviceKey) throw new HipochatError('auth', 'a service key is required');
    if (!userId) throw new HipochatError('http', 'a user id is required');
    return this.request('POST', `/talk/disconnect/${encodeURIComponent(userId)}/`, { service: true });
  }

  /**
   * Replaces the body of any message of `room` as the backend (service key, moderation); resolves
   * with the new version. A 404 means no such message.
   */
  async editMessage(room: string, id: string, body: unknown): Promise<ChatMessage> {
    if (!this.options.serviceKey) throw new HipochatError('auth', 'a service key is required');
    if (!id) throw new HipochatError('http', 'a message id is required');
    return this.request('POST', `/talk/edit/${roomPath(room)}/`, {
      body: JSON.stringify({ id, body }),
      headers: { 'content-type': 'application/json' },
      service: true,
    });
  }

  /**
   * Deletes any message of `room` as the backend (service key, moderation); resolves with the
   * tombstone. A 404 means no such message.
   */
  async deleteMessage(room: string, id: string): Promise<ChatMessage> {
    if (!this.options.serviceKey) throw new HipochatError('auth', 'a service key is required');
    if (!id) throw new HipochatError('http', 'a message id is required');
    return this.request('POST', `/talk/delete/${roomPath(room)}/`, {
      body: JSON.stringify({ id }),
      headers: { 'content-type': 'application/json' },
      service: true,
    });
  }

  /** A single-use connect ticket (30 seconds). */
  async ticket(room: string): Promise<ConnectTicket> {
    return this.request('POST', `/talk/ticket/${roomPath(room)}/`);
  }

  /** Adds members to a room (service key). */
  addMembers(room: string, members: readonly string[]): Promise<MembersAdded> {
    return this.members('new-chat-room', room, members);
  }

  /** Removes members from a room and closes their sockets there (service key). */
  removeMembers(room: string, members: readonly string[]): Promise<MembersRemoved> {
    return this.members('unsubscribe', room, members);
  }

  private async members<T>(route: string, room: string, members: readonly string[]): Promise<T> {
    if (!this.options.serviceKey) throw new HipochatError('auth', 'a service key is required');
    return this.request('POST', `/talk/${route}/${roomPath(room)}/`, {
      body: JSON.stringify({ members }),
      headers: { 'content-type': 'application/json' },
      service: true,
    });
  }

  private async request<T>(
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string>; service?: boolean } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (init.service && this.options.serviceKey) headers.authorization = `Bearer ${this.options.serviceKey}`;
    else if (this.options.token) headers.authorization = `Token ${this.options.token}`;
    const doFetch = this.options.fetch ?? globalThis.fetch;
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    const url = `${this.base}${path}`;
    let response: Response;
    try {
      response = await doFetch(url, {
        method,
        headers,
        body: init.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const name = (error as { name?: string } | null)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new HipochatError('timeout', `${method} ${url} timed out after ${timeoutMs} ms`);
      }
      throw new HipochatError('http', `${method} ${url} failed: ${describeFetchError(error)}`);
    }
    const text = await response.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!response.ok) {
      const record = (data ?? {}) as Partial<Record<keyof HttpErrorBody, unknown>>;
      const detail = String(record.error ?? record.message ?? (text.slice(0, 200) || response.statusText));
      const kind: ErrorKind = response.status === 401 || response.status === 403 ? 'auth' : 'http';
      throw new HipochatError(kind, `${method} ${path} → ${response.status}: ${detail}`, response.status);
    }
    if (data === undefined) {
      throw new HipochatError(
        'http',
        `${method} ${url} did not answer JSON (is this the Hipochat HTTP API?)`,
      );
    }
    return data as T;
  }
}

function roomPath(room: string): string {
  if (!isValidRoom(room)) throw new HipochatError('http', `invalid room "${room}": use ${ROOM_NAME_RULE}`);
  // The room alphabet is URL-safe; encoding `,` would break the history route's separator.
  return room;
}

// Node's fetch hides the useful part ("ECONNREFUSED") in `cause`.
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } } | null)?.cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return error instanceof Error ? error.message : String(error);
}

type Listener<K extends keyof HipochatEvents> = HipochatEvents[K];

interface PendingSend {
  clientId: string;
  resolve: (ack: SendAck) => void;
  reject: (error: HipochatError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * A connection to one room that survives network trouble.
 *
 * @example
 * const client = new HipochatClient({ url: 'ws://127.0.0.1:8888', room: 'lobby', token: 'alice' });
 * client.on('message', (m) => console.log(m.author?.username, m.body));
 * await client.connect();
 * await client.send('hello');
 */
export class HipochatClient {
  /** The HTTP API of this client's user. */
  readonly http: HipochatHttp;
  readonly room: string;
  readonly maxMessageBytes: number;
  private readonly options: HipochatClientOptions;
  private readonly wsUrl: URL;
  private readonly shape: 'apigateway' | 'legacy';
  private readonly listeners: { [K in keyof HipochatEvents]: Set<Listener<K>> } = {
    message: new Set(),
    injection: new Set(),
    history: new Set(),
    error: new Set(),
    state: new Set(),
    self: new Set(),
    presence: new Set(),
    typing: new Set(),
    read: new Set(),
    edit: new Set(),
    delete: new Set(),
    reaction: new Set(),
  };
  private socket: WebSocketLike | undefined;
  private currentState: ConnectionState = 'idle';
  // Every message delivered, by id, as it is now (edits, deletes and reactions applied).
  private readonly known = new Map<string, ChatMessage>();
  // Live changes applied so far, and the count at each message's latest one.
  private liveChanges = 0;
  private readonly changedAt = new Map<string, number>();
  private lastId: string | undefined;
  private firstId: string | undefined;
  private earlier = false;
  private loadingEarlier: Promise<ChatMessage[]> | undefined;
  private caughtUpOnce = false;
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly pending: PendingSend[] = [];
  private readonly ownClientIds = new Set<string>();
  private selfId: string | undefined;
  private stopped = false;
  private readonly readMarker: ReadMarker;
  private generation = 0;
  private lastTypingAt: number | undefined;
  // `unknown` until the server acks a typing frame; `refused` when it answers one with an error
  // frame (a server without signals), after which typing is not sent again.
  private typing: 'unknown' | 'accepted' | 'refused' = 'unknown';
  private readonly typingClientIds = new Set<string>();
  // Reactions this client toggled before it knew its user id, by message id.
  private readonly reactProbes = new Map<string, { emoji: string; users: Set<string> }>();

  constructor(options: HipochatClientOptions) {
    this.options = options;
    this.readMarker = new ReadMarker({
      mark: () => (this.state === 'live' ? this.catchUp() : Promise.resolve()),
      isReading: options.isReading ?? pageIsReading,
      intervalMs: options.readMarkIntervalMs,
    });
    this.wsUrl = parseWsUrl(options.url);
    if (!isValidRoom(options.room)) {
      throw new HipochatError('connection', `invalid room "${options.room}": use ${ROOM_NAME_RULE}`);
    }
    if (!options.token) throw new HipochatError('auth', 'a token is required');
    this.room = options.room;
    this.shape = options.shape ?? (this.wsUrl.pathname.includes('/talk/chat') ? 'legacy' : 'apigateway');
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.http = new HipochatHttp({
      httpUrl: options.httpUrl ?? httpUrlFromWs(options.url),
      token: options.token,
      timeoutMs: options.requestTimeoutMs,
      fetch: options.fetch,
    });
  }

  /** The current connection state. */
  get state(): ConnectionState {
    return this.currentState;
  }

  /** This client's user id, once a send was acknowledged (or set with {@link setSelfId}). */
  get userId(): string | undefined {
    return this.selfId;
  }

  /** The newest message id seen; catch-up asks for what came after it. */
  get lastMessageId(): string | undefined {
    return this.lastId;
  }

  /** The oldest message id seen; {@link loadEarlier} asks for what came before it. */
  get firstMessageId(): string | undefined {
    return this.firstId;
  }

  /** The server holds messages older than the oldest one loaded (from the latest history answer). */
  get hasEarlier(): boolean {
    return this.earlier;
  }

  /** Tells the client who its user is (for example remembered from an earlier session). */
  setSelfId(userId: string): void {
    if (this.selfId === userId) return;
    this.selfId = userId;
    this.emit('self', userId);
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof HipochatEvents>(event: K, listener: HipochatEvents[K]): () => void {
    this.listeners[event].add(listener);
    return () => this.off(event, listener);
  }

  /** Unsubscribes a listener. */
  off<K extends keyof HipochatEvents>(event: K, listener: HipochatEvents[K]): void {
    this.listeners[event].delete(listener);
  }

  /**
   * Starts connecting (and keeps reconnecting). Resolves when the room is live the first time
   * (connected and caught up); rejects when the client closes first, or after `timeoutMs`.
   */
  connect(timeoutMs = 30_000): Promise<void> {
    if (this.stopped) return Promise.reject(new HipochatError('connection', 'the client is closed'));
    const live = new Promise<void>((resolve, reject) => {
      if (this.currentState === 'live') return resolve();
      let lastProblem = '';
      const timer = setTimeout(() => {
        done();
        reject(
          new HipochatError(
            'timeout',
            `not connected to ${this.safeUrl()} after ${timeoutMs} ms${lastProblem ? `: ${lastProblem}` : ''}`,
          ),
        );
      }, timeoutMs);
      const offState = this.on('state', (change) => {
        if (change.reason) lastProblem = change.reason;
        if (change.state === 'live') {
          done();
          resolve();
        } else if (change.state === 'closed') {
          done();
          reject(new HipochatError('connection', `connection to ${this.safeUrl()} closed: ${change.reason}`));
        }
      });
      const done = () => {
        clearTimeout(timer);
        offState();
      };
    });
    if (this.currentState === 'idle') void this.open();
    return live;
  }

  /**
   * Marks the room read up to its newest message (a catch-up) when live messages of other users
   * arrived since the last mark and the reader is looking (`isReading`), at most once per
   * {@link READ_MARK_INTERVAL_MS}: a call inside the interval is served once at its end. Does
   * nothing while not live; one's own messages never call for a mark.
   */
  markRead(): void {
    this.readMarker.request();
  }

  /** Closes for good: no more reconnects. */
  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.readMarker.cancel();
    clearTimeout(this.retryTimer);
    this.generation++;
    const socket = this.socket;
    this.socket = undefined;
    if (socket && socket.readyState <= OPEN) socket.close(1000, 'client closed');
    this.failPending('the client closed');
    this.setState({ state: 'closed', reason: 'client closed' });
  }

  /**
   * UTF-8 bytes of the frame {@link send} would send for `body`: what the server measures against
   * `HIPOCHAT_MAX_MESSAGE_BYTES` (the whole frame, not the body). A generated `clientId` counts as
   * a UUID's 36 characters, never fewer than the one actually sent.
   */
  frameBytes(body: unknown, options: { type?: string; clientId?: string } = {}): number {
    const clientId = options.clientId ?? UUID_SIZED_ID;
    return utf8Length(encodeClientFrame({ kind: 'send', type: options.type, body, clientId }));
  }

  /**
   * Sends a chat line. Resolves with the server's acknowledgement (the message id).
   *
   * @throws HipochatError `send` when the frame is over the size limit (nothing is sent) or the
   *   room is not live; rejects with the server's error frame text when it refuses the message
   */
  send(body: unknown, options: { type?: string; clientId?: string } = {}): Promise<SendAck> {
    if (body === undefined || body === null || body === '') {
      return Promise.reject(new HipochatError('send', 'the message is empty'));
    }
    const clientId = options.clientId ?? randomId();
    const frame = encodeClientFrame({ kind: 'send', type: options.type, body, clientId });
    const size = utf8Length(frame);
    if (size > this.maxMessageBytes) {
      return Promise.reject(
        new HipochatError(
          'send',
          `message too large: ${size} bytes, the limit is ${this.maxMessageBytes} bytes (nothing was sent)`,
        ),
      );
    }
    return this.sendFrame(frame, clientId);
  }

  /**
   * Replaces the body of one of this user's messages (the server refuses others' with `you can
   * only edit your own messages`). Resolves on the server's acknowledgement; the `edit` event
   * follows when the connection has signals.
   *
   * @throws HipochatError `send` as {@link send} does, and for an empty body or a message this
   *   client knows is deleted
   */
  edit(id: string, body: unknown, options: { clientId?: string } = {}): Promise<SendAck> {
    if (body === undefined || body === null || body === '') {
      return Promise.reject(new HipochatError('send', 'the message is empty'));
    }
    if (this.known.get(id)?.deleted) {
      return Promise.reject(new HipochatError('send', 'the message was deleted; nothing was sent'));
    }
    const clientId = options.clientId ?? randomId();
    const frame = encodeClientFrame({ kind: 'edit', id, body, clientId });
    const size = utf8Length(frame);
    if (size > this.maxMessageBytes) {
      return Promise.reject(
        new HipochatError(
          'send',
          `message too large: ${size} bytes, the limit is ${this.maxMessageBytes} bytes (nothing was sent)`,
        ),
      );
    }
    return this.sendFrame(frame, clientId);
  }

  /**
   * Deletes one of this user's messages: it stays in history as a tombstone without a body.
   * Resolves on the server's acknowledgement; the `delete` event follows with signals.
   */
  delete(id: string, options: { clientId?: string } = {}): Promise<SendAck> {
    const clientId = options.clientId ?? randomId();
    return this.sendFrame(encodeClientFrame({ kind: 'delete', id, clientId }), clientId);
  }

  /**
   * Toggles this user's reaction `emoji` on a message: the first call adds it, the next takes it
   * back. Resolves on the server's acknowledgement; the `reaction` event follows with signals.
   */
  react(id: string, emoji: string, options: { clientId?: string } = {}): Promise<SendAck> {
    if (!emoji) return Promise.reject(new HipochatError('send', 'an emoji is required'));
    if (this.selfId === undefined) {
      // The reaction frame that follows names this user: the one user added or removed.
      const users = this.known.get(id)?.reactions?.[emoji]?.users ?? [];
      this.reactProbes.set(id, { emoji, users: new Set(users) });
    }
    const clientId = options.clientId ?? randomId();
    return this.sendFrame(encodeClientFrame({ kind: 'react', id, emoji, clientId }), clientId);
  }

  /** A message as this client has it now (edits, deletes and reactions applied), by id. */
  getMessage(id: string): ChatMessage | undefined {
    return this.known.get(id);
  }

  /** Sends a frame that carries `clientId` and settles on its ack or error frame. */
  private sendFrame(frame: string, clientId: string): Promise<SendAck> {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN || this.currentState !== 'live') {
      return Promise.reject(
        new HipochatError('send', `not connected (${this.currentState}); nothing was sent`),
      );
    }
    return new Promise<SendAck>((resolve, reject) => {
      const timeoutMs = this.options.sendTimeoutMs ?? 10_000;
      const entry: PendingSend = {
        clientId,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.removePending(entry);
          reject(new HipochatError('timeout', `no acknowledgement after ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.pending.push(entry);
      this.ownClientIds.add(clientId);
      socket.send(frame);
    });
  }

  /**
   * Tells the room this user is typing: `{"type":"typing"}`, at most once per
   * {@link TYPING_SEND_INTERVAL_MS} (the server delivers one per 2 s and drops the rest), so it is
   * cheap to call on every keystroke. Returns whether a frame went out; nothing is sent while the
   * room is not live.
   */
  sendTyping(): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN || this.currentState !== 'live') return false;
    if (this.typing === 'refused') return false;
    const now = Date.now();
    if (this.lastTypingAt !== undefined && now - this.lastTypingAt < TYPING_SEND_INTERVAL_MS) return false;
    this.lastTypingAt = now;
    // Until the server has acked one, typing frames carry a clientId: an older server's error frame
    // then names the typing frame (not a pending send), and the echo tells this client its user id.
    // Once acked they go without, sparing an ack per frame.
    let clientId: string | undefined;
    if (this.typing === 'unknown') {
      clientId = randomId();
      this.typingClientIds.add(clientId);
      this.ownClientIds.add(clientId);
    }
    socket.send(encodeClientFrame({ kind: 'typing', clientId }));
    return true;
  }

  /**
   * Fetches what came after the newest message seen (on the first call the newest messages, a
   * page of `pageSize` when set), emits the new messages, and marks the room read on the server.
   */
  catchUp(): Promise<ChatMessage[]> {
    return this.fetchAfter(this.lastId);
  }

  /**
   * Where a reconnect's catch-up starts: before the newest `refreshOnReconnect` messages seen, so
   * their current versions come again and changes missed while away are applied.
   */
  private refreshFrom(): string | undefined {
    const window = this.options.refreshOnReconnect ?? DEFAULT_REFRESH_ON_RECONNECT;
    if (!this.caughtUpOnce || window <= 0 || this.known.size === 0) return this.lastId;
    const ids = sortById([...this.known.values()]).map((m) => m.id);
    return idBefore(ids[Math.max(0, ids.length - window)]!);
  }

  /** `markRead` false: a catch-up of a reader who is not looking, which leaves the room unread. */
  private async fetchAfter(since: string | undefined, markRead = true): Promise<ChatMessage[]> {
    const initial = !this.caughtUpOnce;
    const asked = this.liveChanges;
    const pageSize = this.options.pageSize;
    const query = since === undefined && pageSize ? { limit: pageSize } : { since };
    const answers = [await this.http.old(this.room, { ...query, markRead })];
    // What stays unread is marked once the reader looks (`markRead`).
    if (!markRead && answers[0]!.results.unread_messages.length > 0) this.readMarker.owe();
    // A catch-up cut by the server's answer budget leaves a gap after `since`: fill it page by page.
    for (let page = answers[0]!.page; since !== undefined && page?.more && page.before; ) {
      const earlier: OldMessages = await this.http.old(this.room, { since, before: page.before });
      answers.push(earlier);
      page = earlier.page?.before === page.before ? undefined : earlier.page;
    }
    this.caughtUpOnce = true;
    if (since === undefined) this.earlier = answers[0]!.page?.more ?? false;
    return this.take(answers, initial, false, asked);
  }

  /**
   * Fetches the page before the oldest message loaded (`GET /talk/old/R/?before=<id>&limit=N`,
   * which leaves read state alone), emits its messages as history (`meta.source` `history`, then
   * a `history` event with `earlier: true`) and returns them, oldest first. Resolves with nothing
   * when no older message is known to exist ({@link hasEarlier}); concurrent calls share one request.
   */
  loadEarlier(limit = this.options.pageSize ?? DEFAULT_PAGE_SIZE): Promise<ChatMessage[]> {
    if (this.loadingEarlier) return this.loadingEarlier;
    const before = this.firstId;
    if (!this.earlier || before === undefined) return Promise.resolve([]);
    this.loadingEarlier = (async () => {
      try {
        const asked = this.liveChanges;
        const answer = await this.http.old(this.room, { before, limit });
        // A server without paging ignores `before` and answers the whole history, all seen already.
        this.earlier = answer.page?.more ?? false;
        return this.take([answer], false, true, asked);
      } finally {
        this.loadingEarlier = undefined;
      }
    })();
    return this.loadingEarlier;
  }

  /**
   * Emits the unseen messages of history answers in id order, then the `history` event. Messages
   * already seen come as they are now: what changed since is emitted as `edit`, `delete` and
   * `reaction` events, so no stale body stays on screen.
   */
  private take(answers: OldMessages[], initial: boolean, earlier: boolean, asked: number): ChatMessage[] {
    const unreadIds = new Set(answers.flatMap((a) => a.results.unread_messages.map((m) => m.id)));
    const all = sortById([...new Map(answers.flatMap((a) => a.oldy).map((m) => [m.id, m])).values()]);
    const fresh = all.filter((m) => !this.known.has(m.id));
    for (const current of all) {
      // A live change applied while the answer was on its way is newer than the answer.
      if (this.known.has(current.id) && (this.changedAt.get(current.id) ?? 0) <= asked) this.refresh(current);
    }
    for (const message of fresh) this.accept(message, 'history', unreadIds.has(message.id));
    this.emit('history', {
      initial,
      earlier,
      more: this.earlier,
      read: fresh.filter((m) => !unreadIds.has(m.id)),
      unread: fresh.filter((m) => unreadIds.has(m.id)),
    });
    return fresh;
  }

  private safeUrl(): string {
    return `${this.wsUrl.protocol}//${this.wsUrl.host}${this.wsUrl.pathname === '/' ? '' : this.wsUrl.pathname}`;
  }

  private async socketUrl(): Promise<string> {
    const url = new URL(this.wsUrl.toString());
    let credential: [string, string] = ['token', this.options.token];
    if (this.options.useTicket) credential = ['ticket', (await this.http.ticket(this.room)).ticket];
    if (this.shape === 'legacy') {
      const prefix = url.pathname.replace(/\/talk\/chat.*$/, '').replace(/\/$/, '');
      url.pathname = `${prefix}/talk/chat/${encodeURIComponent(this.room)}/`;
    } else {
      url.searchParams.set('room', this.room);
    }
    url.searchParams.set(credential[0], credential[1]);
    if (this.options.batch !== false) url.searchParams.set('batch', '1');
    if (this.options.signals) url.searchParams.set(SIGNALS_PARAMETER, '1');
    return url.toString();
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    const generation = ++this.generation;
    this.setState({
      state: this.failures === 0 && !this.caughtUpOnce ? 'connecting' : 'reconnecting',
      attempt: this.failures,
    });
    let url: string;
    try {
      url = await this.socketUrl();
    } catch (error) {
      if (generation !== this.generation) return;
      return this.failed(error instanceof HipochatError ? error : toError(error), generation);
    }
    if (generation !== this.generation) return;
    const Ctor = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) {
      this.stopped = true;
      this.setState({
        state: 'closed',
        reason: 'no WebSocket implementation: pass options.WebSocket (for example `ws`) on Node 20',
      });
      return;
    }
    let socket: WebSocketLike;
    try {
      socket = new Ctor(url);
    } catch (error) {
      return this.failed(new HipochatError('connection', toError(error).message), generation);
    }
    this.socket = socket;
    let opened = false;
    let problem: string | undefined;
    const connectTimer = setTimeout(() => {
      problem = `timed out after ${this.options.connectTimeoutMs ?? 10_000} ms`;
      socket.close();
      // Some implementations never fire close for a socket that never opened.
      finish({ code: 1006, reason: '' });
    }, this.options.connectTimeoutMs ?? 10_000);
    let finished = false;
    const finish = (event: { code: number; reason: string }) => {
      if (finished) return;
      finished = true;
      clearTimeout(connectTimer);
      if (generation !== this.generation) return;
      this.socket = undefined;
      this.failPending('the connection closed before the server answered');
      void this.onClosed(event, opened, problem);
    };
    socket.onopen = () => {
      if (generation !== this.generation) return;
      opened = true;
      clearTimeout(connectTimer);
      void this.onOpen(socket, generation);
    };
    socket.onmessage = (event) => {
      if (generation !== this.generation) return;
      this.onFrame(event.data);
    };
    socket.onerror = (event) => {
      const message = (event as { message?: unknown } | null)?.message;
      if (typeof message === 'string' && message) problem = message;
    };
    socket.onclose = (event) => finish(event);
  }

  // Live frames that arrive during the catch-up wait, so messages come out in id order and
  // changes apply on top of the history answer, not under it.
  private buffer: ChatMessage[] | undefined;
  private bufferedChanges: ChangeFrame[] | undefined;

  private async onOpen(socket: WebSocketLike, generation: number): Promise<void> {
    const buffer: ChatMessage[] = [];
    const changes: ChangeFrame[] = [];
    this.buffer = buffer;
    this.bufferedChanges = changes;
    try {
      // A page in the background reads what it missed without claiming the reader saw it.
      await this.fetchAfter(this.refreshFrom(), (this.options.isReading ?? pageIsReading)());
    } catch (error) {
      // The socket works; a failed catch-up must not keep the room from going live.
      const kind: ErrorKind = error instanceof HipochatError ? error.kind : 'http';
      if (!this.stopped && generation === this.generation) {
        this.emit('error', { kind, message: `catch-up failed: ${toError(error).message}` });
      }
    }
    if (this.buffer === buffer) this.buffer = undefined;
    if (this.bufferedChanges === changes) this.bufferedChanges = undefined;
    if (this.stopped || generation !== this.generation || socket.readyState !== OPEN) return;
    const buffered = sortById(buffer);
    for (const message of buffered) this.accept(message, 'live', false);
    for (const change of changes) this.applyLive(change);
    this.failures = 0;
    this.setState({ state: 'live' });
  }

  private onFrame(data: unknown): void {
    if (typeof data !== 'string') return;
    const frame = parseServerFrame(data);
    switch (frame.kind) {
      case 'unreadable':
        // Unknown frames are skipped: a newer server may send frames this client does not know.
        if (frame.reason === 'not-json') {
          this.emit('error', { kind: 'frame', message: 'the server sent a frame that is not JSON' });
        }
        return;
      case 'error': {
        if (frame.clientId !== undefined && this.typingClientIds.has(frame.clientId)) {
          // The server does not take typing frames: stop sending them, quietly.
          this.typing = 'refused';
          this.typingClientIds.clear();
          return;
        }
        const kind: ErrorKind = frame.message === AUTHENTICATION_ERROR ? 'auth' : 'frame';
        this.emit('error', { kind, message: frame.message });
        // The server names the refused frame's clientId; without one, it answers frames in order.
        const entry =
          frame.clientId !== undefined
            ? this.pending.find((p) => p.clientId === frame.clientId)
            : this.pending[0];
        if (entry) {
          this.removePending(entry);
          entry.reject(new HipochatError('send', frame.message));
        }
        return;
      }
      case 'ack': {
        if (this.typingClientIds.has(frame.clientId)) {
          this.typing = 'accepted';
          this.typingClientIds.clear();
          return;
        }
        const entry = this.pending.find((p) => p.clientId === frame.clientId);
        if (entry) {
          this.removePending(entry);
          entry.resolve(
            frame.id === undefined
              ? { id: '', clientId: entry.clientId, ephemeral: true }
              : { id: frame.id, clientId: entry.clientId },
          );
        }
        return;
      }
      case 'presence':
        this.emit('presence', {
          event: frame.event,
          room: frame.room,
          user: frame.user,
          ...userIdField(frame.user),
        });
        return;
      case 'typing': {
        if (frame.clientId !== undefined && this.ownClientIds.has(frame.clientId)) {
          if (frame.senderId) this.setSelfId(frame.senderId);
          return;
        }
        if (this.selfId !== undefined && frame.senderId === this.selfId) return;
        const event: TypingEvent = { room: frame.room, author: frame.author };
        if (frame.senderId !== undefined) event.senderId = frame.senderId;
        if (frame.body !== undefined) event.body = frame.body;
        this.emit('typing', event);
        return;
      }
      case 'read':
        this.emit('read', { room: frame.room, user: frame.user, id: frame.id, ...userIdField(frame.user) });
        return;
      case 'reads':
        this.emitReads(frame.room, frame.marks);
        return;
      case 'edit':
      case 'delete':
      case 'reaction':
        if (frame.room !== this.room) return;
        if (this.bufferedChanges) this.bufferedChanges.push(frame);
        else this.applyLive(frame);
        return;
      case 'batch':
        for (const message of frame.messages) this.onLive(message);
        if (frame.reads) this.emitReads(frame.room, frame.reads);
        return;
      case 'message':
        this.onLive(frame.message);
        return;
      case 'pong':
      // Answers of multi-room connections, which this client does not open.
      case 'subscribed':
      case 'unsubscribed':
      case 'unread':
        return;
      default:
        unhandled(frame);
    }
  }

  /** A read digest: one `read` event per member's newest mark. */
  private emitReads(room: string, marks: readonly ReadMarkEntry[]): void {
    for (const { user, id } of marks) this.emit('read', { room, user, id, ...userIdField(user) });
  }

  private onLive(message: ChatMessage): void {
    if (this.buffer) this.buffer.push(message);
    else this.accept(message, 'live', false);
  }

  /** Applies a live change frame and notes when, so an older history answer does not undo it. */
  private applyLive(frame: ChangeFrame): void {
    this.changedAt.set(frame.id, ++this.liveChanges);
    this.applyChange(frame);
  }

  /** Applies a live edit, delete or reaction frame; repeated and stale ones change nothing. */
  private applyChange(frame: ChangeFrame): void {
    const known = this.known.get(frame.id);
    switch (frame.kind) {
      case 'edit': {
        if (known) {
          // A deleted message never comes back, and an older edit never overwrites a newer one.
          if (known.deleted || (known.edited && known.edited.at > frame.edited.at)) return;
          if (known.edited?.at === frame.edited.at && sameJson(known.body, frame.body)) return;
        }
        const message = known && { ...known, body: frame.body, edited: frame.edited };
        if (message) this.known.set(frame.id, message);
        this.emit('edit', {
          room: frame.room,
          id: frame.id,
          body: frame.body,
          edited: frame.edited,
          ...(message ? { message } : {}),
        });
        return;
      }
      case 'delete': {
        if (known?.deleted) return;
        const message = known && tombstone(known);
        if (message) this.known.set(frame.id, message);
        this.emit('delete', { room: frame.room, id: frame.id, ...(message ? { message } : {}) });
        return;
      }
      case 'reaction': {
        this.learnSelfFromReaction(frame);
        const { emoji, user, count, added } = frame;
        const reactions = toggled(known?.reactions ?? {}, frame, this.selfId);
        if (known && sameJson(known.reactions ?? {}, reactions)) return;
        const message = known && withReactions(known, reactions);
        if (message) this.known.set(frame.id, message);
        this.emit('reaction', {
          room: frame.room,
          id: frame.id,
          reactions,
          change: { emoji, user, count, added },
          ...(message ? { message } : {}),
        });
        return;
      }
      default:
        unhandled(frame);
    }
  }

  private learnSelfFromReaction(frame: ReactionFrame): void {
    const probe = this.reactProbes.get(frame.id);
    if (!probe) return;
    this.reactProbes.delete(frame.id);
    if (this.selfId !== undefined || frame.emoji !== probe.emoji) return;
    // Adding while listed, or taking back while not, is someone else's toggle.
    if (frame.added !== probe.users.has(frame.user)) this.setSelfId(frame.user);
  }

  /** Takes a message's reactions summary from a history answer, emitting when it differs. */
  private refreshReactions(id: string, reactions: Reactions): void {
    const known = this.known.get(id);
    if (!known || sameJson(known.reactions ?? {}, reactions)) return;
    const message = withReactions(known, reactions);
    this.known.set(id, message);
    this.emit('reaction', { room: this.room, id, reactions, message });
  }

  /** Compares a message seen before with its version in a history answer and emits what changed. */
  private refresh(current: ChatMessage): void {
    const known = this.known.get(current.id);
    if (!known || known.deleted) return;
    if (current.deleted) {
      this.applyChange({ kind: 'delete', room: this.room, id: current.id });
      return;
    }
    if (current.edited && (!known.edited || current.edited.at > known.edited.at)) {
      this.applyChange({
        kind: 'edit',
        room: this.room,
        id: current.id,
        body: current.body,
        edited: current.edited,
      });
    }
    this.refreshReactions(current.id, current.reactions ?? {});
  }

  private accept(message: ChatMessage, source: 'history' | 'live', unread: boolean): void {
    if (this.known.has(message.id)) return;
    this.known.set(message.id, message);
    if (!this.lastId || compareIds(message.id, this.lastId) > 0) this.lastId = message.id;
    if (!this.firstId || compareIds(message.id, this.firstId) < 0) this.firstId = message.id;
    if (message.clientId && this.ownClientIds.has(message.clientId) && message.senderId) {
      this.setSelfId(message.senderId);
    }
    const own =
      (message.clientId !== undefined && this.ownClientIds.has(message.clientId)) ||
      (this.selfId !== undefined && message.senderId === this.selfId);
    const meta: MessageMeta = { source, unread, own };
    if (source === 'live' && !own) {
      this.readMarker.owe();
      if (this.options.autoMarkRead) this.readMarker.request();
    }
    if (message.type === CHAT_MESSAGE_TYPE) this.emit('message', message, meta);
    else this.emit('injection', message, meta);
  }

  private async onClosed(
    event: { code: number; reason: string },
    opened: boolean,
    problem?: string,
  ): Promise<void> {
    if (this.stopped) return;
    const reason =
      event.reason || problem || (opened ? `connection lost (code ${event.code})` : 'connection failed');
    // The server closing cleanly (unsubscribed, auth refused) is final: retrying would be refused.
    if (opened && FINAL_CLOSE_CODE_SET.has(event.code)) {
      this.stopped = true;
      const why = event.reason || `code ${event.code}`;
      this.setState({
        state: 'closed',
        reason: why.startsWith('closed by server') ? why : `closed by server: ${why}`,
      });
      return;
    }
    if (!opened) {
      const refusal = await this.refusal(problem);
      if (refusal) {
        this.stopped = true;
        this.emit('error', { kind: 'auth', message: refusal });
        this.setState({ state: 'closed', reason: refusal });
        return;
      }
    }
    this.failed(new HipochatError('connection', reason), this.generation);
  }

  /**
   * Browsers hide the HTTP status of a refused upgrade; ask the HTTP API whether the token is
   * refused so a bad token ends in `closed` with a clear reason instead of retrying forever.
   */
  private async refusal(problem: string | undefined): Promise<string | undefined> {
    const status = problem ? /Unexpected server response: (\d{3})/.exec(problem)?.[1] : undefined;
    if (status === '401') return 'authentication error: the token was refused';
    try {
      await this.http.notification(this.room);
    } catch (error) {
      if (error instanceof HipochatError && error.status === 401)
        return 'authentication error: the token was refused';
      if (error instanceof HipochatError && error.status === 403)
        return `not allowed in this room: ${error.message}`;
      // A token the HTTP API cannot even parse (spaces, say) is as refused as a wrong one.
      if (error instanceof HipochatError && error.status === 400) {
        return `authentication error: the token was refused (${error.message})`;
      }
    }
    if (status === '403') return 'not allowed in this room (403)';
    return undefined;
  }

  private failed(error: HipochatError | Error, generation: number): void {
    if (this.stopped || generation !== this.generation) return;
    if (error instanceof HipochatError && error.kind === 'auth') {
      this.stopped = true;
      this.emit('error', { kind: 'auth', message: error.message });
      this.setState({ state: 'closed', reason: error.message });
      return;
    }
    this.failures++;
    const policy = this.options.reconnect;
    const maxAttempts = policy === false ? 0 : (policy?.maxAttempts ?? Number.POSITIVE_INFINITY);
    if (this.failures > maxAttempts) {
      this.stopped = true;
      this.setState({ state: 'closed', reason: error.message });
      return;
    }
    const delayMs = backoffDelay(
      this.failures,
      policy ? (policy.initialDelayMs ?? RECONNECT_INITIAL_DELAY_MS) : RECONNECT_INITIAL_DELAY_MS,
      policy ? (policy.maxDelayMs ?? RECONNECT_MAX_DELAY_MS) : RECONNECT_MAX_DELAY_MS,
      this.options.random,
    );
    this.setState({ state: 'reconnecting', reason: error.message, attempt: this.failures, delayMs });
    this.retryTimer = setTimeout(() => void this.open(), delayMs);
  }

  private removePending(entry: PendingSend): void {
    clearTimeout(entry.timer);
    const index = this.pending.indexOf(entry);
    if (index >= 0) this.pending.splice(index, 1);
  }

  private failPending(why: string): void {
    for (const entry of this.pending.splice(0)) {
      clearTimeout(entry.timer);
      entry.reject(new HipochatError('send', `${why}; the message may or may not have been stored`));
    }
  }

  private keepAliveTimer: ReturnType<typeof setInterval> | undefined;

  private setState(change: StateChange): void {
    this.currentState = change.state;
    clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
    const every = this.options.keepAliveMs ?? KEEP_ALIVE_INTERVAL_MS;
    if (change.state === 'live' && every > 0) {
      this.keepAliveTimer = setInterval(() => {
        if (this.socket?.readyState === OPEN) this.socket.send(KEEP_ALIVE_FRAME);
      }, every);
      // A Node process (the CLI) may exit while a room is open.
      (this.keepAliveTimer as { unref?: () => void }).unref?.();
    }
    this.emit('state', change);
  }

  private emit<K extends keyof HipochatEvents>(event: K, ...args: Parameters<HipochatEvents[K]>): void {
    for (const listener of [...this.listeners[event]]) {
      try {
        (listener as (...a: Parameters<HipochatEvents[K]>) => void)(...args);
      } catch (error) {
        // A throwing listener must not break the connection.
        console.error('hipochat listener failed', error);
      }
    }
  }
}

// A new server frame kind makes this a compile error until the client handles it.
function unhandled(_frame: never): void {}

type ChangeFrame = MessageEditedFrame | MessageDeletedFrame | ReactionFrame;

/** The message without its body, marked deleted. */
function tombstone(message: ChatMessage): ChatMessage {
  const { body: _body, edited: _edited, reactions: _reactions, ...rest } = message;
  return { ...rest, body: undefined, deleted: true };
}

/**
 * A summary with one live toggle applied: the emoji's count is the server's, its listed users gain
 * or lose the user (at most {@link MAX_LISTED_REACTORS}; this client's own user takes the last
 * place when the list is full, so the page can show your reaction), and `clipped` says more
 * reacted than listed.
 */
function toggled(reactions: Reactions, change: ReactionFrame, self: string | undefined): Reactions {
  const next: Reactions = Object.create(null) as Reactions;
  for (const [emoji, summary] of Object.entries(reactions)) next[emoji] = summary;
  const { emoji, user, count, added } = change;
  if (count <= 0) {
    delete next[emoji];
    return next;
  }
  const listed = (next[emoji]?.users ?? []).filter((other) => other !== user);
  if (added && listed.length >= MAX_LISTED_REACTORS && user === self) listed.pop();
  if (added && listed.length < MAX_LISTED_REACTORS) listed.push(user);
  next[emoji] = count > listed.length ? { count, users: listed, clipped: true } : { count, users: listed };
  return next;
}

function withReactions(message: ChatMessage, reactions: Reactions): ChatMessage {
  const { reactions: _old, ...rest } = message;
  return Object.keys(reactions).length > 0 ? { ...rest, reactions } : rest;
}

// Bodies and reaction summaries are plain JSON from the wire, so their text compares them.
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The id just before `id` in stream order, for an exclusive `since` that still includes `id`. */
function idBefore(id: string): string {
  const match = /^(\d{1,16})-(\d{1,16})$/.exec(id);
  if (!match) return id;
  const ms = BigInt(match[1]!);
  const seq = BigInt(match[2]!);
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms > 0n ? `${ms - 1n}-9999999999999999` : '0-0';
}

function sortById(messages: ChatMessage[]): ChatMessage[] {
  return [...messages].sort((a, b) => compareIds(a.id, b.id));
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function randomId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}
