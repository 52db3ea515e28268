/**
 * The HTTP API as a user calls it (`Authorization: Token`): history, unread counts, presence,
 * receipts, injections and connect tickets. The backend's calls (service key, retries) live in
 * `@hipochat/server`.
 */
import {
  type ChatMessage,
  type ConnectTicket,
  type HistoryAnswer,
  type HttpErrorBody,
  isValidRoom,
  type MarkUnreadAnswer,
  type MarkUnreadRequest,
  type NotificationAnswer,
  type OldMessages,
  type PresenceAnswer,
  type ReceiptsAnswer,
  ROOM_NAME_RULE,
  type RoomHistory,
  type ThreadAnswer,
  type ThreadsAnswer,
} from '../../../protocol/index.js';
import { type ErrorKind, HipochatError, ModerationError } from './errors.js';
import { parseHttpUrl } from './urls.js';

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

/** Which page of a thread `GET /talk/thread/{room}/{root}/` answers. */
export interface ThreadQuery {
  /** At most this many replies. */
  limit?: number;
  /** Only replies older than this id (the oldest reply loaded, for the page before). */
  before?: string;
}

/** Options of {@link HipochatHttp}. */
export interface HipochatHttpOptions {
  /** HTTP API base (prefix of `/talk/...`). */
  httpUrl: string;
  /** `Authorization: Token <token>`. */
  token?: string;
  /** Request timeout. @default 10000 */
  timeoutMs?: number;
  /** fetch implementation. @default globalThis.fetch */
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
    return (await this.counts(room)).notification;
  }

  /** The user's unread count in `room` and, on servers that count them, the mentions of the user among them. */
  async counts(room: string): Promise<NotificationAnswer> {
    return this.request<NotificationAnswer>('GET', `/talk/notification/${roomPath(room)}/`);
  }

  /**
   * A thread: its root and one page of replies, oldest first (`limit`, `before` the oldest reply
   * loaded for the page before). Reading the newest page marks the thread read.
   */
  async thread(room: string, rootId: string, query: ThreadQuery = {}): Promise<ThreadAnswer> {
    const params = new URLSearchParams();
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.before) params.set('before', query.before);
    const search = params.toString();
    const path = `/talk/thread/${roomPath(room)}/${encodeURIComponent(rootId)}/`;
    return this.request('GET', `${path}${search ? `?${search}` : ''}`);
  }

  /** The room's threads, latest activity first, each with the user's unread replies. */
  async threads(room: string, query: { limit?: number } = {}): Promise<ThreadsAnswer> {
    const search = query.limit === undefined ? '' : `?limit=${query.limit}`;
    return this.request('GET', `/talk/threads/${roomPath(room)}/${search}`);
  }

  /** Moves the user's read mark to just before message `id`: it and what follows count as unread again. */
  async markUnread(room: string, id: string): Promise<MarkUnreadAnswer> {
    const body: MarkUnreadRequest = { id };
    return this.request('POST', `/talk/unread/${roomPath(room)}/`, {
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
  }

  /** The latest `limit` messages and unread count of each room. */
  async history(rooms: readonly string[], limit = 20): Promise<RoomHistory[]> {
    const path = rooms.map(roomPath).join(',');
    const result = await this.request<HistoryAnswer>('GET', `/talk/history/${path}/?limit=${limit}`);
    return result.results;
  }

  /** Injects a JSON body as a message of `type`, as this user. */
  async inject(room: string, type: string, body: unknown, idempotencyKey?: string): Promise<ChatMessage> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    return this.request('POST', `/talk/item/${roomPath(room)}/?type=${encodeURIComponent(type)}`, {
      body: JSON.stringify(body),
      headers,
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
    const search = query.toString();
    return this.request('GET', `/talk/receipts/${roomPath(room)}/${search ? `?${search}` : ''}`);
  }

  /** A single-use connect ticket (30 seconds). */
  async ticket(room: string): Promise<ConnectTicket> {
    return this.request('POST', `/talk/ticket/${roomPath(room)}/`);
  }

  private async request<T>(
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (this.options.token) headers.authorization = `Token ${this.options.token}`;
    const doFetch = this.options.fetch ?? globalThis.fetch;
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    const url = `${this.base}${path}`;
    // AbortSignal.timeout is newer than the supported browsers (Safari 15.4, Chrome 103).
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, { method, headers, body: init.body, signal: abort.signal });
      text = await response.text();
    } catch (error) {
      const name = (error as { name?: string } | null)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new HipochatError('timeout', `${method} ${url} timed out after ${timeoutMs} ms`);
      }
      throw new HipochatError('http', `${method} ${url} failed: ${describeFetchError(error)}`);
    } finally {
      clearTimeout(timer);
    }
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!response.ok) {
      const record = (data ?? {}) as Partial<Record<keyof HttpErrorBody | 'reason' | 'retryAfter', unknown>>;
      const detail = String(record.error ?? record.message ?? (text.slice(0, 200) || response.statusText));
      if (typeof record.reason === 'string' && (response.status === 403 || response.status === 422)) {
        const retryAfter = typeof record.retryAfter === 'number' ? record.retryAfter : undefined;
        throw new ModerationError(detail, record.reason, retryAfter, response.status);
      }
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

/** A room as a path segment, refused with the naming rule when invalid. */
export function roomPath(room: string): string {
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
