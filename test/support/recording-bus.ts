import type { ChatBus } from '../../lambdas/core/bus/chat-bus.js';
import { ServiceUnavailableError } from '../../lambdas/core/errors.js';
import type { ChatMessage } from '../../protocol/index.js';

/** A bus that records what was published, or fails like a broker that is down. */
export class RecordingBus implements ChatBus {
  readonly kind = 'memory' as const;
  published: ChatMessage[] = [];
  /** What was published for later, and after how long. */
  delayed: { message: ChatMessage; delayMs: number }[] = [];
  down = false;

  async publish(message: ChatMessage) {
    if (this.down) throw new ServiceUnavailableError('broker unavailable');
    this.published.push(message);
  }

  async publishLater(message: ChatMessage, delayMs: number) {
    if (this.down) throw new ServiceUnavailableError('broker unavailable');
    this.delayed.push({ message, delayMs });
  }

  async close() {}
}
