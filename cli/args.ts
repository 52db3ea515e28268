/**
 * The CLI's arguments: the options each command reads, and the checks that turn a mistake into a
 * usage error (exit code 2) before anything is sent.
 */

import { parseArgs } from 'node:util';
import { httpUrlFromWs, MESSAGE_ID_PATTERN, parseHttpUrl, parseWsUrl } from '@hipochat/client';
import { isValidRoom, ROOM_NAME_RULE } from 'hipochat-serverless/protocol';

/** A usage mistake: printed with a hint, exit code 2. */
export class UsageError extends Error {}

/** Every option of the CLI. */
export const OPTIONS = {
  ws: { type: 'string' },
  http: { type: 'string' },
  room: { type: 'string' },
  rooms: { type: 'string' },
  user: { type: 'string' },
  id: { type: 'string' },
  token: { type: 'string' },
  'token-a': { type: 'string' },
  'token-b': { type: 'string' },
  'service-key': { type: 'string' },
  type: { type: 'string' },
  emoji: { type: 'string' },
  body: { type: 'string' },
  limit: { type: 'string' },
  before: { type: 'string' },
  seconds: { type: 'string' },
  mention: { type: 'string' },
  timeout: { type: 'string' },
  ticket: { type: 'boolean' },
  signals: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type OptionName = keyof typeof OPTIONS;

/**
 * The options each command reads (`--help` aside); `--ws` also gives the HTTP base of the HTTP
 * commands. Anything else is refused, so a mistyped or misplaced option never goes unnoticed.
 */
export const COMMAND_OPTIONS: Record<string, readonly OptionName[]> = {
  chat: ['ws', 'http', 'room', 'rooms', 'token', 'ticket', 'signals', 'timeout'],
  inject: ['http', 'ws', 'room', 'type', 'token', 'service-key', 'body', 'json', 'timeout'],
  history: ['http', 'ws', 'room', 'token', 'limit', 'json', 'timeout'],
  notification: ['http', 'ws', 'room', 'token', 'json', 'timeout'],
  presence: ['http', 'ws', 'room', 'token', 'json', 'timeout'],
  broadcast: ['http', 'ws', 'rooms', 'type', 'service-key', 'body', 'json', 'timeout'],
  delete: ['http', 'ws', 'room', 'id', 'service-key', 'json', 'timeout'],
  edit: ['ws', 'http', 'room', 'id', 'token', 'service-key', 'body', 'json', 'timeout'],
  react: ['ws', 'http', 'room', 'id', 'emoji', 'token', 'json', 'timeout'],
  tail: ['ws', 'http', 'room', 'token', 'json', 'timeout'],
  disconnect: ['http', 'ws', 'user', 'service-key', 'json', 'timeout'],
  members: ['http', 'ws', 'room', 'service-key', 'timeout'],
  smoke: ['ws', 'http', 'room', 'token-a', 'token-b', 'service-key', 'timeout'],
  reply: ['ws', 'http', 'room', 'id', 'token', 'service-key', 'mention', 'json', 'timeout'],
  thread: ['http', 'ws', 'room', 'id', 'token', 'limit', 'before', 'json', 'timeout'],
  threads: ['http', 'ws', 'room', 'token', 'limit', 'json', 'timeout'],
  unread: ['http', 'ws', 'room', 'id', 'token', 'json', 'timeout'],
  mute: ['http', 'ws', 'room', 'user', 'seconds', 'service-key', 'json', 'timeout'],
  unmute: ['http', 'ws', 'room', 'user', 'service-key', 'json', 'timeout'],
  ban: ['http', 'ws', 'room', 'user', 'seconds', 'service-key', 'json', 'timeout'],
  unban: ['http', 'ws', 'room', 'user', 'service-key', 'json', 'timeout'],
  moderation: ['http', 'ws', 'room', 'service-key', 'json', 'timeout'],
};

/**
 * Commands that take arguments besides options: `members add|remove USER_ID...` and
 * `reply ... TEXT...`.
 */
const TAKES_ARGUMENTS = new Set(['members', 'reply']);

const parseAll = (argv: string[]) =>
  parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });

/** The parsed options of a command. */
export type Values = ReturnType<typeof parseAll>['values'];

