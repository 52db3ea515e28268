import { httpRoute } from '../shared/http.js';

/**
 * `POST /talk/delete/{room}/` (service key) with `{"id":"…"}`: the backend deletes any message of
 * the room (moderation); 200 with its tombstone, 404 for an unknown id.
 * `Idempotency-Key` makes a retried request change the message once.
 */
export const handler = httpRoute('delete', async (request, { edits }) => {
  const room = request.room();
  request.contentKind(['json']);
  return edits.backendDelete(room, request.body(), request.header('idempotency-key'));
});
