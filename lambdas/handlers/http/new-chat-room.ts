import { httpRoute } from '../shared/http.js';
import { memberList } from '../shared/members.js';

/** `POST /talk/new-chat-room/{room}/` (service key): adds members to the room. */
export const handler = httpRoute('new-chat-room', async (request, { chat }) => {
  const room = request.room();
  return chat.addMembers(room, memberList(request));
});
