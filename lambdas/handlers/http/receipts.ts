import { httpRoute } from '../shared/http.js';

/**
 * `GET /talk/receipts/{room}/`: `{"room", "receipts": [{"user": <public profile>, "lastRead": <id>}, …]}`,
 * each member's read mark, the most recent reader first.
 */
export const handler = httpRoute('receipts', async (request, { signals }) => {
  const room = request.room();
  return signals.receipts(room, request.identity());
});
