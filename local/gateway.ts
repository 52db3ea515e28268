import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import { type WebSocket, WebSocketServer } from 'ws';
import type { BatchSource } from '../lambdas/core/bus/chat-bus.js';
import type { RabbitMqEvent } from '../lambdas/core/bus/rabbitmq-event.js';
import { logger } from '../lambdas/core/logger.js';
import { ROOM_PATTERN } from '../lambdas/core/protocol.js';
import type { WebSocketEvent } from '../lambdas/handlers/shared/websocket.js';
import { type HttpRoute, type Route, routes } from '../lambdas/routes.js';
import { type DevServices, handleDevRequest } from './dev-services.js';
import {
  authorizerEvent,
  connectEvent,
  httpEvent,
  rabbitMqEvent,
  type SocketInfo,
  socketEvent,
} from './events.js';

type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2>;
type SocketHandler = (event: WebSocketEvent) => Promise<APIGatewayProxyResultV2>;
type AuthorizerHandler = (event: APIGatewayRequestAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;
type QueueHandler = (event: RabbitMqEvent) => Promise<unknown>;

/** The repository root (handler entries in the routes table are relative to it). */
export const ROOT = resolve(import.meta.dirname, '..');

/** API Gateway's limit for one websocket message. */
const MAX_WS_MESSAGE_BYTES = 128 * 1024;
const MAX_HTTP_BODY_BYTES = 10 * 1024 * 1024;

interface CompiledRoute {
  route: HttpRoute;
  pattern: RegExp;
  params: string[];
}

/** `/talk/old/{room+}` → a regex with one group per parameter. */
function compile(route: HttpRoute): CompiledRoute {
  const params: string[] = [];
  const source = route.path.replace(/\{(\w+)(\+?)\}/g, (_, name: string, greedy: string) => {
    params.push(name);
    return greedy ? '(.+)' : '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}$`), params };
}

async function loadHandler<T>(route: Route): Promise<T> {
  const module = (await import(pathToFileURL(join(ROOT, route.entry)).href)) as { handler: T };
  return module.handler;
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolvePromise(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

function structured(result: APIGatewayProxyResultV2): APIGatewayProxyStructuredResultV2 {
  if (typeof result === 'string') return { statusCode: 200, body: result };
  if (result && typeof result === 'object' && 'statusCode' in result) return result;
  return { statusCode: 200, body: JSON.stringify(result) };
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
  '.png': 'image/png',
};

/** Options of the local gateway. */
export interface LocalGatewayOptions {
  port: number;
  host: string;
  /** Feeds fan-out batches: the RabbitMQ poller or the in-memory bus. */
  batches: BatchSource;
  /** Built-in dev profile endpoint and push sink. */
  dev: DevServices;
  /** Folder of the built demo page. @default web/dist */
  webRoot?: string;
}

interface LiveSocket {
  ws: WebSocket;
  info: SocketInfo;
  /** Frames of one connection are handled in order. */
  queue: Promise<void>;
  lastActiveAt: number;
}

/**
 * One process that behaves like the deployed stack: the WebSocket API (API Gateway and Hipochat
 * URL shapes), the HTTP API routes, the `@connections` management endpoint, and the event source
 * mappings (batches from `batches` to the fan-out handler). It runs the real handler modules
 * from the routes table with real event shapes.
 */
export class LocalGateway {
  private server?: Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE_BYTES });
  private readonly sockets = new Map<string, LiveSocket>();
  private httpRoutes: { compiled: CompiledRoute; handler: HttpHandler }[] = [];
  private authorizer?: AuthorizerHandler;
  private socketHandlers = new Map<string, SocketHandler>();
  private fanout?: QueueHandler;

  constructor(private readonly options: LocalGatewayOptions) {}

  /**
   * Loads the handler modules and starts listening. Requests wait until `prepare` (which learns
   * the bound address, useful with port 0) has finished; then the batch source starts.
   */
  async start(
    prepare: (address: { port: number; host: string }) => Promise<void> | void = () => {},
  ): Promise<{
    port: number;
    host: string;
  }> {
    let open: () => void = () => {};
    const gate = new Promise<void>((resolveGate) => {
      open = resolveGate;
    });
    for (const route of routes) {
      if (route.kind === 'http') {
        this.httpRoutes.push({ compiled: compile(route), handler: await loadHandler<HttpHandler>(route) });
      } else if (route.kind === 'ws') {
        this.socketHandlers.set(route.routeKey, await loadHandler<SocketHandler>(route));
      } else if (route.kind === 'authorizer') {
        this.authorizer = await loadHandler<AuthorizerHandler>(route);
      } else {
        this.fanout = await loadHandler<QueueHandler>(route);
      }
    }
    const server = createServer((request, response) => {
      gate
        .then(() => this.onRequest(request, response))
        .catch((error: unknown) => {
          logger.error('local gateway request failed', { error });
          if (!response.headersSent) sendJson(response, 500, { message: 'Internal Server Error' });
          else response.destroy();
        });
    });
    server.on('upgrade', (request, socket, head) => {
      gate
        .then(() => this.onUpgrade(request, socket, head))
        .catch((error: unknown) => {
          logger.error('local gateway upgrade failed', { error });
          socket.destroy();
        });
    });
    // A request the HTTP parser refuses gets API Gateway's JSON answer, not Node's bare 400.
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
      if (error.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
      refuse(socket, tooLarge ? 431 : 400, tooLarge ? 'Request Header Fields Too Large' : 'Bad Request');
    });
    this.server = server;
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(this.options.port, this.options.host, () => done());
    });
    const address = { port: (server.address() as AddressInfo).port, host: this.options.host };
    await prepare(address);
    open();
    const fanout = this.fanout!;
    await this.options.batches.start(async (queue, records) => {
      await fanout(rabbitMqEvent(queue, records));
    });
    return address;
  }

  /** Closes every socket (firing `$disconnect`) and stops. */
  async stop(): Promise<void> {
    await this.options.batches.stop();
    for (const live of this.sockets.values()) live.ws.terminate();
    await new Promise<void>((done) => {
      if (!this.server) return done();
      this.server.close(() => done());
      this.server.closeAllConnections();
    });
  }

  /** Number of open websocket connections. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  private async onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    if (url.pathname.startsWith('/@connections/')) return this.onManagement(request, response, url);
    if (await handleDevRequest(this.options.dev, request, response, url)) return;
    if (method === 'OPTIONS') {
      response.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-headers': 'authorization,content-type,idempotency-key',
        'access-control-allow-methods': 'GET,POST,OPTIONS',
      });
      response.end();
      return;
    }
    for (const { compiled, handler } of this.httpRoutes) {
      const match = compiled.pattern.exec(url.pathname);
      if (!match) continue;
      if (compiled.route.method !== method) {
        sendJson(response, 405, { message: 'Method Not Allowed' });
        return;
      }
      let body: Buffer;
      try {
        body = await readBody(request, MAX_HTTP_BODY_BYTES);
      } catch {
        sendJson(response, 413, { message: 'Request Entity Too Large' });
        return;
      }
      const pathParameters: Record<string, string> = {};
      try {
        compiled.params.forEach((name, index) => {
          pathParameters[name] = decodeURIComponent(match[index + 1]!);
        });
      } catch {
        sendJson(response, 400, { error: 'invalid percent-encoding in path' });
        return;
      }
      const event = httpEvent({
        method,
        routePath: compiled.route.path,
        url,
        headers: request.headers,
        pathParameters,
        body,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
      });
      const result = structured(await handler(event));
      response.writeHead(result.statusCode ?? 200, {
        'access-control-allow-origin': '*',
        ...(result.headers as Record<string, string> | undefined),
      });
      response.end(
        result.isBase64Encoded && result.body ? Buffer.from(result.body, 'base64') : (result.body ?? ''),
      );
      return;
    }
    if (method === 'GET' && (await this.serveStatic(url.pathname, response))) return;
    sendJson(response, 404, { message: 'Not Found' });
  }

  private async serveStatic(pathname: string, response: ServerResponse): Promise<boolean> {
    const root = this.options.webRoot ?? join(ROOT, 'web', 'dist');
    const relative =
      pathname === '/' || pathname === '/talk/' || pathname === '/talk' ? 'index.html' : pathname.slice(1);
    const file = normalize(join(root, relative));
    if (!file.startsWith(root) || !existsSync(file)) return false;
    try {
      const data = await readFile(file);
      response.writeHead(200, {
        'content-type': MIME[extname(file)] ?? 'application/octet-stream',
        'cache-control': 'no-cache',
      });
      response.end(data);
      return true;
    } catch {
      return false;
    }
  }

  /** `POST|GET|DELETE /@connections/{id}` for the real ApiGatewayManagementApiClient. */
  private async onManagement(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const connectionId = decodeURIComponent(url.pathname.slice('/@connections/'.length));
    const body = await readBody(request, MAX_WS_MESSAGE_BYTES + 1).catch(() => undefined);
    // Like API Gateway, only signed requests are served.
    if (!request.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) {
      sendJson(
        response,
        403,
        { message: 'Missing Authentication Token' },
        { 'x-amzn-errortype': 'ForbiddenException' },
      );
      return;
    }
    const live = this.sockets.get(connectionId);
    if (!live || live.ws.readyState !== live.ws.OPEN) {
      sendJson(response, 410, { message: 'Gone' }, { 'x-amzn-errortype': 'GoneException' });
      return;
    }
    switch (request.method) {
      case 'POST': {
        if (!body || body.length > MAX_WS_MESSAGE_BYTES) {
          sendJson(
            response,
            413,
            { message: 'Payload too large' },
            { 'x-amzn-errortype': 'PayloadTooLargeException' },
          );
          return;
        }
        live.ws.send(body.toString('utf8'));
        live.lastActiveAt = Date.now();
        response.writeHead(200);
        response.end();
        return;
      }
      case 'GET':
        sendJson(response, 200, {
          connectedAt: new Date(live.info.connectedAt).toISOString(),
          identity: { sourceIp: live.info.sourceIp, userAgent: live.info.userAgent },
          lastActiveAt: new Date(live.lastActiveAt).toISOString(),
        });
        return;
      case 'DELETE':
        live.ws.close(1000, 'closed by server');
        response.writeHead(204);
        response.end();
        return;
      default:
        sendJson(response, 405, { message: 'Method Not Allowed' });
    }
  }

  private async onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const legacy = /^\/talk\/chat\/([^/]+)\/?$/.exec(url.pathname);
    if (legacy) url.searchParams.set('room', decodeURIComponent(legacy[1]!));
    else if (url.pathname !== '/') return refuse(socket, 404, 'Not Found');
    const info: SocketInfo = {
      connectionId: `${randomBytes(9).toString('base64url')}=`,
      connectedAt: Date.now(),
      sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
      userAgent: request.headers['user-agent'] ?? '',
      domainName: request.headers.host ?? 'localhost',
    };
    const status = await this.authorize(info, request, url);
    if (status !== 200) {
      if (!legacy || !ROOM_PATTERN.test(url.searchParams.get('room') ?? ''))
        return refuse(socket, status, 'Unauthorized');
      // Hipochat accepted the socket, sent an error frame and closed it.
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        ws.send(JSON.stringify({ ERROR: 'authentication error' }));
        ws.close(1008, 'authentication error');
      });
      return;
    }
    const connect = structured(
      await this.socketHandlers.get('$connect')!(connectEvent(info, request.headers, url)),
    );
    const code = connect.statusCode ?? 200;
    if (code < 200 || code > 299) return refuse(socket, code, connect.body ?? 'Forbidden');
    this.wss.handleUpgrade(request, socket, head, (ws) => this.onOpen(ws, info));
  }

  /** Runs the REQUEST authorizer as API Gateway does; returns the HTTP status of the handshake. */
  private async authorize(info: SocketInfo, request: IncomingMessage, url: URL): Promise<number> {
    // The identity source must be present or API Gateway answers 401 without calling the authorizer.
    if (!url.searchParams.get('room')) return 401;
    try {
      const result = await this.authorizer!(authorizerEvent(info, request.headers, url));
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
    const live: LiveSocket = { ws, info, queue: Promise.resolve(), lastActiveAt: Date.now() };
    this.sockets.set(info.connectionId, live);
    const onMessage = this.socketHandlers.get('$default')!;
    ws.on('message', (data, isBinary) => {
      live.lastActiveAt = Date.now();
      const text = isBinary ? undefined : data.toString();
      live.queue = live.queue
        .then(async () => {
          const result = structured(await onMessage(socketEvent(info, '$default', text)));
          if (result.body && ws.readyState === ws.OPEN) ws.send(result.body);
        })
        .catch((error: unknown) => logger.error('$default failed', { error }));
    });
    ws.on('close', () => {
      // API Gateway stamps $disconnect with the moment the socket closed, not when the Lambda runs.
      const closedAt = Date.now();
      this.sockets.delete(info.connectionId);
      void live.queue.finally(() =>
        this.socketHandlers.get('$disconnect')!(
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

function refuse(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify({ message });
  socket.end(
    `HTTP/1.1 ${status} ${message}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
