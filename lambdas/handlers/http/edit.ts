import { httpRoute } from '../shared/http.js';

/**
 * `POST /talk/edit/{room}/` (service key) with `{"id":"…","body":<JSON>}`: the backend edits any
 * message of the room (moderation); 200 with the new version, 404 for an unknown id.
 * `Idempotency-Key` makes a retried request change the message once.
 */
export const handler = httpRoute('edit', async (request, { edits }) => {
  const room = request.room();
  request.contentKind(['json']);
  return edits.backendEdit(room, request.body(), request.header('idempotency-key'));
});
