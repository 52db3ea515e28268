/**
 * Connections that follow rooms by subscribing (`?rooms=` or neither room nor rooms): the record of
 * the rooms each follows, the user's rooms, and who watches unread counts. A follower sits in each
 * of its rooms' connection indexes like any connection (`ChatStore.connect` with `follows`); what
 * spans rooms lives here, each key in its own slot and never combined with another in one command.
 */
import type { Identity } from '../protocol.js';

/** What a follower asked for at connect. */
export interface FollowOptions {
  /** Batch frames (`?batch=1`). @default false */
  batched?: boolean;
  /** Presence, typing and read frames (`?signals=1`). @default false */
  signals?: boolean;
  /** Live unread counts of the rooms it does not follow (`?unread=1`). @default false */
  unread?: boolean;
}

/** A follower's record: who holds it, the rooms it follows (in the order it followed them). */
export interface Follower {
  identity: Identity;
  rooms: string[];
  options: FollowOptions;
}

/** What `follow` did. */
export type FollowOutcome = 'added' | 'following' | 'full' | 'unknown';

/** A user watching a room's unread count, and that count. */
export interface UnreadWatcher {
  userId: string;
  count: number;
}

/** Follower records, the user's rooms and the unread watchers; both stores implement it. */
export interface FollowerStore {
  /**
   * Records a follower with no room yet, for `ttlSeconds` (the connection record's life); with
   * `unread`, it joins its user's watching connections.
   */
  open(connectionId: string, identity: Identity, options: FollowOptions, ttlSeconds: number): Promise<void>;
  /** The follower's record while it lives; null for a single-room connection or an unknown one. */
  follower(connectionId: string): Promise<Follower | null>;
  /** Adds a room to the record (at most `maxRooms`), in one step: no two subscribes pass the cap. */
  follow(connectionId: string, room: string, maxRooms: number): Promise<FollowOutcome>;
  /** Takes a room off the record; false when it was not followed. */
  unfollow(connectionId: string, room: string): Promise<boolean>;
  /** Forgets the record and the connection's place among its user's watchers; answers the record. */
  close(connectionId: string): Promise<Follower | null>;
  /** Notes that the users belong to the room, as of now (their index across rooms, for unread counts). */
  addUserRoom(room: string, userIds: readonly string[]): Promise<void>;
  /** Forgets that the users belong to the room. */
  removeUserRoom(room: string, userIds: readonly string[]): Promise<void>;
  /** Up to `limit` rooms the user belongs to (as noted since the index exists), the latest joined first. */
  userRooms(userId: string, limit: number): Promise<string[]>;
  /** Notes that the user watches the room's unread count until `expiresAtMs` (a later one wins). */
  watch(room: string, userId: string, expiresAtMs: number): Promise<void>;
  /** The room's live watchers and their unread counts; expired ones are forgotten on the way. */
  watchers(room: string): Promise<UnreadWatcher[]>;
  /** Forgets a watcher of the room that no longer has a watching connection. */
  unwatch(room: string, userId: string): Promise<void>;
  /** The live connections of the user that asked for unread counts. */
  watchingConnections(userId: string): Promise<string[]>;
}
