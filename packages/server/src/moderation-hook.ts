/**
 * The backend's side of `HIPOCHAT_MODERATION_URL`: the server POSTs each user message, reply, edit
 * and injection there before storing it, signed like the push webhook, and waits for a decision.
 * These helpers check the signature, read the request into a typed {@link ModerationRequest}, build
 * the decision, and (for node:http and Express-style servers) do all three in one handler.
 */
import type { ModeratedAction, ModerationDecision, ModerationRequest } from '../../../protocol/index.js';
import { HipochatServerError } from './errors.js';
import { PUSH_SIGNATURE_HEADER, type VerifyPushOptions, verifyPushSignature } from './push-signature.js';

/** The header the server signs moderation requests with (the push webhook's). */
export const MODERATION_SIGNATURE_HEADER = PUSH_SIGNATURE_HEADER;

/** The largest request body {@link moderationHandler} reads (the server's messages are far smaller). */
export const MAX_MODERATION_REQUEST_BYTES = 1024 * 1024;

const ACTIONS: readonly ModeratedAction[] = ['message', 'reply', 'edit', 'item'];

/**
 * A moderation request that is not the server's: `statusCode` is what to answer it with, 401 for
 * a missing, wrong or stale signature, 400 for a body that is not a moderation request.
 */
export class ModerationRequestError extends HipochatServerError {
  readonly statusCode: 400 | 401;

  constructor(statusCode: 400 | 401, message: string) {
    super(message);
    this.statusCode = statusCode;
  }

  /** The error as JSON (also the body {@link moderationHandler} answers it with). */
  toJSON(): { name: string; statusCode: number; error: string } {
    return { name: this.name, statusCode: this.statusCode, error: this.message };
  }
}

/**
 * Checks the `X-Hipochat-Signature` of a moderation request and reads it. `rawBody` is the exact
 * bytes received (before any JSON parsing); `signature` the header as Node gives it. Throws
 * {@link ModerationRequestError} (401: signature, 400: body) rather than returning a half-checked
 * request.
 *
 * @example
 * const request = parseModerationRequest(raw, req.headers['x-hipochat-signature'], secret);
 * if (request.action !== 'edit' && containsBannedWords(request.body)) return moderationDecision.reject('language');
 */
