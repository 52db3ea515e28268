import { BadRequestError, NotFoundError } from '../errors.js';
import type { StoreRun } from './redis-changes.js';
import { runScript, type ScriptClient } from './redis-client.js';
import { decodeEntries, type Entry, repliesOf } from './redis-codec.js';
import { roomKeys } from './redis-keys.js';
import {
  NOT_A_ROOT,
  type ThreadPage,
  type ThreadQuery,
  type ThreadStore,
  type ThreadSummary,
} from './thread-store.js';

/** A message id padded to 16 + 16 digits, as the thread sorted sets hold it (byte order is id order). */
export function paddedId(id: string): string {
  const [ms = '', seq = ''] = id.split('-');
  return `${ms.padStart(16, '0')}-${seq.padStart(16, '0')}`;
}

/** Threads on Redis: one script per call. */
export class RedisThreads implements ThreadStore {
  constructor(
    private readonly redis: ScriptClient,
    private readonly run: StoreRun,
  ) {}

  page(room: string, userId: string, rootId: string, query: ThreadQuery): Promise<ThreadPage> {
    const lead = `${paddedId(rootId)}\0`;
    // Exclusive upper bound in `threadReplies`: the root's every reply, or those before `before`.
    const upper =
      query.before === undefined ? `(${paddedId(rootId)}\x01` : `(${lead}${paddedId(query.before)}`;
    return this.run(async () => {
      const [status, root, entries, more] = (await runScript(
        this.redis,
        'hcThread',
        roomKeys(room, 'log', 'edits', 'reactions', 'threads', 'threadReplies', 'threadMarks'),
        {
          rootId,
          upper,
          count: Math.max(1, query.limit),
          userId,
          markRead: query.markRead ? '1' : '0',
        },
      )) as [number, Entry?, Entry[]?, number?];
      if (status === 1) throw new NotFoundError('message not found');
      if (status === 2) throw new BadRequestError(NOT_A_ROOT);
      return {
        root: decodeEntries([root!])[0]!,
        replies: decodeEntries(entries ?? []).reverse(),
        more: more === 1,
      };
    });
  }

  list(room: string, userId: string, limit: number): Promise<ThreadSummary[]> {
    return this.run(async () => {
      const flat = (await runScript(
        this.redis,
        'hcThreads',
        roomKeys(
          room,
          'log',
          'edits',
          'reactions',
          'threads',
          'threadReplies',
          'threadActivity',
          'threadMarks',
        ),
        { userId, limit: Math.max(1, limit) },
      )) as (Entry | string | number)[];
      const threads: ThreadSummary[] = [];
      for (let i = 0; i + 2 < flat.length; i += 3) {
        const root = decodeEntries([flat[i] as Entry])[0]!;
        threads.push({ root, ...repliesOf(flat[i + 1] as string), unread: Number(flat[i + 2]) });
      }
      return threads;
    });
  }
}
