import {
  type ChatMessage,
  HipochatClient,
  type HipochatClientOptions,
  HipochatHttp,
  type MessageMeta,
  type StateChange,
  type WebSocketConstructor,
} from '@hipochat/client';
import WebSocket from 'ws';
import { eventually } from './wait.js';

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

/**
 * Waits until the server has recorded a user leaving `room`: while connected their unread count
 * grows with others' messages, and leaving settles it to what is left unread (0 here).
 */
export async function settledLeave(http: HipochatHttp, room: string): Promise<void> {
  await eventually(
    async () => (await http.notification(room)) === 0,
    `the server recording the user leaving ${room}`,
    15_000,
  );
}

/** The HTTP API as `token`. */
export function httpAs(httpUrl: string, token: string): HipochatHttp {
  return new HipochatHttp({ httpUrl, token });
}
