/** How a failed command is told: the message, a hint, and the exit code. */
import { HipochatError } from '@hipochat/client';
import { HipochatServerError, NetworkError, UnauthorizedError } from '@hipochat/server';
import { UsageError } from './args.js';
import { usageOf } from './usage.js';

const AUTH_HINT = ' (the token or service key was refused)';
const REACH_HINT = ' (is the URL right and the stack up?)';

/**
 * The libraries name a failed call by its path (`GET /talk/old/lobby/ → 404: ...`); the full URL,
 * with the base path of a stage, says which server and stage answered.
 */
export function withBaseUrl(message: string, httpBase: string | undefined): string {
  if (!httpBase) return message;
  const base = httpBase.replace(/\/+$/, '');
  return message.replace(
    /^([A-Z]+) (\/\S*) → /,
    (_match, method: string, path: string) => `${method} ${base}${path} → `,
  );
}

/** Prints why `command` failed on `err`; resolves with the exit code (2 usage, 1 otherwise). */
export function reportFailure(
  error: unknown,
  command: string,
  httpBase: string | undefined,
  err: (text: string) => void,
): number {
  if (error instanceof UsageError) {
    err(`hipochat: ${error.message}\nusage: ${usageOf(command)}\n`);
    return 2;
  }
  let hint = '';
  if (error instanceof HipochatError) {
    hint = error.kind === 'auth' ? AUTH_HINT : error.kind === 'timeout' ? REACH_HINT : '';
  } else if (error instanceof HipochatServerError) {
    hint = error instanceof UnauthorizedError ? AUTH_HINT : error instanceof NetworkError ? REACH_HINT : '';
  }
  const message = error instanceof Error ? error.message : String(error);
  err(`hipochat: ${withBaseUrl(message, httpBase)}${moderationNote(error, message)}${hint}\n`);
  return 1;
}

/**
 * Why moderation refused a call, when the message does not say it yet: the reason (the hook's
 * words, `muted`, `banned`) and the seconds left of a mute or ban.
 */
export function moderationNote(error: unknown, message: string): string {
  const { reason, retryAfter, retryAfterSeconds } = (error ?? {}) as {
    reason?: unknown;
    retryAfter?: unknown;
    retryAfterSeconds?: unknown;
  };
  const seconds = typeof retryAfter === 'number' ? retryAfter : retryAfterSeconds;
  const notes: string[] = [];
  if (typeof reason === 'string' && reason && !message.includes(reason)) notes.push(`reason: ${reason}`);
  // A 429's Retry-After is no moderation: only a refusal with a reason has seconds left.
  if (notes.length > 0 || (typeof reason === 'string' && reason)) {
    if (typeof seconds === 'number' && !message.includes(String(seconds))) notes.push(`${seconds} s left`);
  }
  return notes.length > 0 ? ` (${notes.join(', ')})` : '';
}
