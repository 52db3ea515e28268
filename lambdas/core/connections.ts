import { Agent as HttpAgent } from 'node:http';
import { Agent } from 'node:https';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';
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
