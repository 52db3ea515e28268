/**
 * The rooms of one client. A one-room client hands every frame to its room, as it always did; a
 * client of several rooms (`rooms`) routes each frame to the room it names, subscribes every room
 * after each (re)connect with `since` (the newest id the room holds) while the room catches up over
 * HTTP, and keeps the user's unread counts from the server's `unread` frames.
 */
import {
  AUTHENTICATION_ERROR,
  encodeClientFrame,
  isValidRoom,
  ROOM_NAME_RULE,
  type ServerFrame,
} from '../../../protocol/index.js';
import type { ChatRoom } from './chat-room.js';
import type { Connection } from './connection.js';
import { HipochatError } from './errors.js';
import type { Emitter, HipochatEvents } from './events.js';

/** What a {@link RoomSet} needs from its client. */
export interface RoomSetContext {
  connection: Connection;
  events: Emitter<HipochatEvents>;
  /** Makes the room object of a name. */
  make: (name: string) => ChatRoom;
  /** Whether the client follows several rooms on its connection (`rooms`), not one (`room`). */
  multi: boolean;
  /** Ask for the unread counts after each connect (`?unread=1` was sent). */
  unread: boolean;
  /** Whether the client is live (a room followed later then tells its listeners it is live too). */
  live: () => boolean;
}

/** The rooms a client follows, by name, and the user's unread counts. */
export class RoomSet {
  private readonly byName = new Map<string, ChatRoom>();
  private readonly counts = new Map<string, number>();
  // Rooms whose subscribe awaits the server's answer.
  private readonly answers = new Map<string, () => void>();
  private readonly paused = new Set<string>();
  private readonly followedOnce = new Set<string>();
  // Rooms whose unsubscribe awaits the server's answer.
  private readonly leaving = new Map<string, () => void>();

  constructor(
    private readonly context: RoomSetContext,
    initial: readonly string[],
  ) {
    for (const name of initial) this.create(name);
  }

