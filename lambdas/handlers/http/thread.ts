import { BadRequestError } from '../../core/errors.js';
import { parseRoom } from '../../core/protocol.js';
import { httpRoute } from '../shared/http.js';
import { limitOf } from '../shared/query.js';

/**
 * `GET /talk/thread/{room}/{root id}/[?limit=N][&before=<id>]`: the root and the newest replies that
 * fit one answer, oldest first, with `page`; the newest page marks the thread read for the caller.
 */
export const handler = httpRoute('thread', async (request, { threads }) => {
  const path = (request.event.pathParameters?.path ?? '').replace(/\/$/, '');
  const cut = path.lastIndexOf('/');
  if (cut < 0) throw new BadRequestError('the path must be /talk/thread/<room>/<root id>/');
  return threads.thread(parseRoom(path.slice(0, cut)), request.identity(), path.slice(cut + 1), {
    limit: limitOf(request.query('limit')),
    before: request.query('before'),
  });
});
