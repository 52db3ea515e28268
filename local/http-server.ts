import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { logger } from '../lambdas/core/logger.js';
import { refuse, sendJson } from './http-io.js';

/** What the server dispatches to: plain requests and websocket upgrades. */
export interface HttpServerHandlers {
  request(request: IncomingMessage, response: ServerResponse): Promise<void>;
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
}

/**
 * The one listening socket of the gateway. Requests and upgrades that arrive before `open()` wait
 * (the runtime is set up once the bound port is known); a handler that throws gets a 500, and a
 * request the HTTP parser refuses gets API Gateway's JSON answer, not Node's bare 400.
 */
export class HttpServer {
  private readonly server: Server;
  private readonly gate: Promise<void>;
  private release: () => void = () => {};

  constructor(handlers: HttpServerHandlers) {
    this.gate = new Promise<void>((resolveGate) => {
      this.release = resolveGate;
    });
    this.server = createServer((request, response) => {
      this.gate
        .then(() => handlers.request(request, response))
        .catch((error: unknown) => {
          logger.error('local gateway request failed', { error });
          if (!response.headersSent) sendJson(response, 500, { message: 'Internal Server Error' });
          else response.destroy();
        });
    });
    this.server.on('upgrade', (request, socket, head) => {
      this.gate
        .then(() => handlers.upgrade(request, socket, head))
        .catch((error: unknown) => {
          logger.error('local gateway upgrade failed', { error });
          socket.destroy();
        });
    });
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      if (error.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      refuse(socket, tooLarge ? 431 : 400, tooLarge ? 'Request Header Fields Too Large' : 'Bad Request');
    });
  }

  /** Starts listening; resolves with the bound address (useful with port 0). */
  async listen(port: number, host: string): Promise<{ port: number; host: string }> {
    await new Promise<void>((done, fail) => {
      this.server.once('error', fail);
      this.server.listen(port, host, () => done());
    });
    return { port: (this.server.address() as AddressInfo).port, host };
  }

  /** Lets waiting and later requests through. */
  open(): void {
    this.release();
  }

  /** Stops listening and drops every open HTTP connection. */
  async close(): Promise<void> {
    await new Promise<void>((done) => {
      if (!this.server.listening) return done();
      this.server.close(() => done());
      this.server.closeAllConnections();
    });
  }
}
