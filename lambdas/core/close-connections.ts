import type { ChatService } from './chat-service.js';
import type { ConnectionSender } from './connections.js';
import { logger } from './logger.js';
import { forEachLimited } from './retry.js';
import type { UserConnection } from './store/chat-store.js';

// Connections closed at once.
const CLOSE_CONCURRENCY = 10;

/**
 * Closes connections of a user and forgets each at once in its room (its `$disconnect`, should it
 * come, finds nothing left to do); answers how many closed. One that cannot be closed is logged
 * and left.
 */
export async function closeConnections(
  connections: readonly UserConnection[],
  sender: ConnectionSender,
  chat: ChatService,
): Promise<number> {
  let closed = 0;
  await forEachLimited(connections, CLOSE_CONCURRENCY, async ({ connectionId, room }) => {
    try {
      await sender.disconnect(connectionId);
    } catch (error) {
      logger.warn('could not close a connection of a disconnected user', { room, error });
      return;
    }
    closed += 1;
    await chat.leave(room, connectionId).catch((error: unknown) => {
      logger.warn('closed connection left for $disconnect to forget', { room, error });
    });
  });
  return closed;
}
