/**
 * A room on a connection (a subscription, in centrifuge-js terms): it catches up over HTTP after
 * every (re)connect, holds live frames back until then so messages come out in id order, turns the
 * timeline's changes into events, and sends the room's frames. Frames of other rooms are ignored,
 * so several rooms can share one connection.
 */
import {
  CHAT_MESSAGE_TYPE,
  type ChatMessage,
  type OldMessages,
  type ReadMarkEntry,
  type ServerFrame,
} from '../../../protocol/index.js';
import { BoundedMap, BoundedSet } from './bounded.js';
import { type Connection, refusedFrame } from './connection.js';
import { type Emitter, type HipochatEvents, type MessageMeta, profileUserId } from './events.js';
import type { HipochatHttp } from './http.js';
import { pageIsReading, ReadMarker } from './read-marker.js';
import { mentionsUser, ThreadSummaries } from './threads.js';
import { type ChangeFrame, RoomTimeline, sortById, type TimelineChange } from './timeline.js';

/** Messages a reconnect fetches again when `refreshOnReconnect` does not say. */
export const DEFAULT_REFRESH_ON_RECONNECT = 50;

/** Messages `loadEarlier` asks for when neither it nor `pageSize` says. */
export const DEFAULT_PAGE_SIZE = 50;

/** What a room needs from its client. */
export interface RoomOptions {
  room: string;
  pageSize?: number;
  refreshOnReconnect?: number;
  autoMarkRead?: boolean;
  /** Whether the reader looks at the room (it is named, for a client of several rooms). @default {@link pageIsReading} */
  isReading?: (room: string) => boolean;
  readMarkIntervalMs?: number;
  /** Messages the timeline keeps. @default {@link DEFAULT_TIMELINE_CAP} */
  timelineCap?: number;
}

/** Who this client's user is, shared by the rooms of one client. */
export interface Identity {
  readonly id: string | undefined;
  learn(id: string): void;
}

// Reactions toggled before the user id was known, remembered until their frame comes back.
const REACT_PROBES_CAP = 64;

/** One room's catch-up, live frames and events. */
export class Room {
  readonly timeline: RoomTimeline;
  /** The replies summaries of the thread roots held. */
  readonly threads: ThreadSummaries;
  /** Whether the room is caught up on an open connection (sends and read marks need it). */
  live = false;
  private earlier = false;
  private caughtUpOnce = false;
  private loadingEarlier: Promise<ChatMessage[]> | undefined;
  private readonly readMarker: ReadMarker;
  // Live frames that arrive during a catch-up wait here, to apply on top of the answer.
  private held: ServerFrame[] | undefined;
  private readonly reactProbes = new BoundedMap<string, { emoji: string; users: Set<string> }>(
    REACT_PROBES_CAP,
  );
  /** `unknown` until the server acks a typing frame; `refused` once it answers one with an error. */
  typing: 'unknown' | 'accepted' | 'refused' = 'unknown';
  private readonly typingClientIds = new BoundedSet<string>(8);

  constructor(
    private readonly options: RoomOptions,
    private readonly connection: Connection,
    private readonly http: HipochatHttp,
    private readonly events: Emitter<HipochatEvents>,
    private readonly self: Identity,
  ) {
    this.timeline = new RoomTimeline(options.timelineCap);
    this.threads = new ThreadSummaries(options.room, this.timeline, (e) => this.events.emit('replies', e));
    this.readMarker = new ReadMarker({
      mark: () => (this.live ? this.catchUp() : Promise.resolve()),
      isReading: () => this.reading(),
      intervalMs: options.readMarkIntervalMs,
    });
  }

  get name(): string {
    return this.options.room;
  }

  /** The server holds messages older than the oldest one loaded. */
  get hasEarlier(): boolean {
    return this.earlier;
  }

