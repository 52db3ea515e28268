import { type ChatMessage, encodeServerFrame } from '../../protocol/index.js';
import type { ConnectionSender } from './connections.js';
import { logger } from './logger.js';
import { forEachLimited } from './retry.js';
import { isSignal } from './signals.js';
import type { ChatStore } from './store/chat-store.js';

/**
 * Live unread counts (`?unread=1`): after a room's new messages went out, each member watching
 * unread counts gets the room's new count on every watching connection that does not follow the
 * room. Best effort: a badge that misses one count is put right by the next, so a failed post is
 * logged, never retried, and never fails the fan-out.
 */
export class UnreadNotifier {
  constructor(
    private readonly store: ChatStore,
    private readonly sender: ConnectionSender,
    private readonly concurrency: number,
  ) {}

  /** Sends the room's new counts after `messages`; answers how many frames went out. */
  async notify(room: string, messages: readonly ChatMessage[]): Promise<number> {
    const stored = messages.filter((message) => !isSignal(message));
    if (stored.length === 0) return 0;
    try {
      const { followers } = this.store;
      // A sender's own messages leave their count as it was.
      const watchers = (await followers.watchers(room)).filter(
        ({ userId }) => !stored.every((message) => message.senderId === userId),
      );
      let sent = 0;
      await forEachLimited(watchers, this.concurrency, async ({ userId, count }) => {
        const connections = await followers.watchingConnections(userId);
        // The user's watching connections all went: the room forgets them as a watcher.
        if (connections.length === 0) return followers.unwatch(room, userId);
        const data = Buffer.from(encodeServerFrame({ kind: 'unread', room, count }));
        for (const connectionId of connections) {
          const follower = await followers.follower(connectionId);
          if (!follower || follower.rooms.includes(room)) continue;
          const outcome = await this.sender.post(connectionId, data).catch((error: unknown) => {
            logger.warn('unread count not sent', { room, connectionId, error });
            return 'failed' as const;
          });
          if (outcome === 'sent') sent += 1;
        }
      });
      return sent;
    } catch (error) {
      logger.warn('unread counts not sent', { room, error });
      return 0;
    }
  }
}
