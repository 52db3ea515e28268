import type { WindowCount } from './chat-store.js';
import { count, type Expiring, secondsLeft } from './memory-expiring.js';
import type { RoomState } from './memory-rooms.js';
import {
  DIGEST_TTL_MS,
  digestField,
  digestValue,
  type FoldedChange,
  type FoldedSignals,
  type FoldOutcome,
  readDigest,
  type SignalStore,
} from './signal-store.js';

/** A room's digest and gate, like the Redis hash and key. */
interface RoomDigest {
  pending: Map<string, string>;
  expiresAt: number;
  gateUntil: number;
}

/** The in-memory twin of the Redis store's folded signals. */
export class MemorySignals implements SignalStore {
  private readonly digests = new Map<string, RoomDigest>();
  private readonly connects = new Map<string, Expiring<number>>();

  /** @param roomOf the store's state of a room (created on first use) */
  constructor(private readonly roomOf: (room: string) => RoomState) {}

  async fold(room: string, change: FoldedChange, gateMs: number, maxMembers: number): Promise<FoldOutcome> {
    if (this.roomOf(room).members.size > maxMembers) return 'capped';
    const now = Date.now();
    let digest = this.digests.get(room);
    if (!digest || digest.expiresAt <= now) {
      digest = { pending: new Map(), expiresAt: 0, gateUntil: digest?.gateUntil ?? 0 };
      this.digests.set(room, digest);
    }
    const field = digestField(change);
    const value = digestValue(change);
    const earlier = digest.pending.get(field);
    if (change.kind === 'presence' && earlier !== undefined && earlier[0] !== value[0]) {
      digest.pending.delete(field);
    } else {
      digest.pending.set(field, value);
    }
    digest.expiresAt = now + DIGEST_TTL_MS;
    if (digest.gateUntil > now) return 'pending';
    digest.gateUntil = now + gateMs;
    return 'schedule';
  }

  async take(room: string): Promise<FoldedSignals> {
    const digest = this.digests.get(room);
    this.digests.delete(room);
    if (!digest || digest.expiresAt <= Date.now()) return { reads: [], presence: [] };
    return readDigest(digest.pending);
  }

  async countConnect(userId: string, windowSeconds: number): Promise<WindowCount> {
    const value = count(this.connects, userId, windowSeconds, false);
    return { count: value, ttlSeconds: secondsLeft(this.connects, userId) };
  }
}