export function parseModerationRequest(
  rawBody: string | Uint8Array,
  signature: string | readonly string[] | null | undefined,
  secret: string,
  options: VerifyPushOptions = {},
): ModerationRequest {
  const header = typeof signature === 'string' || signature == null ? signature : signature.join(',');
  if (!verifyPushSignature(rawBody, header, secret, options)) {
    throw new ModerationRequestError(401, 'missing, wrong or stale X-Hipochat-Signature');
  }
  let data: unknown;
  try {
    data = JSON.parse(typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8'));
  } catch {
    throw new ModerationRequestError(400, 'the body is not JSON');
  }
  return readModerationRequest(data);
}

/** `data` as a {@link ModerationRequest}; throws {@link ModerationRequestError} (400) naming the bad field. */
export function readModerationRequest(data: unknown): ModerationRequest {
  const bad = (field: string): never => {
    throw new ModerationRequestError(400, `not a moderation request: bad or missing "${field}"`);
  };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return bad('action');
  const record = data as Record<string, unknown>;
  if (!ACTIONS.includes(record.action as ModeratedAction)) bad('action');
  for (const field of ['room', 'type', 'senderId', 'requestId']) {
    if (typeof record[field] !== 'string') bad(field);
  }
  if (!('body' in record)) bad('body');
  const author = record.author ?? null;
  if (author !== null && (typeof author !== 'object' || Array.isArray(author))) bad('author');
  for (const field of ['id', 'parentId']) {
    if (record[field] !== undefined && typeof record[field] !== 'string') bad(field);
  }
  const mentions = record.mentions;
  if (mentions !== undefined && !(Array.isArray(mentions) && mentions.every((m) => typeof m === 'string'))) {
    bad('mentions');
  }
  return { ...(record as unknown as ModerationRequest), author: author as ModerationRequest['author'] };
}

/** The three answers a moderation hook gives. */
export const moderationDecision = {
  /** Store and deliver the message as it is. */
  allow: (): ModerationDecision => ({ action: 'allow' }),
  /** Refuse it: the sender gets an error frame (HTTP 422) with `reason`; nothing is stored. */
  reject: (reason?: string): ModerationDecision =>
    reason === undefined ? { action: 'reject' } : { action: 'reject', reason },
  /** Store and deliver `body` instead of the sender's (a JSON string for a chat line). */
  replace: (body: unknown): ModerationDecision => ({ action: 'replace', body }),
} as const;

/** How {@link moderationHandler} decides; may be async. */
export type ModerationDecider = (
  request: ModerationRequest,
) => ModerationDecision | Promise<ModerationDecision>;

/** Options of {@link moderationHandler}. */
export interface ModerationHandlerOptions extends VerifyPushOptions {
  /** Called when `decide` throws, before answering 500 (the server then applies `HIPOCHAT_MODERATION_FAILURE`). */
  onError?: (error: unknown, request: ModerationRequest) => void;
}

/**
 * The request side {@link moderationHandler} reads: node's `IncomingMessage`, or Express's
 * `Request` (typed by shape, so the library needs no `@types/node` nor framework types).
 */
export interface ModerationHttpRequest extends AsyncIterable<unknown> {
  headers: Record<string, string | string[] | undefined>;
  /** A body an earlier middleware read: raw text or bytes are used; a parsed object is refused. */
  body?: unknown;
}

/** The response side {@link moderationHandler} writes: node's `ServerResponse`, or Express's `Response`. */
export interface ModerationHttpResponse {
  writeHead(statusCode: number, headers: Record<string, string>): unknown;
  end(body: string): unknown;
}

/**
 * A request handler for `HIPOCHAT_MODERATION_URL` for node:http or Express (no framework needed):
 * reads the raw body (or an earlier `express.raw()`/`express.text()` one), checks the signature,
 * asks `decide`, and answers its decision as JSON. Answers 401 for a bad signature, 400 for a bad
 * body, 500 when `decide` throws.
 *
 * @example
 * http.createServer(moderationHandler(secret, (request) =>
 *   /free money/i.test(String(request.body)) ? moderationDecision.reject('spam') : moderationDecision.allow(),
 * )).listen(8080);
 * // Express: app.post('/moderate', moderationHandler(secret, decide)) (before any express.json())
 */
export function moderationHandler(
  secret: string,
  decide: ModerationDecider,
  options: ModerationHandlerOptions = {},
): (request: ModerationHttpRequest, response: ModerationHttpResponse) => Promise<void> {
  return async (request, response) => {
    let moderation: ModerationRequest;
    try {
      const raw = await rawBodyOf(request);
      moderation = parseModerationRequest(raw, request.headers[PUSH_SIGNATURE_HEADER], secret, options);
    } catch (error) {
      const refusal =
        error instanceof ModerationRequestError ? error : new ModerationRequestError(400, String(error));
      answer(response, refusal.statusCode, { error: refusal.message });
      return;
    }
    let decision: ModerationDecision;
    try {
      decision = await decide(moderation);
    } catch (error) {
      options.onError?.(error, moderation);
      answer(response, 500, { error: 'the moderation hook failed' });
      return;
    }
    answer(response, 200, decision);
  };
}

async function rawBodyOf(request: ModerationHttpRequest): Promise<string | Uint8Array> {
  const { body } = request;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body !== undefined && body !== null && !(typeof body === 'object' && Object.keys(body).length === 0)) {
    throw new ModerationRequestError(
      400,
      'the body was parsed before the signature check: mount the handler before express.json(), or use express.raw()',
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    size += bytes.length;
    if (size > MAX_MODERATION_REQUEST_BYTES) throw new ModerationRequestError(400, 'the body is too large');
    chunks.push(bytes);
  }
  return Buffer.concat(chunks);
}

function answer(response: ModerationHttpResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  response.end(text);
}
