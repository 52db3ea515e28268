import type { RestrictionKind } from '../../../protocol/index.js';
import { BadRequestError } from '../../core/errors.js';
import { appendLogKeys } from '../../core/logger.js';
import { parseRoom } from '../../core/protocol.js';
import { type HttpRequest, httpRoute } from './http.js';

/**
 * The room and user of a `{path+}` of `<room>/<user id>/` (Hipochat's one trailing slash); a room
 * name holds no `/`, so the user id is the rest.
 *
 * @throws BadRequestError when either is missing or the room name is invalid
 */
export function roomAndUser(request: HttpRequest): { room: string; user: string } {
  const path = request.event.pathParameters?.path ?? '';
  const slash = path.indexOf('/');
  const user = slash < 0 ? '' : path.slice(slash + 1).replace(/\/$/, '');
  if (user.length === 0) throw new BadRequestError('path must be <room>/<user id>/');
  const room = parseRoom(path.slice(0, slash));
  appendLogKeys({ room });
  return { room, user };
}

/**
 * The handler of `POST /talk/<kind>/{room}/{user}/` (service key) with `{"seconds": n}`: puts the
 * mute or ban on the user, or lifts it with 0; answers a `RestrictionAnswer`.
 */
export function restrictionRoute(name: string, kind: RestrictionKind) {
  return httpRoute(name, async (request, { moderation }) => {
    const { room, user } = roomAndUser(request);
    request.contentKind(['json']);
    return moderation.restrict(room, user, kind, request.body());
  });
}
