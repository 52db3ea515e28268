/**
 * One room's messages as they are now: ordered by id, each once, with edits, deletes and
 * reactions applied. Pure: no sockets, no timers, no events; it answers what changed and the
 * room turns that into events. Memory is bounded: it keeps the newest {@link DEFAULT_TIMELINE_CAP}
 * messages and forgets older ones (a message older than the newest forgotten one counts as seen).
 */
import {
  type ChatMessage,
  compareIds,
  type EditMark,
  MAX_LISTED_REACTORS,
  type MessageDeletedFrame,
  type MessageEditedFrame,
  type ReactionFrame,
  type Reactions,
  type RepliesSummary,
} from '../../../protocol/index.js';

/** Messages a timeline keeps when its options do not say: a screenful many times over. */
export const DEFAULT_TIMELINE_CAP = 2000;

/** A live change frame the timeline applies. */
export type ChangeFrame = MessageEditedFrame | MessageDeletedFrame | ReactionFrame;

/** What a change did to the timeline, for the room to emit. */
export type TimelineChange =
  | { kind: 'edit'; id: string; body: unknown; edited: EditMark; message?: ChatMessage }
  | { kind: 'delete'; id: string; message?: ChatMessage }
  | {
      kind: 'reaction';
      id: string;
      reactions: Reactions;
      change?: { emoji: string; user: string; count: number; added: boolean };
      message?: ChatMessage;
    };

/** The ordered, deduplicated, bounded message list of one room. */
export class RoomTimeline {
  private readonly known = new Map<string, ChatMessage>();
  // Ids of `known`, oldest first.
  private readonly ids: string[] = [];
  // The count of live changes at each known message's latest one.
  private readonly changedAt = new Map<string, number>();
  private liveChanges = 0;
  private forgottenUpTo: string | undefined;
  private oldestSeen: string | undefined;

  /** @param cap messages kept (at least 1). @default {@link DEFAULT_TIMELINE_CAP} */
  constructor(private readonly cap = DEFAULT_TIMELINE_CAP) {}

  /** Messages held now (never more than the cap). */
  get size(): number {
    return this.known.size;
  }

  /** The messages held, oldest first. */
  list(): ChatMessage[] {
    return this.ids.map((id) => this.known.get(id)!);
  }

  /** The newest message id seen. */
  get lastId(): string | undefined {
    return this.ids[this.ids.length - 1] ?? this.forgottenUpTo;
  }

  /** The oldest message id ever seen (it may be forgotten since). */
  get firstId(): string | undefined {
    return this.oldestSeen;
  }

  /** Live changes applied so far: pass it to {@link refresh} for a history answer asked now. */
  get changeCount(): number {
    return this.liveChanges;
  }

  /** Entries of the change bookkeeping (bounded by the cap, for memory checks). */
  get trackedChanges(): number {
    return this.changedAt.size;
  }

  get(id: string): ChatMessage | undefined {
    return this.known.get(id);
  }

  /** Whether the message counts as seen (held, or older than what was forgotten). */
  has(id: string): boolean {
    return (
      this.known.has(id) || (this.forgottenUpTo !== undefined && compareIds(id, this.forgottenUpTo) <= 0)
    );
  }

  /**
   * Adds a message; false when it was seen already. `earlier` (a page loaded on purpose) takes
   * messages older than the forgotten ones too.
   */
  add(message: ChatMessage, earlier = false): boolean {
    if (this.known.has(message.id) || (!earlier && this.has(message.id))) return false;
    this.known.set(message.id, message);
    this.ids.splice(this.insertionPoint(message.id), 0, message.id);
    if (this.oldestSeen === undefined || compareIds(message.id, this.oldestSeen) < 0)
      this.oldestSeen = message.id;
    while (this.ids.length > Math.max(1, this.cap)) this.forget(this.ids.shift()!);
    return true;
  }

  /** The id a catch-up starts after so the newest `window` messages come again. */
  refreshFrom(window: number): string | undefined {
    if (window <= 0 || this.ids.length === 0) return this.lastId;
    return idBefore(this.ids[Math.max(0, this.ids.length - window)]!);
  }

  /** Sets a held message's replies summary: the message as it is now, or undefined when not held. */
  setReplies(id: string, replies: RepliesSummary): ChatMessage | undefined {
    const known = this.known.get(id);
    if (!known) return undefined;
    const message = { ...known, replies };
    this.known.set(id, message);
    return message;
  }

  /** Applies a live change frame; undefined when it changes nothing (repeated or stale). */
  applyLive(frame: ChangeFrame, self: string | undefined): TimelineChange | undefined {
    this.liveChanges += 1;
    if (this.known.has(frame.id)) {
      this.changedAt.delete(frame.id);
      this.changedAt.set(frame.id, this.liveChanges);
    }
    return this.apply(frame, self);
  }

