import { httpRoute } from '../shared/http.js';

/**
 * `GET /talk/receipts/{room}/[?limit=N][&after=<next>]`: `{"room", "receipts": [{"user": <public
 * profile>, "lastRead": <id>}, …], "next": <cursor>|null}`, one page of the members' read marks,
 * the most recent reader first within the page; `next` is the `after` of the next page.
 */
export const handler = httpRoute('receipts', async (request, { signals }) => {
  const room = request.room();
  const rawLimit = request.query('limit');
  return signals.receipts(room, request.identity(), {
    // Not a number is NaN, which the service refuses with the allowed range.
    limit: rawLimit === undefined ? undefined : /^\d{1,7}$/.test(rawLimit) ? Number(rawLimit) : Number.NaN,
    after: request.query('after'),
  });
});
