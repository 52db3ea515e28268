import { httpRoute } from '../shared/http.js';

/** `GET /talk/notification/{room}/`: `{"notification": <unread count>}`. */
export const handler = httpRoute(async (request, { chat }) => ({
  notification: await chat.notification(request.room(), await request.identity(chat)),
}));
