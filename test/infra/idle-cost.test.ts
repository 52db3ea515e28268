import type { IdleCost } from '../../infra/cost/idle-cost.js';
import { IDLE_GOALS, idleCostOfProfiles } from '../../infra/cost/profiles.js';
import { projectRoot, SYNTH_TIMEOUT_MS } from './synth.js';

describe('npm run cost (idle cost of the synthesized profiles)', () => {
  let costs: IdleCost[];
  beforeAll(() => {
    costs = idleCostOfProfiles(projectRoot);
  }, SYNTH_TIMEOUT_MS);

  it('prices dev and prod, each total the sum of its parts', () => {
    expect(costs.map((cost) => cost.profile)).toEqual(['dev', 'prod']);
    for (const cost of costs) {
      const sum = Object.values(cost.parts).reduce((total, usd) => total + usd, 0);
      expect(Math.abs(sum - cost.usdPerMonth)).toBeLessThan(0.05);
    }
  });

  it.each(['dev', 'prod'] as const)('keeps %s idle within its goal', (profile) => {
    const cost = costs.find((candidate) => candidate.profile === profile)!;
    expect(cost.usdPerMonth).toBeLessThanOrEqual(IDLE_GOALS[profile]);
  });

  it('bills prod for a three-node broker, NAT gateways in both AZs and the endpoint in both AZs', () => {
    const prod = costs.find((cost) => cost.profile === 'prod')!;
    // 3 × 0.2734 × 730, 2 × 0.045 × 730, 2 × 0.01 × 730
    expect(prod.parts).toMatchObject({ broker: 598.75, natGateways: 65.7, interfaceEndpoints: 14.6 });
  });
});
