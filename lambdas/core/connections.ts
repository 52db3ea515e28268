import { createHash } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import {
  ApiGatewayManagementApiClient,
  ApiGatewayManagementApiServiceException,
  DeleteConnectionCommand,
  ForbiddenException,
  GoneException,
  LimitExceededException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { Sha256 } from '@smithy/core/checksum';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import { backoffDelay, sleep } from './retry.js';

/** What happened to one post. */
export type PostOutcome = 'sent' | 'gone';

/** Sends frames to websocket connections and closes them (the API Gateway Management API). */
export interface ConnectionSender {
  /**
   * Posts one frame. Resolves `gone` on 410 (the connection no longer exists); retries 429 and
   * 5xx with capped backoff and rejects once the retries are spent.
   */
  post(connectionId: string, data: Uint8Array): Promise<PostOutcome>;
  /** Closes a connection; an already gone connection is not an error. */
  disconnect(connectionId: string): Promise<void>;
}

/** Options of the management API sender. */
export interface ManagementApiOptions {
  /** `https://{api}.execute-api.{region}.amazonaws.com/{stage}` or the local gateway. */
  endpoint: string;
  /** Sockets kept open to the endpoint. @default 64 */
  maxSockets?: number;
  /** Attempts per post for 429/5xx. @default 5 */
  attempts?: number;
  /** Backoff cap in milliseconds. @default 1000 */
  maxBackoffMs?: number;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function retryable(error: unknown): boolean {
  const status = statusOf(error);
  if (status === undefined) return true; // network error: the request may not have arrived
  return status === 429 || status >= 500;
}

/** The real `ApiGatewayManagementApiClient` with keep-alive sockets and its own retry policy. */
export class ManagementApiSender implements ConnectionSender {
  readonly client: ApiGatewayManagementApiClient;
  private readonly attempts: number;
  private readonly maxBackoffMs: number;

  constructor(options: ManagementApiOptions) {
    const maxSockets = options.maxSockets ?? 64;
    this.attempts = options.attempts ?? 5;
    this.maxBackoffMs = options.maxBackoffMs ?? 1000;
    this.client = new ApiGatewayManagementApiClient({
      endpoint: options.endpoint,
      // Our loop owns retries so 410 is never retried and 429 backs off with a cap.
      maxAttempts: 1,
      cacheMiddleware: true,
      requestHandler: new NodeHttpHandler({
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
        httpsAgent: new Agent({ keepAlive: true, maxSockets }),
        connectionTimeout: 2000,
        requestTimeout: 5000,
      }),
    });
  }

  async post(connectionId: string, data: Uint8Array): Promise<PostOutcome> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
        return 'sent';
      } catch (error) {
        if (error instanceof GoneException || statusOf(error) === 410) return 'gone';
        if (!retryable(error) || attempt + 1 >= this.attempts) throw error;
        await sleep(backoffDelay(attempt, 25, this.maxBackoffMs));
      }
    }
  }

  async disconnect(connectionId: string): Promise<void> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (error) {
      if (error instanceof GoneException || statusOf(error) === 410) return;
      throw error;
    }
  }
}

/** Options of the signed keep-alive sender. */
export interface SignedPostOptions extends ManagementApiOptions {
  /** Signing clock (tests pin it). @default () => new Date() */
  now?: () => Date;
  /** Milliseconds before a post is abandoned (then retried like a network error). @default 5000 */
  requestTimeoutMs?: number;
}

