import type { ChatMessage } from '../../../protocol/index.js';
import { ConflictError, NotFoundError, RateLimitedError } from '../errors.js';
import {
  type ChangeOptions,
  type ChangeStore,
  type CurrentVersion,
  type Occupancy,
  type ReactionUsers,
  type ReactOutcome,
  type ReplaceOutcome,
  type StoredVersion,
  showMessage,
} from './change-store.js';
import { IDEMPOTENCY_TTL_SECONDS } from './chat-store.js';
import { count, secondsLeft } from './memory-expiring.js';
import type { RoomState } from './memory-store.js';

/** A room's changes: current versions and reactions by message id, like the Redis hashes. */
interface RoomChanges {
  edits: Map<string, StoredVersion>;
  reactions: Map<string, ReactionUsers>;
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

  /** Copies of log messages as history shows them: current versions, with reactions. */
  show(room: string, messages: readonly ChatMessage[]): ChatMessage[] {
    const changes = this.rooms.get(room);
    if (!changes) return structuredClone(messages as ChatMessage[]);
    return messages.map((message) => {
      const { id, ...logged } = message;
      const version = changes.edits.get(id) ?? logged;
      return structuredClone(showMessage(id, version, changes.reactions.get(id)));
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
    const now = changes.reactions.get(id) ?? {};
    if (this.used(state, options.idempotencyKey)) return { reactions: structuredClone(now), duplicate: true };
    if (!this.logged(room, id) || changes.edits.get(id)?.deleted)
      throw new NotFoundError('message not found');
    const next = structuredClone(now);
    const users = next[emoji];
    if (users) {
      const kept = users.filter((user) => user !== userId);
      next[emoji] = kept.length === users.length ? [...users, userId] : kept;
      if (next[emoji].length === 0) delete next[emoji];
    } else {
      if (Object.keys(next).length >= maxDistinct) {
        throw new ConflictError(`a message has at most ${maxDistinct} distinct reactions`);
      }
      next[emoji] = [userId];
    }
    this.countChange(state, userId, options);
    if (Object.keys(next).length === 0) changes.reactions.delete(id);
    else changes.reactions.set(id, next);
    this.remember(state, options.idempotencyKey, id);
    return { reactions: structuredClone(next), duplicate: false };
  }

  async occupancy(room: string): Promise<Occupancy> {
    const state = this.roomOf(room);
    return { connections: state.conns.size, members: state.members.size };
  }
}
