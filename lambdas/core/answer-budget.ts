/**
 * Keeps history answers under {@link MAX_ANSWER_BYTES}: Lambda refuses a synchronous response over
 * 6 MB, and a busy room's whole history can weigh more. Answers hold the newest messages that fit
 * and say `more`; clients page back with `?before=`.
 */
import { type ChatMessage, MAX_ANSWER_BYTES } from '../../protocol/index.js';

/**
 * Bytes `value` adds to an HTTP answer as Lambda returns it: its JSON, escaped once more as the
 * `body` string of the response JSON (a `"` costs 4 bytes there, not 1).
 */
export function answerBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(JSON.stringify(value)), 'utf8') - 2;
}

/** A byte allowance that answer parts are taken from until it runs out. */
export class AnswerBudget {
  private left: number;

  /** @param reserved bytes kept for the answer's envelope (keys, page, the Lambda response) */
  constructor(reserved: number, total = MAX_ANSWER_BYTES) {
    this.left = total - reserved;
  }

  /** Takes `bytes` when they fit; false (and nothing taken) when they do not. */
  take(bytes: number): boolean {
    if (bytes > this.left) return false;
    this.left -= bytes;
    return true;
  }
}

/** Reads one page of a room: the newest `limit` messages older than `before`, oldest first. */
export type PageReader = (query: {
  limit: number;
  before?: string;
}) => Promise<{ messages: ChatMessage[]; more: boolean }>;

/** What {@link newestThatFit} kept of one room. */
export interface FittedPage {
  /** Oldest first. */
  messages: ChatMessage[];
  /** Older messages exist that were not kept (beyond the limit or the budget). */
  more: boolean;
}

/** Options of {@link newestThatFit}. */
export interface FitOptions {
  /** Messages per room at most (`Infinity`: as many as fit). */
  limit: number;
  budget: AnswerBudget;
  /** Bytes one message costs in the answer. */
  cost: (message: ChatMessage) => number;
  /** Messages per room in the first read; each next read doubles, so few round trips fill an answer. */
  firstRead: number;
}

interface Progress {
  read: PageReader;
  /** Newest first. */
  fetched: ChatMessage[];
  taken: number;
  /** The store holds older messages than the fetched ones. */
  more: boolean;
}

/**
 * The newest messages of each room that fit the budget, newest first across rooms in turns (one
 * message of each room, then the next), so one busy room cannot crowd the others out. Reads in
 * growing pages, so the store is asked for little more than the answer holds.
 */
export async function newestThatFit(
  readers: readonly PageReader[],
  options: FitOptions,
): Promise<FittedPage[]> {
  const { limit, budget, cost } = options;
  const rooms: Progress[] = readers.map((read) => ({ read, fetched: [], taken: 0, more: true }));
  let size = options.firstRead;
  for (;;) {
    const hungry = rooms.filter((r) => r.more && r.taken === r.fetched.length && r.taken < limit);
    if (hungry.length === 0) break;
    await Promise.all(
      hungry.map(async (room) => {
        const page = await room.read({
          limit: Math.min(size, limit - room.fetched.length),
          before: room.fetched.at(-1)?.id,
        });
        room.fetched.push(...[...page.messages].reverse());
        room.more = page.more;
      }),
    );
    if (!takeInTurns(rooms, limit, budget, cost)) break;
    size *= 2;
  }
  return rooms.map((room) => ({
    messages: room.fetched.slice(0, room.taken).reverse(),
    more: room.more || room.taken < room.fetched.length,
  }));
}

/** Takes fetched messages one room at a time; false once the budget ran out. */
function takeInTurns(
  rooms: Progress[],
  limit: number,
  budget: AnswerBudget,
  cost: (message: ChatMessage) => number,
): boolean {
  for (let took = true; took; ) {
    took = false;
    for (const room of rooms) {
      const next = room.fetched[room.taken];
      if (!next || room.taken >= limit) continue;
      if (!budget.take(cost(next))) return false;
      room.taken += 1;
      took = true;
    }
  }
  return true;
}
