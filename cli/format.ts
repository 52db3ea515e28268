/** How messages, names and connection states read in a terminal. */
import type { ChatMessage, Profile, StateChange } from '@hipochat/client';

/** A user's name from a public profile: `username`, `name`, then the id; `fallback` without one. */
export function userName(profile: Profile | null | undefined, fallback: string): string {
  const name = profile?.username ?? profile?.name ?? profile?.id;
  return typeof name === 'string' || typeof name === 'number' ? String(name) : fallback;
}

function author(message: ChatMessage): string {
  return userName(message.author, message.senderId ?? 'backend');
}

/**
 * One message as a terminal line: `[12:03:04] alice: hello`, `[12:03:04] * notification ...`;
 * an edited one ends in `(edited)`, a deleted one reads `(this message was deleted)`. A reply
 * starts with `↳ `; a thread root ends in `(3 replies, thread <id>)`, the id `hipochat thread` takes.
 */
export function formatMessage(message: ChatMessage): string {
  const time = new Date(message.timestamp * 1000).toTimeString().slice(0, 8);
  const text = typeof message.body === 'string' ? message.body : JSON.stringify(message.body);
  let body = message.deleted ? '(this message was deleted)' : message.edited ? `${text} (edited)` : text;
  const count = message.replies?.count ?? 0;
  if (count > 0) body += ` (${count} repl${count === 1 ? 'y' : 'ies'}, thread ${message.id})`;
  const reply = message.parentId ? '↳ ' : '';
  if (message.type !== 'message')
    return `[${time}] ${reply}* ${message.type} from ${author(message)}: ${body}`;
  return `[${time}] ${reply}${author(message)}: ${body}`;
}

/** A connection state change as a line: `reconnecting in 1.2 s (attempt 2): …`. */
export function describeState(change: StateChange): string {
  if (change.state === 'reconnecting' && change.delayMs !== undefined) {
    return `reconnecting in ${(change.delayMs / 1000).toFixed(1)} s (attempt ${change.attempt}): ${change.reason}`;
  }
  if (change.state === 'reconnecting') return `reconnecting (attempt ${change.attempt ?? 1})…`;
  return change.reason ? `${change.state}: ${change.reason}` : change.state;
}
