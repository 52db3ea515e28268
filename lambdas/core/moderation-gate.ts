import type { ModeratedAction, ModerationRequest, SendFrame } from '../../protocol/index.js';
import { RestrictedError } from './errors.js';
import { invocationRequestId, logger } from './logger.js';
import { metrics } from './metrics.js';
import type { ModerationHook } from './moderation-hook.js';
import type { Identity } from './protocol.js';
import type { ChatStore } from './store/chat-store.js';

/** What a user's write says, as the moderation hook is asked about it. */
export interface ScreenedWrite {
  /** The message type. */
  type: string;
  body: unknown;
  /** The edited message (edits only). */
  id?: string;
  /** The thread root (replies only). */
  parentId?: string;
  mentions?: string[];
}

/**
 * Where moderation stands between a user and the room: the pre-publish hook for their writes, and
 * their mute or ban for what else they do. Backend calls (service key) never come here.
 */
export class ModerationGate {
  constructor(
    private readonly store: ChatStore,
    private readonly hook: ModerationHook,
  ) {}

  /** Whether a user's writes go to the pre-publish hook (`HIPOCHAT_MODERATION_URL` is set). */
  get asksHook(): boolean {
    return this.hook.enabled;
  }

  /**
   * The body to store for a user's write: theirs, or the hook's replacement (with no hook
   * configured, theirs at no cost). A muted or banned user is refused before the hook hears of it.
   *
   * @throws RestrictedError `banned` or `muted` (with a hook only: otherwise the append refuses it)
   * @throws ModerationRejectedError when the hook rejects it (or fails, with `HIPOCHAT_MODERATION_FAILURE=reject`)
   */
  async screen(
    action: ModeratedAction,
    room: string,
    identity: Identity,
    write: ScreenedWrite,
  ): Promise<unknown> {
    if (!this.hook.enabled) return write.body;
    await this.assertMayPost(room, identity.userId, action);
    const request: ModerationRequest = {
      action,
      room,
      type: write.type,
      body: write.body,
      author: identity.profile,
      senderId: identity.userId,
      ...(write.id === undefined ? {} : { id: write.id }),
      ...(write.parentId === undefined ? {} : { parentId: write.parentId }),
      ...(write.mentions === undefined ? {} : { mentions: write.mentions }),
      requestId: invocationRequestId() ?? '',
    };
    return (await this.hook.screen(request)).body;
  }

  /** {@link ModerationGate.screen} for a message frame: a `reply` when it names a thread root. */
  screenFrame(room: string, identity: Identity, type: string, frame: SendFrame): Promise<unknown> {
    const { parentId, mentions, body } = frame;
    const action = parentId === undefined ? 'message' : 'reply';
    return this.screen(action, room, identity, { type, body, parentId, mentions });
  }

  /**
   * Refuses a banned user (connects, subscribes, history reads): one read of the room's restrictions.
   *
   * @throws RestrictedError `banned`, with the seconds left
   */
  async assertNotBanned(room: string, userId: string, what: string): Promise<void> {
    await this.assertFree(room, userId, what, ['ban']);
  }

  /**
   * Refuses a muted or banned user's edit, reaction or typing: one read of the room's restrictions
   * (messages and injections are checked inside the append itself).
   *
   * @throws RestrictedError `banned` or `muted`, with the seconds left
   */
  async assertMayPost(room: string, userId: string, what: string): Promise<void> {
    await this.assertFree(room, userId, what, ['ban', 'mute']);
  }

  private async assertFree(
    room: string,
    userId: string,
    what: string,
    kinds: readonly ('ban' | 'mute')[],
  ): Promise<void> {
    const now = Date.now();
    const held = await this.store.moderation.restrictionsOf(room, userId, now);
    for (const kind of kinds) {
      const found = held.find((restriction) => restriction.kind === kind);
      if (found) {
        throw this.refused(
          new RestrictedError(kind === 'ban' ? 'banned' : 'muted', (found.untilMs - now) / 1000),
          room,
          userId,
          what,
        );
      }
    }
  }

  /**
   * Logs and counts (`ModerationRefused`) a refusal of a muted or banned user, and answers it, so a
   * caller can throw it; any other error passes through untouched.
   */
  refused<E>(error: E, room: string, userId: string | undefined, what: string): E {
    if (error instanceof RestrictedError) {
      metrics.count('ModerationRefused');
      logger.info('moderation refusal', {
        decision: 'refused',
        reason: error.reason,
        what,
        room,
        userId,
        retryAfter: error.retryAfter,
      });
    }
    return error;
  }
}
