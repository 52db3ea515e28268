import { appendLogKeys } from '../../core/logger.js';
import { parseRoom } from '../../core/protocol.js';
import { authorizerRoute } from '../shared/authorizer.js';

/**
 * `$connect` REQUEST authorizer: `?room=` plus `?token=` (Hipochat) or a single-use `?ticket=`.
 * A refused credential answers 401; a bad room name or a closed room answers 403.
 */
export const handler = authorizerRoute(async (event, { chat }) => {
  const query = event.queryStringParameters ?? {};
  const room = parseRoom(query.room);
  appendLogKeys({ room });
  const identity = await chat.identify(room, { token: query.token, ticket: query.ticket });
  appendLogKeys({ userId: identity.userId });
  await chat.assertAllowed(room, identity.userId);
  return { room, userId: identity.userId, profile: JSON.stringify(identity.profile) };
});
