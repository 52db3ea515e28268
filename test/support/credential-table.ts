import type { CallerRule } from '../../lambdas/core/credentials.js';
import { type HttpRoute, httpRoutes } from '../../lambdas/routes.js';

/** The credentials every HTTP route is tried with. */
export type TriedCredential = 'no credential' | 'a wrong key' | 'a user token' | 'the service key';

export const TRIED_CREDENTIALS: readonly TriedCredential[] = [
  'no credential',
  'a wrong key',
  'a user token',
  'the service key',
];

/**
 * The credential rule: a missing or wrong credential is 401 everywhere, a right one the route does
 * not take is 403, and `admitted` means the route's handler ran (whatever it then answered).
 */
export function expectedAnswer(rule: CallerRule, tried: TriedCredential): 401 | 403 | 'admitted' {
  if (tried === 'no credential' || tried === 'a wrong key') return 401;
  if (tried === 'a user token') return rule === 'service' ? 403 : 'admitted';
  return rule === 'user' ? 403 : 'admitted';
}

/** `route.path` with every greedy parameter filled (`{room+}` is `lobby/`). */
export function pathOf(route: HttpRoute, room = 'lobby'): string {
  return route.path.replace('{room+}', `${room}/`).replace('{rooms+}', `${room}/`).replace('{user+}', 'zoe/');
}

/** Every HTTP route of the table × every tried credential, for `it.each`. */
export const ROUTE_CREDENTIAL_TABLE: readonly [string, TriedCredential, HttpRoute][] = httpRoutes.flatMap(
  (route) => TRIED_CREDENTIALS.map((tried) => [`${route.method} ${route.path}`, tried, route] as const),
);
