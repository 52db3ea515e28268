import { readMentions } from '../../../protocol/index.js';
import { httpRoute } from '../shared/http.js';

/**
 * `POST /talk/item/{room}/?type=T[&mentions=u1,u2][&parentId=<root id>]`: injects the JSON body
 * into the room, naming the users it mentions (a reply in the thread of `parentId`). A user token makes the
 * user the author; the service key (`Bearer`) injects as the backend. `Idempotency-Key` makes a
 * retried request store the message once.
 */
export const handler = httpRoute(
  'item',
  async (request, { chat }) => {
    const room = request.room();
    request.contentKind(['json']);
    return chat.inject(
      room,
      request.caller.kind === 'user' ? request.caller.identity : null,
      request.query('type'),
      request.body(),
      request.header('idempotency-key'),
      {
        mentions: readMentions(request.query('mentions')?.split(',')),
        parentId: request.query('parentId'),
      },
    );
  },
  201,
  { carriesMessage: true },
);
