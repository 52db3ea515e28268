/**
 * `npx hipochat <command>`: chat from a terminal, inject, read history and counts, see who is
 * online, broadcast to many rooms, delete a message, disconnect a user, manage members, and smoke-test a deployment. Built on the same client library as the demo page.
 */
import { randomUUID } from 'node:crypto';
import { createInterface, emitKeypressEvents } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  type ChatMessage,
  EPHEMERAL_INTERVAL_MS,
  HipochatClient,
  type HipochatClientOptions,
  HipochatError,
  HipochatHttp,
  httpUrlFromWs,
  MESSAGE_ID_PATTERN,
  type Profile,
  parseHttpUrl,
  parseWsUrl,
  profileUserId,
  type StateChange,
  type WebSocketConstructor,
} from '@hipochat/client';
import { HipochatServer, HipochatServerError, NetworkError, UnauthorizedError } from '@hipochat/server';
import WebSocket from 'ws';
import { chatRooms } from './rooms-chat.js';

/** A usage mistake: printed with a hint, exit code 2. */
export class UsageError extends Error {}

const NodeWebSocket: WebSocketConstructor = WebSocket;

const HELP = `hipochat: a command-line client for Hipochat Serverless

Usage: hipochat <command> [options]

Commands:
  chat          interactive chat: history on join, live messages, one line = one message
  inject        post the JSON on stdin (or --body) into a room as a message of --type
  history       print the latest messages of one or more rooms (comma-separated)
  notification  print your unread count in a room
  presence      print who is online in a room
  broadcast     post the JSON on stdin (or --body) as a message of --type into many rooms (service key)
  delete        delete any message of a room, for moderation (service key)
  disconnect    close every connection of a user in every room (service key)
  members       add|remove members of a room (needs the service key)
  smoke         post-deploy check: two users, messages both ways, history, injection, counts

Common options:
  --ws URL           WebSocket endpoint, ws://host:8888 or wss://... (env HIPOCHAT_WS_URL)
  --http URL         HTTP API base, http://host:8888 (env HIPOCHAT_HTTP_URL; default: from --ws)
  --room R           room name (letters, digits, - . : , _)
  --token T          your token; in dev mode any name (env HIPOCHAT_TOKEN)
  --service-key K    HIPOCHAT_SERVICE_KEY of the stack (env HIPOCHAT_SERVICE_KEY)
  --timeout S        seconds before giving up (default 15; smoke: 60 in total)
  --json             print raw JSON instead of lines
  -h, --help         help (also: hipochat <command> --help)

Examples:
  hipochat chat --ws ws://127.0.0.1:8888 --room lobby --token alice
  echo '{"order":42}' | hipochat inject --http http://127.0.0.1:8888 --room lobby --type notification --token alice
  hipochat history --http http://127.0.0.1:8888 --room lobby,news --token alice --limit 20
  hipochat notification --http http://127.0.0.1:8888 --room lobby --token bob
  hipochat chat --ws ws://127.0.0.1:8888 --room lobby --token bob --signals
  hipochat chat --ws ws://127.0.0.1:8888 --rooms lobby,news --token carol
  hipochat presence --http http://127.0.0.1:8888 --room lobby --token alice
  echo '{"text":"maintenance at 22:00"}' | hipochat broadcast --http http://127.0.0.1:8888 --rooms lobby,news --type notification --service-key KEY
  hipochat delete --http http://127.0.0.1:8888 --room lobby --id 1700000000000-0 --service-key KEY
  hipochat disconnect --http http://127.0.0.1:8888 --user mallory --service-key KEY
  hipochat members add --http http://127.0.0.1:8888 --room vip --service-key KEY alice bob
  hipochat smoke --ws ws://127.0.0.1:8888 --http http://127.0.0.1:8888
`;

