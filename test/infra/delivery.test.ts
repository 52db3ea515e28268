import { ContextError, parseContext } from '../../infra/context-schema.js';
import { profiles } from '../../infra/stack-profiles.js';
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
  let prod: Synthesized;
  let reserved: Synthesized;
  beforeAll(() => {
    dev = synth();
    prod = synth({ profile: 'prod' });
    reserved = synth({ deliverConcurrency: '40' });
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

  const reservation = (deployment: Synthesized) =>
    resources(deployment)[functionId(deployment, delivery.name)].Properties.ReservedConcurrentExecutions;
  const fanoutVariables = (deployment: Synthesized) =>
    resources(deployment)[functionId(deployment, delivery.invokedBy)].Properties.Environment.Variables;

  it('reserves nothing by default, in either profile, so it deploys on an account with a small quota', () => {
    expect(reservation(dev)).toBeUndefined();
    expect(reservation(prod)).toBeUndefined();
    expect(profiles.prod.deliveryConcurrency).toBeUndefined();
  });

  it('reserves the concurrency -c deliverConcurrency asks for', () => {
    expect(reservation(reserved)).toBe(40);
  });

  it('tells the fan-out the concurrency its slices must keep within: the reservation, else 100', () => {
    expect(fanoutVariables(reserved).HIPOCHAT_DELIVERY_CONCURRENCY).toBe('40');
    expect(fanoutVariables(prod).HIPOCHAT_DELIVERY_CONCURRENCY).toBe('100');
  });

  it.each([
    [{ deliverConcurrency: '0' }, '-c deliverConcurrency must be an integer from 1 to 10000, got 0'],
    [{ deliverConcurrency: 'lots' }, '-c deliverConcurrency must be an integer from 1 to 10000, got "lots"'],
    [
      { deliverConcurrency: '3', shards: '8' },
      '-c deliverConcurrency must be at least the shard count (8): each shard runs at least one slice at a time',
    ],
  ])('refuses -c %j at synth, naming the key', (context, message) => {
    expect(() => parseContext(context)).toThrow(new ContextError(message));
  });
});
