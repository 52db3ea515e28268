/** What went wrong, for the `error` event and {@link HipochatError.kind}. */
export type ErrorKind = 'frame' | 'auth' | 'http' | 'connection' | 'send' | 'timeout';

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

/** Anything thrown, as an `Error`. */
export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
