import { httpRoute } from '../shared/http.js';
import { memberList } from '../shared/members.js';

/** `POST /talk/unsubscribe/{room}/` (service key): removes members and closes their sockets. */
export const handler = httpRoute('unsubscribe', async (request, { chat }) => {
  const room = request.room();
  return chat.removeMembers(room, memberList(request));
});
