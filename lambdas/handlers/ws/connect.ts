import { SIGNALS_PARAMETER } from '../../../protocol/index.js';
import { UnauthorizedError } from '../../core/errors.js';
import { metrics } from '../../core/metrics.js';
import { contextIdentity, wsRoute } from '../shared/websocket.js';

/** `$connect`: the authorizer vouched for the user; record the socket in its room. */
export const handler = wsRoute(async (event, { chat }) => {
  const connection = contextIdentity(event.requestContext.authorizer);
  if (!connection) throw new UnauthorizedError();
  // `?batch=1`: the client reads `{"type":"batch"}` frames (fewer API Gateway messages).
  const batched = event.queryStringParameters?.batch === '1';
  // `?signals=1`: the client asked for presence, typing and read frames (both URL shapes, tickets too).
  const signals = event.queryStringParameters?.[SIGNALS_PARAMETER] === '1';
  await chat.join(connection.room, connection.identity, event.requestContext.connectionId, {
    batched,
    signals,
  });
  metrics.count('ConnectionsOpened');
  return { statusCode: 200 };
});
