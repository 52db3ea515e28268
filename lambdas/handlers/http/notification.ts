import { httpRoute } from '../shared/http.js';

/** `GET /talk/notification/{room}/`: `{"notification": <unread count>, "mentions": <mentions of the caller>}`. */
export const handler = httpRoute('notification', async (request, { unread }) =>
  unread.notification(request.room(), request.identity()),
);
