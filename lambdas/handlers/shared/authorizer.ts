import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { metrics } from '../../core/metrics.js';
import { type Runtime, runtime } from '../../core/runtime.js';
import { type LambdaHandler, lambdaHandler } from './invocation.js';
import type { ConnectionContext } from './websocket.js';

function policy(
  principalId: string,
  effect: 'Allow' | 'Deny',
  resource: string,
  context?: ConnectionContext,
): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }],
    },
    ...(context ? { context: { ...context } } : {}),
  };
}

/**
 * Wraps the `$connect` REQUEST authorizer: `work` returns the context of a connection it allows,
 * which API Gateway hands to the later routes. A 401 failure throws `Unauthorized` (API Gateway
 * answers 401), any other 4xx is a Deny policy (403), a 5xx fails the invocation (500). Both
 * refusals count in `AuthRefused`.
 */
export function authorizerRoute(
  work: (event: APIGatewayRequestAuthorizerEvent, rt: Runtime) => Promise<ConnectionContext>,
): LambdaHandler<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult> {
  return lambdaHandler({
    keys: (event) => ({ route: 'authorizer', connectionId: event.requestContext?.connectionId }),
    run: async (event) => {
      const context = await work(event, await runtime());
      return policy(context.userId, 'Allow', event.methodArn, context);
    },
    fail: (failure, event, error) => {
      if (failure.statusCode === 401) throw new Error('Unauthorized');
      if (failure.statusCode < 500) {
        // A 401 is counted by the core; a Deny (403) is a refused connection too.
        metrics.count('AuthRefused');
        return policy('anonymous', 'Deny', event.methodArn);
      }
      throw error;
    },
  });
}
