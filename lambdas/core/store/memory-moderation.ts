import type { RestrictionKind } from '../../../protocol/index.js';
import { RestrictedError } from '../errors.js';
import {
  type ModerationStore,
  restrictionField,
  restrictionOf,
  type StoredRestriction,
} from './moderation-store.js';

/** A room's restrictions in memory: field `<kind>:<user>` -> until when (ms), as on Redis. */
export type RestrictionMap = Map<string, number>;

/** Drops the entries past their deadline. */
function prune(held: RestrictionMap, nowMs: number): void {
  for (const [field, untilMs] of held) if (untilMs <= nowMs) held.delete(field);
}

/**
 * Refuses a sender muted or banned in the room at `nowMs` (a ban first), as the Redis append
 * script does.
 *
 * @throws RestrictedError
 */
export function assertSenderFree(held: RestrictionMap, userId: string, nowMs: number): void {
  for (const [kind, reason] of [
    ['ban', 'banned'],
    ['mute', 'muted'],
  ] as const) {
    const untilMs = held.get(restrictionField(kind, userId)) ?? 0;
    if (untilMs > nowMs) throw new RestrictedError(reason, (untilMs - nowMs) / 1000);
  }
}

/** The in-memory twin of the Redis restrictions. */
export class MemoryModeration implements ModerationStore {
  /** @param roomOf the restrictions of a room, created on first use */
  constructor(private readonly roomOf: (room: string) => RestrictionMap) {}

  async restrict(
    room: string,
    userId: string,
    kind: RestrictionKind,
    untilMs: number,
    nowMs: number,
  ): Promise<void> {
    const held = this.roomOf(room);
    if (untilMs > nowMs) held.set(restrictionField(kind, userId), untilMs);
    else held.delete(restrictionField(kind, userId));
    prune(held, nowMs);
  }

  async restrictions(room: string, nowMs: number): Promise<StoredRestriction[]> {
    const held = this.roomOf(room);
    prune(held, nowMs);
    return [...held].flatMap(([field, untilMs]) => restrictionOf(field, untilMs) ?? []);
  }

  async restrictionsOf(room: string, userId: string, nowMs: number): Promise<StoredRestriction[]> {
    const held = this.roomOf(room);
    return (['mute', 'ban'] as const).flatMap((kind) => {
      const untilMs = held.get(restrictionField(kind, userId)) ?? 0;
      return untilMs > nowMs ? [{ userId, kind, untilMs }] : [];
    });
  }
}
