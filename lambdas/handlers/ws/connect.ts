import { SIGNALS_PARAMETER, UNREAD_PARAMETER } from '../../../protocol/index.js';
import { UnauthorizedError } from '../../core/errors.js';
import { metrics } from '../../core/metrics.js';
import { contextIdentity, wsRoute } from '../shared/websocket.js';

/** `$connect`: the authorizer vouched for the user; record the socket in its room (or rooms). */
export const handler = wsRoute(async (event, { chat, rooms }) => {
  const context = event.requestContext.authorizer;
  const connection = contextIdentity(context);
  // `?batch=1`: the client reads `{"type":"batch"}` frames (fewer API Gateway messages).
  const batched = event.queryStringParameters?.batch === '1';
  // `?signals=1`: the client asked for presence, typing and read frames (both URL shapes, tickets too).
  const signals = event.queryStringParameters?.[SIGNALS_PARAMETER] === '1';
  const userId = connection?.identity.userId ?? context?.userId;
  if (!userId) throw new UnauthorizedError();
  const followed = (context?.rooms ?? '').split(',').filter(Boolean);
  // Bans are checked here, not in the authorizer: an outage of the store they live in then
  // answers 503 like every other `$connect` failure, where an authorizer error is an opaque 500.
  await Promise.all(
    (connection ? [connection.room] : followed).map((room) =>
      chat.moderation.assertNotBanned(room, userId, 'connect'),
    ),
  );
  await chat.admitConnection(userId);
  if (connection) {
    await chat.join(connection.room, connection.identity, event.requestContext.connectionId, {
      batched,
      signals,
    });
  } else {
    // No room: a connection that follows the rooms of `?rooms=` and those it subscribes to later.
    const identity = { userId, profile: JSON.parse(context?.profile ?? '{}') };
    const unread = event.queryStringParameters?.[UNREAD_PARAMETER] === '1';
    await rooms.open(identity, event.requestContext.connectionId, followed, { batched, signals, unread });
  }
  metrics.count('ConnectionsOpened');
  return { statusCode: 200 };
});
