import { createServer } from 'node:net';
import WebSocket from 'ws';
import {
  type ChatMessage,
  HipochatClient,
  type HipochatClientOptions,
  HipochatHttp,
  type MessageMeta,
  type StateChange,
  type WebSocketConstructor,
} from '../../web/client/hipochat-client.js';

/** `ws`'s WebSocket, typed for the client (Node 20 has no global WebSocket). */
export const NodeWebSocket: WebSocketConstructor = WebSocket;

/** A client plus everything it emitted, for assertions. */
export interface RecordedClient {
  client: HipochatClient;
  messages: { message: ChatMessage; meta: MessageMeta }[];
  states: StateChange[];
  errors: string[];
  /** Bodies in arrival order. */
  bodies(): unknown[];
}

/** A client on `ws` that records its events. */
export function recordedClient(
  options: Omit<HipochatClientOptions, 'WebSocket'> & { WebSocket?: WebSocketConstructor },
): RecordedClient {
  const client = new HipochatClient({ WebSocket: NodeWebSocket, ...options });
  const recorded: RecordedClient = {
    client,
    messages: [],
    states: [],
    errors: [],
    bodies: () => recorded.messages.map((m) => m.message.body),
  };
  client.on('message', (message, meta) => recorded.messages.push({ message, meta }));
  client.on('injection', (message, meta) => recorded.messages.push({ message, meta }));
  client.on('state', (change) => recorded.states.push(change));
  client.on('error', (error) => recorded.errors.push(error.message));
  return recorded;
}

/** Resolves when `check` holds, polling; rejects with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A TCP port that was free a moment ago (for a gateway that must come back on the same port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A room name nobody else uses (Redis keeps rooms between runs). */
export function uniqueRoom(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * Waits until the server has recorded a user leaving `room`: while connected their unread count
 * grows with others' messages, and leaving settles it to what is left unread (0 here).
 */
export async function settledLeave(http: HipochatHttp, room: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while ((await http.notification(room)) !== 0) {
    if (Date.now() > deadline) throw new Error(`the server never recorded the user leaving ${room}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The HTTP API as `token`. */
export function httpAs(httpUrl: string, token: string): HipochatHttp {
  return new HipochatHttp({ httpUrl, token });
}