  /**
   * Takes a message's version from a history answer asked when {@link changeCount} was `asked`:
   * what changed since it was seen, unless a live change applied meanwhile is newer.
   */
  refresh(current: ChatMessage, asked: number, self: string | undefined): TimelineChange[] {
    const known = this.known.get(current.id);
    if (!known || known.deleted || (this.changedAt.get(current.id) ?? 0) > asked) return [];
    if (current.deleted) return present(this.apply({ kind: 'delete', room: '', id: current.id }, self));
    const changes: TimelineChange[] = [];
    if (current.edited && (!known.edited || current.edited.at > known.edited.at)) {
      const edit = {
        kind: 'edit',
        room: '',
        id: current.id,
        body: current.body,
        edited: current.edited,
      } as const;
      changes.push(...present(this.apply(edit, self)));
    }
    const reactions = current.reactions ?? {};
    const now = this.known.get(current.id)!;
    if (!sameJson(now.reactions ?? {}, reactions)) {
      const message = withReactions(now, reactions);
      this.known.set(current.id, message);
      changes.push({ kind: 'reaction', id: current.id, reactions, message });
    }
    return changes;
  }

  private apply(frame: ChangeFrame, self: string | undefined): TimelineChange | undefined {
    const known = this.known.get(frame.id);
    switch (frame.kind) {
      case 'edit': {
        if (known) {
          // A deleted message never comes back, and an older edit never overwrites a newer one.
          if (known.deleted || (known.edited && known.edited.at > frame.edited.at)) return undefined;
          if (known.edited?.at === frame.edited.at && sameJson(known.body, frame.body)) return undefined;
        }
        const message = known && { ...known, body: frame.body, edited: frame.edited };
        if (message) this.known.set(frame.id, message);
        return {
          kind: 'edit',
          id: frame.id,
          body: frame.body,
          edited: frame.edited,
          ...(message ? { message } : {}),
        };
      }
      case 'delete': {
        if (known?.deleted) return undefined;
        const message = known && tombstone(known);
        if (message) this.known.set(frame.id, message);
        return { kind: 'delete', id: frame.id, ...(message ? { message } : {}) };
      }
      case 'reaction': {
        const { emoji, user, count, added } = frame;
        const reactions = toggled(known?.reactions ?? {}, frame, self);
        if (known && sameJson(known.reactions ?? {}, reactions)) return undefined;
        const message = known && withReactions(known, reactions);
        if (message) this.known.set(frame.id, message);
        const change = { emoji, user, count, added };
        return { kind: 'reaction', id: frame.id, reactions, change, ...(message ? { message } : {}) };
      }
      default:
        return unhandledChange(frame);
    }
  }

  private forget(id: string): void {
    this.known.delete(id);
    this.changedAt.delete(id);
    if (this.forgottenUpTo === undefined || compareIds(id, this.forgottenUpTo) > 0) this.forgottenUpTo = id;
  }

  // Messages mostly arrive newest last, so search from the end.
  private insertionPoint(id: string): number {
    let low = 0;
    let high = this.ids.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compareIds(this.ids[middle]!, id) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

// A new change frame kind makes this a compile error until the timeline applies it.
function unhandledChange(_frame: never): undefined {
  return undefined;
}

function present(change: TimelineChange | undefined): TimelineChange[] {
  return change ? [change] : [];
}

/** Sorts messages by id (a copy). */
export function sortById(messages: readonly ChatMessage[]): ChatMessage[] {
  return [...messages].sort((a, b) => compareIds(a.id, b.id));
}

/** The message without its body, marked deleted. */
function tombstone(message: ChatMessage): ChatMessage {
  const { body: _body, edited: _edited, reactions: _reactions, ...rest } = message;
  return { ...rest, body: undefined, deleted: true };
}

/**
 * A summary with one live toggle applied: the emoji's count is the server's, its listed users gain
 * or lose the user (at most {@link MAX_LISTED_REACTORS}; this client's own user takes the last
 * place when the list is full, so the page can show your reaction), and `clipped` says more
 * reacted than listed.
 */
function toggled(reactions: Reactions, change: ReactionFrame, self: string | undefined): Reactions {
  const next: Reactions = Object.create(null) as Reactions;
  for (const [emoji, summary] of Object.entries(reactions)) next[emoji] = summary;
  const { emoji, user, count, added } = change;
  if (count <= 0) {
    delete next[emoji];
    return next;
  }
  const listed = (next[emoji]?.users ?? []).filter((other) => other !== user);
  if (added && listed.length >= MAX_LISTED_REACTORS && user === self) listed.pop();
  if (added && listed.length < MAX_LISTED_REACTORS) listed.push(user);
  next[emoji] = count > listed.length ? { count, users: listed, clipped: true } : { count, users: listed };
  return next;
}

function withReactions(message: ChatMessage, reactions: Reactions): ChatMessage {
  const { reactions: _old, ...rest } = message;
  return Object.keys(reactions).length > 0 ? { ...rest, reactions } : rest;
}

// Bodies and reaction summaries are plain JSON from the wire, so their text compares them.
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The id just before `id` in stream order, for an exclusive `since` that still includes `id`. */
function idBefore(id: string): string {
  const match = /^(\d{1,16})-(\d{1,16})$/.exec(id);
  if (!match) return id;
  const ms = BigInt(match[1]!);
  const seq = BigInt(match[2]!);
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms > 0n ? `${ms - 1n}-9999999999999999` : '0-0';
}
