import { restrictionRoute } from '../shared/restriction.js';

/**
 * `POST /talk/ban/{room}/{user}/` (service key) with `{"seconds": n}`: closes the user's
 * connections to the room and refuses their connects, subscribes, sends and history reads there
 * (403, reason `banned`) until it ends; `0` lifts it. Answers how many connections it closed.
 */
export const handler = restrictionRoute('ban', 'ban');
