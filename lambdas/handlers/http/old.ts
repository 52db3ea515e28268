import { httpRoute } from '../shared/http.js';

/** `GET /talk/old/{room}/[?since=<id>]`: history split into read and unread; marks it read. */
export const handler = httpRoute(async (request, { chat }) =>
  chat.old(request.room(), await request.identity(chat), request.query('since')),
);
