import { httpRoute } from '../shared/http.js';

/** `GET /talk/notification/{room}/`: `{"notification": <unread count>}`. */
export const handler = httpRoute('notification', async (request, { chat }) => ({
  notification: await chat.notification(request.room(), request.identity()),
}));
