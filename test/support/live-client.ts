import { HipochatClient, type HipochatClientOptions } from '@hipochat/client';
import { emptyHistoryFetch, FakeSocket } from './fake-socket.js';

/** A stored chat message of room `r` whose body is its id. */
export function message(id: string, type = 'message') {
  return { id, type, room: 'r', token: 'r', timestamp: 1, body: id, author: null };
}

/**
 * A client of room `r` on a {@link FakeSocket} the test plays the server of, live once this
 * resolves (its catch-up answered by `options.fetch`, an empty history unless given), without
 * keep-alives. `events` records its messages, injections and errors in order.
 */
export async function liveClient(options: Partial<HipochatClientOptions> = {}) {
  const client = new HipochatClient({
    url: 'ws://127.0.0.1:1',
    room: 'r',
    token: 't',
    WebSocket: FakeSocket,
    fetch: emptyHistoryFetch,
    keepAliveMs: 0,
    ...options,
  });
  const events: string[] = [];
  client.on('message', (m) => events.push(`message ${m.id}`));
  client.on('injection', (m) => events.push(`injection ${m.id}`));
  client.on('error', (e) => events.push(`error ${e.kind}: ${e.message}`));
  await client.connect(5000);
  return { client, socket: FakeSocket.last, events };
}
