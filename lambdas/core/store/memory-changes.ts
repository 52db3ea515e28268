import type { ChatMessage, Reactions } from '../../../protocol/index.js';
import { ConflictError, NotFoundError, RateLimitedError } from '../errors.js';
import {
  type ChangeOptions,
  type ChangeStore,
  type CurrentVersion,
  type Occupancy,
  type ReactOutcome,
  type ReplaceOutcome,
  type StoredVersion,
  showMessage,
  summaryOf,
} from './change-store.js';
import { IDEMPOTENCY_TTL_SECONDS } from './chat-store.js';
import { count, secondsLeft } from './memory-expiring.js';
import type { RoomState } from './memory-rooms.js';

/** Who reacted to one message: users by emoji, in the order they reacted. */
type Reactors = Map<string, Set<string>>;

/** A room's changes: current versions and reactors by message id, like the Redis hashes. */
interface RoomChanges {
  edits: Map<string, StoredVersion>;
  reactions: Map<string, Reactors>;
}

/** The summary history shows of a message's reactors (null-prototype: an emoji is a user's key). */
function summarize(reactors: Reactors | undefined): Reactions | undefined {
  if (!reactors) return undefined;
  const summary = Object.create(null) as Reactions;
  for (const [emoji, users] of reactors) summary[emoji] = summaryOf(users);
  return summary;
}

/** The in-memory twin of the Redis store's edits, deletes, reactions and occupancy. */
export class MemoryChanges implements ChangeStore {
  private readonly rooms = new Map<string, RoomChanges>();

  /** @param roomOf the store's state of a room (created on first use) */
  constructor(private readonly roomOf: (room: string) => RoomState) {}

  private changesOf(room: string): RoomChanges {
    let changes = this.rooms.get(room);
    if (!changes) {
      changes = { edits: new Map(), reactions: new Map() };
      this.rooms.set(room, changes);
    }
    return changes;
  }

  /** Copies of log messages as history shows them: current versions, with reactions and replies. */
  show(room: string, messages: readonly ChatMessage[]): ChatMessage[] {
    const changes = this.rooms.get(room);
    const threads = this.roomOf(room).threads.summaries;
    if (!changes && threads.size === 0) return structuredClone(messages as ChatMessage[]);
    return messages.map((message) => {
      const { id, ...logged } = message;
      const version = changes?.edits.get(id) ?? logged;
      const reactions = summarize(changes?.reactions.get(id));
      return structuredClone(showMessage(id, version, reactions, threads.get(id)));
    });
  }

  /** The logged message `id` (null when trimmed or never stored); forgets changes of trimmed ones. */
  private logged(room: string, id: string): ChatMessage | null {
    const state = this.roomOf(room);
    const changes = this.changesOf(room);
    const kept = new Set(state.log.map((message) => message.id));
    for (const map of [changes.edits, changes.reactions]) {
      for (const key of map.keys()) if (!kept.has(key)) map.delete(key);
    }
    return state.log.find((message) => message.id === id) ?? null;
  }

  private used(state: RoomState, idempotencyKey: string | undefined): boolean {
    const known = idempotencyKey ? state.idempotency.get(idempotencyKey) : undefined;
    return known !== undefined && known.expiresAt > Date.now();
  }

  private remember(state: RoomState, idempotencyKey: string | undefined, id: string): void {
    if (!idempotencyKey) return;
    state.idempotency.set(idempotencyKey, { id, expiresAt: Date.now() + IDEMPOTENCY_TTL_SECONDS * 1000 });
  }

  /** @throws RateLimitedError when the sender (or the backend) is over the room's limit */
  private countChange(state: RoomState, actor: string | null, options: ChangeOptions): void {
    const { rateLimit } = options;
    if (!rateLimit) return;
    const [counters, key] = actor ? [state.rate, actor] : [state.backendRate, 'backend'];
    if (count(counters, key, rateLimit.windowSeconds, false) > rateLimit.limit) {
      throw new RateLimitedError(undefined, { retryAfter: secondsLeft(counters, key) });
    }
  }

  async current(room: string, id: string, idempotencyKey?: string): Promise<CurrentVersion> {
    const duplicate = this.used(this.roomOf(room), idempotencyKey);
    const logged = this.logged(room, id);
    if (!logged) return { version: null, text: null, duplicate };
    const { id: _, ...version } = logged;
    const current = this.changesOf(room).edits.get(id) ?? version;
    return { version: structuredClone(current), text: JSON.stringify(current), duplicate };
  }

  async replace(
    room: string,
    id: string,
    expectedText: string,
    next: StoredVersion,
    actor: string | null,
    options: ChangeOptions = {},
  ): Promise<ReplaceOutcome> {
    const state = this.roomOf(room);
    const logged = this.logged(room, id);
    if (!logged) return 'missing';
    const { id: _, ...version } = logged;
    const changes = this.changesOf(room);
    if (JSON.stringify(changes.edits.get(id) ?? version) !== expectedText) return 'conflict';
    this.countChange(state, actor, options);
    changes.edits.set(id, structuredClone(next));
    if (next.deleted) changes.reactions.delete(id);
    this.remember(state, options.idempotencyKey, id);
    return 'replaced';
  }

  async react(
    room: string,
    id: string,
    userId: string,
    emoji: string,
    maxDistinct: number,
    options: ChangeOptions = {},
  ): Promise<ReactOutcome> {
    const state = this.roomOf(room);
    const changes = this.changesOf(room);
    if (this.used(state, options.idempotencyKey)) return { duplicate: true };
    if (!this.logged(room, id) || changes.edits.get(id)?.deleted)
      throw new NotFoundError('message not found');
    const reactors: Reactors = changes.reactions.get(id) ?? new Map();
    const users = reactors.get(emoji);
    const added = !users?.has(userId);
    if (!users && reactors.size >= maxDistinct) {
      throw new ConflictError(`a message has at most ${maxDistinct} distinct reactions`);
    }
    this.countChange(state, userId, options);
    const next = users ?? new Set<string>();
    if (added) next.add(userId);
    else next.delete(userId);
    if (next.size > 0) reactors.set(emoji, next);
    else reactors.delete(emoji);
    if (reactors.size > 0) changes.reactions.set(id, reactors);
    else changes.reactions.delete(id);
    this.remember(state, options.idempotencyKey, id);
    return { duplicate: false, added, count: next.size };
  }

  async occupancy(room: string): Promise<Occupancy> {
    const state = this.roomOf(room);
    return { connections: state.conns.size, members: state.members.size };
  }
}
