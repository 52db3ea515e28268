import { createServer, type IncomingHttpHeaders } from 'node:http';
import { listenOnLoopback } from './net.js';

/** One request a receiver got, with its raw body. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A status code to answer with, a status with headers (a redirect's `location`) and maybe a body
 * (a hook's JSON decision), or `'hang'` to never answer (the client must give up).
 */
export type Answer = number | { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/** A webhook receiver on 127.0.0.1 that records every request. */
export interface HttpReceiver {
  /** `http://127.0.0.1:<port><path>`. */
  url: string;
  /** Requests in arrival order, recorded once their body has arrived. */
  received: ReceivedRequest[];
  /** How the next request is answered; 204 unless a test says otherwise. */
  answer: (request: ReceivedRequest) => Answer;
  /** Stops listening and drops open connections, hanging ones included. */
  close(): Promise<void>;
}

/** Starts a receiver (a push webhook, a callback) that answers 204 to every request. */
export async function startReceiver(path = '/push'): Promise<HttpReceiver> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const received: ReceivedRequest = {
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
      };
      receiver.received.push(received);
      const answer = receiver.answer(received);
      if (typeof answer === 'number') response.writeHead(answer).end();
      else if (answer !== 'hang') response.writeHead(answer.status, answer.headers ?? {}).end(answer.body);
    });
  });
  const port = await listenOnLoopback(server);
  const receiver: HttpReceiver = {
    url: `http://127.0.0.1:${port}${path}`,
    received: [],
    answer: () => 204,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}

/** A 200 answer with `value` as its JSON body (a moderation hook's decision). */
export function jsonAnswer(value: unknown): Answer {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}
