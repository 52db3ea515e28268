import { Agent as HttpAgent } from 'node:http';
import { Agent } from 'node:https';
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
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { backoffDelay, sleep } from './retry.js';
import { type SignedAnswer, SignedEndpoint } from './signed-endpoint.js';
import { canonicalPath, escapeUri, type Provided, type SigningCredentials } from './sigv4.js';

/** What happened to one post. */
export type PostOutcome = 'sent' | 'gone';

/** Hears about each 429 a post met, so its caller can post less at once. */
export interface PostFeedback {
  throttled(): void;
}

/** Sends frames to websocket connections and closes them (the API Gateway Management API). */
export interface ConnectionSender {
  /**
   * Posts one frame. Resolves `gone` on 410 (the connection no longer exists); retries 429 and
   * 5xx with capped backoff (telling `feedback` of each 429) and rejects once the retries are spent,
   * or when the next attempt would start after `deadline` (epoch ms).
   */
  post(
    connectionId: string,
    data: Uint8Array,
    feedback?: PostFeedback,
    deadline?: number,
  ): Promise<PostOutcome>;
  /** Closes a connection; an already gone connection is not an error. */
  disconnect(connectionId: string): Promise<void>;
}

/** Options of the management API sender. */
export interface ManagementApiOptions {
  /** `https://{api}.execute-api.{region}.amazonaws.com/{stage}` or the local gateway. */
  endpoint: string;
  /** Sockets kept open to the endpoint. @default 64 */
  maxSockets?: number;
  /** Attempts per post for 5xx and network errors. @default 5 */
  attempts?: number;
  /**
   * Attempts per post while API Gateway throttles it (429): waiting out the account's throttle here
   * keeps each connection's order, where a requeue would deliver the message behind newer ones.
   * @default 16
   */
  throttledAttempts?: number;
  /** Backoff cap in milliseconds. @default 1000 */
  maxBackoffMs?: number;
}

/**
 * The retry budget of one post: 429s and failures (5xx, network errors) count apart, so a throttle
 * waited out does not spend the failures' few attempts.
 */
class PostRetries {
  private attempt = 0;
  private throttles = 0;
  private failures = 0;

  constructor(
    private readonly options: ManagementApiOptions,
    private readonly deadline: number | undefined,
  ) {}

  /**
   * Milliseconds to wait before the next attempt, or `undefined` to give up: that kind's attempts
   * are spent, or the wait would end past the deadline.
   */
  pause(throttled: boolean): number | undefined {
    const { options } = this;
    const spent = throttled ? ++this.throttles : ++this.failures;
    const budget = throttled ? (options.throttledAttempts ?? 16) : (options.attempts ?? 5);
    if (spent >= budget) return undefined;
    const pause = backoffDelay(this.attempt++, 25, options.maxBackoffMs ?? 1000);
    return this.deadline !== undefined && Date.now() + pause >= this.deadline ? undefined : pause;
  }
}

/** One post attempt: delivered, gone, or a failure that may be worth another attempt. */
type PostAttempt = PostOutcome | { error: unknown; throttled: boolean; retryable: boolean };

/**
 * Makes post attempts until one is delivered or gone; a throttled or retryable failure waits its
 * backoff (telling `feedback` of throttles) until the retries are spent, then throws its error.
 */
