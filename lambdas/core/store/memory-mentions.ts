import { type ChatMessage, compareIds } from '../../../protocol/index.js';
import type { NewMessage } from '../protocol.js';
import type { MarkedUnread } from './chat-store.js';
import type { RoomState } from './memory-rooms.js';

/**
 * Mentions and mark unread in the in-memory store, as the Redis scripts do them
 * (redis-mention-scripts.ts): a reader's mentions are those after their read mark, or after the
 * message marked unread while the mark that set stays.
 */

/** The message as stored: its mentions cleaned (members only when `membersOnly`), at the end, or none. */
export function withKeptMentions(state: RoomState, message: NewMessage, membersOnly: boolean): NewMessage {
  const { mentions, ...rest } = message;
  const kept = (mentions ?? []).filter((user) => !membersOnly || state.members.has(user));
  return kept.length > 0 ? { ...rest, mentions: kept } : rest;
}

/** Counts the stored message (the room's `seq`-th) for each user it mentions but its sender. */
export function recordMentions(state: RoomState, message: ChatMessage, historyLimit: number): void {
  for (const user of message.mentions ?? []) {
    if (user === message.senderId) continue;
    const seqs = (state.mentions.get(user) ?? []).filter((seq) => seq > state.seq - historyLimit);
    seqs.push(state.seq);
    state.mentions.set(user, seqs);
  }
}

/** Forgets the mentions of a retracted message (the room's latest, `seq` before it is taken back). */
export function forgetMentions(state: RoomState, message: ChatMessage): void {
  for (const user of message.mentions ?? []) {
    const seqs = state.mentions.get(user);
    if (seqs)
      state.mentions.set(
        user,
        seqs.filter((seq) => seq !== state.seq),
      );
  }
}

/** Mentions of `userId` since their read position (0 for a non-member, as unread counts). */
export function mentionCount(state: RoomState, userId: string): number {
  if (!state.members.has(userId)) return 0;
  const mark = state.mark.get(userId) ?? 0;
  const pair = state.mentionFrom.get(userId);
  const from = pair && pair.mark === mark ? pair.from : mark;
  return (state.mentions.get(userId) ?? []).filter((seq) => seq > from).length;
}

/** Moves the reader's read mark to just before message `id`; null when it is not in the log. */
export function markUnread(
  state: RoomState,
  userId: string,
  id: string,
): Omit<MarkedUnread, 'listeners'> | null {
  const index = state.log.findIndex((m) => m.id === id);
  if (index < 0) return null;
  const after = state.log.slice(index);
  const others = after.filter((m) => m.senderId !== userId).length;
  const mark = Math.max(0, state.seq - others);
  state.mark.set(userId, mark);
  state.mentionFrom.set(userId, { mark, from: Math.max(0, state.seq - after.length) });
  const before = state.log.findLast((m) => compareIds(m.id, id) < 0);
  if (before) state.seen.set(userId, before.id);
  else state.seen.delete(userId);
  const member = state.members.has(userId);
  return {
    lastRead: before?.id ?? null,
    unread: member ? others : 0,
    mentions: mentionCount(state, userId),
  };
}
