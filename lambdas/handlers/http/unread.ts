import { httpRoute } from '../shared/http.js';

/**
 * `POST /talk/unread/{room}/` with `{"id":"<message id>"}`: the caller's read mark moves to just
 * before that message; answers `{"room","lastRead","notification","mentions"}`, 404 for an id that
 * is no message of the room.
 */
export const handler = httpRoute('unread', async (request, { unread }) => {
  const room = request.room();
  request.contentKind(['json']);
  return unread.markUnread(room, request.identity(), request.body());
});
