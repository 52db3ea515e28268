/**
 * `@hipochat/client`: the Hipochat client for browsers and Node ≥ 22 (the global `WebSocket`, or
 * any implementation passed in). No runtime dependencies; the wire types come from the server's
 * `protocol/` at build time.
 */
export type {
  BroadcastAnswer,
  ChatMessage,
  ClientFrame,
  EditMark,
  HistoryPage,
  MarkUnreadAnswer,
  NotificationAnswer,
  OldMessages,
  PresenceAnswer,
  Profile,
  ReactionSummary,
  Reactions,
  ReadReceipt,
  ReceiptsAnswer,
  RepliesSummary,
  RoomHistory,
  ServerFrame,
  ThreadAnswer,
  ThreadEntry,
  ThreadsAnswer,
  UserDisconnected,
} from '../../../protocol/index.js';
export {
  compareIds,
  DEFAULT_MAX_MESSAGE_BYTES,
  EPHEMERAL_INTERVAL_MS,
  MAX_BROADCAST_ROOMS,
  MAX_MENTIONS,
  MESSAGE_ID_PATTERN,
  utf8Length,
} from '../../../protocol/index.js';
export { ChatRoom, type ChatRoomContext, type SendOptions } from './chat-room.js';
export * from './client.js';
export * from './client-options.js';
export * from './connection.js';
export * from './errors.js';
export * from './events.js';
export * from './http.js';
export * from './link-states.js';
export { pageIsReading, READ_MARK_INTERVAL_MS, ReadMarker, type ReadMarkerOptions } from './read-marker.js';
export {
  DEFAULT_PAGE_SIZE,
  DEFAULT_REFRESH_ON_RECONNECT,
  type Identity,
  Room,
  type RoomOptions,
} from './room.js';
export { RoomSet, type RoomSetContext } from './rooms.js';
export { afterReply, mentionsUser, nextReplies, ThreadSummaries } from './threads.js';
export { DEFAULT_TIMELINE_CAP, RoomTimeline, sortById, type TimelineChange } from './timeline.js';
export { backoffDelay, httpUrlFromWs, parseHttpUrl, parseWsUrl } from './urls.js';
