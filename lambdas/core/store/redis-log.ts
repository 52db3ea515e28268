import { type ChatMessage, compareIds } from '../../../protocol/index.js';
import { BadRequestError, NotAcknowledgedError, RateLimitedError, RestrictedError } from '../errors.js';
import type { NewMessage } from '../protocol.js';
import {
  type AppendOptions,
  type AppendResult,
  IDEMPOTENCY_TTL_SECONDS,
  type MarkedUnread,
  type PageQuery,
  type PageResult,
  type ReadResult,
  type RoomSummary,
} from './chat-store.js';
import type { StoreRun } from './redis-changes.js';
import { runScript, type ScriptClient } from './redis-client.js';
import { decodeEntries, decodeMessage, type Entry, encodeMessage, repliesOf } from './redis-codec.js';
import { keys, roomKeys } from './redis-keys.js';
import { acknowledged, type ReplicaWait } from './redis-wait.js';
import { BAD_PARENT } from './thread-store.js';

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
    // The script appends the kept mentions; encoded before the store is asked, so a message that
    // cannot be encoded is no store failure.
    const { mentions, ...rest } = message;
    const data = encodeMessage(rest);
    return this.run(async () => {
      const { answer, replicated } = await this.wait.script(
        room,
        'hcAppend',
        {
          ...roomKeys(room, 'log', 'seq', 'seen', 'mark'),
          idempotency: keys.idempotency(room, idempotencyKey ?? ''),
          rate: sender ? keys.rate(room, sender) : keys.backendRate(room),
          ...roomKeys(room, 'members', 'mentions'),
          moderation: keys.moderation(room),
          ...roomKeys(room, 'threads', 'threadReplies', 'threadActivity', 'threadMarks'),
        },
        {
          data,
          sender,
          maxlen: this.historyLimit,
          idemTtl: IDEMPOTENCY_TTL_SECONDS,
          useIdem: idempotencyKey ? '1' : '0',
          limit: rateLimit ? rateLimit.limit : 0,
          window: rateLimit?.windowSeconds ?? 60,
          mentioned: mentions && mentions.length > 0 ? JSON.stringify(mentions) : '',
          membersOnly: options.mentionMembersOnly ? '1' : '0',
          nowMs: Date.now(),
          parentId: message.parentId ?? '',
        },
      );
      // The fifth field: a restriction's end (status 3), or a stored reply's root summary.
      const [id, stored, status, ttl, fifth] = answer as [
        string,
        string,
        number,
        (number | string)?,
        string?,
      ];
      if (status === 2) throw new RateLimitedError(undefined, { retryAfter: Math.max(1, Number(ttl ?? 1)) });
      if (status === 3) {
        throw new RestrictedError(ttl === 'ban' ? 'banned' : 'muted', (Number(fifth) - Date.now()) / 1000);
      }
      if (status === 4) throw new BadRequestError(BAD_PARENT);
      const result: AppendResult = {
        message: decodeMessage(id, stored),
        duplicate: status === 1,
        ...(fifth ? { replies: repliesOf(fifth) } : {}),
      };
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

  async recall(room: string, idempotencyKey: string): Promise<ChatMessage | null> {
    return this.run(async () => {
      // Through the replica wait: the retry is acknowledged with it, so it must be replicated.
      const { answer, replicated } = await this.wait.script(
        room,
        'hcRecall',
        { ...roomKeys(room, 'log'), idempotency: keys.idempotency(room, idempotencyKey) },
        {},
      );
      if (!answer) return null;
      if (!replicated) throw new NotAcknowledgedError();
      const [id, stored] = answer as [string, string];
      return decodeMessage(id, stored);
    });
  }

  async retract(message: ChatMessage, idempotencyKey?: string): Promise<void> {
    const room = message.room;
    await this.run(() =>
      runScript(
        this.redis,
        'hcRetract',
        {
          ...roomKeys(room, 'log', 'seq'),
          idempotency: keys.idempotency(room, idempotencyKey ?? ''),
          ...roomKeys(room, 'mentions'),
          ...roomKeys(room, 'threads', 'threadReplies', 'threadActivity'),
        },
        {
          id: message.id,
          mentioned: message.mentions?.length ? JSON.stringify(message.mentions) : '',
          parentId: message.parentId ?? '',
        },
      ),
    );
  }

  read(room: string, userId: string, sinceId?: string): Promise<ReadResult> {
    return this.run(async () => {
      const [seen, entries] = (await runScript(
        this.redis,
        'hcRead',
        roomKeys(room, 'log', 'seen', 'mark', 'seq', 'edits', 'reactions', 'threads'),
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
        roomKeys(room, 'log', 'seen', 'mark', 'seq', 'signals', 'edits', 'reactions', 'threads'),
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
      const [unread, entries, mentions] = (await runScript(
        this.redis,
        'hcLatest',
        roomKeys(
          room,
          'log',
          'members',
          'mark',
          'seq',
          'edits',
          'reactions',
          'mentions',
          'mentionFrom',
          'threads',
        ),
        { userId, limit },
      )) as [number, Entry[], number];
      return { messages: decodeEntries(entries).reverse(), unread, mentions: Number(mentions) };
    });
  }

  markUnread(room: string, userId: string, id: string): Promise<MarkedUnread | null> {
    return this.run(async () => {
      const answer = acknowledged<[string | null, number, number, number] | null>(
        await this.wait.script(
          room,
          'hcMarkUnread',
          roomKeys(room, 'log', 'seq', 'seen', 'mark', 'members', 'signals', 'mentions', 'mentionFrom'),
          { userId, id },
        ),
      );
      if (!answer) return null;
      const [lastRead, unread, mentions, listeners] = answer;
      return {
        lastRead: lastRead ?? null,
        unread: Number(unread),
        mentions: Number(mentions),
        listeners: Number(listeners),
      };
    });
  }
}
