import WebSocket from 'ws';

/** A test websocket that records every frame it receives. */
export interface TestSocket {
  ws: WebSocket;
  frames: Record<string, unknown>[];
  send(frame: unknown): void;
  /** Resolves with the first recorded frame (past or future) matching `match`. */
  next(
    match: (frame: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves when the server closed the socket, with the close code. */
  closed: Promise<number>;
  close(): Promise<void>;
}

/** Opens a socket; rejects with the HTTP status when the handshake is refused. */
export function openSocket(url: string, timeoutMs = 10_000): Promise<TestSocket> {
  const ws = new WebSocket(url);
  const frames: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
    for (const wake of waiters) wake();
  });
  const closed = new Promise<number>((done) => ws.once('close', (code) => done(code)));
  const socket: TestSocket = {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next: (match, wait = timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = frames.find(match);
          if (!found) return false;
          waiters.delete(wake);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const wake = () => {
          check();
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`no matching frame in ${wait} ms; got ${JSON.stringify(frames)}`));
        }, wait);
        if (!check()) waiters.add(wake);
      }),
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await closed;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socket did not open in ${timeoutMs} ms`)), timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    ws.once('unexpected-response', (_request, response) => {
      clearTimeout(timer);
      reject(new Error(`handshake refused: ${response.statusCode}`));
      ws.terminate();
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * Waits for the server's `$disconnect` of sockets a test just closed: API Gateway (and the
 * local gateway) run it after the socket is gone, so a message racing it may count as read.
 */
export function disconnectSettled(ms = 500): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
