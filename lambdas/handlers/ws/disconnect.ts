import { metrics } from '../../core/metrics.js';
import { contextIdentity, wsRoute } from '../shared/websocket.js';

/**
 * `$disconnect` (best effort): forget the socket, mark the room read up to now. A failure still
 * answers 200: the record expires and the fan-out drops the connection on its first 410.
 */
export const handler = wsRoute(
  async (event, { chat }) => {
    // The socket is gone whether or not the cleanup below succeeds.
    metrics.count('ConnectionsClosed');
    // requestTimeEpoch is when API Gateway saw the socket close, not when this runs.
    await chat.leave(
      contextIdentity(event.requestContext.authorizer)?.room,
      event.requestContext.connectionId,
      event.requestContext.requestTimeEpoch,
    );
    return { statusCode: 200 };
  },
  () => ({ statusCode: 200 }),
);
