import { httpRoute } from '../shared/http.js';
import { limitOf } from '../shared/query.js';

/**
 * `GET /talk/receipts/{room}/[?limit=N][&after=<next>]`: `{"room", "receipts": [{"user": <public
 * profile>, "lastRead": <id>}, …], "next": <cursor>|null}`, one page of the members' read marks,
 * the most recent reader first within the page; `next` is the `after` of the next page.
 */
export const handler = httpRoute('receipts', async (request, { signals }) => {
  const room = request.room();
  return signals.receipts(room, request.identity(), {
    limit: limitOf(request.query('limit')),
    after: request.query('after'),
  });
});
