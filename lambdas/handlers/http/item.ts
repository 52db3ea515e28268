import { httpRoute } from '../shared/http.js';
import { serviceCredential } from '../shared/members.js';

/**
 * `POST /talk/item/{room}/?type=T`: injects the JSON body into the room. A user token makes the
 * user the author; the service key (`Bearer`) injects as the backend. `Idempotency-Key` makes a
 * retried request store the message once.
 */
export const handler = httpRoute(async (request, { chat }) => {
  const room = request.room();
  request.contentKind(['json']);
  const identity = chat.isService(serviceCredential(request)) ? null : await request.identity(chat);
  return chat.inject(
    room,
    identity,
    request.query('type'),
    request.body(),
    request.header('idempotency-key'),
  );
}, 201);