const COMMAND_HELP: Record<string, string> = {
  chat: `hipochat chat --ws URL (--room R | --rooms R1,R2...) --token T [--http URL] [--ticket] [--signals] [--timeout S]

Joins the room, prints its history (a line marks where the unread part starts), then live
messages. Each line you type is sent; /quit or Ctrl-D leaves. Reconnects on its own.
With stdin not a terminal, sends each line and exits at the end of input.
With --signals it also prints who joins and leaves the room and who starts typing
("* bob is typing…"), edits and deletes ("* edited: …", "* deleted: …"), and tells the
room when you type.
With --rooms it follows several rooms on one connection (live messages only, each line
starting with [room]); a line goes to the first room, or to another with "@room text".
`,
  inject: `hipochat inject --http URL --room R --type T (--token T | --service-key K) [--body JSON] [--json] [--timeout S] < body.json

Posts a JSON body into the room as a message of type T (for example notification). With the
service key the backend is the author. Prints the stored message.
`,
  history: `hipochat history --http URL --room R[,R2...] --token T [--limit N] [--json] [--timeout S]

Prints the latest N (default 20) messages and your unread count of each room.
`,
  notification: `hipochat notification --http URL --room R --token T [--json] [--timeout S]

Prints your unread count in the room.
`,
  presence: `hipochat presence --http URL --room R --token T [--json] [--timeout S]

Prints who is online in the room, one user a line (each user once, however many tabs).
`,
  broadcast: `hipochat broadcast --http URL --rooms R1,R2... --type T --service-key K [--body JSON] [--json] [--timeout S] < body.json

Posts one JSON body as a message of type T into every room (at most 100) as the backend, in one
call; prints the stored message of each room. --rooms splits at commas: for a room whose name has
a comma, call POST /talk/broadcast/ (or the client library's broadcast) instead.
`,
  delete: `hipochat delete --http URL --room R --id MESSAGE_ID --service-key K [--json] [--timeout S]

Deletes a message of the room as the backend (moderation): it stays in the history as a
tombstone without its body ("This message was deleted"), and live clients see it go. Prints the
tombstone's id; exits 1 when the room has no such message.
`,
  disconnect: `hipochat disconnect --http URL --user USER_ID --service-key K [--json] [--timeout S]

Closes every connection of the user in every room, for example after revoking their token (an
open socket otherwise keeps the identity it connected with). Prints how many were closed.
`,
  members: `hipochat members add|remove --http URL --room R --service-key K [--timeout S] USER_ID...

Adds users to the room (new-chat-room) or removes them and closes their sockets (unsubscribe).
`,
  smoke: `hipochat smoke --ws URL --http URL [--token-a T] [--token-b T] [--service-key K] [--room R] [--timeout S]

Connects two users to a fresh room, sends a message each way, checks history, an injection
(with --service-key: that the backend's injection has \`author: null\`) and unread counts. Prints PASS/FAIL per step and exits non-zero on a failure. Dev tokens
(random names) are used unless --token-a/--token-b are given.
`,
};

const OPTIONS = {
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
  body: { type: 'string' },
  limit: { type: 'string' },
  timeout: { type: 'string' },
  ticket: { type: 'boolean' },
  signals: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof OPTIONS;

/**
 * The options each command reads (`--help` aside); `--ws` also gives the HTTP base of the HTTP
 * commands. Anything else is refused, so a mistyped or misplaced option never goes unnoticed.
 */
const COMMAND_OPTIONS: Record<string, readonly OptionName[]> = {
  chat: ['ws', 'http', 'room', 'rooms', 'token', 'ticket', 'signals', 'timeout'],
  inject: ['http', 'ws', 'room', 'type', 'token', 'service-key', 'body', 'json', 'timeout'],
  history: ['http', 'ws', 'room', 'token', 'limit', 'json', 'timeout'],
  notification: ['http', 'ws', 'room', 'token', 'json', 'timeout'],
  presence: ['http', 'ws', 'room', 'token', 'json', 'timeout'],
  broadcast: ['http', 'ws', 'rooms', 'type', 'service-key', 'body', 'json', 'timeout'],
  delete: ['http', 'ws', 'room', 'id', 'service-key', 'json', 'timeout'],
  disconnect: ['http', 'ws', 'user', 'service-key', 'json', 'timeout'],
  members: ['http', 'ws', 'room', 'service-key', 'timeout'],
  smoke: ['ws', 'http', 'room', 'token-a', 'token-b', 'service-key', 'timeout'],
};

/** Commands that take arguments besides options: `members add|remove USER_ID...`. */
const TAKES_ARGUMENTS = new Set(['members']);

const parseAll = (argv: string[]) =>
  parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });

