/**
 * What a backend call can fail with. One base, {@link HipochatServerError} (with `cause`); HTTP
 * answers become {@link HipochatApiError} or a subclass naming the status family, so a backend
 * can `catch (e) { if (e instanceof RateLimitedError) ... }`.
 */

/** Base of every error `@hipochat/server` throws. */
export class HipochatServerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The library refused the arguments before sending anything. */
export class InvalidArgumentError extends HipochatServerError {}

/** The call never got an answer (refused connection, DNS, timeout). Retried before it is thrown. */
export class NetworkError extends HipochatServerError {}

/**
 * The server answered with an error status; `body` is its JSON (`{"error": ...}`) when it sent one.
 * A refusal by moderation also names its `reason` (the hook's words, or `muted` / `banned`).
 */
export class HipochatApiError extends HipochatServerError {
  /** The HTTP status. */
  readonly statusCode: number;
  /** The parsed answer, when it was JSON. */
  readonly body: unknown;

  constructor(statusCode: number, message: string, body: unknown) {
    super(message);
    this.statusCode = statusCode;
    this.body = body;
  }

  /** Why moderation refused the call (the body's `reason`): the hook's reason, `muted` or `banned`. */
  get reason(): string | undefined {
    const reason = (this.body as { reason?: unknown } | null | undefined)?.reason;
    return typeof reason === 'string' ? reason : undefined;
  }

  /** The error as JSON (for logs). */
  toJSON(): { name: string; statusCode: number; message: string; body: unknown } {
    return { name: this.name, statusCode: this.statusCode, message: this.message, body: this.body };
  }
}

/** 400, 413, 422 (a message the moderation hook rejected: see `reason`): retrying will not help. */
export class BadRequestError extends HipochatApiError {}

/**
 * 401 or 403: the service key (or the user's token) was refused, or the user is muted or banned
 * in the room (`reason` says which, `retryAfterSeconds` how long it lasts).
 */
export class UnauthorizedError extends HipochatApiError {
  /** Seconds until the mute or ban that refused the call ends (the body's `retryAfter`). */
  get retryAfterSeconds(): number | undefined {
    const seconds = (this.body as { retryAfter?: unknown } | null | undefined)?.retryAfter;
    return typeof seconds === 'number' ? seconds : undefined;
  }
}

/** 404: no such message, room or route. */
export class NotFoundError extends HipochatApiError {}

/** 429 after the last retry; `retryAfterSeconds` is the server's `Retry-After`. */
export class RateLimitedError extends HipochatApiError {
  readonly retryAfterSeconds: number | undefined;

  constructor(statusCode: number, message: string, body: unknown, retryAfterSeconds: number | undefined) {
    super(statusCode, message, body);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** 5xx after the last retry. */
export class ServerUnavailableError extends HipochatApiError {}

/** The error class for an HTTP status. */
export function apiError(
  statusCode: number,
  message: string,
  body: unknown,
  retryAfter?: number,
): HipochatApiError {
  if (statusCode === 429) return new RateLimitedError(statusCode, message, body, retryAfter);
  if (statusCode >= 500) return new ServerUnavailableError(statusCode, message, body);
  if (statusCode === 401 || statusCode === 403) return new UnauthorizedError(statusCode, message, body);
  if (statusCode === 404) return new NotFoundError(statusCode, message, body);
  if (statusCode >= 400 && statusCode < 500) return new BadRequestError(statusCode, message, body);
  return new HipochatApiError(statusCode, message, body);
}
