import { httpRoute } from '../shared/http.js';

/** `GET /talk/presence/{room}/`: `{"room", "online": [<public profile>, …]}`, each user once. */
export const handler = httpRoute('presence', async (request, { signals }) => {
  const room = request.room();
  return signals.presence(room, request.identity());
});
