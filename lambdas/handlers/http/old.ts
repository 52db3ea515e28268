import { httpRoute } from '../shared/http.js';
import { limitOf } from '../shared/query.js';

/**
 * `GET /talk/old/{room}/[?limit=N][&before=<id>][&since=<id>][&mark=0]`: the newest messages that
 * fit one answer, split into read and unread, with `page` saying whether older ones exist; a page
 * without `before` marks the room read, unless `mark=0` (the reader is not looking).
 */
export const handler = httpRoute('old', async (request, { chat }) => {
  return chat.old(request.room(), request.identity(), {
    since: request.query('since'),
    before: request.query('before'),
    limit: limitOf(request.query('limit')),
    markRead: request.query('mark') !== '0',
  });
});
