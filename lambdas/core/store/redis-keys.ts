/**
 * Redis key names, private to the Redis store (tests that inspect Redis directly read them too).
 * Every key of a room carries the `{room}` hash tag, so a room lives in one cluster slot.
 */
export const keys = {
  conns: (room: string) => `hc:{${room}}:conns`,
  expiry: (room: string) => `hc:{${room}}:expiry`,
  members: (room: string) => `hc:{${room}}:members`,
  log: (room: string) => `hc:{${room}}:log`,
  /** Messages appended so far; a reader's unread count is `seq - mark`. */
  seq: (room: string) => `hc:{${room}}:seq`,
  /** userId -> the room's `seq` when the user last read everything. */
  mark: (room: string) => `hc:{${room}}:mark`,
  /** Connection ids that asked for batch frames. */
  batched: (room: string) => `hc:{${room}}:batched`,
  /** Connection ids that asked for presence, typing and read frames. */
  signals: (room: string) => `hc:{${room}}:signals`,
  /** userId -> live connections of the user in the room (presence: online while above 0). */
  tabs: (room: string) => `hc:{${room}}:tabs`,
  /** userId -> public profile JSON as of the user's latest connect (presence, read receipts). */
  profiles: (room: string) => `hc:{${room}}:profiles`,
  /** Taken for 2 s by a user's ephemeral frame (typing): SET NX PX, apart from the rate limit. */
  ephemeral: (room: string, userId: string) => `hc:{${room}}:ephemeral:${userId}`,
  seen: (room: string) => `hc:{${room}}:seen`,
  /** Sorted set (score 0, byte order) of `<userId>\0<seq, 15 digits>`: who each message mentions. */
  mentions: (room: string) => `hc:{${room}}:mentions`,
  /** userId -> `<mark>:<seq>`: after a mark unread, where mentions count from while that mark stands. */
  mentionFrom: (room: string) => `hc:{${room}}:mention-from`,
  /** `r:<userId>` -> newest read mark, `p:<userId>` -> net presence change, until the room's next flush. */
  digest: (room: string) => `hc:{${room}}:digest`,
  /** Taken for a window by whoever schedules the room's next flush (SET NX PX); the flush frees it. */
  digestGate: (room: string) => `hc:{${room}}:digest-gate`,
  /** messageId -> the current version (JSON) of an edited message, or its tombstone. */
  edits: (room: string) => `hc:{${room}}:edits`,
  /** messageId -> `{"<emoji>":{"count":N,"users":[…at most 20],"clipped"?:true}}`, the summary. */
  reactions: (room: string) => `hc:{${room}}:reactions`,
  /** rootId -> `{"count":N,"lastId":"<newest reply id>"}`, the replies summary of a thread root. */
  threads: (room: string) => `hc:{${room}}:threads`,
  /** Sorted set (score 0, byte order) of `<padded root id>\0<padded reply id>\0<sender>`: each root's replies. */
  threadReplies: (room: string) => `hc:{${room}}:thread-replies`,
  /** Sorted set (score 0, byte order) of `<padded newest reply id>\0<root id>`: threads by latest activity. */
  threadActivity: (room: string) => `hc:{${room}}:thread-activity`,
  /** Sorted set (score 0, byte order) of `<padded root id>\0<userId>\0<padded reply id>`: thread read marks. */
  threadMarks: (room: string) => `hc:{${room}}:thread-marks`,
  /** Sorted set (score 0, byte order) of `<padded message id>\0<emoji>\0<userId>`: who reacted with what. */
  reactors: (room: string) => `hc:{${room}}:reactors`,
  /** `<mute|ban>:<userId>` -> until when (ms) moderation restricts the user in the room. */
  moderation: (room: string) => `hc:{${room}}:moderation`,
  /** Written before each `WAIT`, so the wait covers every earlier write of the room (a retry writes nothing else). */
  fence: (room: string) => `hc:{${room}}:fence`,
  idempotency: (room: string, key: string) => `hc:{${room}}:idem:${key}`,
  rate: (room: string, userId: string) => `hc:{${room}}:rate:${userId}`,
  /** The backend's (service key) injections in the room's current rate window. */
  backendRate: (room: string) => `hc:{${room}}:rate-backend`,
  /** userId -> until when (ms) the user has a connection watching unread counts (`?unread=1`). */
  watching: (room: string) => `hc:{${room}}:watching`,
  connection: (connectionId: string) => `hc:conn:${connectionId}`,
  /**
   * The rooms a user belongs to, for the unread counts of `?unread=1`: sorted set of rooms by when
   * the user last joined them (ms), in its own slot.
   */
  userRooms: (userId: string) => `hc:user:${userId}:rooms`,
  /** A user's connections that asked for unread counts: sorted set of connection ids by expiry (ms). */
  userWatch: (userId: string) => `hc:user:${userId}:watch`,
  /**
   * A user's live connections in every room: sorted set of `<connectionId> <room>` by expiry (ms).
   * Its own slot, so it is written by a second command beside the room's script.
   */
  userConnections: (userId: string) => `hc:user:${userId}:conns`,
  /** Per-user connect counter across rooms (its own slot). */
  connects: (userId: string) => `hc:connects:${userId}`,
  /** Per-user message counter across rooms (its own slot: one more round trip when enabled). */
  userRate: (userId: string) => `hc:rate:${userId}`,
  /** Per-user `POST /talk/item` injection counter across rooms (its own slot). */
  userInjections: (userId: string) => `hc:inject:${userId}`,
  /** How often the fan-out failed a message (it is requeued until the delivery limit). */
  fanoutFailures: (room: string, id: string) => `hc:{${room}}:fanout-failures:${id}`,
  /** A fan-out note: the remaining targets of a requeued message, or what a slice served. */
  fanoutNote: (room: string, name: string) => `hc:{${room}}:fanout-note:${name}`,
  /** A cached identity, by the SHA-256 of its token. */
  identity: (tokenHash: string) => `hc:auth:${tokenHash}`,
  /** A single-use connect ticket, by the SHA-256 of the ticket. */
  ticket: (ticketHash: string) => `hc:ticket:${ticketHash}`,
} as const;

/** The names of the keys that belong to one room and take nothing but the room. */
export type RoomKeyName = Exclude<
  {
    [K in keyof typeof keys]: (typeof keys)[K] extends (room: string) => string ? K : never;
  }[keyof typeof keys],
  // Keys of one argument that is no room: a connection, a user, a hash.
  | 'connection'
  | 'userConnections'
  | 'userRooms'
  | 'userWatch'
  | 'userRate'
  | 'userInjections'
  | 'identity'
  | 'ticket'
>;

/** The named keys of `room`, by name, for a script call. */
export function roomKeys<const N extends RoomKeyName>(room: string, ...names: N[]): Record<N, string> {
  const named = {} as Record<N, string>;
  for (const name of names) named[name] = (keys[name] as (room: string) => string)(room);
  return named;
}
