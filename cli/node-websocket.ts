/**
 * The `ws` WebSocket the CLI hands to the client library, telling why an upgrade was refused: a
 * refused handshake otherwise reads "Unexpected server response: 503" and the server's own words
 * (`{"error":"store unavailable"}`) are lost.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { WebSocketConstructor } from '@hipochat/client';
import WebSocket from 'ws';

/** Longest part of a refusal's body that is read. */
const MAX_REFUSAL_BYTES = 4096;

/** The words of a refusal body: its JSON `error` or `message`, else its first line. */
export function refusalText(status: number, body: string): string {
  let detail = body.trim().split('\n')[0]?.slice(0, 200) ?? '';
  try {
    const record = JSON.parse(body) as { error?: unknown; message?: unknown };
    const words = record.error ?? record.message;
    if (typeof words === 'string' && words) detail = words;
  } catch {
    // Not JSON: the first line says it.
  }
  return detail ? `server answered ${status}: ${detail}` : `server answered ${status}`;
}

/** `ws`'s WebSocket, whose error on a refused upgrade carries the status and the server's text. */
export class RefusalReadingWebSocket extends WebSocket {
  constructor(address: string | URL, protocols?: string | string[]) {
    super(address, protocols);
    this.once('unexpected-response', (request: ClientRequest, response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () => {
        const body = Buffer.concat(chunks).toString('utf8');
        // `ws` turns the request's error into the socket's `error` and `close` events.
        request.destroy(new Error(refusalText(response.statusCode ?? 0, body)));
      };
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_REFUSAL_BYTES) chunks.push(chunk);
      });
      response.once('end', finish);
      response.once('error', finish);
    });
  }
}

/** The WebSocket constructor of every CLI connection. */
export const NodeWebSocket: WebSocketConstructor = RefusalReadingWebSocket;