  /** The room object of a followed room. */
  get(name: string): ChatRoom | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The followed rooms' names, in the order they were added. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  get size(): number {
    return this.byName.size;
  }

  /** Unread counts by room, from the server's `unread` frames (a client of several rooms). */
  get unread(): ReadonlyMap<string, number> {
    return new Map(this.counts);
  }

  /**
   * Follows one more room on the connection (a client of several rooms only); answers its room
   * object at once, live once the server answered the subscribe and the catch-up is done.
   */
  add(name: string): ChatRoom {
    if (!this.context.multi) throw new HipochatError('connection', 'a client of one room follows no other');
    const known = this.byName.get(name);
    if (known) return known;
    const room = this.create(name);
    if (this.context.connection.usable) void this.follow(room);
    return room;
  }

  /**
   * Stops following a room: nothing of it is emitted afterwards. Resolves once the server answered
   * (or at once when not connected): whether the room was followed.
   */
  remove(name: string): Promise<boolean> {
    const room = this.byName.get(name);
    if (!room || !this.context.multi) return Promise.resolve(false);
    this.byName.delete(name);
    this.answered(name);
    if (this.paused.delete(name)) return Promise.resolve(true);
    room.core.close();
    const left = new Promise<boolean>((resolve) => this.leaving.set(name, () => resolve(true)));
    if (!this.unsubscribe(name)) this.left(name);
    return left;
  }

  /**
   * Keeps a room's object and timeline but stops following it on the connection (a room in the
   * background): its unread count then comes live. {@link resume} follows it again with `since`.
   * A room never followed yet is followed once first: that makes the user a member, whose counts
   * the server sends, and loads its history.
   */
  pause(name: string): void {
    const room = this.byName.get(name);
    if (!room || !this.context.multi || this.paused.has(name)) return;
    this.paused.add(name);
    room.core.live = false;
    if (this.followedOnce.has(name)) this.unsubscribe(name);
  }

  /** Follows a paused room again: it catches up on what came meanwhile. */
  resume(name: string): void {
    const room = this.byName.get(name);
    if (!room || !this.paused.delete(name)) return;
    if (this.context.connection.usable) void this.follow(room);
  }

  /** Whether a room is paused. */
  isPaused(name: string): boolean {
    return this.paused.has(name);
  }

  /** Hands every room with its own listeners an event the client emitted. @internal */
  relay<K extends keyof HipochatEvents>(event: K, ...args: Parameters<HipochatEvents[K]>): void {
    for (const room of this.byName.values()) room.relay(event, ...args);
  }

  /** The socket opened: subscribes (and catches up) every room; resolves when all answered. @internal */
  async opened(): Promise<void> {
    if (!this.context.multi) {
      for (const room of this.byName.values()) await room.core.resync();
      return;
    }
    if (this.context.unread) this.context.connection.sendRaw(encodeClientFrame({ kind: 'unread' }));
    const followed = [...this.byName.values()].filter(
      (room) => !this.paused.has(room.name) || !this.followedOnce.has(room.name),
    );
    await Promise.all(followed.map((room) => this.follow(room)));
  }

  /** The socket went down: no room is live, no answer will come. @internal */
  down(): void {
    for (const room of this.byName.values()) room.core.live = false;
    for (const settle of [...this.answers.values(), ...this.leaving.values()]) settle();
    this.answers.clear();
    this.leaving.clear();
  }

  /** Marks every room live (a one-room client, once caught up). @internal */
  markLive(): void {
    if (!this.context.multi) for (const room of this.byName.values()) room.core.live = true;
  }

  /** Stops read marks for good. @internal */
  close(): void {
    this.down();
    for (const room of this.byName.values()) room.core.close();
  }

  /** Hands a frame of the connection to the room it names. @internal */
  handle(frame: ServerFrame): void {
    if (!this.context.multi) {
      for (const room of this.byName.values()) room.handle(frame);
      return;
    }
    switch (frame.kind) {
      case 'pong':
        return;
      case 'unsubscribed':
        this.left(frame.room);
        return;
      case 'ack':
        // Typing probes' acks name no room.
        for (const room of this.byName.values()) room.handle(frame);
        return;
      case 'unread':
        if (frame.rooms) for (const [room, count] of Object.entries(frame.rooms)) this.count(room, count);
        if (frame.room !== undefined && frame.count !== undefined) this.count(frame.room, frame.count);
        return;
      case 'subscribed': {
        const room = this.byName.get(frame.room);
        // What the room missed since `since`: held and ordered with the catch-up's answer.
        if (room && frame.missed?.length)
          room.handle({ kind: 'batch', room: room.name, messages: frame.missed });
        // Following the room marks it read; its count is the room's own business now.
        if (this.counts.has(frame.room)) this.count(frame.room, 0);
        this.answered(frame.room);
        return;
      }
      case 'error': {
        const room = frame.room === undefined ? undefined : this.byName.get(frame.room);
        if (!room) {
          const kind = frame.message === AUTHENTICATION_ERROR ? 'auth' : 'frame';
          const named = frame.room === undefined ? '' : ` (room ${frame.room})`;
          this.context.events.emit('error', { kind, message: `${frame.message}${named}` });
          return;
        }
        room.handle(frame);
        // A refused subscribe: the room is not followed.
        if (this.answers.has(room.name)) {
          this.byName.delete(room.name);
          room.core.close();
          this.answered(room.name);
        }
        return;
      }
      default:
        this.byName.get(roomOf(frame))?.handle(frame);
    }
  }

  private create(name: string): ChatRoom {
    if (!isValidRoom(name)) {
      throw new HipochatError('connection', `invalid room "${name}": use ${ROOM_NAME_RULE}`);
    }
    const room = this.context.make(name);
    this.byName.set(name, room);
    return room;
  }

  private async follow(room: ChatRoom): Promise<void> {
    room.core.live = false;
    const since = room.lastMessageId;
    const answered = new Promise<void>((resolve) => this.answers.set(room.name, resolve));
    // Live frames (and the subscribe's `missed`) wait until both the catch-up and the answer are
    // in, so they come out in id order whichever arrives first.
    const caughtUp = room.core.resync(answered);
    const frame = encodeClientFrame({ kind: 'subscribe', room: room.name, since });
    if (!this.context.connection.sendRaw(frame)) this.answered(room.name);
    await caughtUp;
    if (!this.context.connection.usable || this.byName.get(room.name) !== room) return;
    this.followedOnce.add(room.name);
    if (this.paused.has(room.name)) {
      this.unsubscribe(room.name);
      return;
    }
    room.core.live = true;
    if (this.context.live()) room.relay('state', { state: 'live' });
  }

  private unsubscribe(name: string): boolean {
    return this.context.connection.sendRaw(encodeClientFrame({ kind: 'unsubscribe', room: name }));
  }

  private answered(name: string): void {
    this.answers.get(name)?.();
    this.answers.delete(name);
  }

  private left(name: string): void {
    this.leaving.get(name)?.();
    this.leaving.delete(name);
  }

  private count(room: string, count: number): void {
    if (this.counts.get(room) === count) return;
    this.counts.set(room, count);
    this.context.events.emit('unread', { room, count });
  }
}

type RoomFrame = Exclude<
  ServerFrame,
  { kind: 'pong' | 'ack' | 'error' | 'unread' | 'subscribed' | 'unsubscribed' }
>;

function roomOf(frame: RoomFrame): string {
  return frame.kind === 'message' ? frame.message.room : frame.room;
}
