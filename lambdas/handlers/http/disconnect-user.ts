import { httpRoute } from '../shared/http.js';

/**
 * `POST /talk/disconnect/{user}/` (service key): closes every connection of the user in every room,
 * what a backend calls after revoking a token; `{"user", "disconnected": <n>}`.
 */
export const handler = httpRoute('disconnect-user', async (request, { signals }) => {
  // Hipochat's one trailing slash; API Gateway has decoded the rest.
  const user = (request.event.pathParameters?.user ?? '').replace(/\/$/, '');
  return signals.disconnectUser(user);
});
