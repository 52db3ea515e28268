import { httpRoute } from '../shared/http.js';

/** `POST /talk/ticket/{room}/`: a single-use connect ticket (`?ticket=`), valid 30 seconds. */
export const handler = httpRoute(
  'ticket',
  async (request, { chat }) => {
    const room = request.room();
    return chat.ticket(room, request.identity());
  },
  201,
);
