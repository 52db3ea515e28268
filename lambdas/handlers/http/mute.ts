import { restrictionRoute } from '../shared/restriction.js';

/**
 * `POST /talk/mute/{room}/{user}/` (service key) with `{"seconds": n}`: the user's messages,
 * replies, edits, reactions, typing and injections to the room are refused (403, reason `muted`)
 * until it ends; `0` lifts it. Reading, presence and deleting their own messages go on.
 */
export const handler = restrictionRoute('mute', 'mute');
