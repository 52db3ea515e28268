/**
 * The HTTP answers and hook shapes of conversations: threads, mentions, mark unread and
 * moderation, so the server's handlers, both libraries and the CLI cannot drift apart.
 */
import type { HistoryPage } from './http.js';
import type { ChatMessage, Profile } from './messages.js';

/**
 * `GET /talk/thread/{room}/{root id}/[?limit=N][&before=<id>]`: the root and one page of its
 * replies, oldest first, paged within the answer budget as `/talk/old` is. Reading the newest page
 * marks the thread read for the caller.
 */
export interface ThreadAnswer {
  room: string;
  /** The thread root, with its `replies` summary. */
  root: ChatMessage;
  /** Replies, oldest first. */
  replies: ChatMessage[];
  /** Where this page of replies stops. */
  page: HistoryPage;
}

/** One thread of `GET /talk/threads/{room}/`. */
export interface ThreadEntry {
  /** The thread root, with its `replies` summary. */
  root: ChatMessage;
  /** Replies under the root. */
  count: number;
  /** The newest reply's id: threads are ordered by it, newest first. */
  lastId: string;
  /** Replies by others the caller has not read in the thread view. */
  unread: number;
}

/** `GET /talk/threads/{room}/[?limit=N]`: the room's threads, latest activity first. */
export interface ThreadsAnswer {
  room: string;
  threads: ThreadEntry[];
}

/** Threads per `GET /talk/threads/` answer when `limit` is not given. */
export const DEFAULT_THREADS_LIMIT = 50;

/** The most threads one `GET /talk/threads/` answer may ask for. */
export const MAX_THREADS_LIMIT = 200;

/** The body of `POST /talk/unread/{room}/`: the first message to show as unread again. */
export interface MarkUnreadRequest {
  id: string;
}

/** `POST /talk/unread/{room}/`: the caller's read mark now, and their unread count from it. */
export interface MarkUnreadAnswer {
  room: string;
  /** The newest id the caller has read now; null when nothing before `id` is. */
  lastRead: string | null;
  /** The caller's unread count (others' messages from `id` on), as `/talk/notification` answers it. */
  notification: number;
  /** Mentions of the caller among those messages. */
  mentions: number;
}

/** What the moderation hook is asked about. */
export type ModeratedAction = 'message' | 'reply' | 'edit' | 'item';

/**
 * The body the server POSTs to `HIPOCHAT_MODERATION_URL` before storing a user's message, reply,
 * edit or injection, signed like the push webhook (`X-Hipochat-Signature`).
 */
export interface ModerationRequest {
  action: ModeratedAction;
  room: string;
  /** The message type. */
  type: string;
  body: unknown;
  /** The sender's public profile. */
  author: Profile | null;
  senderId: string;
  /** The edited message's id (edits only). */
  id?: string;
  /** The thread root (replies only). */
  parentId?: string;
  mentions?: string[];
  /** The server's request id, to match the hook's logs with the server's. */
  requestId: string;
}

/** What the moderation hook answers. */
export type ModerationDecision =
  | { action: 'allow' }
  | { action: 'reject'; reason?: string }
  | { action: 'replace'; body: unknown };

/** A restriction moderation puts on a user in a room. */
export type RestrictionKind = 'mute' | 'ban';

/** The body of `POST /talk/mute/{room}/{user}/` and `POST /talk/ban/{room}/{user}/`; `0` lifts it. */
export interface RestrictionRequest {
  seconds: number;
}

/** One active mute or ban. */
export interface Restriction {
  user: string;
  kind: RestrictionKind;
  /** When it ends, in seconds since the epoch. */
  until: number;
  /** Seconds left, rounded up. */
  secondsLeft: number;
}

/**
 * `POST /talk/mute/...` and `POST /talk/ban/...` (service key): the restriction now in force, or
 * `null` once lifted; a ban also says how many of the user's sockets in the room it closed.
 */
export interface RestrictionAnswer {
  room: string;
  user: string;
  kind: RestrictionKind;
  restriction: Restriction | null;
  disconnected?: number;
}

/** `GET /talk/moderation/{room}/` (service key): the room's active mutes and bans, soonest end first. */
export interface ModerationAnswer {
  room: string;
  restrictions: Restriction[];
}
