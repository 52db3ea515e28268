import { type ChatMessage, compareIds } from '../../../protocol/index.js';
import { NotAcknowledgedError, RateLimitedError } from '../errors.js';
import type { NewMessage } from '../protocol.js';
import {
  type AppendOptions,
  type AppendResult,
  IDEMPOTENCY_TTL_SECONDS,
  type PageQuery,
  type PageResult,
  type ReadResult,
  type RoomSummary,
} from './chat-store.js';
import type { StoreRun } from './redis-changes.js';
import { runScript, type ScriptClient } from './redis-client.js';
import { decodeEntries, decodeMessage, type Entry, encodeMessage } from './redis-codec.js';
import { keys, roomKeys } from './redis-keys.js';
import type { ReplicaWait } from './redis-wait.js';

/** A room's message log on Redis: appends, retractions and reads, one script per call. */
export class RedisLog {
  /**
   * @param run runs one request of the store (reconnect-once, 503 mapping)
   * @param historyLimit approximate cap of each room's log
   * @param wait the replicas an append waits for
   */
  constructor(
    private readonly redis: ScriptClient,
    private readonly run: StoreRun,
    private readonly historyLimit: number,
    private readonly wait: ReplicaWait,
  ) {}

  async append(message: NewMessage, options: AppendOptions = {}): Promise<AppendResult> {
    const room = message.room;
    const sender = message.senderId ?? '';
    const { idempotencyKey, rateLimit } = options;
    // Encoded before the store is asked, so a message that cannot be encoded is no store failure.
    const data = encodeMessage(message);
    return this.run(async () => {
      const { answer, replicated } = await this.wait.script(
        room,
        'hcAppend',
        {
          ...roomKeys(room, 'log', 'seq', 'seen', 'mark'),
          idempotency: keys.idempotency(room, idempotencyKey ?? ''),
          rate: sender ? keys.rate(room, sender) : keys.backendRate(room),
        },
        {
          data,
          sender,
          maxlen: this.historyLimit,
          idemTtl: IDEMPOTENCY_TTL_SECONDS,
          useIdem: idempotencyKey ? '1' : '0',
          limit: rateLimit ? rateLimit.limit : 0,
          window: rateLimit?.windowSeconds ?? 60,
        },
      );
      const [id, stored, status, ttl] = answer as [string, string, number, number?];
      if (status === 2) throw new RateLimitedError(undefined, { retryAfter: Math.max(1, ttl ?? 1) });
      const result = { message: decodeMessage(id, stored), duplicate: status === 1 };
      if (!replicated) await this.unacknowledged(result, idempotencyKey);
      return result;
    });
  }

  /**
   * A message the replicas did not confirm is taken back from the primary, as after a failed
   * publish: nothing unacknowledged stays to be found, so the retry is stored and published anew
   * (and waits again). When the take-back fails too (the primary is gone), the retry finds the
   * message on the promoted replica if it got there (acknowledged as a duplicate, in history but
   * never delivered live) or stores it anew: stored once either way.
   *
   * @throws NotAcknowledgedError always
   */
  private async unacknowledged(result: AppendResult, idempotencyKey: string | undefined): Promise<never> {
    if (!result.duplicate) await this.retract(result.message, idempotencyKey).catch(() => undefined);
    throw new NotAcknowledgedError();
  }

  async retract(message: ChatMessage, idempotencyKey?: string): Promise<void> {
    const room = message.room;
    await this.run(() =>
      runScript(
        this.redis,
        'hcRetract',
        { ...roomKeys(room, 'log', 'seq'), idempotency: keys.idempotency(room, idempotencyKey ?? '') },
        { id: message.id },
      ),
    );
  }

  read(room: string, userId: string, sinceId?: string): Promise<ReadResult> {
    return this.run(async () => {
      const [seen, entries] = (await runScript(
        this.redis,
        'hcRead',
        roomKeys(room, 'log', 'seen', 'mark', 'seq', 'edits', 'reactions'),
        { userId, start: sinceId ? `(${sinceId}` : '-' },
      )) as [string | null, Entry[]];
      return { messages: decodeEntries(entries), lastSeenId: seen ?? null };
    });
  }

  page(room: string, userId: string, query: PageQuery): Promise<PageResult> {
    const { before, after } = query;
    // `(0-0` is no valid exclusive end for Redis; `0-0` is, and no entry has that id.
    const nothingOlder = before !== undefined && compareIds(before, '0-0') <= 0;
    return this.run(async () => {
      const [seen, entries, more, moved, listeners] = (await runScript(
        this.redis,
        'hcPage',
        roomKeys(room, 'log', 'seen', 'mark', 'seq', 'signals', 'edits', 'reactions'),
        {
          userId,
          end: nothingOlder ? '0-0' : before !== undefined ? `(${before}` : '+',
          start: after !== undefined ? `(${after}` : '-',
          count: Math.max(1, query.limit),
          markRead: query.markRead ? '1' : '0',
        },
      )) as [string | null, Entry[], number, string | null, number];
      return {
        messages: decodeEntries(entries).reverse(),
        lastSeenId: seen ?? null,
        more: more === 1,
        ...(moved ? { readMark: { id: moved, listeners: Number(listeners) } } : {}),
      };
    });
  }

  latest(room: string, userId: string, limit: number): Promise<RoomSummary> {
    return this.run(async () => {
      const [unread, entries] = (await runScript(
        this.redis,
        'hcLatest',
        roomKeys(room, 'log', 'members', 'mark', 'seq', 'edits', 'reactions'),
        { userId, limit },
      )) as [number, Entry[]];
      return { messages: decodeEntries(entries).reverse(), unread };
    });
  }
}
