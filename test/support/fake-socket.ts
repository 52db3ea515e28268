import type { WebSocketConstructor, WebSocketLike } from '@hipochat/client';

/**
 * A WebSocket the test plays the server of: it opens on the next tick unless `refuse` is set, and
 * records what the client sends. `FakeSocket.all` lists every socket made, newest last.
 */
export class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  static refuse = false;
  readyState = 0;
  sent: string[] = [];
  closedWith: { code?: number; reason?: string } | undefined;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
    const refuse = FakeSocket.refuse;
    setTimeout(() => {
      if (refuse) return this.drop(1006, '');
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }

  /** The newest socket. */
  static get last(): FakeSocket {
    const socket = FakeSocket.all[FakeSocket.all.length - 1];
    if (!socket) throw new Error('no socket was made');
    return socket;
  }

  static reset(): void {
    FakeSocket.all = [];
    FakeSocket.refuse = false;
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  /** The server sends a frame. */
  receive(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
  }

  /** The server (or the network) closes the socket. */
  drop(code: number, reason: string): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

export const FakeSocketConstructor: WebSocketConstructor = FakeSocket;

/** A fetch answering every `GET /talk/old` with an empty history. */
export const emptyHistoryFetch = (async () =>
  new Response(
    JSON.stringify({ oldy: [], results: { read_messages: [], unread_messages: [] } }),
  )) as unknown as typeof fetch;
