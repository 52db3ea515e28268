/** What went wrong, for the `error` event and {@link HipochatError.kind}. */
export type ErrorKind = 'frame' | 'auth' | 'http' | 'connection' | 'send' | 'timeout' | 'moderation';

/** An error the client raises (invalid options, over-size sends, refused requests). */
export class HipochatError extends Error {
  /** HTTP status when an HTTP request failed. */
  readonly status?: number;
  readonly kind: ErrorKind;

  constructor(kind: ErrorKind, message: string, status?: number) {
    super(message);
    this.name = 'HipochatError';
    this.kind = kind;
    if (status !== undefined) this.status = status;
  }
}

/**
 * A send, reply, edit, reaction or injection that moderation refused: the moderation hook
 * rejected it (`reason` in the hook's words; HTTP 422), or the user is muted or banned in the room
 * (`reason` `muted` / `banned`, `retryAfter` the seconds left; HTTP 403). Nothing was stored.
 */
export class ModerationError extends HipochatError {
  /** The hook's reason, or `muted` / `banned`. */
  readonly reason: string;
  /** Seconds until the mute or ban ends (absent for a rejection by the hook). */
  readonly retryAfter?: number;

  constructor(message: string, reason: string, retryAfter?: number, status?: number) {
    super('moderation', message, status);
    this.name = 'ModerationError';
    this.reason = reason;
    if (retryAfter !== undefined) this.retryAfter = retryAfter;
  }
}

/** Anything thrown, as an `Error`. */
export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
