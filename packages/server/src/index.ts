/**
 * `@hipochat/server`: the Hipochat backend library for Node ≥ 20. No runtime dependencies; the
 * wire types come from the server's `protocol/` at build time.
 */
export type {
  BroadcastAnswer,
  ChatMessage,
  HistoryPage,
  MarkUnreadAnswer,
  MembersAdded,
  MembersRemoved,
  ModeratedAction,
  ModerationAnswer,
  ModerationDecision,
  ModerationRequest,
  NotificationAnswer,
  PresenceAnswer,
  Profile,
  ReadReceipt,
  ReceiptsAnswer,
  RepliesSummary,
  Restriction,
  RestrictionAnswer,
  RestrictionKind,
  RoomHistory,
  ThreadAnswer,
  ThreadEntry,
  ThreadsAnswer,
  UserDisconnected,
} from '../../../protocol/index.js';
export {
  DEFAULT_THREADS_LIMIT,
  MAX_BROADCAST_ROOMS,
  MAX_MENTIONS,
  MAX_THREADS_LIMIT,
} from '../../../protocol/index.js';
export * from './errors.js';
export * from './hipochat-server.js';
export * from './moderation-hook.js';
export * from './push-signature.js';
export { parseRetryAfter, type RetryOptions } from './request.js';
