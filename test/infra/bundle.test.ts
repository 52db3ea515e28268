import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { ESM_REQUIRE_BANNER } from '../../infra/constructs/chat-function.js';
import { routes } from '../../lambdas/routes.js';
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

  it.each(bundles)('leaves the AWS SDK of the %s bundle to the runtime', (name) => {
    const code = readFileSync(join(bundleOf(name), 'index.mjs'), 'utf8');
    // Bundled SDK clients would carry their service endpoint rulesets.
    expect(code).not.toMatch(/endpointRuleSet|"ruleset"/);
  });
});
