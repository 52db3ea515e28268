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
  err(`hipochat: ${withBaseUrl(message, httpBase)}${hint}\n`);
  return 1;
}
