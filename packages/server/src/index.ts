/**
 * `@hipochat/server`: the Hipochat backend library for Node ≥ 20. No runtime dependencies; the
 * wire types come from the server's `protocol/` at build time.
 */
export type {
  BroadcastAnswer,
  ChatMessage,
  MembersAdded,
  MembersRemoved,
  PresenceAnswer,
  Profile,
  ReadReceipt,
  ReceiptsAnswer,
  RoomHistory,
  UserDisconnected,
} from '../../../protocol/index.js';
export { MAX_BROADCAST_ROOMS } from '../../../protocol/index.js';
export * from './errors.js';
export * from './hipochat-server.js';
export * from './push-signature.js';
export { parseRetryAfter, type RetryOptions } from './request.js';
