import { type RouteSecret, routes } from '../lambdas/routes.js';
import type { Figures } from './doc-figures.js';
import { markdownTable } from './markdown.js';

/** Each secret a route may declare: its variable and what it holds. */
const SECRETS: Readonly<Record<RouteSecret, readonly [variable: string, holds: string]>> = {
  cache: ['HIPOCHAT_REDIS_AUTH_SECRET_ARN', 'cache AUTH token or `hipochat` user password (plain string)'],
  broker: [
    'HIPOCHAT_RABBIT_SECRET_ARN',
    'broker **runtime user** `hipochat-runtime`, JSON `{"username","password"}`',
  ],
  serviceKey: ['HIPOCHAT_SERVICE_KEY_SECRET_ARN', 'service key of backend calls (plain string)'],
  pushKey: ['HIPOCHAT_PUSH_SECRET_ARN', 'HMAC key of `X-Hipochat-Signature` (plain string)'],
};

/** Snippets generated from the routes table (`lambdas/routes.ts`): which function reads which secret. */
export function routeFigures(): Figures {
  const rows = (Object.keys(SECRETS) as RouteSecret[]).map((secret) => {
    const readers = routes
      .filter((route) => route.secrets.includes(secret))
      .map((route) => `\`${route.name}\``);
    const [variable, holds] = SECRETS[secret];
    return [
      `\`${variable}\``,
      holds,
      readers.length === routes.length ? 'every function' : readers.join(', '),
    ];
  });
  rows.push([
    '(topology function only)',
    'broker **administrator** `hipochat`, JSON `{"username","password"}`',
    'the topology custom resource, at deploy time',
  ]);
  return new Map([
    ['secrets', markdownTable([{ header: 'variable' }, { header: 'secret' }, { header: 'read by' }], rows)],
  ]);
}
