import { type MarkUnreadAnswer, MESSAGE_ID_PATTERN, type NotificationAnswer } from '../../protocol/index.js';
import type { ChatService } from './chat-service.js';
import { BadRequestError, NotFoundError } from './errors.js';
import { type Identity, parseJson } from './protocol.js';
import type { ChatStore } from './store/chat-store.js';

// A mark-unread body is `{"id":"<message id>"}`: far below any message limit.
const MAX_BODY_BYTES = 1024;
/** The read mark announced when nothing before the message marked unread is read: before every id. */
export const NOTHING_READ = '0-0';

/**
 * Unread and mention counts, and mark unread: a reader's counts follow their read mark, which a
 * read moves forward and `markUnread` moves back to just before a message.
 */
export class UnreadService {
  constructor(
    private readonly store: ChatStore,
    private readonly chat: ChatService,
  ) {}

  /** `GET /talk/notification/{room}/`: the reader's unread count and mentions since they last read. */
  async notification(room: string, identity: Identity): Promise<Required<NotificationAnswer>> {
    await this.chat.assertAllowed(room, identity.userId);
    const { unread, mentions } = await this.store.latest(room, identity.userId, 0);
    return { notification: unread, mentions };
  }

  /**
   * `POST /talk/unread/{room}/` with `{"id":"<message id>"}`: the reader's read mark moves to just
   * before that message; signals connections hear of the moved mark. Counts against the user's
   * messages across rooms (`HIPOCHAT_USER_RATE_LIMIT_PER_MINUTE`) like an edit or a reaction.
   *
   * @throws BadRequestError for a body without a message id, ForbiddenError (closed room),
   *   RateLimitedError, NotFoundError when the id is no message of the room
   */
  async markUnread(
    room: string,
    identity: Identity,
    bodyText: string | undefined,
  ): Promise<MarkUnreadAnswer> {
    const body = parseJson(bodyText, MAX_BODY_BYTES, 'body', 2);
    const id = (body as { id?: unknown } | null)?.id;
    if (typeof id !== 'string' || !MESSAGE_ID_PATTERN.test(id)) {
      throw new BadRequestError('id must be a message id such as 1700000000000-0');
    }
    await this.chat.assertAllowed(room, identity.userId);
    await this.chat.countAcrossRooms(identity.userId);
    const marked = await this.store.markUnread(room, identity.userId, id);
    if (!marked) throw new NotFoundError('no such message in this room');
    await this.chat.announce.read(room, identity.userId, identity.profile, {
      id: marked.lastRead ?? NOTHING_READ,
      listeners: marked.listeners,
    });
    return { room, lastRead: marked.lastRead, notification: marked.unread, mentions: marked.mentions };
  }
}