type Values = ReturnType<typeof parseAll>['values'];

/** Parses a command's arguments, refusing options it does not read and stray arguments. */
function parse(argv: string[], command: string): ReturnType<typeof parseAll> {
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

/** The one-line usage of a command (the first line of its help), or of the CLI. */
function usageOf(command: string): string {
  return (
    COMMAND_HELP[command]?.split('\n')[0] ?? 'hipochat <command> [options]   (hipochat --help lists them)'
  );
}

/** Where output goes (tests capture it). */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

function need(value: string | undefined, flag: string, command: string): string {
  if (!value) throw new UsageError(`${command}: ${flag} is required (see hipochat ${command} --help)`);
  return value;
}

function wsOf(values: Values, io: Io, command: string): string {
  const raw = need(values.ws ?? io.env.HIPOCHAT_WS_URL, '--ws', command);
  try {
    parseWsUrl(raw);
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}`);
  }
  return raw;
}

function httpOf(values: Values, io: Io, command: string): string {
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

function seconds(values: Values, fallback: number): number {
  if (values.timeout === undefined) return fallback * 1000;
  const value = Number(values.timeout);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`--timeout must be a positive number of seconds`);
  return value * 1000;
}

function tokenOf(values: Values, io: Io, command: string): string {
  return need(values.token ?? io.env.HIPOCHAT_TOKEN, '--token', command);
}

/** A user's name from a public profile: `username`, `name`, then the id; `fallback` without one. */
function userName(profile: Profile | null | undefined, fallback: string): string {
  const name = profile?.username ?? profile?.name ?? profile?.id;
  return typeof name === 'string' || typeof name === 'number' ? String(name) : fallback;
}

function author(message: ChatMessage): string {
  return userName(message.author, message.senderId ?? 'backend');
}

/**
 * One message as a terminal line: `[12:03:04] alice: hello`, `[12:03:04] * notification ...`;
 * an edited one ends in `(edited)`, a deleted one reads `(this message was deleted)`.
 */
export function formatMessage(message: ChatMessage): string {
  const time = new Date(message.timestamp * 1000).toTimeString().slice(0, 8);
  const text = typeof message.body === 'string' ? message.body : JSON.stringify(message.body);
  const body = message.deleted ? '(this message was deleted)' : message.edited ? `${text} (edited)` : text;
  if (message.type !== 'message') return `[${time}] * ${message.type} from ${author(message)}: ${body}`;
  return `[${time}] ${author(message)}: ${body}`;
}

function describeState(change: StateChange): string {
  if (change.state === 'reconnecting' && change.delayMs !== undefined) {
    return `reconnecting in ${(change.delayMs / 1000).toFixed(1)} s (attempt ${change.attempt}): ${change.reason}`;
  }
  if (change.state === 'reconnecting') return `reconnecting (attempt ${change.attempt ?? 1})…`;
  return change.reason ? `${change.state}: ${change.reason}` : change.state;
}

function clientOptions(values: Values, io: Io, command: string): HipochatClientOptions {
  return {
    url: wsOf(values, io, command),
    httpUrl: httpOf(values, io, command),
    room: need(values.room, '--room', command),
    token: tokenOf(values, io, command),
    useTicket: Boolean(values.ticket),
    signals: Boolean(values.signals),
    WebSocket: NodeWebSocket,
    connectTimeoutMs: seconds(values, 15),
    requestTimeoutMs: seconds(values, 15),
  };
}

async function chat(values: Values, io: Io): Promise<number> {
  const client = new HipochatClient(clientOptions(values, io, 'chat'));
  const interactive = Boolean(io.stdin.isTTY);
  // Created once connected: piped lines read before then would be lost.
  let rl: ReturnType<typeof createInterface> | undefined;
  const print = (line: string) => {
    if (interactive && rl) {
      // Write above the prompt without losing what is being typed.
      process.stdout.write(`\r\x1b[K${line}\n`);
      rl.prompt(true);
    } else io.out(`${line}\n`);
  };
  const showMessage = (message: ChatMessage) => print(formatMessage(message));
  // The catch-up emits its messages before the `history` event; hold the unread ones back so
  // the divider lands between the read and the unread part.
  const held: ChatMessage[] = [];
  const onMessage = (message: ChatMessage, meta: { source: string; unread: boolean }) => {
    if (meta.source === 'history' && meta.unread) held.push(message);
    else showMessage(message);
  };
  client.on('message', onMessage);
  client.on('injection', onMessage);
  client.on('history', (batch) => {
    if (batch.initial && batch.unread.length > 0) print(`-- ${batch.unread.length} unread --`);
    for (const message of held.splice(0)) showMessage(message);
  });
  client.on('state', (change) => io.err(`* ${describeState(change)}\n`));
  client.on('error', (error) => io.err(`! ${error.message}\n`));
  if (values.signals) showSignals(client, print);
  try {
    await client.connect(seconds(values, 15));
  } catch (error) {
    client.close();
    throw error;
  }
  const lines = createInterface({
    input: io.stdin,
    output: interactive ? process.stdout : undefined,
    terminal: interactive,
  });
  rl = lines;
  if (interactive) {
    lines.setPrompt(`${client.room}> `);
    lines.prompt();
    if (values.signals) {
      // Keystrokes tell the room you are typing; the client sends at most one notice per 2 s.
      emitKeypressEvents(io.stdin);
      io.stdin.on('keypress', (_text: string, key: { name?: string } | undefined) => {
        if (key?.name !== 'return' && key?.name !== 'enter') client.sendTyping();
      });
    }
  }
  const sends: Promise<unknown>[] = [];
  let failed = false;
  await new Promise<void>((resolve) => {
    lines.on('line', (line) => {
      const text = line.trimEnd();
      if (text === '/quit') return lines.close();
      if (text === '/help') {
        print('Type a line and press Enter to send it; /quit leaves.');
        return;
      }
      if (text === '') {
        if (interactive) lines.prompt();
        return;
      }
      sends.push(
        client.send(text).catch((error: unknown) => {
          failed = true;
          io.err(`! not sent: ${error instanceof Error ? error.message : String(error)}\n`);
        }),
      );
      if (interactive) lines.prompt();
    });
    lines.on('close', () => resolve());
  });
  await Promise.all(sends);
  // Let the last messages come back through the fan-out before leaving.
  if (!interactive && sends.length > 0) await new Promise((resolve) => setTimeout(resolve, 500));
  client.close();
  return failed ? 1 : 0;
}

/** `chat --rooms a,b`: one connection for several rooms (see `rooms-chat.ts`). */
function chatInRooms(values: Values, io: Io): Promise<number> {
  if (values.room !== undefined) throw new UsageError('chat takes --room or --rooms, not both');
  for (const flag of ['ticket', 'signals', 'http'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`chat --rooms does not take --${flag}`);
  }
  const rooms = [...new Set((values.rooms ?? '').split(',').filter(Boolean))];
  if (rooms.length === 0) throw new UsageError('chat: --rooms needs at least one room');
  return chatRooms(
    {
      url: wsOf(values, io, 'chat'),
      token: tokenOf(values, io, 'chat'),
      rooms,
      timeoutMs: seconds(values, 15),
      format: formatMessage,
    },
    io,
  );
}

/**
 * Prints joins, leaves and typing of the room: `* bob joined`, `* bob left`, `* bob is typing…`
 * (once per burst: typing frames repeat every 2 s while someone types).
 */
function showSignals(client: HipochatClient, print: (line: string) => void): void {
  const typingUntil = new Map<string, number>();
  client.on('presence', (event) => {
    const name = userName(event.user, event.userId ?? 'someone');
    if (event.event === 'leave' && event.userId) typingUntil.delete(event.userId);
    print(`* ${name} ${event.event === 'join' ? 'joined' : 'left'}`);
  });
  client.on('typing', (event) => {
    const name = userName(event.author, event.senderId ?? 'someone');
    const key = event.senderId ?? name;
    const now = Date.now();
    const quiet = (typingUntil.get(key) ?? 0) < now;
    // A burst lasts while frames keep coming; a gap of over 1.5 intervals starts a new one.
    typingUntil.set(key, now + EPHEMERAL_INTERVAL_MS * 1.5);
    if (quiet) print(`* ${name} is typing…`);
  });
  client.on('message', (message) => {
    if (message.senderId) typingUntil.delete(message.senderId);
  });
  client.on('edit', (event) => {
    if (event.message) print(`* edited: ${formatMessage(event.message)}`);
  });
  client.on('delete', (event) => {
    if (event.message) print(`* deleted: ${formatMessage({ ...event.message, deleted: true })}`);
  });
}

async function readStdin(
  stdin: NodeJS.ReadableStream & { isTTY?: boolean },
  command = 'inject',
): Promise<string> {
  if (stdin.isTTY) throw new UsageError(`${command}: pipe the JSON body on stdin or pass --body`);
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

async function inject(values: Values, io: Io): Promise<number> {
  const httpUrl = httpOf(values, io, 'inject');
  const room = need(values.room, '--room', 'inject');
  const type = need(values.type, '--type', 'inject');
  const serviceKey = values['service-key'] ?? (values.token ? undefined : io.env.HIPOCHAT_SERVICE_KEY);
  const token = values.token ?? io.env.HIPOCHAT_TOKEN;
  if (!serviceKey && !token) throw new UsageError('inject: --token or --service-key is required');
  const text = values.body ?? (await readStdin(io.stdin));
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new UsageError(`inject: the body is not valid JSON: ${text.slice(0, 80)}`);
  }
  const stored = serviceKey
    ? await new HipochatServer({ httpUrl, serviceKey, timeoutMs: seconds(values, 15) }).inject(
        room,
        type,
        body,
      )
    : await new HipochatHttp({ httpUrl, token, timeoutMs: seconds(values, 15) }).inject(room, type, body);
  io.out(values.json ? `${JSON.stringify(stored)}\n` : `injected ${stored.type} ${stored.id} into ${room}\n`);
  return 0;
}

async function history(values: Values, io: Io): Promise<number> {
  const httpUrl = httpOf(values, io, 'history');
  const rooms = need(values.room, '--room', 'history').split(',');
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError('history: --limit must be a positive integer');
  const http = new HipochatHttp({
    httpUrl,
    token: tokenOf(values, io, 'history'),
    timeoutMs: seconds(values, 15),
  });
  const results = await http.history(rooms, limit);
  if (values.json) {
    io.out(`${JSON.stringify(results, null, 2)}\n`);
    return 0;
  }
  for (const result of results) {
    io.out(`# ${result.room_name} (${result.unread_count} unread)\n`);
    for (const message of result.messages) io.out(`${formatMessage(message)}\n`);
  }
  return 0;
}

async function notification(values: Values, io: Io): Promise<number> {
  const http = new HipochatHttp({
    httpUrl: httpOf(values, io, 'notification'),
    token: tokenOf(values, io, 'notification'),
    timeoutMs: seconds(values, 15),
  });
  const count = await http.notification(need(values.room, '--room', 'notification'));
  io.out(values.json ? `${JSON.stringify({ notification: count })}\n` : `${count}\n`);
  return 0;
}

async function presence(values: Values, io: Io): Promise<number> {
  const http = new HipochatHttp({
    httpUrl: httpOf(values, io, 'presence'),
    token: tokenOf(values, io, 'presence'),
    timeoutMs: seconds(values, 15),
  });
  const answer = await http.presence(need(values.room, '--room', 'presence'));
  if (values.json) {
    io.out(`${JSON.stringify(answer)}\n`);
    return 0;
  }
  if (answer.online.length === 0) io.err(`nobody is online in ${answer.room}\n`);
  for (const user of answer.online) {
    const id = profileUserId(user);
    const name = userName(user, id ?? JSON.stringify(user));
    io.out(`${name}${id && id !== name ? ` (${id})` : ''}\n`);
  }
  return 0;
}

async function broadcast(values: Values, io: Io): Promise<number> {
  const httpUrl = httpOf(values, io, 'broadcast');
  const rooms = need(values.rooms, '--rooms', 'broadcast')
    .split(',')
    .filter((room) => room !== '');
  const type = need(values.type, '--type', 'broadcast');
  const serviceKey = need(values['service-key'] ?? io.env.HIPOCHAT_SERVICE_KEY, '--service-key', 'broadcast');
  const text = values.body ?? (await readStdin(io.stdin, 'broadcast'));
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new UsageError(`broadcast: the body is not valid JSON: ${text.slice(0, 80)}`);
  }
  const http = new HipochatServer({ httpUrl, serviceKey, timeoutMs: seconds(values, 15) });
  const answer = await http.broadcast(rooms, type, body);
  if (values.json) {
    io.out(`${JSON.stringify(answer)}\n`);
    return 0;
  }
  for (const message of answer.messages) io.out(`broadcast ${type} ${message.id} into ${message.room}\n`);
  return 0;
}

