/** Threads and read state: `reply`, `thread`, `threads` and `unread`. */
import { type ChatMessage, HipochatHttp } from '@hipochat/client';
import { HipochatServer, MAX_MENTIONS } from '@hipochat/server';
import {
  checkMessageId,
  httpOf,
  type Io,
  messageIdOf,
  readStdin,
  roomOf,
  seconds,
  serviceKeyOf,
  tokenOf,
  UsageError,
  type Values,
} from './args.js';
import { formatMessage, userName } from './format.js';
import { asUser } from './message-commands.js';

/** The HTTP API as the user of `--token`. */
function userHttp(values: Values, io: Io, command: string): HipochatHttp {
  return new HipochatHttp({
    httpUrl: httpOf(values, io, command),
    token: tokenOf(values, io, command),
    timeoutMs: seconds(values, 15),
  });
}

/** `--limit`: a whole number from 1 to `max`, or undefined when absent. */
function limitOf(values: Values, command: string, max: number): number | undefined {
  if (values.limit === undefined) return undefined;
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new UsageError(`${command}: --limit must be a whole number from 1 to ${max}`);
  }
  return limit;
}

/** `--mention u1,u2`: the distinct user ids, at most {@link MAX_MENTIONS}. */
export function mentionsOf(values: Values, command: string): string[] | undefined {
  if (values.mention === undefined) return undefined;
  const users = [...new Set(values.mention.split(',').map((user) => user.trim()))].filter(Boolean);
  if (users.length === 0) throw new UsageError(`${command}: --mention takes user ids, comma-separated`);
  if (users.length > MAX_MENTIONS) {
    throw new UsageError(
      `${command}: --mention names ${users.length} users, a message takes at most ${MAX_MENTIONS}`,
    );
  }
  return users;
}

/** The text of a reply: the arguments, or stdin when there are none. */
async function textOf(positionals: string[], io: Io, command: string): Promise<string> {
  const text =
    positionals.length > 0 ? positionals.join(' ') : (await readStdin(io.stdin, command)).replace(/\n$/, '');
  if (text.trim() === '') throw new UsageError(`${command}: the reply is empty`);
  return text;
}

/**
 * `reply`: answers in the thread of `--id` (a message of the room that is no reply itself). With
 * `--token` the user replies over the WebSocket API; with `--service-key` the backend does over HTTP.
 */
export async function reply(values: Values, io: Io, positionals: string[]): Promise<number> {
  const room = roomOf(values, 'reply');
  const rootId = messageIdOf(values, 'reply');
  const mentions = mentionsOf(values, 'reply');
  const backend = values['service-key'] !== undefined || (!values.token && !io.env.HIPOCHAT_TOKEN);
  if (backend) {
    const server = new HipochatServer({
      httpUrl: httpOf(values, io, 'reply'),
      serviceKey: serviceKeyOf(values, io, 'reply'),
      timeoutMs: seconds(values, 15),
    });
    const text = await textOf(positionals, io, 'reply');
    const stored = await server.inject(room, 'message', text, { parentId: rootId, mentions });
    io.out(values.json ? `${JSON.stringify(stored)}\n` : `replied ${stored.id} to ${rootId} in ${room}\n`);
    return 0;
  }
  const text = await textOf(positionals, io, 'reply');
  const ack = await asUser(values, io, 'reply', (client) =>
    client.reply(rootId, text, mentions ? { mentions } : {}),
  );
  io.out(values.json ? `${JSON.stringify(ack)}\n` : `replied ${ack.id} to ${rootId} in ${room}\n`);
  return 0;
}

/** `thread`: the root and its replies, oldest first (the newest page marks the thread read). */
export async function thread(values: Values, io: Io): Promise<number> {
  const room = roomOf(values, 'thread');
  const rootId = messageIdOf(values, 'thread');
  const limit = limitOf(values, 'thread', Number.MAX_SAFE_INTEGER);
  const before = values.before === undefined ? undefined : checkMessageId(values.before, 'thread');
  const answer = await userHttp(values, io, 'thread').thread(room, rootId, {
    ...(limit === undefined ? {} : { limit }),
    ...(before === undefined ? {} : { before }),
  });
  if (values.json) {
    io.out(`${JSON.stringify(answer, null, 2)}\n`);
    return 0;
  }
  io.out(`${formatMessage(answer.root)}\n`);
  for (const message of answer.replies) io.out(`  ${formatMessage(message)}\n`);
  if (answer.page.more && answer.page.before) {
    io.err(`(older replies: hipochat thread ... --before ${answer.page.before})\n`);
  }
  return 0;
}

function preview(message: ChatMessage): string {
  const who = userName(message.author, message.senderId ?? 'backend');
  const text = message.deleted
    ? '(this message was deleted)'
    : typeof message.body === 'string'
      ? message.body
      : JSON.stringify(message.body);
  return `${who}: ${text.length > 60 ? `${text.slice(0, 59)}…` : text}`;
}

/** `threads`: the room's threads, latest activity first, with the user's unread replies. */
export async function threads(values: Values, io: Io): Promise<number> {
  const room = roomOf(values, 'threads');
  const limit = limitOf(values, 'threads', 200);
  const answer = await userHttp(values, io, 'threads').threads(room, limit === undefined ? {} : { limit });
  if (values.json) {
    io.out(`${JSON.stringify(answer, null, 2)}\n`);
    return 0;
  }
  if (answer.threads.length === 0) io.err(`no threads in ${answer.room}\n`);
  for (const entry of answer.threads) {
    const replies = `${entry.count} repl${entry.count === 1 ? 'y' : 'ies'}`;
    const unread = entry.unread > 0 ? `, ${entry.unread} unread` : '';
    io.out(`${entry.root.id}  ${replies}${unread}  ${preview(entry.root)}\n`);
  }
  return 0;
}

/** `unread`: marks the room unread from message `--id` on (the read mark moves to just before it). */
export async function unread(values: Values, io: Io): Promise<number> {
  const room = roomOf(values, 'unread');
  const id = messageIdOf(values, 'unread');
  const answer = await userHttp(values, io, 'unread').markUnread(room, id);
  if (values.json) {
    io.out(`${JSON.stringify(answer)}\n`);
    return 0;
  }
  const mentions =
    answer.mentions > 0 ? `, ${answer.mentions} mention${answer.mentions === 1 ? '' : 's'}` : '';
  io.out(`${room} is unread from ${id}: ${answer.notification} unread${mentions}\n`);
  return 0;
}
