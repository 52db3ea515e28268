import { configReference } from '../lambdas/core/config.js';
import { markdownTable } from './markdown.js';

/** docs/configuration.md: one table, generated from the config schema (`lambdas/core/config.ts`). */
export function renderConfigReference(): string {
  const rows = configReference().map((row) => [`\`${row.variable}\``, row.default, row.rule, row.meaning]);
  return [
    '# Configuration',
    '',
    '<!-- Generated from lambdas/core/config.ts by `npm run docs`; do not edit by hand. -->',
    '',
    'One schema (`lambdas/core/config.ts`) validates every variable at start-up; a bad value stops',
    'start-up with a message naming the variable and its rule. The deployed functions get theirs from',
    'the stack (`-c chatEnv=...` for the chat behaviour variables, see [deploy.md](deploy.md)).',
    '',
    markdownTable(
      [{ header: 'variable' }, { header: 'default' }, { header: 'rule' }, { header: 'meaning' }],
      rows,
    ),
    '',
    'Read by libraries, not by the schema: `POWERTOOLS_METRICS_DISABLED=true` drops the EMF metric',
    'lines (`POWERTOOLS_DEV=true` too, unless this is `false`); the tests set it. Locally the gateway',
    'writes no EMF records unless `HIPOCHAT_LOCAL_METRICS` is on.',
    '',
    'Test-only: `HIPOCHAT_TEST_REDIS_URL`, `HIPOCHAT_TEST_AMQP_URL` (services for the tests),',
    '`HIPOCHAT_E2E_WS_URL`, `HIPOCHAT_E2E_HTTP_URL`, `HIPOCHAT_E2E_SERVICE_KEY` (run e2e against a',
    'deployment).',
    '',
    'Redis is a hot store: history is capped per room. A backend that must keep everything can bind its',
    'own queue to the `hipochat` exchange (`*.<room>` or `#`) and archive from there.',
    '',
  ].join('\n');
}