async function disconnect(values: Values, io: Io): Promise<number> {
  const serviceKey = need(
    values['service-key'] ?? io.env.HIPOCHAT_SERVICE_KEY,
    '--service-key',
    'disconnect',
  );
  const http = new HipochatServer({
    httpUrl: httpOf(values, io, 'disconnect'),
    serviceKey,
    timeoutMs: seconds(values, 15),
  });
  const answer = await http.disconnectUser(need(values.user, '--user', 'disconnect'));
  io.out(
    values.json
      ? `${JSON.stringify(answer)}\n`
      : `disconnected ${answer.disconnected} connection${answer.disconnected === 1 ? '' : 's'} of ${answer.user}\n`,
  );
  return 0;
}

async function deleteMessage(values: Values, io: Io): Promise<number> {
  const serviceKey = need(values['service-key'] ?? io.env.HIPOCHAT_SERVICE_KEY, '--service-key', 'delete');
  const room = need(values.room, '--room', 'delete');
  const id = need(values.id, '--id', 'delete');
  if (!MESSAGE_ID_PATTERN.test(id)) {
    throw new UsageError(
      `invalid message id "${id}": expected <milliseconds>-<sequence>, e.g. 1700000000000-0`,
    );
  }
  const http = new HipochatServer({
    httpUrl: httpOf(values, io, 'delete'),
    serviceKey,
    timeoutMs: seconds(values, 15),
  });
  const tombstone = await http.deleteMessage(room, id);
  io.out(values.json ? `${JSON.stringify(tombstone)}\n` : `deleted ${tombstone.id} in ${room}\n`);
  return 0;
}

