import type { PostFeedback } from './connections.js';

/** Options of {@link AdaptiveLimit}. */
export interface AdaptiveLimitOptions {
  /** Most requests in flight (`HIPOCHAT_FANOUT_CONCURRENCY`); the limit starts there. */
  max: number;
  /**
   * After one cut, 429s within this many milliseconds are answers to the same burst and do not cut
   * again. @default 100
   */
  coolDownMs?: number;
  /** Clock (tests pin it). @default Date.now */
  now?: () => number;
}

/**
 * Requests in flight, adapting to API Gateway's throttle (additive increase, multiplicative
 * decrease): a 429 halves the limit, each success adds `1/limit` back, never above `max` nor below
 * 1. Shared by the posts of one invocation; a post takes a slot with {@link acquire} and gives it
 * back with {@link release}.
 */
export class AdaptiveLimit implements PostFeedback {
  private value: number;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private lastCut = Number.NEGATIVE_INFINITY;
  private readonly coolDownMs: number;
  private readonly now: () => number;

  constructor(private readonly options: AdaptiveLimitOptions) {
    this.value = Math.max(1, options.max);
    this.coolDownMs = options.coolDownMs ?? 100;
    this.now = options.now ?? Date.now;
  }

  /** Requests allowed in flight now. */
  get limit(): number {
    return Math.max(1, Math.floor(this.value));
  }

  /** Requests in flight now. */
  get active(): number {
    return this.inFlight;
  }

  /**
   * Takes a slot: `undefined` when one is free (the hot path awaits nothing), else a promise that
   * resolves once a slot is handed over.
   */
  acquire(): Promise<void> | undefined {
    if (this.inFlight < this.limit) {
      this.inFlight += 1;
      return undefined;
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  /** Gives a slot back, handing it to the next waiting request while the limit allows. */
  release(): void {
    this.inFlight -= 1;
    while (this.waiting.length > 0 && this.inFlight < this.limit) {
      this.inFlight += 1;
      this.waiting.shift()!();
    }
  }

  /** A request went through: the limit grows back by about one per round of requests. */
  succeeded(): void {
    if (this.value < this.options.max) this.value = Math.min(this.options.max, this.value + 1 / this.value);
  }

  /** A request met a 429: halve the limit, once per burst. */
  throttled(): void {
    const now = this.now();
    if (now - this.lastCut < this.coolDownMs) return;
    this.lastCut = now;
    this.value = Math.max(1, this.value / 2);
  }
}
