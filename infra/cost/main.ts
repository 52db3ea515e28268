/**
 * `npm run cost [-- --json]`: the idle monthly cost of the dev and prod profiles, computed from
 * their synthesized templates and the dated price table (infra/cost/prices.ts). Offline.
 */
import type { IdleParts } from './idle-cost.js';
import { IDLE_ASSUMPTIONS, IDLE_PRICES, priceSources } from './prices.js';
import { IDLE_GOALS, idleCostOfProfiles } from './profiles.js';

const costs = idleCostOfProfiles();
if (process.argv.includes('--json')) {
  process.stdout.write(
    `${JSON.stringify({ asOf: IDLE_PRICES.asOf, region: IDLE_PRICES.region, idleCost: costs }, null, 2)}\n`,
  );
} else {
  const keys = Object.keys(costs[0]!.parts) as (keyof IdleParts)[];
  const lines = [
    `Idle cost per month, ${IDLE_PRICES.region}, prices as of ${IDLE_PRICES.asOf} (infra/cost/prices.ts)`,
    '',
    `| part | ${costs.map((cost) => cost.profile).join(' | ')} |`,
    `|---|${costs.map(() => '---:').join('|')}|`,
    ...keys.map((key) => `| ${key} | ${costs.map((cost) => cost.parts[key].toFixed(2)).join(' | ')} |`),
    `| **total** | ${costs.map((cost) => `**${cost.usdPerMonth.toFixed(2)}**`).join(' | ')} |`,
    '',
    ...costs.map((cost) => {
      const goal = IDLE_GOALS[cost.profile as keyof typeof IDLE_GOALS];
      return `${cost.profile}: $${cost.usdPerMonth.toFixed(2)} against a goal of $${goal}: ${cost.usdPerMonth <= goal ? 'met' : 'NOT met'}`;
    }),
    `Assumed idle logs: ${IDLE_ASSUMPTIONS.logGbPerMonth} GB a month. Sources:`,
    ...priceSources().map((source) => `- ${source}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
