import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { HttpError } from '../../core/errors.js';
import { logger } from '../../core/logger.js';
import { parseRoom } from '../../core/protocol.js';
import { runtime } from '../../core/runtime.js';
import type { ConnectionContext } from '../shared/websocket.js';

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
 * `$connect` REQUEST authorizer: `?room=` plus `?token=` (Hipochat) or a single-use `?ticket=`.
 * Throwing `Unauthorized` makes API Gateway answer 401; a Deny policy answers 403.
 */
export const handler = async (
  event: APIGatewayRequestAuthorizerEvent,
): Promise<APIGatewayAuthorizerResult> => {
  const query = event.queryStringParameters ?? {};
  const rt = await runtime();
  let room: string;
  try {
    room = parseRoom(query.room);
  } catch {
    return policy('anonymous', 'Deny', event.methodArn);
  }
  try {
    const identity = await rt.chat.identify(room, { token: query.token, ticket: query.ticket });
    await rt.chat.assertAllowed(room, identity.userId);
    return policy(identity.userId, 'Allow', event.methodArn, {
      room,
      userId: identity.userId,
      profile: JSON.stringify(identity.profile),
    });
  } catch (error) {
    if (error instanceof HttpError && error.statusCode === 401) throw new Error('Unauthorized');
    if (error instanceof HttpError && error.statusCode === 403)
      return policy('anonymous', 'Deny', event.methodArn);
    logger.error('authorizer failed', { room, error });
    throw error;
  }
};
