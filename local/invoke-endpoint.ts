import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LocalFunction } from './handler-loader.js';
import { readBody, sendJson } from './http-io.js';
import { type LocalCredentials, verifySignature } from './sigv4.js';

/** Path prefix of Lambda's Invoke API: `POST /2015-03-31/functions/{name}/invocations`. */
export const INVOKE_PATH = '/2015-03-31/functions/';

/** Lambda refuses a synchronous request payload over 6 MB. */
const MAX_PAYLOAD_BYTES = 6 * 2 ** 20;

const INVOCATIONS = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

function userError(response: ServerResponse, status: number, type: string, message: string): void {
  sendJson(response, status, { Type: 'User', message }, { 'x-amzn-errortype': type });
}

/** The function name of a name, partial ARN or ARN (`...:function:<name>[:qualifier]`). */
function functionNameOf(raw: string): string {
  const name = decodeURIComponent(raw);
  const arn = /(?:^|:)function:([^:]+)/.exec(name);
  return arn ? arn[1]! : name;
}

/**
 * The concurrency of the local Invoke API (`HIPOCHAT_LOCAL_INVOKE_CONCURRENCY`): at most `limit`
 * invocations run at once, as a function's concurrency allows on Lambda; 0 is no limit.
 */
export class InvokeConcurrency {
  private running = 0;

  /** @param limit invocations at once; 0 is no limit */
  constructor(private readonly limit = 0) {}

  /** Takes a slot; false when all are busy (the invocation is throttled). */
  take(): boolean {
    if (this.limit > 0 && this.running >= this.limit) return false;
    this.running += 1;
    return true;
  }

  /** Gives back the slot of an invocation that ended. */
  release(): void {
    this.running -= 1;
  }
}

/**
 * Lambda's Invoke API for the functions of the routes table that other functions invoke (the
 * fan-out's delivery slices): `RequestResponse` only, signed like Lambda wants it (SigV4, service
 * `lambda`, with the local runtime's keys). Each request runs the handler with a fresh Lambda
 * context, so slices run concurrently as separate invocations do. A handler that throws is
 * answered as Lambda does: 200 with `X-Amz-Function-Error: Unhandled` and the error as the body.
 * Beyond `concurrency`, an invocation is answered 429 `TooManyRequestsException` and not run.
 */
export async function handleInvokeRequest(
  functions: ReadonlyMap<string, LocalFunction<unknown, unknown>>,
  credentials: LocalCredentials,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  concurrency: InvokeConcurrency = new InvokeConcurrency(),
): Promise<void> {
  const body = await readBody(request, MAX_PAYLOAD_BYTES + 1).catch(() => undefined);
  if (!body || body.length > MAX_PAYLOAD_BYTES) {
    userError(response, 413, 'RequestEntityTooLargeException', 'Request must be smaller than 6291456 bytes');
    return;
  }
  const refused = await verifySignature(
    { method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body },
    credentials,
    new Date(),
    'lambda',
  );
  if (refused) {
    sendJson(response, 403, { message: refused.message }, { 'x-amzn-errortype': refused.type });
    return;
  }
  const match = INVOCATIONS.exec(url.pathname);
  if (request.method !== 'POST' || !match) {
    userError(response, 404, 'ResourceNotFoundException', 'Not Found');
    return;
  }
  let name: string;
  try {
    name = functionNameOf(match[1]!);
  } catch {
    name = '';
  }
  const invoke = functions.get(name);
  if (!invoke) {
    userError(response, 404, 'ResourceNotFoundException', `Function not found: ${name}`);
    return;
  }
  const type = String(request.headers['x-amz-invocation-type'] ?? 'RequestResponse');
  if (type !== 'RequestResponse') {
    userError(
      response,
      400,
      'InvalidParameterValueException',
      `the local gateway invokes RequestResponse only, not ${type}`,
    );
    return;
  }
  let event: unknown;
  try {
    event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    userError(response, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
    return;
  }
  if (!concurrency.take()) {
    sendJson(
      response,
      429,
      {
        Type: 'User',
        message: 'Rate Exceeded.',
        Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
      },
      { 'x-amzn-errortype': 'TooManyRequestsException' },
    );
    return;
  }
  let result: unknown;
  try {
    result = await invoke(event);
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    sendJson(
      response,
      200,
      { errorType: failure.name, errorMessage: failure.message },
      { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '$LATEST' },
    );
    return;
  } finally {
    concurrency.release();
  }
  const text = result === undefined ? 'null' : JSON.stringify(result);
  response.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amz-executed-version': '$LATEST',
  });
  response.end(text);
}