async function members(values: Values, positionals: string[], io: Io): Promise<number> {
  const [action, ...ids] = positionals;
  if (action !== 'add' && action !== 'remove')
    throw new UsageError('members: say add or remove, then user ids');
  if (ids.length === 0) throw new UsageError(`members ${action}: give at least one user id`);
  const serviceKey = need(values['service-key'] ?? io.env.HIPOCHAT_SERVICE_KEY, '--service-key', 'members');
  const http = new HipochatServer({
    httpUrl: httpOf(values, io, 'members'),
    serviceKey,
    timeoutMs: seconds(values, 15),
  });
  const room = need(values.room, '--room', 'members');
  const result = action === 'add' ? await http.addMembers(room, ids) : await http.removeMembers(room, ids);
  io.out(`${JSON.stringify(result)}\n`);
  return 0;
}

/** Resolves with `promise`, or rejects after `ms` with a message naming `what`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Resolves when `client` has emitted a message or injection matching `match`. */
function received(client: HipochatClient, match: (m: ChatMessage) => boolean): Promise<ChatMessage> {
  return new Promise((resolve) => {
    const check = (message: ChatMessage) => {
      if (!match(message)) return;
      offMessage();
      offInjection();
      resolve(message);
    };
    const offMessage = client.on('message', check);
    const offInjection = client.on('injection', check);
  });
}

