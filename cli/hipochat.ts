/**
 * `npx hipochat <command>`: chat from a terminal, follow a room, inject, read history and counts,
 * see who is online, broadcast to many rooms, edit, react to and delete messages, reply in threads
 * and read them, mark a room unread, mute and ban users, disconnect a user, manage members, and
 * smoke-test a deployment. Built on the same libraries as the demo page and backends; each
 * concern lives in a module of its own (arguments, help, commands, failures).
 */
import { COMMAND_OPTIONS, type Io, parse, UsageError, type Values } from './args.js';
import { broadcast, deleteMessage, disconnect, members } from './backend-commands.js';
import { chat, chatInRooms, tail } from './chat.js';
import { reply, thread, threads, unread } from './conversation-commands.js';
import { reportFailure } from './failures.js';
import { history, inject, notification, presence } from './http-commands.js';
import { edit, react } from './message-commands.js';
import { ban, moderation, mute, unban, unmute } from './moderation-commands.js';
import { smoke } from './smoke.js';
import { COMMAND_HELP, HELP } from './usage.js';

export { type Io, UsageError } from './args.js';
export { formatMessage } from './format.js';

/** Each command's implementation (`members` and `reply` also read their arguments). */
const COMMANDS: Record<string, (values: Values, io: Io, positionals: string[]) => Promise<number>> = {
  chat: (values, io) => (values.rooms === undefined ? chat(values, io) : chatInRooms(values, io)),
  tail,
  inject,
  history,
  notification,
  presence,
  broadcast,
  edit,
  react,
  delete: deleteMessage,
  disconnect,
  members: (values, io, positionals) => members(values, positionals, io),
  smoke,
  reply,
  thread,
  threads,
  unread,
  mute,
  unmute,
  ban,
  unban,
  moderation,
};

/** The HTTP base a failure message names, as far as the arguments say it. */
function httpBaseOf(rest: string[], io: Io): string | undefined {
  const at = rest.indexOf('--http');
  const inline = rest.find((arg) => arg.startsWith('--http='))?.slice('--http='.length);
  return (at >= 0 ? rest[at + 1] : inline) ?? io.env.HIPOCHAT_HTTP_URL;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP);
    return command ? 0 : 2;
  }
  try {
    const run = COMMANDS[command];
    if (!run || !COMMAND_OPTIONS[command]) throw new UsageError(`unknown command "${command}"`);
    const { values, positionals } = parse(rest, command);
    if (values.help) {
      io.out(COMMAND_HELP[command] ?? HELP);
      return 0;
    }
    return await run(values, io, positionals);
  } catch (error) {
    return reportFailure(error, command, httpBaseOf(rest, io), io.err);
  }
}
