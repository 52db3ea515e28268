/**
 * Logging of failed requests. A dependency that is down (Redis, the broker, the profile endpoint)
 * fails every request until it is back: each failure is answered and counted, but the log says so
 * once per state change, with the cause, instead of a stack trace per request.
 */
import { type HttpError, ServiceUnavailableError } from './errors.js';
import { logger } from './logger.js';

/** The failure last logged per kind (`store unavailable`, ...), with the cause it had. */
const outages = new Map<string, string>();

/** The words of an error chain, stack aside: what tells one outage from another. */
function causeOf(error: unknown): string {
  const words: string[] = [];
  for (let at = error; at instanceof Error && words.length < 4; at = at.cause) words.push(at.message);
  return words.join(': ');
}

/**
 * Logs a failed request: a 5xx as `request failed` with its status and error, except that a
 * dependency outage (a {@link ServiceUnavailableError}) is logged once while its cause stays the
 * same; the repeats are debug lines. A 4xx is the caller's mistake, answered and not logged.
 */
export function logFailure(failure: HttpError): void {
  if (failure.statusCode < 500) return;
  const error = failure.cause ?? failure;
  if (failure instanceof ServiceUnavailableError) {
    const cause = causeOf(error);
    if (outages.get(failure.message) === cause) {
      logger.debug('request failed', { status: failure.statusCode, reason: failure.message, cause });
      return;
    }
    outages.set(failure.message, cause);
  }
  logger.error('request failed', { status: failure.statusCode, error });
}

/** A request succeeded: outages are over, and the next failure of any kind is logged again. */
export function noteSuccess(): void {
  if (outages.size > 0) outages.clear();
}
