import { httpRoute } from '../shared/http.js';

/**
 * `GET /talk/receipts/{room}/`: `{"room", "receipts": [{"user": <public profile>, "lastRead": <id>}, …]}`,
 * each member's read mark, the most recent reader first.
 */
export const handler = httpRoute(async (request, { chat, signals }) => {
  const room = request.room();
  return signals.receipts(room, await request.identity(chat));
});