/** Percent-encodes a path segment exactly as the SDK's `extendedEncodeURIComponent` does. */
function encodeSegment(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** The SDK's modelled exception for an error answer of the management API. */
function serviceError(status: number, type: string | undefined, body = ''): Error {
  let message = body;
  try {
    const parsed = JSON.parse(body) as { message?: string; Message?: string };
    message = parsed.message ?? parsed.Message ?? body;
  } catch {
    // Not JSON: keep the raw text.
  }
  const name = (type ?? '').split(':')[0] || (status === 429 ? 'LimitExceededException' : 'UnknownError');
  const options = { message, $metadata: { httpStatusCode: status } };
  switch (name) {
    case 'GoneException':
      return new GoneException(options);
    case 'LimitExceededException':
      return new LimitExceededException(options);
    case 'PayloadTooLargeException':
      return new PayloadTooLargeException(options);
    case 'ForbiddenException':
      return new ForbiddenException(options);
    default:
      return new ApiGatewayManagementApiServiceException({
        ...options,
        name,
        $fault: status >= 500 ? 'server' : 'client',
      });
  }
}

interface Answer {
  status: number;
  type?: string;
  body?: string;
}

/**
 * The fan-out hot path: `PostToConnection` as one SigV4-signed keep-alive `POST`, signed by
 * `@smithy/signature-v4` with the SDK client's own credential and region providers (the default
 * provider chain), so the request is the one the SDK would send minus its bookkeeping headers
 * (`user-agent`, `amz-sdk-*`). Everything else — `disconnect`, `GetConnection`, the modelled
 * errors — stays with the SDK client ({@link ManagementApiSender}). Same retry policy: 429, 5xx
 * and network errors back off with a cap, 410 means gone.
 */
export class SignedPostSender implements ConnectionSender {
  /** The SDK-backed sender used for everything but posts. */
  readonly sdk: ManagementApiSender;
  private readonly signer: SignatureV4;
  private readonly agent: HttpAgent;
  private readonly request: typeof httpRequest;
  private readonly base: URL;
  private readonly basePath: string;
  private readonly attempts: number;
  private readonly maxBackoffMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => Date;
  private readonly hashes = new WeakMap<Uint8Array, string>();

  constructor(options: SignedPostOptions, sdk: ManagementApiSender = new ManagementApiSender(options)) {
    this.sdk = sdk;
    this.base = new URL(options.endpoint);
    this.basePath = this.base.pathname.replace(/\/+$/, '');
    const maxSockets = options.maxSockets ?? 64;
    const tls = this.base.protocol === 'https:';
    this.agent = tls
      ? new Agent({ keepAlive: true, maxSockets })
      : new HttpAgent({ keepAlive: true, maxSockets });
    this.request = tls ? httpsRequest : httpRequest;
    this.attempts = options.attempts ?? 5;
    this.maxBackoffMs = options.maxBackoffMs ?? 1000;
    this.timeoutMs = options.requestTimeoutMs ?? 5000;
    this.now = options.now ?? (() => new Date());
    const config = sdk.client.config;
    this.signer = new SignatureV4({
      service: 'execute-api',
      region: config.region,
      credentials: config.credentials,
      sha256: Sha256,
      uriEscapePath: true,
      applyChecksum: true,
    });
  }

  /** The SDK client (for `GetConnection` and anything else beyond posts). */
  get client(): ApiGatewayManagementApiClient {
    return this.sdk.client;
  }

  async post(connectionId: string, data: Uint8Array): Promise<PostOutcome> {
    for (let attempt = 0; ; attempt += 1) {
      let answer: Answer;
      try {
        answer = await this.send(connectionId, data);
      } catch (error) {
        // Network error: the request may not have arrived.
        if (attempt + 1 >= this.attempts) throw error;
        await sleep(backoffDelay(attempt, 25, this.maxBackoffMs));
        continue;
      }
      const { status } = answer;
      if (status >= 200 && status < 300) return 'sent';
      if (status === 410) return 'gone';
      if ((status !== 429 && status < 500) || attempt + 1 >= this.attempts) {
        throw serviceError(status, answer.type, answer.body);
      }
      await sleep(backoffDelay(attempt, 25, this.maxBackoffMs));
    }
  }

  disconnect(connectionId: string): Promise<void> {
    return this.sdk.disconnect(connectionId);
  }

  /**
   * SHA-256 of a frame, computed once per frame: the fan-out posts the same buffer to every
   * connection of the room.
   */
  private payloadHash(data: Uint8Array): string {
    let hash = this.hashes.get(data);
    if (hash === undefined) {
      hash = createHash('sha256').update(data).digest('hex');
      this.hashes.set(data, hash);
    }
    return hash;
  }

  /** Signs and sends one POST; resolves with the status (and the body of an error answer). */
  private async send(connectionId: string, data: Uint8Array): Promise<Answer> {
    const path = `${this.basePath}/@connections/${encodeSegment(connectionId)}`;
    const signed = await this.signer.sign(
      {
        method: 'POST',
        protocol: this.base.protocol,
        hostname: this.base.hostname,
        port: this.base.port ? Number(this.base.port) : undefined,
        path,
        query: {},
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(data.byteLength),
          host: this.base.host,
          'x-amz-content-sha256': this.payloadHash(data),
        },
        body: data,
      },
      { signingDate: this.now() },
    );
    return new Promise<Answer>((resolve, reject) => {
      const request = this.request(
        {
          method: 'POST',
          hostname: this.base.hostname,
          port: this.base.port || undefined,
          path,
          headers: signed.headers,
          agent: this.agent,
          timeout: this.timeoutMs,
        },
        (response) => {
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            response.resume();
            response.once('end', () => resolve({ status }));
            response.once('error', reject);
            return;
          }
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            if (body.length < 4096) body += chunk;
          });
          response.once('end', () =>
            resolve({ status, type: response.headers['x-amzn-errortype'] as string | undefined, body }),
          );
          response.once('error', reject);
        },
      );
      request.once('timeout', () => request.destroy(new Error('post to connection timed out')));
      request.once('error', reject);
      request.end(data);
    });
  }
}