async function smoke(values: Values, io: Io): Promise<number> {
  const ws = wsOf(values, io, 'smoke');
  const httpUrl = httpOf(values, io, 'smoke');
  const total = seconds(values, 60);
  const deadline = Date.now() + total;
  const stepMs = () => Math.max(1000, Math.min(15_000, deadline - Date.now()));
  const run = randomUUID().slice(0, 8);
  const room = values.room ?? `smoke-${run}`;
  const tokenA = values['token-a'] ?? `smoke-a-${run}`;
  const tokenB = values['token-b'] ?? `smoke-b-${run}`;
  const serviceKey = values['service-key'] ?? io.env.HIPOCHAT_SERVICE_KEY;
  const options = (token: string): HipochatClientOptions => ({
    url: ws,
    httpUrl,
    room,
    token,
    WebSocket: NodeWebSocket,
    reconnect: false,
    connectTimeoutMs: 10_000,
    requestTimeoutMs: 10_000,
  });
  const a = new HipochatClient(options(tokenA));
  let b = new HipochatClient(options(tokenB));
  const httpB = new HipochatHttp({ httpUrl, token: tokenB, timeoutMs: 10_000 });
  io.out(`smoke test of ${ws} and ${httpUrl}, room ${room}\n`);
  const textAB = `smoke ${run}: a to b`;
  const textBA = `smoke ${run}: b to a`;
  const textAway = `smoke ${run}: while b is away`;
  const steps: [string, () => Promise<string | undefined>][] = [
    [
      'connect user A',
      async () => {
        await a.connect(stepMs());
        return undefined;
      },
    ],
    [
      'connect user B',
      async () => {
        await b.connect(stepMs());
        return undefined;
      },
    ],
    [
      'message A → B',
      async () => {
        const arrives = received(b, (m) => m.body === textAB);
        const ack = await within(a.send(textAB), stepMs(), 'the acknowledgement');
        await within(arrives, stepMs(), 'B to receive it');
        return `id ${ack.id}`;
      },
    ],
    [
      'message B → A',
      async () => {
        const arrives = received(a, (m) => m.body === textBA);
        await within(b.send(textBA), stepMs(), 'the acknowledgement');
        await within(arrives, stepMs(), 'A to receive it');
        return undefined;
      },
    ],
    [
      'history',
      async () => {
        const [result] = await a.http.history([room], 10);
        const bodies = result?.messages.map((m) => m.body) ?? [];
        const expected = [textAB, textBA];
        if (JSON.stringify(bodies) !== JSON.stringify(expected)) {
          throw new Error(`expected ${JSON.stringify(expected)}, got ${JSON.stringify(bodies)}`);
        }
        return `${bodies.length} messages in order`;
      },
    ],
    [
      'injection',
      async () => {
        const marker = { smoke: run, check: 'injection' };
        const toA = received(
          a,
          (m) => m.type === 'notification' && JSON.stringify(m.body) === JSON.stringify(marker),
        );
        const toB = received(
          b,
          (m) => m.type === 'notification' && JSON.stringify(m.body) === JSON.stringify(marker),
        );
        const stored = serviceKey
          ? await new HipochatServer({ httpUrl, serviceKey, timeoutMs: 10_000 }).inject(
              room,
              'notification',
              marker,
            )
          : await a.http.inject(room, 'notification', marker);
        const delivered = await within(Promise.all([toA, toB]), stepMs(), 'both users to receive it');
        if (!serviceKey) return 'as user A';
        // A server that took the key for a user token would have sent it to the profile endpoint.
        for (const message of [stored, ...delivered]) {
          if (message.author !== null) {
            throw new Error(
              `the backend's injection must have author null, got ${JSON.stringify(message.author)}: the server treated the service key as a user token`,
            );
          }
        }
        return 'as the backend (service key), author null';
      },
    ],
    [
      'unread count',
      async () => {
        b.close();
        // The server records the disconnect asynchronously; leaving settles B's count to 0.
        const settle = Date.now() + 5000;
        while ((await httpB.notification(room)) !== 0 && Date.now() < settle) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await within(a.send(textAway), stepMs(), 'the acknowledgement');
        const unread = await httpB.notification(room);
        if (unread !== 1) throw new Error(`B should have 1 unread message, has ${unread}`);
        const old = await httpB.old(room);
        const unreadBodies = old.results.unread_messages.map((m) => m.body);
        if (JSON.stringify(unreadBodies) !== JSON.stringify([textAway])) {
          throw new Error(
            `B's unread history should be [${JSON.stringify(textAway)}], is ${JSON.stringify(unreadBodies)}`,
          );
        }
        const after = await httpB.notification(room);
        if (after !== 0) throw new Error(`reading should reset B's count to 0, it is ${after}`);
        return '1 unread while away, 0 after reading';
      },
    ],
    [
      'reconnect catches up',
      async () => {
        b = new HipochatClient(options(tokenB));
        const seen: unknown[] = [];
        b.on('message', (m) => seen.push(m.body));
        await b.connect(stepMs());
        if (!seen.includes(textAway) || new Set(seen).size !== seen.length) {
          throw new Error(`expected each message once, got ${JSON.stringify(seen)}`);
        }
        return `${seen.length} messages, none twice`;
      },
    ],
  ];
  let failures = 0;
  for (const [name, step] of steps) {
    const started = Date.now();
    if (Date.now() > deadline) {
      io.out(`FAIL ${name}: skipped, the ${total / 1000} s budget is spent\n`);
      failures++;
      break;
    }
    try {
      const detail = await step();
      io.out(`PASS ${name} (${Date.now() - started} ms)${detail ? `: ${detail}` : ''}\n`);
    } catch (error) {
      failures++;
      io.out(`FAIL ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
      // Without both users connected the later steps cannot say anything useful.
      if (name.startsWith('connect')) break;
    }
  }
  a.close();
  b.close();
  io.out(
    failures === 0
      ? 'smoke test passed\n'
      : `smoke test FAILED (${failures} step${failures === 1 ? '' : 's'})\n`,
  );
  return failures === 0 ? 0 : 1;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP);
    return command ? 0 : 2;
  }
  try {
    if (!COMMAND_OPTIONS[command]) throw new UsageError(`unknown command "${command}"`);
    const { values, positionals } = parse(rest, command);
    if (values.help) {
      io.out(COMMAND_HELP[command] ?? HELP);
      return 0;
    }
    switch (command) {
      case 'chat':
        return values.rooms === undefined ? await chat(values, io) : await chatInRooms(values, io);
      case 'inject':
        return await inject(values, io);
      case 'history':
        return await history(values, io);
      case 'notification':
        return await notification(values, io);
      case 'presence':
        return await presence(values, io);
      case 'broadcast':
        return await broadcast(values, io);
      case 'delete':
        return await deleteMessage(values, io);
      case 'disconnect':
        return await disconnect(values, io);
      case 'members':
        return await members(values, positionals, io);
      case 'smoke':
        return await smoke(values, io);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`hipochat: ${error.message}\nusage: ${usageOf(command)}\n`);
      return 2;
    }
    if (error instanceof HipochatError) {
      const hint =
        error.kind === 'auth'
          ? ' (the token or service key was refused)'
          : error.kind === 'timeout'
            ? ' (is the URL right and the stack up?)'
            : '';
      io.err(`hipochat: ${error.message}${hint}\n`);
      return 1;
    }
    if (error instanceof HipochatServerError) {
      const hint =
        error instanceof UnauthorizedError
          ? ' (the token or service key was refused)'
          : error instanceof NetworkError
            ? ' (is the URL right and the stack up?)'
            : '';
      io.err(`hipochat: ${error.message}${hint}\n`);
      return 1;
    }
    io.err(`hipochat: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