/** Parses a command's arguments, refusing options it does not read and stray arguments. */
export function parse(argv: string[], command: string): ReturnType<typeof parseAll> {
  let parsed: ReturnType<typeof parseAll>;
  try {
    parsed = parseAll(argv);
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    const option = /'(-[^' ]+)/.exec(message ?? '')?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
      throw new UsageError(`${command} does not take ${option}`);
    }
    throw new UsageError(`${command}: ${message ?? String(error)}`);
  }
  const allowed = COMMAND_OPTIONS[command] ?? [];
  for (const name of Object.keys(parsed.values)) {
    if (name !== 'help' && !allowed.includes(name as OptionName)) {
      throw new UsageError(`${command} does not take --${name}`);
    }
  }
  if (!TAKES_ARGUMENTS.has(command) && parsed.positionals.length > 0) {
    throw new UsageError(
      `${command} takes no arguments besides its options, got ${JSON.stringify(parsed.positionals[0])}`,
    );
  }
  return parsed;
}

/** Where output goes (tests capture it). */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export function need(value: string | undefined, flag: string, command: string): string {
  if (!value) throw new UsageError(`${command}: ${flag} is required (see hipochat ${command} --help)`);
  return value;
}

export function wsOf(values: Values, io: Io, command: string): string {
  const raw = need(values.ws ?? io.env.HIPOCHAT_WS_URL, '--ws', command);
  try {
    parseWsUrl(raw);
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`);
  }
  return raw;
}

export function httpOf(values: Values, io: Io, command: string): string {
  const raw =
    values.http ?? io.env.HIPOCHAT_HTTP_URL ?? (values.ws ? httpUrlFromWsSafe(values.ws) : undefined);
  const url = need(raw, '--http', command);
  try {
    parseHttpUrl(url);
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`);
  }
  return url;
}

function httpUrlFromWsSafe(ws: string): string | undefined {
  try {
    return httpUrlFromWs(ws);
  } catch {
    return undefined;
  }
}

export function seconds(values: Values, fallback: number): number {
  if (values.timeout === undefined) return fallback * 1000;
  const value = Number(values.timeout);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`--timeout must be a positive number of seconds`);
  return value * 1000;
}

/** What the server accepts as a token: printable ASCII without spaces (it goes into a header). */
const TOKEN_PATTERN = /^[\x21-\x7e]{1,4096}$/;

/** The user's token, refused here when no server could accept it. */
export function tokenOf(values: Values, io: Io, command: string): string {
  const token = need(values.token ?? io.env.HIPOCHAT_TOKEN, '--token', command);
  if (!TOKEN_PATTERN.test(token)) {
    throw new UsageError(
      `${command}: invalid token ${JSON.stringify(token.slice(0, 40))}: a token is 1-4096 printable ASCII characters without spaces`,
    );
  }
  return token;
}

/** One room name, refused with the naming rule when invalid. */
export function roomOf(values: Values, command: string): string {
  return checkRoom(need(values.room, '--room', command), command);
}

/** `room` when it is a valid room name. */
export function checkRoom(room: string, command: string): string {
  if (!isValidRoom(room)) throw new UsageError(`${command}: invalid room "${room}": use ${ROOM_NAME_RULE}`);
  return room;
}

/** The service key from `--service-key` or `HIPOCHAT_SERVICE_KEY`. */
export function serviceKeyOf(values: Values, io: Io, command: string): string {
  return need(values['service-key'] ?? io.env.HIPOCHAT_SERVICE_KEY, '--service-key', command);
}

/** A message id of `--id`, refused unless it has the id format. */
export function messageIdOf(values: Values, command: string): string {
  return checkMessageId(need(values.id, '--id', command), command);
}

/** `id` when it has the message id format. */
export function checkMessageId(id: string, command: string): string {
  if (!MESSAGE_ID_PATTERN.test(id)) {
    throw new UsageError(
      `${command}: invalid message id "${id}": expected <milliseconds>-<sequence>, e.g. 1700000000000-0`,
    );
  }
  return id;
}

/** The JSON body of `--body` or stdin. */
export async function jsonBodyOf(values: Values, io: Io, command: string): Promise<unknown> {
  const text = values.body ?? (await readStdin(io.stdin, command));
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${command}: the body is not valid JSON: ${text.slice(0, 80)}`);
  }
}

/** All of stdin, refused when it is a terminal (the body must be piped). */
export async function readStdin(
  stdin: NodeJS.ReadableStream & { isTTY?: boolean },
  command: string,
): Promise<string> {
  if (stdin.isTTY) throw new UsageError(`${command}: pipe the JSON body on stdin or pass --body`);
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}
