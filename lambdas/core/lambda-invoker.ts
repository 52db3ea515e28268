import type { PostFeedback } from './connections.js';
import {
  SLICE_BUDGET_MS,
  SLICE_GRACE_MS,
  type SliceInvoker,
  type SliceRequest,
  type SliceResult,
} from './fanout-slices.js';
import { backoffDelay, sleep } from './retry.js';
import { type SignedAnswer, SignedEndpoint, TimeoutError } from './signed-endpoint.js';
import { escapeUri, type Provided, type SigningCredentials } from './sigv4.js';

/** Options of {@link LambdaInvoker}. */
export interface LambdaInvokerOptions {
  /** Name or ARN of the delivery function (`HIPOCHAT_DELIVERY_FUNCTION`). */
  functionName: string;
  /**
   * Lambda API endpoint (`HIPOCHAT_LAMBDA_ENDPOINT`; the local gateway serves one).
   * @default https://lambda.<region>.amazonaws.com
   */
  endpoint?: string;
  region: Provided<string>;
  credentials: Provided<SigningCredentials>;
  /** Sockets kept open: the slices in flight. @default 128 */
  maxSockets?: number;
  /**
   * Milliseconds an invocation may take: past the slice's deadline by the grace a post in flight
   * needs, so a slice that keeps to its deadline always answers first.
   * @default SLICE_BUDGET_MS + SLICE_GRACE_MS (28 s, within the delivery function's 30 s)
   */
  timeoutMs?: number;
  /**
   * Attempts of an invocation Lambda throttled (429: the concurrency is busy) or failed to start
   * (5xx). Patience is cheap here: a slice that gives up requeues its messages for its connections,
   * behind the room's newer ones. @default 12
   */
  attempts?: number;
  /** Backoff cap in milliseconds. @default 2000 */
  maxBackoffMs?: number;
}

/** Lambda answered an invocation with an error, or the function itself failed. */
export class InvokeError extends Error {
  override readonly name = 'InvokeError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

function resultOf(answer: SignedAnswer): SliceResult {
  if (answer.functionError) {
    throw new InvokeError(`delivery function failed (${answer.functionError}): ${answer.body ?? ''}`, 200);
  }
  const result = JSON.parse(answer.body ?? '') as Partial<SliceResult> | null;
  if (!result || typeof result.misses !== 'object' || !Array.isArray(result.goneConnections)) {
    throw new InvokeError('delivery function answered without a slice result', answer.status);
  }
  return result as SliceResult;
}

/**
 * Runs fan-out slices as synchronous (`RequestResponse`) invocations of the delivery function
 * through Lambda's Invoke API, the lean way the fan-out posts: SigV4-signed keep-alive `POST`s
 * with the SDK's credential and region providers, no SDK client per call. 429 (the function's
 * concurrency is busy) and 5xx back off and retry; a function error or a timeout fails the slice
 * at once (its messages are requeued for the connections its note says it did not serve).
 */
export class LambdaInvoker implements SliceInvoker {
  private endpoint?: Promise<SignedEndpoint>;
  private readonly path: string;

  constructor(private readonly options: LambdaInvokerOptions) {
    this.path = `/2015-03-31/functions/${escapeUri(options.functionName)}/invocations`;
  }

  async deliver(request: SliceRequest, feedback?: PostFeedback): Promise<SliceResult> {
    this.endpoint ??= this.connect();
    const endpoint = await this.endpoint;
    const body = Buffer.from(JSON.stringify(request));
    const { attempts = 12, maxBackoffMs = 2000 } = this.options;
    for (let attempt = 0; ; attempt += 1) {
      let answer: SignedAnswer;
      try {
        answer = await endpoint.post(this.path, body);
      } catch (error) {
        // A timed-out slice may still be running: retrying would only pile up invocations.
        if (error instanceof TimeoutError || attempt + 1 >= attempts) throw error;
        await sleep(backoffDelay(attempt, 50, maxBackoffMs));
        continue;
      }
      const { status } = answer;
      if (status === 200) return resultOf(answer);
      if (status === 429) feedback?.throttled();
      if ((status !== 429 && status < 500) || attempt + 1 >= attempts) {
        throw new InvokeError(`Invoke answered ${status} ${answer.type ?? ''}: ${answer.body ?? ''}`, status);
      }
      await sleep(backoffDelay(attempt, 50, maxBackoffMs));
    }
  }

  private async connect(): Promise<SignedEndpoint> {
    const { region, credentials } = this.options;
    const resolved = typeof region === 'function' ? await region() : region;
    return new SignedEndpoint({
      url: new URL(this.options.endpoint ?? `https://lambda.${resolved}.amazonaws.com`),
      service: 'lambda',
      region: resolved,
      credentials,
      contentType: 'application/json',
      headers: { 'x-amz-invocation-type': 'RequestResponse' },
      maxSockets: this.options.maxSockets ?? 128,
      timeoutMs: this.options.timeoutMs ?? SLICE_BUDGET_MS + SLICE_GRACE_MS,
      keepSuccessBody: true,
      maxErrorBody: 4096,
    });
  }
}