async function postWithRetries(
  retries: PostRetries,
  feedback: PostFeedback | undefined,
  attempt: () => Promise<PostAttempt>,
): Promise<PostOutcome> {
  for (;;) {
    const answer = await attempt();
    if (typeof answer === 'string') return answer;
    if (answer.throttled) feedback?.throttled();
    const pause = answer.retryable ? retries.pause(answer.throttled) : undefined;
    if (pause === undefined) throw answer.error;
    await sleep(pause);
  }
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

  constructor(private readonly options: ManagementApiOptions) {
    const maxSockets = options.maxSockets ?? 64;
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

  async post(
    connectionId: string,
    data: Uint8Array,
    feedback?: PostFeedback,
    deadline?: number,
  ): Promise<PostOutcome> {
    return postWithRetries(new PostRetries(this.options, deadline), feedback, async () => {
      try {
        await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
        return 'sent';
      } catch (error) {
        if (error instanceof GoneException || statusOf(error) === 410) return 'gone';
        return { error, throttled: statusOf(error) === 429, retryable: retryable(error) };
      }
    });
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

/**
 * The region and credentials of the SDK's default provider chain, as an SDK client resolves them
 * (for lean signed requests to other services, such as the slices' Lambda `Invoke`).
 */
export function awsIdentity(): { region: Provided<string>; credentials: Provided<SigningCredentials> } {
  const { region, credentials } = new ApiGatewayManagementApiClient({}).config;
  return { region, credentials };
}

/** Options of the signed keep-alive sender. */
export interface SignedPostOptions extends ManagementApiOptions {
  /** Signing clock (tests pin it). @default () => new Date() */
  now?: () => Date;
  /** Milliseconds before a post is abandoned (then retried like a network error). @default 5000 */
  requestTimeoutMs?: number;
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

/**
 * The fan-out hot path: `PostToConnection` as one SigV4-signed keep-alive `POST`, signed with the
 * SDK client's own credential and region providers (the default provider chain), so the request
 * is the one the SDK would send minus its bookkeeping headers (`user-agent`, `amz-sdk-*`); the
 * signature is `@smithy/signature-v4`'s, computed by {@link LeanSigner} at a fraction of the cost.
 * Everything else — `disconnect`, `GetConnection`, the modelled errors — stays with the SDK client
 * ({@link ManagementApiSender}). Same retry policy: 429, 5xx and network errors back off with a
 * cap, 410 means gone.
 */
export class SignedPostSender implements ConnectionSender {
  /** The SDK-backed sender used for everything but posts. */
  readonly sdk: ManagementApiSender;
  private readonly endpoint: SignedEndpoint;
  private readonly prefix: string;
  private readonly canonicalPrefix: string;

  constructor(
    private readonly options: SignedPostOptions,
    sdk: ManagementApiSender = new ManagementApiSender(options),
  ) {
    this.sdk = sdk;
    const now = options.now;
    const config = sdk.client.config;
    this.endpoint = new SignedEndpoint({
      url: new URL(options.endpoint),
      service: 'execute-api',
      region: config.region,
      credentials: config.credentials,
      contentType: 'application/octet-stream',
      maxSockets: options.maxSockets ?? 64,
      timeoutMs: options.requestTimeoutMs ?? 5000,
      now: now ? () => now().getTime() : undefined,
    });
    this.prefix = `${this.endpoint.basePath}/@connections/`;
    this.canonicalPrefix = canonicalPath(this.prefix);
  }

  /** The SDK client (for `GetConnection` and anything else beyond posts). */
  get client(): ApiGatewayManagementApiClient {
    return this.sdk.client;
  }

  async post(
    connectionId: string,
    data: Uint8Array,
    feedback?: PostFeedback,
    deadline?: number,
  ): Promise<PostOutcome> {
    const segment = escapeUri(connectionId);
    const path = this.prefix + segment;
    // The path as signed: the SDK escapes every segment once more.
    const canonical = this.canonicalPrefix + escapeUri(segment);
    return postWithRetries(new PostRetries(this.options, deadline), feedback, async () => {
      let answer: SignedAnswer;
      try {
        answer = await this.endpoint.post(path, data, canonical);
      } catch (error) {
        // Network error: the request may not have arrived.
        return { error, throttled: false, retryable: true };
      }
      const { status } = answer;
      if (status >= 200 && status < 300) return 'sent';
      if (status === 410) return 'gone';
      const throttled = status === 429;
      const error = serviceError(status, answer.type, answer.body);
      return { error, throttled, retryable: throttled || status >= 500 };
    });
  }

  disconnect(connectionId: string): Promise<void> {
    return this.sdk.disconnect(connectionId);
  }
}