  /** Sizes of what the room remembers (for memory checks). */
  get memory(): { messages: number; changes: number; reactProbes: number; typingClientIds: number } {
    return {
      messages: this.timeline.size,
      changes: this.timeline.trackedChanges,
      reactProbes: this.reactProbes.size,
      typingClientIds: this.typingClientIds.size,
    };
  }

  /**
   * Catches up on a fresh socket, then lets the held live frames through; with `until` (a
   * subscribe's answer, which never rejects) it holds them until that settles too.
   */
  async resync(until?: Promise<unknown>): Promise<void> {
    const held: ServerFrame[] = [];
    this.held = held;
    try {
      // A page in the background reads what it missed without claiming the reader saw it.
      const window = this.options.refreshOnReconnect ?? DEFAULT_REFRESH_ON_RECONNECT;
      const since = this.caughtUpOnce ? this.timeline.refreshFrom(window) : this.timeline.lastId;
      await this.fetchAfter(since, this.reading() && !this.readMarker.held);
    } catch (error) {
      // The socket works; a failed catch-up must not keep the room from going live.
      const kind = (error as { kind?: 'http' }).kind ?? 'http';
      if (this.connection.state === 'open') {
        this.events.emit('error', { kind, message: `catch-up failed: ${(error as Error).message}` });
      }
    } finally {
      await until;
      if (this.held === held) this.held = undefined;
    }
    const messages = sortById(
      held.flatMap((f) => (f.kind === 'message' ? [f.message] : f.kind === 'batch' ? f.messages : [])),
    );
    for (const message of messages) this.accept(message, 'live', false);
    for (const frame of held) if (frame.kind !== 'message' && frame.kind !== 'batch') this.handle(frame);
  }

  /** Stops read marks for good. */
  close(): void {
    this.live = false;
    this.readMarker.cancel();
  }

  private reading(): boolean {
    return this.options.isReading ? this.options.isReading(this.name) : pageIsReading();
  }

  /**
   * Marks the room read when owed and the reader is looking (throttled). The app calls it when the
   * reader looks at the room, which also ends a {@link holdReadMark}.
   */
  markRead(): void {
    this.readMarker.release();
    this.readMarker.request();
  }

  /** The user marked the room unread: live messages mark nothing read until {@link markRead}. */
  holdReadMark(): void {
    this.readMarker.hold();
  }

  /** Whether the room was marked unread and waits for {@link markRead}. */
  get readMarkHeld(): boolean {
    return this.readMarker.held;
  }

  /** Remembers which user a reaction toggle of an unknown user will name. */
  probeReaction(id: string, emoji: string): void {
    if (this.self.id !== undefined) return;
    const users = this.timeline.get(id)?.reactions?.[emoji]?.users ?? [];
    this.reactProbes.set(id, { emoji, users: new Set(users) });
  }

  /** A typing frame's clientId while the server has not acked one yet. */
  typingProbe(clientId: string): void {
    this.typingClientIds.add(clientId);
  }

  /** Fetches what came after the newest message seen and marks the room read. */
  catchUp(): Promise<ChatMessage[]> {
    return this.fetchAfter(this.timeline.lastId);
  }

  /** Loads the page before the oldest message loaded; concurrent calls share one request. */
  loadEarlier(limit = this.options.pageSize ?? DEFAULT_PAGE_SIZE): Promise<ChatMessage[]> {
    if (this.loadingEarlier) return this.loadingEarlier;
    const before = this.timeline.firstId;
    if (!this.earlier || before === undefined) return Promise.resolve([]);
    this.loadingEarlier = (async () => {
      try {
        const asked = this.timeline.changeCount;
        const answer = await this.http.old(this.name, { before, limit });
        // A server without paging ignores `before` and answers the whole history, all seen already.
        this.earlier = answer.page?.more ?? false;
        return this.take([answer], false, true, asked);
      } finally {
        this.loadingEarlier = undefined;
      }
    })();
    return this.loadingEarlier;
  }

