import { httpRoute } from '../shared/http.js';
import { limitOf } from '../shared/query.js';

/** `GET /talk/threads/{room}/[?limit=N]`: the room's threads, latest activity first. */
export const handler = httpRoute('threads', async (request, { threads }) =>
  threads.threads(request.room(), request.identity(), limitOf(request.query('limit'))),
);
