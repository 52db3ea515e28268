import type {
  ModerationAnswer,
  Restriction,
  RestrictionAnswer,
  RestrictionKind,
} from '../../protocol/index.js';
import { isRecord } from './caller-keys.js';
import type { ChatService } from './chat-service.js';
import { closeConnections } from './close-connections.js';
import type { ConnectionSender } from './connections.js';
import { BadRequestError } from './errors.js';
import { logger } from './logger.js';
import { metrics } from './metrics.js';
import { parseJson } from './protocol.js';
import type { ChatStore } from './store/chat-store.js';
import type { StoredRestriction } from './store/moderation-store.js';

/** The longest mute or ban one call may set: a year. */
export const MAX_RESTRICTION_SECONDS = 366 * 24 * 3600;
// Bytes of a `{"seconds": n}` body, at most.
const RESTRICTION_BODY_BYTES = 1024;

/** A stored restriction as the wire shows it at `nowMs`. */
function shown(restriction: StoredRestriction, nowMs: number): Restriction {
  return {
    user: restriction.userId,
    kind: restriction.kind,
    until: Math.ceil(restriction.untilMs / 1000),
    secondsLeft: Math.max(1, Math.ceil((restriction.untilMs - nowMs) / 1000)),
  };
}

/** @throws BadRequestError unless the body is `{"seconds": <integer from 0 to a year>}` */
function secondsOf(bodyText: string | undefined): number {
  const data = parseJson(bodyText, RESTRICTION_BODY_BYTES, 'body', 2);
  const seconds = isRecord(data) ? data.seconds : undefined;
  if (
    typeof seconds !== 'number' ||
    !Number.isInteger(seconds) ||
    seconds < 0 ||
    seconds > MAX_RESTRICTION_SECONDS
  ) {
    throw new BadRequestError(
      `body must be {"seconds": <integer from 0 to ${MAX_RESTRICTION_SECONDS}>}; 0 lifts it`,
    );
  }
  return seconds;
}

/**
 * The backend's moderation of users (service key): timed mutes and bans per room, lifted with 0
 * seconds, and the list of those in force. A ban closes the user's connections to the room.
 */
export class ModerationService {
  constructor(
    private readonly store: ChatStore,
    private readonly chat: ChatService,
    private readonly sender: ConnectionSender,
  ) {}

  /**
   * `POST /talk/mute/{room}/{user}/` and `POST /talk/ban/{room}/{user}/` with `{"seconds": n}`:
   * puts the restriction on the user for `n` seconds from now (replacing one in force), or lifts it
   * with 0. A ban closes the user's live connections to the room and says how many.
   *
   * @throws BadRequestError for a bad user id or body
   */
  async restrict(
    room: string,
    userId: string,
    kind: RestrictionKind,
    bodyText: string | undefined,
  ): Promise<RestrictionAnswer> {
    if (userId.length < 1 || userId.length > 256)
      throw new BadRequestError('user id must be 1-256 characters');
    const seconds = secondsOf(bodyText);
    const now = Date.now();
    const untilMs = seconds === 0 ? 0 : now + seconds * 1000;
    await this.store.moderation.restrict(room, userId, kind, untilMs, now);
    metrics.count('ModerationRestricted');
    logger.info('moderation decision', {
      decision: seconds === 0 ? `lift-${kind}` : kind,
      room,
      target: userId,
      seconds,
    });
    const restriction = seconds === 0 ? null : shown({ userId, kind, untilMs }, now);
    const answer: RestrictionAnswer = { room, user: userId, kind, restriction };
    if (kind !== 'ban' || seconds === 0) return answer;
    const mine = (await this.store.userConnections(userId)).filter((connection) => connection.room === room);
    return { ...answer, disconnected: await closeConnections(mine, this.sender, this.chat) };
  }

  /** `GET /talk/moderation/{room}/`: the mutes and bans in force, soonest end first. */
  async list(room: string): Promise<ModerationAnswer> {
    const now = Date.now();
    const held = await this.store.moderation.restrictions(room, now);
    held.sort((a, b) => a.untilMs - b.untilMs || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    return { room, restrictions: held.map((restriction) => shown(restriction, now)) };
  }
}
