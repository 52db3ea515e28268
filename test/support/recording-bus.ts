import type { ChatBus } from '../../lambdas/core/bus/chat-bus.js';
import { ServiceUnavailableError } from '../../lambdas/core/errors.js';
import { expandDigests, isSignal } from '../../lambdas/core/signals.js';
import type { SignalStore } from '../../lambdas/core/store/signal-store.js';
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

  /** The signal frames published so far, parsed. */
  signalFrames(): Record<string, unknown>[] {
    return this.published
      .filter(isSignal)
      .map((envelope) => JSON.parse(envelope.signal) as Record<string, unknown>);
  }

  /**
   * Lets the digest window pass: each flush published for later reaches the fan-out, which takes
   * its room's digest from `store`; the frames it makes count as published.
   */
  async passWindow(store: SignalStore): Promise<void> {
    for (const { message } of this.delayed.splice(0)) {
      this.published.push(...(await expandDigests(store, message.room, [message])));
    }
  }
}
