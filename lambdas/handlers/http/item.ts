import { httpRoute } from '../shared/http.js';
import { serviceCredential } from '../shared/members.js';

/**
 * `POST /talk/item/{room}/?type=T`: injects the JSON body into the room. A user token makes the
 * user the author; the service key (`Bearer`) injects as the backend, and a wrong one is a 401. `Idempotency-Key` makes a
 * retried request store the message once.
 */
export const handler = httpRoute(
  async (request, { chat }) => {
    const room = request.room();
    request.contentKind(['json']);
    // A Bearer is a backend claiming the service key: compared with it, never sent to the profile endpoint.
    const bearer = serviceCredential(request);
    if (bearer !== undefined) chat.assertBackend(bearer);
    const identity = bearer === undefined ? await request.identity(chat) : null;
    return chat.inject(
      room,
      identity,
      request.query('type'),
      request.body(),
      request.header('idempotency-key'),
    );
  },
  201,
  { carriesMessage: true },
);
