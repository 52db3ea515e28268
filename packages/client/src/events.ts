/** The events a client emits, their payloads, and the emitter both the connection and rooms use. */
import type { ChatMessage, EditMark, Profile, Reactions } from '../../../protocol/index.js';
import type { ErrorKind } from './errors.js';

/** Connection states the client reports, in the order a healthy connection goes through them. */
export type ConnectionState = 'idle' | 'connecting' | 'live' | 'reconnecting' | 'closed';

/** The `state` event. */
export interface StateChange {
  state: ConnectionState;
  /** Why: the close reason, the failure, or `client closed`. */
  reason?: string;
  /** The numbered reason of a close ({@link CloseCode}), with `reconnecting` and `closed`. */
  code?: number;
  /** Consecutive failed attempts so far (while reconnecting). */
  attempt?: number;
  /** Milliseconds until the next attempt (while reconnecting). */
  delayMs?: number;
}

/** The `error` event. */
export interface ClientErrorEvent {
  kind: ErrorKind;
  message: string;
  /** Why moderation refused a frame (kind `moderation`): the hook's reason, or `muted` / `banned`. */
  reason?: string;
  /** Seconds until a mute or ban ends (kind `moderation`). */
  retryAfter?: number;
}

/** The `unread` event: the user's unread count of a room changed (a client of several rooms). */
export interface UnreadEvent {
  room: string;
  count: number;
  /** Mentions of the user among the unread messages (after `markUnread`). */
  mentions?: number;
  /** The first message unread again (after `markUnread`): where an unread divider goes. */
  from?: string;
}

/** Where a message came from. */
export interface MessageMeta {
  /** `history` for the catch-up after a (re)connect, `live` for a pushed frame. */
  source: 'history' | 'live';
  /** Whether the server counted it as unread for this user (history only). */
  unread: boolean;
  /** Whether this client's user sent it (known once the server has acknowledged a send). */
  own: boolean;
  /** Whether it mentions this client's user (`mentions` holds the user id, once the id is known). */
  mentioned: boolean;
}

/** The `history` event: what one catch-up (or `loadEarlier`) brought, already deduplicated. */
export interface HistoryBatch {
  /** True for the first catch-up of this client (the newest history with the read/unread split). */
  initial: boolean;
  /** True for a page of older messages from `loadEarlier`. */
  earlier: boolean;
  /** The server holds messages older than the oldest one loaded (`hasEarlier`). */
  more: boolean;
  read: ChatMessage[];
  unread: ChatMessage[];
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

/** The `edit` event: a message's body changed (live, or found changed in a later history answer). */
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

/** The `reaction` event: a message's reactions changed; `reactions` is the whole summary now. */
export interface ReactionEvent {
  room: string;
  id: string;
  reactions: Reactions;
  /** The live change that caused it (absent when a history answer brought the new summary). */
  change?: { emoji: string; user: string; count: number; added: boolean };
  /** The message as it is now, when this client has it. */
  message?: ChatMessage;
}

/**
 * The `replies` event: a thread root's replies changed (live with `signals: true`, from each reply
 * this client receives, and from history); `count` and `lastId` are the root's summary now.
 */
export interface RepliesEvent {
  room: string;
  /** The thread root's id. */
  id: string;
  count: number;
  /** The newest reply's id. */
  lastId: string;
  /** The root as it is now, when this client has it. */
  message?: ChatMessage;
}

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
  /**
   * A room's unread count changed (a client of several rooms with `unread`, the default), or the
   * user marked it unread (`markUnread`, any client).
   */
  unread: (event: UnreadEvent) => void;
  /** A thread root's reply count or newest reply changed. */
  replies: (event: RepliesEvent) => void;
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

// biome-ignore lint/suspicious/noExplicitAny: listeners of any signature
type AnyListener = (...args: any[]) => void;

/** Listeners by event name; a throwing listener never breaks the emitter. */
export class Emitter<Events extends { [K in keyof Events]: AnyListener }> {
  private readonly listeners = new Map<keyof Events, Set<AnyListener>>();

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof Events>(event: K, listener: Events[K]): () => void {
    const set = this.listeners.get(event) ?? new Set<AnyListener>();
    this.listeners.set(event, set);
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof Events>(event: K, listener: Events[K]): void {
    this.listeners.get(event)?.delete(listener);
  }

  emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        listener(...args);
      } catch (error) {
        console.error('hipochat listener failed', error);
      }
    }
  }
}
