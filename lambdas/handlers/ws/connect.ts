import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { toHttpError } from '../../core/errors.js';
import { logger } from '../../core/logger.js';
import { runtime } from '../../core/runtime.js';
import { contextIdentity, type WebSocketEvent } from '../shared/websocket.js';

/** `$connect`: the authorizer vouched for the user; record the socket in its room. */
export const handler = async (event: WebSocketEvent): Promise<APIGatewayProxyResultV2> => {
  const connection = contextIdentity(event.requestContext.authorizer);
  if (!connection) return { statusCode: 401, body: 'authentication error' };
  try {
    // `?batch=1`: the client reads `{"type":"batch"}` frames (fewer API Gateway messages).
    const batched = event.queryStringParameters?.batch === '1';
    await (await runtime()).chat.join(
      connection.room,
      connection.identity,
      event.requestContext.connectionId,
      {
        batched,
      },
    );
    return { statusCode: 200 };
  } catch (error) {
    const failure = toHttpError(error);
    if (failure.statusCode >= 500) logger.error('connect failed', { room: connection.room, error });
    return { statusCode: failure.statusCode, body: failure.message };
  }
};
