/**
 * Folded live signals: read marks and presence changes of a room wait in a per-room digest until
 * one delayed flush per window delivers them, so a room's signal frames grow with its windows,
 * not with the square of its members. Also the per-user connect counter that keeps a connect and
 * close loop from flooding presence.
 */
import type { Profile } from '../../../protocol/index.js';
import type { WindowCount } from './chat-store.js';

/** A change waiting in a room's digest. */
export type FoldedChange =
  | { kind: 'read'; userId: string; user: Profile; id: string }
  | { kind: 'presence'; userId: string; user: Profile; event: 'join' | 'leave' };

/** What folding a change did. */
export type FoldOutcome =
  /** It waits in the digest, and the caller took the room's gate: it schedules the flush. */
  | 'schedule'
  /** It waits in the digest; a flush is already on its way. */
  | 'pending'
  /** The room has more members than the cap: no live frame, nothing kept. */
  | 'capped';

/** The changes a flush takes out of a room's digest: the newest read mark and net presence per user. */
export interface FoldedSignals {
  reads: { userId: string; user: Profile; id: string }[];
  presence: { userId: string; user: Profile; event: 'join' | 'leave' }[];
}

/** The store side of folded signals; every method but `countConnect` touches one room's slot. */
export interface SignalStore {
  /**
   * Adds a change to the room's digest in one step: a read mark replaces the user's earlier one; a
   * presence change cancels the user's opposite pending one (a join and a leave in one window make
   * nothing). Takes the room's gate for `gateMs` when it is free (SET NX PX), which tells the
   * caller to schedule the flush. Rooms of more than `maxMembers` members keep nothing.
   */
  fold(room: string, change: FoldedChange, gateMs: number, maxMembers: number): Promise<FoldOutcome>;
  /** Takes and clears the room's digest and frees its gate, in one step (the flush). */
  take(room: string): Promise<FoldedSignals>;
  /** Counts a connect of the user across rooms in a fixed window that starts with the first one. */
  countConnect(userId: string, windowSeconds: number): Promise<WindowCount>;
}

/** How long a digest outlives its window when its flush never came (a lost publish): the next change flushes it. */
export const DIGEST_TTL_MS = 10 * 60 * 1000;

/** Field of a change in the digest hash: one per user and kind. */
export function digestField(change: Pick<FoldedChange, 'kind' | 'userId'>): string {
  return `${change.kind === 'read' ? 'r' : 'p'}:${change.userId}`;
}

/** The digest's value of a change: presence starts with `j` or `l`, so a script compares events without JSON. */
export function digestValue(change: FoldedChange): string {
  return change.kind === 'read'
    ? JSON.stringify({ user: change.user, id: change.id })
    : `${change.event === 'join' ? 'j' : 'l'}${JSON.stringify(change.user)}`;
}

/** The digest's fields and values back as changes. */
export function readDigest(entries: Iterable<[string, string]>): FoldedSignals {
  const folded: FoldedSignals = { reads: [], presence: [] };
  for (const [field, value] of entries) {
    const userId = field.slice(2);
    try {
      if (field.startsWith('r:')) {
        const { user, id } = JSON.parse(value) as { user: Profile; id: string };
        folded.reads.push({ userId, user, id });
      } else if (field.startsWith('p:')) {
        const event = value.startsWith('j') ? 'join' : 'leave';
        folded.presence.push({ userId, user: JSON.parse(value.slice(1)) as Profile, event });
      }
    } catch {
      // A value this version cannot read is a signal lost, never a failed delivery.
    }
  }
  const byUser = (a: { userId: string }, b: { userId: string }) =>
    a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
  folded.reads.sort(byUser);
  folded.presence.sort(byUser);
  return folded;
}