  /** Handles one frame of the connection; frames of other rooms are ignored. */
  handle(frame: ServerFrame): void {
    if (
      this.held &&
      (frame.kind === 'message' || frame.kind === 'batch' || isChange(frame) || frame.kind === 'replies')
    ) {
      if (roomOf(frame) === this.name) this.held.push(frame);
      return;
    }
    switch (frame.kind) {
      case 'pong':
        return;
      case 'error':
        if (frame.clientId !== undefined && this.typingClientIds.has(frame.clientId)) {
          // The server does not take typing frames: stop sending them, quietly.
          this.typing = 'refused';
          this.typingClientIds.clear();
          return;
        }
        this.events.emit('error', refusedFrame(frame).event);
        return;
      case 'ack':
        if (this.typingClientIds.has(frame.clientId)) {
          this.typing = 'accepted';
          this.typingClientIds.clear();
        }
        return;
      case 'presence':
        if (frame.room !== this.name) return;
        this.events.emit('presence', {
          event: frame.event,
          room: frame.room,
          user: frame.user,
          ...userIdField(frame.user),
        });
        return;
      case 'typing': {
        if (frame.room !== this.name) return;
        if (this.connection.isOwn(frame.clientId)) {
          if (frame.senderId) this.self.learn(frame.senderId);
          return;
        }
        if (this.self.id !== undefined && frame.senderId === this.self.id) return;
        const senderId = frame.senderId === undefined ? {} : { senderId: frame.senderId };
        const body = frame.body === undefined ? {} : { body: frame.body };
        this.events.emit('typing', { room: frame.room, author: frame.author, ...senderId, ...body });
        return;
      }
      case 'read':
        if (frame.room === this.name) this.emitReads([{ user: frame.user, id: frame.id }]);
        return;
      case 'reads':
        if (frame.room === this.name) this.emitReads(frame.marks);
        return;
      case 'edit':
      case 'delete':
      case 'reaction':
        if (frame.room !== this.name) return;
        if (frame.kind === 'reaction') this.learnSelfFromReaction(frame);
        this.emitChange(this.timeline.applyLive(frame, this.self.id));
        return;
      case 'batch':
        if (frame.room !== this.name) return;
        for (const message of frame.messages) this.accept(message, 'live', false);
        if (frame.reads) this.emitReads(frame.reads);
        return;
      case 'message':
        if (frame.message.room === this.name) this.accept(frame.message, 'live', false);
        return;
      // Answers and counts of connections that follow several rooms (`?rooms=`); a room of a
      // one-room connection never receives them.
      case 'subscribed':
      case 'unsubscribed':
      case 'unread':
        return;
      case 'replies':
        if (frame.room === this.name) this.threads.frame(frame);
        return;
      default:
        unhandled(frame);
    }
  }

  /** `markRead` false: a catch-up of a reader who is not looking, which leaves the room unread. */
  private async fetchAfter(since: string | undefined, markRead = true): Promise<ChatMessage[]> {
    const initial = !this.caughtUpOnce;
    const asked = this.timeline.changeCount;
    const pageSize = this.options.pageSize;
    const query = since === undefined && pageSize ? { limit: pageSize } : { since };
    const answers = [await this.http.old(this.name, { ...query, markRead })];
    // What stays unread is marked once the reader looks (`markRead`).
    if (!markRead && answers[0]!.results.unread_messages.length > 0) this.readMarker.owe();
    // A catch-up cut by the server's answer budget leaves a gap after `since`: fill it page by page.
    for (let page = answers[0]!.page; since !== undefined && page?.more && page.before; ) {
      const earlier: OldMessages = await this.http.old(this.name, { since, before: page.before });
      answers.push(earlier);
      page = earlier.page?.before === page.before ? undefined : earlier.page;
    }
    this.caughtUpOnce = true;
    if (since === undefined) this.earlier = answers[0]!.page?.more ?? false;
    return this.take(answers, initial, false, asked);
  }

