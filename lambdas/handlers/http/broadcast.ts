import { httpRoute } from '../shared/http.js';

/**
 * `POST /talk/broadcast/?type=T` (service key) with `{"rooms": [...], "body": <json>}`: one message
 * per room as the backend; 201 `{"messages": [{"room", "id"}, ...]}` (ids, never bodies). The rooms travel in the body, since `,` is
 * legal in a room name. `Idempotency-Key` counts in each room, so a retried call stores nothing twice.
 */
export const handler = httpRoute(
  'broadcast',
  async (request, { signals }) => {
    request.contentKind(['json']);
    return signals.broadcast(request.query('type'), request.body(), request.header('idempotency-key'));
  },
  201,
  { carriesMessage: true },
);
