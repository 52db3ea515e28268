import { BadRequestError, ForbiddenError } from '../../core/errors.js';
import { appendLogKeys } from '../../core/logger.js';
import { parseRoom } from '../../core/protocol.js';
import { authorizerRoute } from '../shared/authorizer.js';

/**
 * `$connect` REQUEST authorizer: `?room=` plus `?token=` (Hipochat) or a single-use `?ticket=`;
 * or `?rooms=r1,r2` (or neither) and `?token=` for a connection that follows rooms by subscribing.
 * A refused credential answers 401; a bad room name, a closed room or too many rooms answers 403.
 * A ban is `$connect`'s to check: it reads the store, whose outage answers 503 there.
 */
export const handler = authorizerRoute(async (event, { chat, config }) => {
  const query = event.queryStringParameters ?? {};
  if (query.room !== undefined) {
    const room = parseRoom(query.room);
    appendLogKeys({ room });
    const identity = await chat.identify(room, { token: query.token, ticket: query.ticket });
    appendLogKeys({ userId: identity.userId });
    await chat.assertAllowed(room, identity.userId);
    return { room, userId: identity.userId, profile: JSON.stringify(identity.profile) };
  }
  const rooms = [...new Set((query.rooms ?? '').split(',').filter(Boolean))].map((room) => parseRoom(room));
  if (rooms.length > config.maxRoomsPerConnection) {
    throw new ForbiddenError(`at most ${config.maxRoomsPerConnection} rooms per connection`);
  }
  // A ticket is for one room: it opens a follower of exactly that room.
  if (query.ticket && rooms.length !== 1) throw new BadRequestError('a ticket connects to its one room');
  const identity = await chat.identify(rooms[0] ?? '', { token: query.token, ticket: query.ticket });
  appendLogKeys({ userId: identity.userId });
  await Promise.all(rooms.map((room) => chat.assertAllowed(room, identity.userId)));
  return { rooms: rooms.join(','), userId: identity.userId, profile: JSON.stringify(identity.profile) };
});
