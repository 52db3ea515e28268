import { routes } from '../../lambdas/routes.js';
import { lambdaContext, localFunctionConfig } from '../../local/lambda-context.js';

describe('local Lambda context', () => {
  const oldRoute = routes.find((route) => route.name === 'old')!;

  it('gives every invocation its own request id, in the same log stream', () => {
    // Prepare
    const config = localFunctionConfig(oldRoute);

    // Act
    const contexts = Array.from({ length: 50 }, () => lambdaContext(config));

    // Assess
    expect(new Set(contexts.map((c) => c.awsRequestId)).size).toBe(50);
    for (const context of contexts) {
      expect(context.awsRequestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    expect(new Set(contexts.map((c) => c.logStreamName))).toEqual(new Set([config.logStreamName]));
  });

  it.each(routes.map((route) => [route.name, route]))(
    'names the function of route %s after it',
    (name, route) => {
      // Act
      const context = lambdaContext(localFunctionConfig(route));

      // Assess
      expect(context).toMatchObject({
        functionName: `hipochat-local-${name}`,
        functionVersion: '$LATEST',
        invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:hipochat-local-${name}`,
        logGroupName: `/aws/lambda/hipochat-local-${name}`,
        callbackWaitsForEmptyEventLoop: true,
      });
      expect(context.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
      expect(() => context.succeed('ignored')).not.toThrow();
    },
  );

  it.each([
    ['fanout', 60_000, '1024'],
    ['deliver', 30_000, '1769'],
    ['old', 10_000, '512'],
    ['message', 10_000, '512'],
  ])('gives %s the timeout and memory the stack deploys it with', (name, timeoutMs, memory) => {
    // Prepare
    const route = routes.find((r) => r.name === name)!;
    const now = 1_700_000_000_000;

    // Act
    const context = lambdaContext(localFunctionConfig(route), () => now);

    // Assess
    expect(context.getRemainingTimeInMillis()).toBe(timeoutMs);
    expect(context.memoryLimitInMB).toBe(memory);
  });

  it('counts the remaining time down to zero, never below', () => {
    // Prepare
    let now = 1_700_000_000_000;
    const context = lambdaContext(localFunctionConfig(oldRoute), () => now);
    const start = context.getRemainingTimeInMillis();

    // Act
    now += 2_500;
    const later = context.getRemainingTimeInMillis();
    now += 60_000;
    const expired = context.getRemainingTimeInMillis();

    // Assess
    expect(later).toBe(start - 2_500);
    expect(expired).toBe(0);
  });
});
