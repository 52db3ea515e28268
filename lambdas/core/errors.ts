/** Base class of every error the chat raises on purpose. */
export class ChatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The environment is invalid; start-up stops. */
export class ConfigError extends ChatError {}

/** An error with an HTTP status and a JSON body `{"error": message}`. */
export class HttpError extends ChatError {
  readonly statusCode: number;

  constructor(statusCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.statusCode = statusCode;
  }

  /** The response body; a websocket gets the same text as `{"ERROR": message}`. */
  toJSON(): { error: string } {
    return { error: this.message };
  }

  /** Headers of the HTTP answer besides the content type (`Retry-After` of a 429); none by default. */
  headers(): Record<string, string> {
    return {};
  }

  /** What a websocket error frame carries besides the message (a moderation `reason`); none by default. */
  frameDetails(): { reason?: string; retryAfter?: number } {
    return {};
  }
}

/** 400: the request is malformed. */
export class BadRequestError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(400, message, options);
  }
}

/** 401: the token is missing or the profile endpoint refused it. */
export class UnauthorizedError extends HttpError {
  constructor(message = 'authentication error', options?: { cause?: unknown }) {
    super(401, message, options);
  }
}

/** 403: authenticated, but not allowed here (closed room, wrong service key). */
export class ForbiddenError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(403, message, options);
  }
}

/** 404: the thing named (a message id) is not there. */
export class NotFoundError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(404, message, options);
  }
}

/** 409: the request contradicts the current state (a deleted message edited, a 21st reaction). */
export class ConflictError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(409, message, options);
  }
}

/** 413: the frame or body is larger than `HIPOCHAT_MAX_MESSAGE_BYTES`. */
export class PayloadTooLargeError extends HttpError {
  constructor(limit: number, options?: { cause?: unknown }) {
    super(413, `message too large: limit is ${limit} bytes`, options);
  }
}

/** 400: the frame or body nests deeper than `HIPOCHAT_MAX_BODY_DEPTH` levels; nothing was stored. */
export class NestingTooDeepError extends HttpError {
  constructor(limit: number, options?: { cause?: unknown }) {
    super(400, `message too deeply nested: the limit is ${limit} levels`, options);
  }
}

/** 415: the body is not JSON (or a form where a form is accepted). */
export class UnsupportedMediaTypeError extends HttpError {
  constructor(message = 'content type must be application/json', options?: { cause?: unknown }) {
    super(415, message, options);
  }
}

/**
 * 429: the sender is over its rate limit; nothing was stored. An HTTP answer is
 * `{"error": message, "retryAfter": seconds}` with a `Retry-After` header; a websocket gets the
 * message as an error frame.
 */
export class RateLimitedError extends HttpError {
  /** Whole seconds until the sender's window restarts, when known. */
  readonly retryAfter?: number;

  constructor(message = 'rate limit exceeded', options?: { cause?: unknown; retryAfter?: number }) {
    super(429, message, options);
    if (options?.retryAfter !== undefined) this.retryAfter = Math.max(1, Math.ceil(options.retryAfter));
  }

  override toJSON(): { error: string; retryAfter?: number } {
    return retryAfterBody(this.message, this.retryAfter);
  }

  override headers(): Record<string, string> {
    return retryAfterHeaders(this.retryAfter);
  }
}

/** An error's JSON body with `retryAfter` when it has one. */
function retryAfterBody(
  error: string,
  retryAfter: number | undefined,
): { error: string; retryAfter?: number } {
  return retryAfter === undefined ? { error } : { error, retryAfter };
}

/** The `Retry-After` header of an error that has a `retryAfter`. */
function retryAfterHeaders(retryAfter: number | undefined): Record<string, string> {
  return retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) };
}

/** 503: Redis, RabbitMQ or the profile endpoint is unavailable; nothing was accepted. */
export class ServiceUnavailableError extends HttpError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(503, message, options);
  }
}

