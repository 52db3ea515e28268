import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from './http-io.js';
import { type LocalCredentials, verifySignature } from './sigv4.js';
import type { SocketRegistry } from './socket-registry.js';

/** API Gateway's limit for one websocket message. */
export const MAX_WS_MESSAGE_BYTES = 128 * 1024;

/** Path prefix of the management API. */
export const CONNECTIONS_PATH = '/@connections/';

const PAYLOAD_TOO_LARGE = { 'x-amzn-errortype': 'PayloadTooLargeException' };

/** Options of {@link PostLimits}. */
export interface PostLimitsOptions {
  /** Posts admitted per second (`HIPOCHAT_LOCAL_POST_RPS`); 0 admits all. @default 0 */
  rps?: number;
  /** Share of posts answered 500, at random (`HIPOCHAT_LOCAL_POST_FAIL_RATE`). @default 0 */
  failRate?: number;
  /** Clock (tests pin it). @default performance.now */
  now?: () => number;
  /** Random numbers in [0, 1) (tests pin them). @default Math.random */
  random?: () => number;
}

/**
 * API Gateway's limits on `PostToConnection`, so the fan-out meets them locally: the account
 * throttle as a token bucket (`rps` a second, burst half of that, as API Gateway's 10,000/5,000)
 * and a share of internal errors.
 */
export class PostLimits {
  private tokens: number;
  private last: number;
  private readonly burst: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: PostLimitsOptions = {}) {
    this.burst = Math.max(1, (options.rps ?? 0) / 2);
    this.tokens = this.burst;
    this.now = options.now ?? (() => performance.now());
    this.last = this.now();
    this.random = options.random ?? Math.random;
  }

  /** Whether the throttle admits a post now (taking a token). */
  admit(): boolean {
    const rps = this.options.rps ?? 0;
    if (rps <= 0) return true;
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * rps);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether this post fails with an internal error. */
  fails(): boolean {
    const rate = this.options.failRate ?? 0;
    return rate > 0 && this.random() < rate;
  }
}

/**
 * `POST|GET|DELETE /@connections/{id}`, the API Gateway management API that both the SDK's
 * `ApiGatewayManagementApiClient` and the lean `SignedPostSender` call. Like API Gateway it
 * serves only requests SigV4-signed with `credentials` (the keys the local runtime signs with;
 * anything else is a 403, so no one on the network can post frames in a user's name), and
 * answers 410 Gone for a connection that is closed or unknown. `limits` throttles posts (429
 * `LimitExceededException`) and fails some (500 `InternalServerErrorException`), as AWS may.
 */
export async function handleConnectionsRequest(
  registry: SocketRegistry,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  credentials: LocalCredentials,
  limits: PostLimits = new PostLimits(),
): Promise<void> {
  let connectionId: string;
  try {
    connectionId = decodeURIComponent(url.pathname.slice(CONNECTIONS_PATH.length));
  } catch {
    connectionId = '';
  }
  const body = await readBody(request, MAX_WS_MESSAGE_BYTES + 1).catch(() => undefined);
  if (!body) {
    sendJson(response, 413, { message: 'Payload too large' }, PAYLOAD_TOO_LARGE);
    return;
  }
  const refused = await verifySignature(
    { method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body },
    credentials,
  );
  if (refused) {
    sendJson(response, 403, { message: refused.message }, { 'x-amzn-errortype': refused.type });
    return;
  }
  // The account throttle counts every post, whether or not its connection is still there.
  if (request.method === 'POST' && !limits.admit()) {
    sendJson(
      response,
      429,
      { message: 'Too Many Requests' },
      { 'x-amzn-errortype': 'LimitExceededException' },
    );
    return;
  }
  if (!registry.isOpen(connectionId)) {
    sendJson(response, 410, { message: 'Gone' }, { 'x-amzn-errortype': 'GoneException' });
    return;
  }
  switch (request.method) {
    case 'POST':
      if (body.length > MAX_WS_MESSAGE_BYTES) {
        sendJson(response, 413, { message: 'Payload too large' }, PAYLOAD_TOO_LARGE);
        return;
      }
      if (limits.fails()) {
        sendJson(
          response,
          500,
          { message: 'Internal server error' },
          { 'x-amzn-errortype': 'InternalServerErrorException' },
        );
        return;
      }
      registry.send(connectionId, body.toString('utf8'));
      response.writeHead(200);
      response.end();
      return;
    case 'GET':
      sendJson(response, 200, registry.describe(connectionId));
      return;
    case 'DELETE':
      registry.close(connectionId);
      response.writeHead(204);
      response.end();
      return;
    default:
      sendJson(response, 405, { message: 'Method Not Allowed' });
  }
}
