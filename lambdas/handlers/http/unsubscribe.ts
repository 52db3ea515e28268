import { httpRoute } from '../shared/http.js';
import { memberList, serviceCredential } from '../shared/members.js';

/** `POST /talk/unsubscribe/{room}/` (service key): removes members and closes their sockets. */
export const handler = httpRoute(async (request, { chat }) => {
  const room = request.room();
  chat.assertService(serviceCredential(request));
  return chat.removeMembers(room, memberList(request));
});