/**
 * 503: the store took the write but fewer replicas than `HIPOCHAT_REDIS_WAIT_REPLICAS` confirmed
 * it in time, so a failover could lose it: nothing was acknowledged or published, and a retry
 * (with the same `clientId` or `Idempotency-Key`) is safe. An HTTP answer carries `retryAfter`
 * and a `Retry-After` header.
 */
export class NotAcknowledgedError extends ServiceUnavailableError {
  /** Seconds after which a retry is likely to succeed (a replica catching up or a failover done). */
  readonly retryAfter: number;

  constructor(retryAfter = 1, options?: { cause?: unknown }) {
    super('not acknowledged: the store could not replicate it in time; it may be retried', options);
    this.retryAfter = retryAfter;
  }

  override toJSON(): { error: string; retryAfter?: number } {
    return retryAfterBody(this.message, this.retryAfter);
  }

  override headers(): Record<string, string> {
    return retryAfterHeaders(this.retryAfter);
  }
}

/**
 * 422: the moderation hook rejected the message (or could not be asked, with
 * `HIPOCHAT_MODERATION_FAILURE=reject`); nothing was stored. `{"error", "reason"}`; a websocket
 * gets an error frame with `reason`.
 */
export class ModerationRejectedError extends HttpError {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(422, 'message rejected by moderation', options);
  }

  override toJSON(): { error: string; reason: string } {
    return { error: this.message, reason: this.reason };
  }

  override frameDetails(): { reason: string } {
    return { reason: this.reason };
  }
}

/** What moderation put on a user in a room: `mute` (no sends) or `ban` (no sends, connects or reads). */
export type RestrictionReason = 'muted' | 'banned';

/**
 * 403: the user is muted or banned in the room for `retryAfter` more seconds; nothing was stored.
 * `{"error", "reason", "retryAfter"}` with a `Retry-After` header; a websocket gets an error frame
 * with `reason` and `retryAfter`.
 */
export class RestrictedError extends ForbiddenError {
  /** Whole seconds until the restriction ends (at least 1). */
  readonly retryAfter: number;

  constructor(
    readonly reason: RestrictionReason,
    secondsLeft: number,
    options?: { cause?: unknown },
  ) {
    const seconds = Math.max(1, Math.ceil(secondsLeft));
    super(`you are ${reason} in this room for ${seconds} more second${seconds === 1 ? '' : 's'}`, options);
    this.retryAfter = seconds;
  }

  override toJSON(): { error: string; reason: string; retryAfter: number } {
    return { error: this.message, reason: this.reason, retryAfter: this.retryAfter };
  }

  override headers(): Record<string, string> {
    return retryAfterHeaders(this.retryAfter);
  }

  override frameDetails(): { reason: string; retryAfter: number } {
    return { reason: this.reason, retryAfter: this.retryAfter };
  }
}

/** Wraps any thrown value into an HttpError; unknown errors become an opaque 500. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  return new HttpError(500, 'internal error', { cause: error });
}

/** Why a chat message was refused: the `reason` dimension of the `MessagesRefused` metric. */
export type RefusalReason = 'rate' | 'size' | 'depth' | 'auth' | 'type' | 'unavailable' | 'moderation';

/**
 * Why a message write failed: 429 → rate, 413 → size, a body nested too deeply → depth, a
 * moderation hook's rejection or a mute or ban → moderation, other 401/403 →
 * auth, 5xx → unavailable, any other 4xx (malformed, unknown type, wrong content type) → type.
 */
export function refusalReason(error: HttpError): RefusalReason {
  const status = error.statusCode;
  if (error instanceof NestingTooDeepError) return 'depth';
  if (error instanceof ModerationRejectedError || error instanceof RestrictedError) return 'moderation';
  if (status === 429) return 'rate';
  if (status === 413) return 'size';
  if (status === 401 || status === 403) return 'auth';
  return status >= 500 ? 'unavailable' : 'type';
}