  /**
   * Emits the unseen messages of history answers in id order, then the `history` event. Messages
   * already seen come as they are now: what changed since is emitted as change events.
   */
  private take(answers: OldMessages[], initial: boolean, earlier: boolean, asked: number): ChatMessage[] {
    const unreadIds = new Set(answers.flatMap((a) => a.results.unread_messages.map((m) => m.id)));
    const all = sortById([...new Map(answers.flatMap((a) => a.oldy).map((m) => [m.id, m])).values()]);
    const fresh: ChatMessage[] = [];
    for (const current of all) {
      if (this.timeline.get(current.id)) {
        for (const change of this.timeline.refresh(current, asked, this.self.id)) this.emitChange(change);
        this.threads.seen(current);
      } else if (!this.timeline.has(current.id) || earlier) {
        fresh.push(current);
      }
    }
    const accepted = fresh.filter((m) => this.accept(m, 'history', unreadIds.has(m.id), earlier));
    this.events.emit('history', {
      initial,
      earlier,
      more: this.earlier,
      read: accepted.filter((m) => !unreadIds.has(m.id)),
      unread: accepted.filter((m) => unreadIds.has(m.id)),
    });
    return accepted;
  }

  private accept(
    message: ChatMessage,
    source: 'history' | 'live',
    unread: boolean,
    earlier = false,
  ): boolean {
    if (!this.timeline.add(message, earlier)) return false;
    const ownFrame = this.connection.isOwn(message.clientId);
    if (ownFrame && message.senderId) this.self.learn(message.senderId);
    const own = ownFrame || (this.self.id !== undefined && message.senderId === this.self.id);
    const meta: MessageMeta = { source, unread, own, mentioned: mentionsUser(message, this.self.id) };
    if (source === 'live' && !own) {
      this.readMarker.owe();
      if (this.options.autoMarkRead) this.readMarker.request();
    }
    this.events.emit(message.type === CHAT_MESSAGE_TYPE ? 'message' : 'injection', message, meta);
    this.threads.accepted(message);
    return true;
  }

  private emitChange(change: TimelineChange | undefined): void {
    if (!change) return;
    const { kind, ...event } = change;
    const room = this.name;
    if (kind === 'edit')
      this.events.emit('edit', { room, ...(event as Omit<typeof change & { kind: 'edit' }, 'kind'>) });
    else if (kind === 'delete') this.events.emit('delete', { room, ...event });
    else
      this.events.emit('reaction', {
        room,
        ...(event as Omit<typeof change & { kind: 'reaction' }, 'kind'>),
      });
  }

  private emitReads(marks: readonly ReadMarkEntry[]): void {
    for (const { user, id } of marks)
      this.events.emit('read', { room: this.name, user, id, ...userIdField(user) });
  }

  private learnSelfFromReaction(frame: ChangeFrame & { kind: 'reaction' }): void {
    const probe = this.reactProbes.get(frame.id);
    if (!probe) return;
    this.reactProbes.delete(frame.id);
    if (this.self.id !== undefined || frame.emoji !== probe.emoji) return;
    // Adding while listed, or taking back while not, is someone else's toggle.
    if (frame.added !== probe.users.has(frame.user)) this.self.learn(frame.user);
  }
}

// A new server frame kind makes this a compile error until the room handles it.
function unhandled(_frame: never): void {}

function isChange(frame: ServerFrame): frame is ChangeFrame {
  return frame.kind === 'edit' || frame.kind === 'delete' || frame.kind === 'reaction';
}

function roomOf(
  frame: ServerFrame & { kind: 'message' | 'batch' | 'edit' | 'delete' | 'reaction' | 'replies' },
): string {
  return frame.kind === 'message' ? frame.message.room : frame.room;
}

/** `{ userId }` when the profile shows the user's id, else nothing (for spreading into an event). */
function userIdField(profile: Parameters<typeof profileUserId>[0]): { userId?: string } {
  const userId = profileUserId(profile);
  return userId === undefined ? {} : { userId };
}
