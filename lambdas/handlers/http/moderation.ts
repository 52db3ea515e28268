import { httpRoute } from '../shared/http.js';

/** `GET /talk/moderation/{room}/` (service key): the room's mutes and bans in force, soonest end first. */
export const handler = httpRoute('moderation', async (request, { moderation }) =>
  moderation.list(request.room()),
);
