/** `hipochat chat` and `hipochat tail`: following a room over the WebSocket API. */
import { createInterface, emitKeypressEvents } from 'node:readline';
import {
  type ChatMessage,
  EPHEMERAL_INTERVAL_MS,
  HipochatClient,
  type HipochatClientOptions,
} from '@hipochat/client';
import {
  checkRoom,
  httpOf,
  type Io,
  roomOf,
  seconds,
  tokenOf,
  UsageError,
  type Values,
  wsOf,
} from './args.js';
import { describeState, formatMessage, userName } from './format.js';
import { NodeWebSocket } from './node-websocket.js';
import { chatRooms } from './rooms-chat.js';

/** The client options of a command that connects to one room. */
export function clientOptions(values: Values, io: Io, command: string): HipochatClientOptions {
  return {
    url: wsOf(values, io, command),
    httpUrl: httpOf(values, io, command),
    room: roomOf(values, command),
    token: tokenOf(values, io, command),
    useTicket: Boolean(values.ticket),
    signals: Boolean(values.signals),
    WebSocket: NodeWebSocket,
    connectTimeoutMs: seconds(values, 15),
    requestTimeoutMs: seconds(values, 15),
  };
}

/** `chat --room R`: history, live messages, one typed line = one message. */
export async function chat(values: Values, io: Io): Promise<number> {
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
export function chatInRooms(values: Values, io: Io): Promise<number> {
  if (values.room !== undefined) throw new UsageError('chat takes --room or --rooms, not both');
  for (const flag of ['ticket', 'signals', 'http'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`chat --rooms does not take --${flag}`);
  }
  const rooms = [...new Set((values.rooms ?? '').split(',').filter(Boolean))].map((room) =>
    checkRoom(room, 'chat'),
  );
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

/**
 * `tail`: follows a room read-only, one line (or JSON object) per message, from its recent history
 * on, until SIGINT or SIGTERM; then it closes the connection and exits 0.
 */
export async function tail(values: Values, io: Io): Promise<number> {
  const client = new HipochatClient({
    ...clientOptions(values, io, 'tail'),
    useTicket: false,
    signals: false,
  });
  const print = (message: ChatMessage) =>
    io.out(values.json ? `${JSON.stringify(message)}\n` : `${formatMessage(message)}\n`);
  client.on('message', print);
  client.on('injection', print);
  client.on('state', (change) => io.err(`* ${describeState(change)}\n`));
  client.on('error', (error) => io.err(`! ${error.message}\n`));
  let stop = () => {};
  const interrupted = new Promise<void>((resolve) => {
    stop = resolve;
  });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await client.connect(seconds(values, 15));
    await interrupted;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    client.close();
  }
  return 0;
}
