import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CostTemplate, idleCost, UnpricedResourceError } from '../../infra/cost/idle-cost.js';
import { IDLE_PRICES, priceSources } from '../../infra/cost/prices.js';

/** A template with one of every priced resource, its bill worked out by hand below. */
const fixture = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'idle-cost-template.json'), 'utf8'),
) as CostTemplate;

describe('idle cost of a template', () => {
  it('prices every idle resource of the hand-checked fixture', () => {
    expect(idleCost('fixture', fixture)).toEqual({
      profile: 'fixture',
      // 598.746 + 43.508 + 32.85 + 3.706 + 7.30 + 14.60 + 1.20 + 0.40 + 3.00 + 0.25
      usdPerMonth: 705.56,
      parts: {
        // 3 nodes × 0.2734 × 730
        broker: 598.75,
        // 2 shards × 2 nodes × 0.0128 × 730 = 37.376, plus serverless 0.1 GB × 0.084 × 730 = 6.132
        cache: 43.51,
        // 0.045 × 730
        natGateways: 32.85,
        // 0.0042 × 730 = 3.066, plus 8 GB gp3 × 0.08 = 0.64
        natInstances: 3.71,
        // the NAT gateway's address and the NAT instance's (public subnet): 2 × 0.005 × 730
        publicIpv4: 7.3,
        // one interface endpoint in 2 AZs: 2 × 0.01 × 730; the gateway endpoint is free
        interfaceEndpoints: 14.6,
        secrets: 1.2,
        alarms: 0.4,
        dashboards: 3,
        // assumed 0.5 GB ingested × 0.50
        logs: 0.25,
      },
    });
  });

  it('bills one node for a single-instance broker', () => {
    const single: CostTemplate = {
      Resources: {
        Broker: {
          Type: 'AWS::AmazonMQ::Broker',
          Properties: { HostInstanceType: 'mq.t3.micro', DeploymentMode: 'SINGLE_INSTANCE' },
        },
      },
    };
    // 0.027 × 730
    expect(idleCost('single', single).parts.broker).toBe(19.71);
  });

  it('refuses an instance type the price table lacks instead of pricing it at zero', () => {
    const unknown: CostTemplate = {
      Resources: {
        Broker: { Type: 'AWS::AmazonMQ::Broker', Properties: { HostInstanceType: 'mq.m7g.medium' } },
      },
    };
    expect(() => idleCost('unknown', unknown)).toThrow(UnpricedResourceError);
    expect(() => idleCost('unknown', unknown)).toThrow('no price for broker instance type "mq.m7g.medium"');
  });

  it('dates its price table and names a source for every price', () => {
    expect(IDLE_PRICES.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(priceSources().length).toBeGreaterThan(5);
    for (const source of priceSources()) expect(source).toMatch(/\d{4}|read/);
  });
});
