import { metrics } from '../../core/metrics.js';
import { contextIdentity, wsRoute } from '../shared/websocket.js';

/**
 * `$disconnect` (best effort): forget the socket, mark the room read up to now (every room, for a
 * connection that follows several). A failure still answers 200: the records expire and the
 * fan-out drops the connection on its first 410.
 */
export const handler = wsRoute(
  async (event, { chat, rooms }) => {
    // The socket is gone whether or not the cleanup below succeeds.
    metrics.count('ConnectionsClosed');
    const { connectionId, requestTimeEpoch } = event.requestContext;
    const room = contextIdentity(event.requestContext.authorizer)?.room;
    // requestTimeEpoch is when API Gateway saw the socket close, not when this runs.
    if (room || !(await rooms.close(connectionId, requestTimeEpoch))) {
      await chat.leave(room, connectionId, requestTimeEpoch);
    }
    return { statusCode: 200 };
  },
  () => ({ statusCode: 200 }),
);
