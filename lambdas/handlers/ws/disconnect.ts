import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { logger } from '../../core/logger.js';
import { runtime } from '../../core/runtime.js';
import { contextIdentity, type WebSocketEvent } from '../shared/websocket.js';

/** `$disconnect` (best effort): forget the socket, mark the room read up to now. */
export const handler = async (event: WebSocketEvent): Promise<APIGatewayProxyResultV2> => {
  const room = contextIdentity(event.requestContext.authorizer)?.room;
  try {
    // requestTimeEpoch is when API Gateway saw the socket close, not when this runs.
    await (await runtime()).chat.leave(
      room,
      event.requestContext.connectionId,
      event.requestContext.requestTimeEpoch,
    );
  } catch (error) {
    // The record expires and the fan-out drops it on the first 410.
    logger.warn('disconnect cleanup failed', { room, error });
  }
  return { statusCode: 200 };
};
