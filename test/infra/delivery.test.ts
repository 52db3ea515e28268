import { profiles } from '../../infra/stack-config.js';
import { routes } from '../../lambdas/routes.js';
import {
  type Json,
  logicalId,
  resources,
  roleStatements,
  SYNTH_TIMEOUT_MS,
  type Synthesized,
  synth,
} from './synth.js';

const delivery = routes.find((route) => route.kind === 'invoke')!;

function functionId(deployment: Synthesized, name: string): string {
  return logicalId(deployment, deployment.stack.functions.get(name)!);
}

const invokes = (statement: Json) =>
  [statement.Action].flat().some((action: string) => action.startsWith('lambda:'));

describe('The delivery function (fan-out slices of big rooms)', () => {
  let dev: Synthesized;
  let reserved: Synthesized;
  beforeAll(() => {
    dev = synth();
    reserved = synth({ deliveryConcurrency: '40' });
  }, SYNTH_TIMEOUT_MS);

  it('is a route of the routes table, invoked by the fan-out', () => {
    expect(delivery).toMatchObject({ name: 'deliver', invokedBy: 'fanout', managesConnections: true });
  });

  it('deploys with one full vCPU (1,769 MB) and 30 s, half the fan-out timeout that waits for it', () => {
    const properties = resources(dev)[functionId(dev, delivery.name)].Properties;
    expect(properties).toMatchObject({ MemorySize: 1769, Timeout: 30 });
    expect(resources(dev)[functionId(dev, 'fanout')].Properties.Timeout).toBe(60);
  });

  it('lets the fan-out, and no other function, invoke exactly the delivery function', () => {
    const deliveryArn = { 'Fn::GetAtt': [functionId(dev, delivery.name), 'Arn'] };
    for (const route of routes) {
      const statements = roleStatements(dev, functionId(dev, route.name)).filter(invokes);
      if (route.name !== delivery.invokedBy) {
        expect(statements).toEqual([]);
        continue;
      }
      expect(statements).toEqual([
        expect.objectContaining({ Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: deliveryArn }),
      ]);
    }
  });

  it('names the delivery function to the fan-out only', () => {
    for (const route of routes) {
      const variables = resources(dev)[functionId(dev, route.name)].Properties.Environment.Variables;
      expect(variables.HIPOCHAT_DELIVERY_FUNCTION).toEqual(
        route.name === delivery.invokedBy ? { Ref: functionId(dev, delivery.name) } : undefined,
      );
    }
  });

  it('reserves the concurrency -c deliveryConcurrency asks for (prod: 100), dev shares the pool', () => {
    expect(
      resources(dev)[functionId(dev, delivery.name)].Properties.ReservedConcurrentExecutions,
    ).toBeUndefined();
    expect(
      resources(reserved)[functionId(reserved, delivery.name)].Properties.ReservedConcurrentExecutions,
    ).toBe(40);
    expect(profiles.prod.deliveryConcurrency).toBe(100);
  });
});
