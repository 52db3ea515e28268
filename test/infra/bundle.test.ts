import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { ESM_REQUIRE_BANNER } from '../../infra/constructs/chat-function.js';
import { routes } from '../../lambdas/routes.js';
import { latestBenchRun } from '../../scripts/doc-figures.js';
import { BUNDLE_BUDGET_BYTES, SYNTH_TIMEOUT_MS, type Synthesized, synth } from './synth.js';

describe('handler bundles', () => {
  let deployment: Synthesized;
  beforeAll(() => {
    deployment = synth({}, { bundle: true });
  }, SYNTH_TIMEOUT_MS);

  const bundles = [
    ...routes.map((route) => [route.name, route.entry]),
    ['topology', 'lambdas/handlers/custom/topology.ts'],
  ];

  function bundleOf(name: string): string {
    const fn = name === 'topology' ? deployment.stack.topology.handler : deployment.stack.functions.get(name);
    const logicalId = deployment.stack.getLogicalId(fn!.node.defaultChild as CfnFunction);
    const key: string = deployment.template.toJSON().Resources[logicalId].Properties.Code.S3Key;
    return join(deployment.outdir, `asset.${key.replace(/\.zip$/, '')}`);
  }

  it.each(bundles)('bundles the %s handler (%s) as ESM with a source map', (name) => {
    const dir = bundleOf(name);
    const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
    expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    expect(code).toMatch(/export\s*\{[^}]*\bhandler\b[^}]*\}/);
    expect(existsSync(join(dir, 'index.mjs.map'))).toBe(true);
  });

  it.each(bundles)(`keeps the %s bundle under ${BUNDLE_BUDGET_BYTES} bytes`, (name) => {
    expect(statSync(join(bundleOf(name), 'index.mjs')).size).toBeLessThan(BUNDLE_BUDGET_BYTES);
  });

  it("is the size the docs quote: the largest bundle within 10% of the bench's latest run", () => {
    // The docs' bundle and cold-start figures come from the bench: a stale run fails here, not in a reader's eyes.
    const run = latestBenchRun();
    const quoted = JSON.parse(readFileSync(`${run}.json`, 'utf8')) as {
      bundles: { name: string; bytes: number }[];
    };
    const largest = (sizes: number[]) => Math.max(...sizes);
    const now = largest(bundles.map(([name]) => statSync(join(bundleOf(name!), 'index.mjs')).size));
    const then = largest(quoted.bundles.map((bundle) => bundle.bytes));
    // Named in the failure: which run is stale, and by how much (`npm run bench` refreshes it).
    const drift = { run, now, then, ratio: Math.round((now / then) * 100) / 100 };
    expect(drift.ratio >= 0.9 && drift.ratio <= 1.1 ? 'within 10%' : drift).toBe('within 10%');
  });

  it.each(bundles)('leaves the AWS SDK of the %s bundle to the runtime', (name) => {
    const code = readFileSync(join(bundleOf(name), 'index.mjs'), 'utf8');
    // Bundled SDK clients would carry their service endpoint rulesets.
    expect(code).not.toMatch(/endpointRuleSet|"ruleset"/);
  });
});
