import { ConflictError, NotFoundError, RateLimitedError } from '../errors.js';
import {
  type ChangeOptions,
  type ChangeStore,
  type CurrentVersion,
  MAX_LISTED_REACTORS,
  type Occupancy,
  type ReactOutcome,
  type ReplaceOutcome,
  type StoredVersion,
  TOMBSTONE_PREFIX,
} from './change-store.js';
import { IDEMPOTENCY_TTL_SECONDS } from './chat-store.js';
import { runScript, type ScriptClient } from './redis-client.js';
import { keys, roomKeys } from './redis-keys.js';
import { acknowledged, type ReplicaWait } from './redis-wait.js';

/** Runs one request of the store (with its reconnect-once and 503 mapping). */
export type StoreRun = <T>(work: () => Promise<T>) => Promise<T>;

/** The rate key of a change's sender: the user's in the room, or the backend's. */
function rateKey(room: string, actor: string | null): string {
  return actor ? keys.rate(room, actor) : keys.backendRate(room);
}

/**
 * A message's entries in `reactors` start with this: its id padded to 16 + 16 digits (so byte order
 * is id order, and trimmed messages go with one range) and a NUL, which no id or emoji holds.
 */
function reactorPrefix(id: string): string {
  const [ms = '', seq = ''] = id.split('-');
  return `${ms.padStart(16, '0')}-${seq.padStart(16, '0')}\0`;
}

/** The rate limit's arguments of a change script. */
function limitArgs(options: ChangeOptions) {
  return { limit: options.rateLimit?.limit ?? 0, window: options.rateLimit?.windowSeconds ?? 60 };
}

/** The idempotency arguments of a change script. */
function idempotencyArgs(options: ChangeOptions) {
  return { useIdem: options.idempotencyKey ? '1' : '0', idemTtl: IDEMPOTENCY_TTL_SECONDS };
}

/**
 * Edits, deletes, reactions and occupancy on Redis: one script (or one pipeline) per call. A change
 * the replicas do not confirm in time stays on the primary and answers `NotAcknowledgedError`; its
 * retry with the same idempotency key is a duplicate, acknowledged once replicated.
 */
export class RedisChanges implements ChangeStore {
  constructor(
    private readonly redis: ScriptClient,
    private readonly run: StoreRun,
    private readonly wait: ReplicaWait,
  ) {}

  current(room: string, id: string, idempotencyKey?: string): Promise<CurrentVersion> {
    return this.run(async () => {
      const [duplicate, text] = (await runScript(
        this.redis,
        'hcCurrent',
        { ...roomKeys(room, 'log', 'edits'), idempotency: keys.idempotency(room, idempotencyKey ?? '') },
        { id, useIdem: idempotencyKey ? '1' : '0' },
      )) as [number, string | null];
      const version = text ? (JSON.parse(text) as StoredVersion) : null;
      // Both are acknowledged without a write of their own: the write they stand for must be replicated.
      if (duplicate === 1 || version?.deleted) await this.wait.confirm(room);
      return { version, text: text ?? null, duplicate: duplicate === 1 };
    });
  }

  /** The keys of a change to message `id` of `room` by `actor`. */
  private changeKeys(room: string, actor: string | null, options: ChangeOptions) {
    return {
      ...roomKeys(room, 'log', 'edits', 'reactions', 'reactors'),
      idempotency: keys.idempotency(room, options.idempotencyKey ?? ''),
      rate: rateKey(room, actor),
    };
  }

  replace(
    room: string,
    id: string,
    expectedText: string,
    next: StoredVersion,
    actor: string | null,
    options: ChangeOptions = {},
  ): Promise<ReplaceOutcome> {
    const nextText = JSON.stringify(next);
    return this.run(async () => {
      const waited = await this.wait.script(room, 'hcReplace', this.changeKeys(room, actor, options), {
        id,
        expectedText,
        nextText,
        deleted: next.deleted ? '1' : '0',
        ...idempotencyArgs(options),
        ...limitArgs(options),
        prefix: reactorPrefix(id),
      });
      const [status, ttl] = waited.answer as [number, number?];
      if (status === 3) throw new RateLimitedError(undefined, { retryAfter: Math.max(1, ttl ?? 1) });
      if (status === 0) acknowledged(waited);
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
    return this.run(async () => {
      const waited = await this.wait.script(room, 'hcReact', this.changeKeys(room, userId, options), {
        id,
        prefix: reactorPrefix(id),
        user: userId,
        emoji,
        maxDistinct,
        listed: MAX_LISTED_REACTORS,
        ...idempotencyArgs(options),
        ...limitArgs(options),
        tombstonePrefix: TOMBSTONE_PREFIX,
      });
      const [status, count, added] = waited.answer as [number, number?, number?];
      if (status === 0 || status === 1) acknowledged(waited);
      if (status === 1) return { duplicate: true };
      if (status === 2) throw new NotFoundError('message not found');
      if (status === 3) throw new ConflictError(`a message has at most ${maxDistinct} distinct reactions`);
      if (status === 4) {
        throw new RateLimitedError(undefined, { retryAfter: Math.max(1, Number(count ?? 1)) });
      }
      return { duplicate: false, count: Number(count), added: added === 1 };
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
