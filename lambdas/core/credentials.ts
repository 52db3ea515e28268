import { createHash, timingSafeEqual } from 'node:crypto';
import type { Authenticator, HeaderCredential } from './auth.js';
import { ForbiddenError, type HttpError, UnauthorizedError } from './errors.js';
import type { Identity } from './protocol.js';

/**
 * Who may call a route: a user (`Token <token>`, checked by the profile endpoint), the backend
 * (`Bearer <service key>`, compared with `HIPOCHAT_SERVICE_KEY`), or either.
 */
export type CallerRule = 'user' | 'service' | 'user-or-service';

/** What a route of the routes table declares about its callers; the HTTP wrapper enforces it. */
export interface RouteAccess {
  readonly caller: CallerRule;
  /** What the route is for, named in every refusal ("membership management", "moderation"). */
  readonly purpose: string;
}

/** A caller a route admitted: a user with their identity, or the backend. */
export type Caller = { readonly kind: 'user'; readonly identity: Identity } | { readonly kind: 'service' };

/** What the check compares a credential with. */
export interface CredentialAuthorities {
  /** `HIPOCHAT_SERVICE_KEY`; unset turns the backend's calls off. */
  readonly serviceKey: string | undefined;
  /** Checks user tokens with the profile endpoint (and its cache). */
  readonly auth: Pick<Authenticator, 'authenticate'>;
}

/** Compares secrets in constant time; digests first, so not even the length shows. */
export function sameSecret(given: string, expected: string): boolean {
  const digestOf = (secret: string) => createHash('sha256').update(secret).digest();
  return timingSafeEqual(digestOf(given), digestOf(expected));
}

/** Whether `bearer` is the configured service key (never true when none is configured). */
export function isService(serviceKey: string | undefined, bearer: string | undefined): boolean {
  return Boolean(serviceKey && bearer && sameSecret(bearer, serviceKey));
}

const TOKEN = 'a user token ("Authorization: Token <token>")';
const KEY = 'the service key ("Authorization: Bearer <service key>")';

/** What a route wants, as refusals say it; a route open to both wants only tokens without a key. */
function wanted(rule: CallerRule, keyed: boolean): string {
  if (rule === 'user' || (rule === 'user-or-service' && !keyed)) return TOKEN;
  return rule === 'service' ? KEY : `${TOKEN} or ${KEY}`;
}

/** What the service key opens on a route: its purpose, or the backend's share of a route both call. */
export function serviceUse(access: RouteAccess): string {
  return access.caller === 'service' ? access.purpose : `${access.purpose} as the backend`;
}

/** The text of a route the backend would call on a server that has no service key. */
function disabled(access: RouteAccess): string {
  return `${serviceUse(access)} is disabled: this server has no service key (set HIPOCHAT_SERVICE_KEY in the server's environment)`;
}

/**
 * The one credential rule of the HTTP routes, run by the wrapper before any handler: a missing or
 * wrong credential is a 401, a right one the route does not take is a 403, and every refusal names
 * the route's purpose. A `Bearer` is only ever compared with the service key and a `Token` only
 * ever sent to the profile endpoint, so a near-miss key never becomes a user named after it.
 *
 * @throws UnauthorizedError for a missing or wrong credential (a route the backend calls on a
 *   server without a service key says it is disabled)
 * @throws ForbiddenError for a right credential of a kind the route does not take
 * @throws ServiceUnavailableError when the profile endpoint cannot answer
 */
export async function admit(
  access: RouteAccess,
  credential: HeaderCredential | undefined,
  authorities: CredentialAuthorities,
): Promise<Caller> {
  const { caller: rule, purpose } = access;
  const keyed = Boolean(authorities.serviceKey);
  const needs = `${purpose} requires ${wanted(rule, keyed)}`;
  // A route only the backend calls is off as a whole without a key: every refusal says so.
  const off = rule === 'service' && !keyed;
  const refuse = (status: 401 | 403, text: string, cause?: unknown): HttpError => {
    const message = off ? disabled(access) : text;
    return status === 401
      ? new UnauthorizedError(message, { cause })
      : new ForbiddenError(message, { cause });
  };

  if (!credential) throw refuse(401, `authentication error: ${needs}`);
  if (credential.scheme === 'bearer') {
    if (rule === 'user-or-service' && !keyed) throw new UnauthorizedError(disabled(access));
    if (!isService(authorities.serviceKey, credential.value)) {
      throw refuse(401, `service key refused: ${needs}`);
    }
    if (rule === 'user') throw refuse(403, `the service key is not allowed here: ${needs}`);
    return { kind: 'service' };
  }
  let identity: Identity;
  try {
    identity = await authorities.auth.authenticate(credential.value);
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    throw refuse(401, `authentication error: the token was refused; ${needs}`, error);
  }
  if (rule === 'service') throw refuse(403, `a user token is not allowed here: ${needs}`);
  return { kind: 'user', identity };
}
