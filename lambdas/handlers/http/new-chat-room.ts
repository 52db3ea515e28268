import { httpRoute } from '../shared/http.js';
import { memberList, serviceCredential } from '../shared/members.js';

/** `POST /talk/new-chat-room/{room}/` (service key): adds members to the room. */
export const handler = httpRoute(async (request, { chat }) => {
  const room = request.room();
  chat.assertService(serviceCredential(request));
  return chat.addMembers(room, memberList(request));
});
