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
  TOMBSTONE_PREFIX,
} from './change-store.js';
import { IDEMPOTENCY_TTL_SECONDS } from './chat-store.js';
import type { ScriptClient } from './redis-client.js';
import { keys } from './redis-keys.js';

/** Runs one request of the store (with its reconnect-once and 503 mapping). */
export type StoreRun = <T>(work: () => Promise<T>) => Promise<T>;

/** The rate key of a change's sender: the user's in the room, or the backend's. */
function rateKey(room: string, actor: string | null): string {
  return actor ? keys.rate(room, actor) : keys.backendRate(room);
}

/** Reactions as the store keeps them; an empty Lua table encodes as `{}`, never `[]`. */
function usersOf(text: string): ReactionUsers {
  const parsed = JSON.parse(text) as unknown;
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
    ? (parsed as ReactionUsers)
    : {};
}

/** Edits, deletes, reactions and occupancy on Redis: one script (or one pipeline) per call. */
export class RedisChanges implements ChangeStore {
  constructor(
    private readonly redis: ScriptClient,
    private readonly run: StoreRun,
  ) {}

  current(room: string, id: string, idempotencyKey?: string): Promise<CurrentVersion> {
    return this.run(async () => {
      const [duplicate, text] = (await this.redis.hcCurrent(
        keys.log(room),
        keys.edits(room),
        keys.idempotency(room, idempotencyKey ?? ''),
        id,
        idempotencyKey ? '1' : '0',
      )) as [number, string | null];
      return {
        version: text ? (JSON.parse(text) as StoredVersion) : null,
        text: text ?? null,
        duplicate: duplicate === 1,
      };
    });
  }

  replace(
    room: string,
    id: string,
    expectedText: string,
    next: StoredVersion,
    actor: string | null,
    options: ChangeOptions = {},
  ): Promise<ReplaceOutcome> {
    const { idempotencyKey, rateLimit } = options;
    const nextText = JSON.stringify(next);
    return this.run(async () => {
      const [status, ttl] = (await this.redis.hcReplace(
        keys.log(room),
        keys.edits(room),
        keys.reactions(room),
        keys.idempotency(room, idempotencyKey ?? ''),
        rateKey(room, actor),
        id,
        expectedText,
        nextText,
        next.deleted ? '1' : '0',
        idempotencyKey ? '1' : '0',
        IDEMPOTENCY_TTL_SECONDS,
        rateLimit?.limit ?? 0,
        rateLimit?.windowSeconds ?? 60,
      )) as [number, number?];
      if (status === 3) throw new RateLimitedError(undefined, { retryAfter: Math.max(1, ttl ?? 1) });
      return status === 0 ? 'replaced' : status === 1 ? 'missing' : 'conflict';
    });
  }

  react(
    room: string,
    id: string,
    userId: string,
    emoji: string,
    maxDistinct: number,
    options: ChangeOptions = {},
  ): Promise<ReactOutcome> {
    const { idempotencyKey, rateLimit } = options;
    return this.run(async () => {
      const [status, answer] = (await this.redis.hcReact(
        keys.log(room),
        keys.edits(room),
        keys.reactions(room),
        keys.idempotency(room, idempotencyKey ?? ''),
        keys.rate(room, userId),
        id,
        userId,
        emoji,
        maxDistinct,
        idempotencyKey ? '1' : '0',
        IDEMPOTENCY_TTL_SECONDS,
        rateLimit?.limit ?? 0,
        rateLimit?.windowSeconds ?? 60,
        TOMBSTONE_PREFIX,
      )) as [number, string | number | undefined];
      if (status === 2) throw new NotFoundError('message not found');
      if (status === 3) throw new ConflictError(`a message has at most ${maxDistinct} distinct reactions`);
      if (status === 4) {
        throw new RateLimitedError(undefined, { retryAfter: Math.max(1, Number(answer ?? 1)) });
      }
      return { reactions: usersOf(String(answer)), duplicate: status === 1 };
    });
  }

  occupancy(room: string): Promise<Occupancy> {
    return this.run(async () => {
      // Two keys of one slot in one pipeline: one round trip.
      const [connections, members] = await Promise.all([
        this.redis.hlen(keys.conns(room)),
        this.redis.scard(keys.members(room)),
      ]);
      return { connections, members };
    });
  }
}
