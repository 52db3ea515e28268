import type { RestrictionKind } from '../../../protocol/index.js';

/** A mute or ban as the store keeps it. */
export interface StoredRestriction {
  userId: string;
  kind: RestrictionKind;
  /** When it ends, in milliseconds since the epoch. */
  untilMs: number;
}

/**
 * The restrictions moderation puts on users of a room (one hash per room, `hc:{room}:moderation`,
 * field `<kind>:<user>` -> until when, in ms). An entry past its deadline counts as absent
 * everywhere and is dropped by the room's next `restrict` or `restrictions`. Sends check them
 * inside `append` itself (no round trip of their own).
 */
export interface ModerationStore {
  /**
   * Puts `kind` on the user until `untilMs`, or lifts it when `untilMs` is 0 (or past); expired
   * entries of the room are dropped on the way.
   */
  restrict(
    room: string,
    userId: string,
    kind: RestrictionKind,
    untilMs: number,
    nowMs: number,
  ): Promise<void>;
  /** The room's restrictions in force at `nowMs`, in no particular order; expired ones are dropped. */
  restrictions(room: string, nowMs: number): Promise<StoredRestriction[]>;
  /** The user's restrictions in force in the room at `nowMs` (one read, no write). */
  restrictionsOf(room: string, userId: string, nowMs: number): Promise<StoredRestriction[]>;
}

/** The hash field of a user's restriction of `kind`. */
export function restrictionField(kind: RestrictionKind, userId: string): string {
  return `${kind}:${userId}`;
}

/** The restriction a hash field and deadline stand for, or null for a field of no known kind. */
export function restrictionOf(field: string, untilMs: number): StoredRestriction | null {
  const colon = field.indexOf(':');
  const kind = field.slice(0, colon);
  if (colon < 0 || (kind !== 'mute' && kind !== 'ban')) return null;
  return { userId: field.slice(colon + 1), kind, untilMs };
}
