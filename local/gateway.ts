import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { BatchSource } from '../lambdas/core/bus/chat-bus.js';
import { CONNECTIONS_PATH, handleConnectionsRequest, PostLimits } from './connections-endpoint.js';
import { type DevServices, handleDevRequest } from './dev-services.js';
import { type LocalFunctions, loadFunctions, ROOT } from './handler-loader.js';
import { HttpApi } from './http-api.js';
import { sendJson } from './http-io.js';
import { HttpServer } from './http-server.js';
import { handleInvokeRequest, INVOKE_PATH, InvokeConcurrency } from './invoke-endpoint.js';
import { rabbitMqEvent } from './mq-events.js';
import type { LocalCredentials } from './sigv4.js';
import { SocketRegistry } from './socket-registry.js';
import { serveStatic } from './static-files.js';
import { WebSocketApi } from './websocket-api.js';

/** Options of the local gateway. */
export interface LocalGatewayOptions {
  port: number;
  host: string;
  /** Feeds fan-out batches: the RabbitMQ poller or the in-memory bus. */
  batches: BatchSource;
  /** Built-in dev profile endpoint and push sink. */
  dev: DevServices;
  /** The keys `@connections` requests must be SigV4-signed with (the local runtime's). */
  credentials: LocalCredentials;
  /**
   * Milliseconds `@connections` waits before answering (`HIPOCHAT_LOCAL_POST_LATENCY_MS`): API
   * Gateway's own latency, so fan-out timings come out AWS-like.
   * @default 0
   */
  postLatencyMs?: number;
  /**
   * Posts a second `@connections` admits, else 429 (`HIPOCHAT_LOCAL_POST_RPS`): API Gateway's
   * account throttle. 0 admits all.
   * @default 0
   */
  postRps?: number;
  /** Share of posts `@connections` answers 500 (`HIPOCHAT_LOCAL_POST_FAIL_RATE`). @default 0 */
  postFailRate?: number;
  /** Delivery invocations the Invoke API runs at once, else 429 (`HIPOCHAT_LOCAL_INVOKE_CONCURRENCY`); 0 no limit. @default 0 */
  invokeConcurrency?: number;
}

/** Folder of the built demo page (`npm run build:web`). */
const WEB_ROOT = join(ROOT, 'web', 'dist');

/**
 * One process that behaves like the deployed stack: the WebSocket API (API Gateway and Hipochat
 * URL shapes), the HTTP API routes, the `@connections` management endpoint, and the event source
 * mappings (batches from `batches` to the fan-out handler). It runs the real handler modules
 * from the routes table with real event shapes and a Lambda context per invocation.
 */
export class LocalGateway {
  private readonly registry = new SocketRegistry();
  private server?: HttpServer;
  private invocable: LocalFunctions['invocable'] = new Map();
  private readonly postLimits: PostLimits;
  private readonly invokeConcurrency: InvokeConcurrency;

  constructor(private readonly options: LocalGatewayOptions) {
    this.postLimits = new PostLimits({ rps: options.postRps, failRate: options.postFailRate });
    this.invokeConcurrency = new InvokeConcurrency(options.invokeConcurrency);
  }

  /**
   * Loads the handler modules and starts listening. Requests wait until `prepare` (which learns
   * the bound address, useful with port 0) has finished; then the batch source starts.
   */
  async start(
    prepare: (address: { port: number; host: string }) => Promise<void> | void = () => {},
  ): Promise<{ port: number; host: string }> {
    const functions = await loadFunctions();
    this.invocable = functions.invocable;
    const httpApi = new HttpApi(functions.http);
    const webSocketApi = new WebSocketApi(functions, this.registry);
    const server = new HttpServer({
      request: (request, response) => this.onRequest(request, response, httpApi),
      upgrade: (request, socket, head) => webSocketApi.upgrade(request, socket, head),
    });
    this.server = server;
    const address = await server.listen(this.options.port, this.options.host);
    await prepare(address);
    server.open();
    await this.options.batches.start(async (queue, deliveries) => {
      await functions.fanout(rabbitMqEvent(queue, deliveries));
    });
    return address;
  }

  /** Closes every socket (firing `$disconnect`) and stops. */
  async stop(): Promise<void> {
    await this.options.batches.stop();
    this.registry.terminateAll();
    await this.server?.close();
  }

  /**
   * First match wins: management API, Lambda Invoke API, dev services, HTTP API routes, the demo
   * page, else 404.
   */
  private async onRequest(
    request: IncomingMessage,
    response: ServerResponse,
    httpApi: HttpApi,
  ): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith(CONNECTIONS_PATH)) {
      const latency = this.options.postLatencyMs ?? 0;
      if (latency > 0) await new Promise((done) => setTimeout(done, latency));
      const { registry, options, postLimits } = this;
      return handleConnectionsRequest(registry, request, response, url, options.credentials, postLimits);
    }
    if (url.pathname.startsWith(INVOKE_PATH)) {
      const { invocable, options, invokeConcurrency } = this;
      return handleInvokeRequest(invocable, options.credentials, request, response, url, invokeConcurrency);
    }
    if (await handleDevRequest(this.options.dev, request, response, url)) return;
    if (await httpApi.handle(request, response, url)) return;
    if (request.method === 'GET' && (await serveStatic(WEB_ROOT, url.pathname, response))) return;
    sendJson(response, 404, { message: 'Not Found' });
  }
}
