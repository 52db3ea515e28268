import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { BadRequestError } from '../lambdas/core/errors.js';
import { logger } from '../lambdas/core/logger.js';
import { parseRoom } from '../lambdas/core/protocol.js';
import { AUTHENTICATION_ERROR, encodeServerFrame, errorFrame, isValidRoom } from '../protocol/index.js';
import { MAX_WS_MESSAGE_BYTES } from './connections-endpoint.js';
import { authorizerEvent, connectEvent, type SocketInfo, socketEvent } from './events.js';
import type { LocalFunctions } from './handler-loader.js';
import { refuse, structured } from './http-io.js';
import type { SocketRegistry } from './socket-registry.js';

/** Hipochat's websocket path: `/talk/chat/<room>/`. */
const LEGACY_PATH = /^\/talk\/chat\/([^/]+)\/?$/;

/** A path segment decoded, or as sent when it is not valid percent-encoding (the room check refuses it). */
function decodedSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Why a room name of an upgrade is invalid, in the words HTTP routes use; undefined when it is
 * valid or absent (no room is API Gateway's missing identity source: 401). Deployed, API Gateway
 * answers a bad room with 403, since its authorizer can only allow or deny; locally the
 * handshake says what is wrong, on both URL shapes.
 */
function roomProblem(room: string | null): string | undefined {
  if (!room) return undefined;
  try {
    parseRoom(room);
    return undefined;
  } catch (error) {
    if (error instanceof BadRequestError) return error.message;
    throw error;
  }
}

/**
 * The WebSocket API: takes upgrades in both URL shapes (API Gateway's `/?room=R&token=T` and
 * Hipochat's `/talk/chat/R/?token=T`), runs the authorizer and `$connect` before accepting, then
 * `$default` per frame (in order per connection) and `$disconnect` on close.
 */
export class WebSocketApi {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE_BYTES });

  constructor(
    private readonly functions: Pick<LocalFunctions, 'authorizer' | 'connect' | 'message' | 'disconnect'>,
    private readonly registry: SocketRegistry,
  ) {}

  /** Completes the handshake only on a 2xx from `$connect`, as API Gateway does. */
  async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const legacy = LEGACY_PATH.exec(url.pathname);
    if (legacy) url.searchParams.set('room', decodedSegment(legacy[1]!));
    else if (url.pathname !== '/') return refuse(socket, 404, 'Not Found');
    const badRoom = roomProblem(url.searchParams.get('room'));
    if (badRoom) return refuse(socket, 400, 'Bad Request', { error: badRoom });
    const info: SocketInfo = {
      connectionId: `${randomBytes(9).toString('base64url')}=`,
      connectedAt: Date.now(),
      sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
      userAgent: request.headers['user-agent'] ?? '',
      domainName: request.headers.host ?? 'localhost',
    };
    const status = await this.authorize(info, request, url);
    if (status !== 200) {
      if (!legacy || !isValidRoom(url.searchParams.get('room') ?? ''))
        return refuse(socket, status, 'Unauthorized');
      // Hipochat accepted the socket, sent an error frame and closed it.
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        ws.send(encodeServerFrame(errorFrame(AUTHENTICATION_ERROR)));
        ws.close(1008, AUTHENTICATION_ERROR);
      });
      return;
    }
    const connect = structured(await this.functions.connect(connectEvent(info, request.headers, url)));
    const code = connect.statusCode ?? 200;
    if (code < 200 || code > 299) return refuse(socket, code, connect.body ?? 'Forbidden');
    this.wss.handleUpgrade(request, socket, head, (ws) => this.onOpen(ws, info));
  }

  /** Runs the REQUEST authorizer as API Gateway does; returns the HTTP status of the handshake. */
  private async authorize(info: SocketInfo, request: IncomingMessage, url: URL): Promise<number> {
    try {
      const result = await this.functions.authorizer(authorizerEvent(info, request.headers, url));
      const allowed = result.policyDocument.Statement.some((s) => 'Effect' in s && s.Effect === 'Allow');
      if (!allowed) return 403;
      info.authorizer = {
        ...(result.context as unknown as NonNullable<SocketInfo['authorizer']>),
        principalId: result.principalId,
      };
      return 200;
    } catch (error) {
      return error instanceof Error && error.message === 'Unauthorized' ? 401 : 500;
    }
  }

  private onOpen(ws: WebSocket, info: SocketInfo): void {
    const { connectionId } = info;
    this.registry.add(ws, info);
    /** Frames of one connection are handled in order. */
    let queue = Promise.resolve();
    ws.on('message', (data, isBinary) => {
      this.registry.touch(connectionId);
      const text = isBinary ? undefined : data.toString();
      queue = queue
        .then(async () => {
          const result = structured(await this.functions.message(socketEvent(info, '$default', text)));
          if (result.body && ws.readyState === ws.OPEN) ws.send(result.body);
        })
        .catch((error: unknown) => logger.error('$default failed', { error }));
    });
    ws.on('close', () => {
      // API Gateway stamps $disconnect with the moment the socket closed, not when the Lambda runs.
      const closedAt = Date.now();
      this.registry.remove(connectionId);
      void queue.finally(() =>
        this.functions.disconnect(
          socketEvent(info, '$disconnect', undefined, {
            disconnectStatusCode: 1000,
            requestTimeEpoch: closedAt,
          }),
        ),
      );
    });
    ws.on('error', () => ws.terminate());
  }
}
