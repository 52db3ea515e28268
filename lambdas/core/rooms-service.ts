import {
  type ChatMessage,
  MAX_FRAME_BYTES,
  type SubscribedFrame,
  type UnsubscribedFrame,
} from '../../protocol/index.js';
import type { ChatService } from './chat-service.js';
import type { ChatConfig } from './config.js';
import { BadRequestError, ForbiddenError, UnauthorizedError } from './errors.js';
import type { Identity } from './protocol.js';
import type { ChatStore } from './store/chat-store.js';
import type { Follower, FollowOptions } from './store/follower-store.js';

/** Rooms whose counts `{"type":"unread"}` answers (and that `?unread=1` watches), at most: the latest joined. */
export const MAX_UNREAD_ROOMS = 200;
/** Messages a subscribe with `since` replays in its answer, at most (`more` says when there are others). */
export const MAX_REPLAYED_MESSAGES = 50;
// Bytes of a `subscribed` answer kept for its other fields; the rest of the frame carries the replay.
const SUBSCRIBED_ENVELOPE_BYTES = 1024;

/** Why a frame names no room on a connection that follows several. */
export const ROOM_REQUIRED = 'room is required: this connection follows several rooms';

/** A refusal that names the room it is about (its error frame carries `room`). */
export type RoomRefusal = Error & { room?: string };

/** Attaches the room to a refusal, so the error frame names it. */
function aboutRoom<E extends Error>(error: E, room: string): E & { room: string } {
  return Object.assign(error, { room });
}

/**
 * Connections that follow many rooms: `?rooms=` or no room at connect, then `subscribe` and
 * `unsubscribe` frames. Each followed room holds the connection in its index as a single-room
 * connection would be, with the same checks (closed rooms, membership) and presence; the record
 * lists the rooms, so `$disconnect` leaves every one.
 */
export class RoomsService {
  constructor(
    private readonly config: ChatConfig,
    private readonly store: ChatStore,
    private readonly chat: ChatService,
  ) {}

  /** `$connect` of a follower: its record, the unread watch of the user's rooms, then each room of `?rooms=`. */
  async open(identity: Identity, connectionId: string, rooms: readonly string[], options: FollowOptions) {
    const ttl = this.config.connectionTtlSeconds;
    await this.store.followers.open(connectionId, identity, options, ttl);
    if (options.unread) {
      const expiresAt = Date.now() + ttl * 1000;
      const mine = await this.store.followers.userRooms(identity.userId, MAX_UNREAD_ROOMS);
      await Promise.all(mine.map((room) => this.store.followers.watch(room, identity.userId, expiresAt)));
    }
    for (const room of rooms) await this.follow(connectionId, { identity, rooms: [], options }, room);
  }

  /** The follower record of a connection. @throws BadRequestError for a single-room connection */
  private async follower(connectionId: string): Promise<Follower> {
    const follower = await this.store.followers.follower(connectionId);
    if (!follower) {
      throw new BadRequestError(
        'this connection follows one room: connect with ?rooms= (or no room) to subscribe',
      );
    }
    return follower;
  }

  /** Follows `room`, with the checks of a connect; answers the unread count it had before. */
  private async follow(connectionId: string, follower: Follower, room: string): Promise<number> {
    const { identity, options } = follower;
    try {
      await this.chat.assertReader(room, identity.userId, 'subscribe');
      const unread = await this.store.unread(room, identity.userId);
      const max = this.config.maxRoomsPerConnection;
      const outcome = await this.store.followers.follow(connectionId, room, max);
      if (outcome === 'unknown') throw new UnauthorizedError('unknown connection');
      if (outcome === 'full') throw new ForbiddenError(`at most ${max} rooms per connection`);
      if (outcome === 'added') {
        try {
          await this.chat.join(room, identity, connectionId, {
            batched: options.batched,
            signals: options.signals,
          });
        } catch (error) {
          await this.store.followers.unfollow(connectionId, room);
          throw error;
        }
        const expiresAt = Date.now() + this.config.connectionTtlSeconds * 1000;
        if (options.unread) await this.store.followers.watch(room, identity.userId, expiresAt);
      }
      return unread;
    } catch (error) {
      throw error instanceof Error ? aboutRoom(error, room) : error;
    }
  }

