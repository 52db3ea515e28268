import type { ChatConfig } from './config.js';
import { RateLimitedError } from './errors.js';
import type { ChatStore } from './store/chat-store.js';

/**
 * Counts a user's `POST /talk/item` injection against `HIPOCHAT_USER_INJECTION_LIMIT_PER_MINUTE`
 * across rooms (on by default: the per-room limit alone lets one user fill many rooms at once).
 * Counted before anything is stored, so a refused injection stores nothing.
 *
 * @throws RateLimitedError (429, `retryAfter` the seconds left in the window) when the user is over it
 */
export async function countUserInjection(
  store: ChatStore,
  config: ChatConfig,
  userId: string,
): Promise<void> {
  const limit = config.userInjectionLimitPerMinute;
  if (limit <= 0) return;
  const { count, ttlSeconds } = await store.countUserMessage(userId, 60, 'injection');
  if (count > limit) {
    throw new RateLimitedError(`rate limit exceeded: ${limit} injections per minute across rooms`, {
      retryAfter: ttlSeconds,
    });
  }
}