  /** `{"type":"subscribe"}`: follows the room; with `since`, replays a page of what came after. */
  async subscribe(connectionId: string, room: string, since?: string): Promise<SubscribedFrame> {
    const follower = await this.follower(connectionId);
    const unread = await this.follow(connectionId, follower, room);
    const frame: SubscribedFrame = { kind: 'subscribed', room, unread };
    if (since === undefined) return frame;
    const page = await this.store.page(room, follower.identity.userId, {
      limit: MAX_REPLAYED_MESSAGES,
      after: since,
    });
    const missed = fitting(page.messages, MAX_FRAME_BYTES - SUBSCRIBED_ENVELOPE_BYTES);
    return { ...frame, missed, more: page.more || missed.length < page.messages.length };
  }

  /** `{"type":"unsubscribe"}`: nothing of the room reaches the connection afterwards; read up to now. */
  async unsubscribe(connectionId: string, room: string): Promise<UnsubscribedFrame> {
    await this.follower(connectionId);
    if (await this.store.followers.unfollow(connectionId, room)) {
      const departure = await this.store.disconnect(room, connectionId, Date.now());
      await this.chat.announce.departed(room, [departure]);
    }
    return { kind: 'unsubscribed', room };
  }

  /**
   * The room a frame goes to on a follower: the one it names, which it must follow, or its only room.
   *
   * @throws BadRequestError naming the room when it is not followed, or when none is named on a
   *   connection that follows several; UnauthorizedError when the connection is unknown
   */
  async roomOf(
    connectionId: string,
    named: string | undefined,
  ): Promise<{ room: string; identity: Identity }> {
    const follower = await this.store.followers.follower(connectionId);
    if (!follower) throw new UnauthorizedError('unknown connection');
    const { rooms, identity } = follower;
    if (named !== undefined) {
      if (!rooms.includes(named)) throw aboutRoom(new BadRequestError('not subscribed to this room'), named);
      return { room: named, identity };
    }
    if (rooms.length === 1) return { room: rooms[0]!, identity };
    throw new BadRequestError(rooms.length === 0 ? 'subscribe to a room first' : ROOM_REQUIRED);
  }

  /** `{"type":"unread"}`: the unread count of each room the user belongs to (at most {@link MAX_UNREAD_ROOMS}). */
  async unreadCounts(connectionId: string): Promise<Record<string, number>> {
    const { identity } = await this.follower(connectionId);
    const rooms = await this.store.followers.userRooms(identity.userId, MAX_UNREAD_ROOMS);
    const counts = await Promise.all(rooms.map((room) => this.store.unread(room, identity.userId)));
    return Object.fromEntries(rooms.map((room, index) => [room, counts[index]!]));
  }

  /** `$disconnect` of a follower: leaves every room it follows; false when it is none. */
  async close(connectionId: string, leftAtMs?: number): Promise<boolean> {
    const follower = await this.store.followers.follower(connectionId);
    if (!follower) return false;
    for (const room of follower.rooms) {
      await this.chat.announce.departed(room, [await this.store.disconnect(room, connectionId, leftAtMs)]);
    }
    await this.store.followers.close(connectionId);
    return true;
  }
}

/** The oldest messages of `messages` whose JSON fits `bytes` together. */
function fitting(messages: readonly ChatMessage[], bytes: number): ChatMessage[] {
  const kept: ChatMessage[] = [];
  let left = bytes;
  for (const message of messages) {
    left -= Buffer.byteLength(JSON.stringify(message), 'utf8') + 1;
    if (left < 0) break;
    kept.push(message);
  }
  return kept;
}
