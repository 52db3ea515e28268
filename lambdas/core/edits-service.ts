/**
 * Messages that change: an author edits or deletes their own message over the socket, the backend
 * any message of a room (moderation), and anyone toggles a reaction. The history shows the current
 * version; the room's signals connections hear of each change live.
 */
import {
  type ChatMessage,
  type DeleteFrame,
  type EditFrame,
  type EditMark,
  encodeServerFrame,
  isValidEmoji,
  MAX_REACTIONS_PER_MESSAGE,
  MESSAGE_ID_PATTERN,
  type ReactFrame,
} from '../../protocol/index.js';
import { callerKey, checkIdempotencyKey, isRecord } from './caller-keys.js';
import type { ChatService } from './chat-service.js';
import type { ChatConfig } from './config.js';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from './errors.js';
import { type Identity, parseJson } from './protocol.js';
import { type ChangeOptions, type StoredVersion, showMessage, tombstoneOf } from './store/change-store.js';
import type { ChatStore } from './store/chat-store.js';

/** A client frame that changes a stored message. */
export type ChangeFrame = EditFrame | DeleteFrame | ReactFrame;

/** What a change frame did, for its ack. */
export interface ChangeOutcome {
  /** The changed message's id. */
  id: string;
  clientId?: string;
}

/** A change as the service applies it. */
interface Change {
  room: string;
  id: string;
  /** The user making it, or null for the backend (service key). */
  actor: Identity | null;
  /** The new body for an edit; absent for a delete. */
  body?: unknown;
  deleting: boolean;
  idempotencyKey?: string;
}

// Compare-and-set attempts before an edit that keeps losing to others gives up.
const MAX_ATTEMPTS = 5;
// Bytes a backend edit body may take besides the new message body (`{"id":…}`).
const ENVELOPE_BYTES = 256;

/** @throws BadRequestError unless `id` is a message id */
function messageId(id: unknown): string {
  if (typeof id !== 'string' || !MESSAGE_ID_PATTERN.test(id)) {
    throw new BadRequestError('id must be a message id such as 1700000000000-0');
  }
  return id;
}

/** @throws BadRequestError unless the body is there (as for messages, `null` and `""` are none) */
function newBody(body: unknown): unknown {
  if (body === undefined || body === null || body === '') throw new BadRequestError('missing body');
  return body;
}

/** The store key of a backend's `Idempotency-Key` (checked like `/talk/item`'s). */
function backendKey(idempotencyKey: string | undefined): string | undefined {
  const key = checkIdempotencyKey(idempotencyKey);
  return key === undefined ? undefined : callerKey('x', null, key);
}

/** Edits, deletes and reactions on both the socket and the backend routes. */
export class EditsService {
  constructor(
    private readonly config: ChatConfig,
    private readonly store: ChatStore,
    private readonly chat: ChatService,
  ) {}

  /**
   * An edit, delete or reaction frame from a member, as the wire's parser typed it: applied and
   * announced. A frame with a `clientId` seen before is acked and changes nothing.
   *
   * @throws BadRequestError, ForbiddenError (not the author, or past `HIPOCHAT_EDIT_WINDOW_SECONDS`),
   *   NotFoundError, ConflictError, RateLimitedError
   */
  async frame(room: string, identity: Identity, frame: ChangeFrame): Promise<ChangeOutcome> {
    const { id, clientId } = frame;
    await Promise.all([
      this.chat.assertAllowed(room, identity.userId),
      // Deleting one's own messages goes on under a mute or ban; editing and reacting do not.
      frame.kind === 'delete'
        ? undefined
        : this.chat.moderation.assertMayPost(room, identity.userId, frame.kind),
    ]);
    await this.chat.countAcrossRooms(identity.userId);
    const idempotencyKey = clientId === undefined ? undefined : callerKey('x', identity.userId, clientId);
    if (frame.kind === 'react') {
      await this.react(room, identity, id, frame.emoji, idempotencyKey);
    } else {
      await this.apply({
        room,
        id,
        actor: identity,
        deleting: frame.kind === 'delete',
        ...(frame.kind === 'edit' ? { body: frame.body } : {}),
        idempotencyKey,
      });
    }
    return clientId === undefined ? { id } : { id, clientId };
  }

  /**
   * `POST /talk/edit/{room}/` (service key) with `{"id":…,"body":…}`: the backend edits any
   * message of the room; answers the new version.
   *
   * @throws NotFoundError for an id the room's history does not hold
   */
  async backendEdit(
    room: string,
    bodyText: string | undefined,
    idempotencyKey?: string,
  ): Promise<ChatMessage> {
    const { maxMessageBytes, maxBodyDepth } = this.config;
    const key = backendKey(idempotencyKey);
    const data = parseJson(bodyText, maxMessageBytes + ENVELOPE_BYTES, 'body', maxBodyDepth, 1);
    if (!isRecord(data) || !('body' in data))
      throw new BadRequestError('body must be {"id":"…","body":<JSON>}');
    const id = messageId(data.id);
    return this.apply({
      room,
      id,
      actor: null,
      body: newBody(data.body),
      deleting: false,
      idempotencyKey: key,
    });
  }

  /** `POST /talk/delete/{room}/` (service key) with `{"id":…}`: answers the tombstone. */
  async backendDelete(
    room: string,
    bodyText: string | undefined,
    idempotencyKey?: string,
  ): Promise<ChatMessage> {
    const key = backendKey(idempotencyKey);
    const data = parseJson(bodyText, ENVELOPE_BYTES * 4, 'body', 2);
    if (!isRecord(data)) throw new BadRequestError('body must be {"id":"…"}');
    return this.apply({ room, id: messageId(data.id), actor: null, deleting: true, idempotencyKey: key });
  }

  /**
   * Reads the current version, checks who may change it, and sets the next one if nobody changed
   * it meanwhile (else reads again): two round trips, and no lost update between two editors.
   */
  private async apply(change: Change): Promise<ChatMessage> {
    const { room, id, actor, deleting, idempotencyKey } = change;
    const verb = deleting ? 'delete' : 'edit';
    // A user's new body goes past the moderation hook once, whatever the attempts.
    let body = change.body;
    let screened = actor === null || deleting;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const current = await this.store.changes.current(room, id, idempotencyKey);
      if (!current.version || !current.text) throw new NotFoundError('message not found');
      // A retry of a change that went through: acked, nothing changed or published again.
      if (current.duplicate) return showMessage(id, current.version);
      if (current.version.deleted) {
        if (deleting) return showMessage(id, current.version);
        throw new ConflictError('message was deleted');
      }
      if (actor) this.assertAuthor(current.version, actor.userId, verb);
      if (!screened && actor) {
        body = await this.chat.moderation.screen('edit', room, actor, {
          type: current.version.type,
          body,
          id,
        });
        screened = true;
      }
      const edited: EditMark = { at: Date.now() / 1000, by: actor?.userId ?? null };
      const next: StoredVersion = deleting
        ? tombstoneOf(current.version)
        : { ...current.version, body, edited };
      const options: ChangeOptions = { idempotencyKey, rateLimit: this.rateLimit(actor) };
      const outcome = await this.store.changes.replace(
        room,
        id,
        current.text,
        next,
        actor?.userId ?? null,
        options,
      );
      if (outcome === 'missing') throw new NotFoundError('message not found');
      if (outcome === 'conflict') continue;
      const frame = deleting
        ? encodeServerFrame({ kind: 'delete', room, id })
        : encodeServerFrame({ kind: 'edit', room, id, body, edited });
      await this.chat.announce.changed(room, frame);
      return showMessage(id, next);
    }
    throw new ConflictError('message is being changed by others: try again');
  }

  /** @throws ForbiddenError unless `userId` sent the message, within the edit window */
  private assertAuthor(version: StoredVersion, userId: string, verb: 'edit' | 'delete'): void {
    // Injections by the backend have no sender: only the backend changes them.
    if (version.senderId !== userId) throw new ForbiddenError(`you can only ${verb} your own messages`);
    const window = this.config.editWindowSeconds;
    if (window > 0 && Date.now() / 1000 - version.timestamp > window) {
      throw new ForbiddenError(
        `messages can only be ${verb}${verb === 'edit' ? 'ed' : 'd'} within ${window} seconds`,
      );
    }
  }

  /** The rate limit a change counts against: the user's per room, or the backend's when it has one. */
  private rateLimit(actor: Identity | null): ChangeOptions['rateLimit'] {
    if (actor) return { limit: this.config.rateLimitPerMinute, windowSeconds: 60 };
    const limit = this.config.backendRateLimitPerMinute;
    return limit > 0 ? { limit, windowSeconds: 60 } : undefined;
  }

  /**
   * Toggles the user's reaction and announces the change (emoji, user, the emoji's count now and
   * whether it was added), never the message's whole summary.
   */
  private async react(
    room: string,
    identity: Identity,
    id: string,
    emoji: unknown,
    idempotencyKey: string | undefined,
  ): Promise<void> {
    const offered = this.config.reactions ?? [];
    if (!isValidEmoji(emoji, offered)) {
      const names = offered.length > 0 ? ` or one of: ${offered.join(' ')}` : '';
      throw new BadRequestError(`emoji must be one emoji such as 👍 or 👍🏽${names}`);
    }
    const outcome = await this.store.changes.react(
      room,
      id,
      identity.userId,
      emoji,
      MAX_REACTIONS_PER_MESSAGE,
      {
        idempotencyKey,
        rateLimit: this.rateLimit(identity),
      },
    );
    if (outcome.duplicate) return;
    const { count, added } = outcome;
    await this.chat.announce.changed(
      room,
      encodeServerFrame({ kind: 'reaction', room, id, emoji, user: identity.userId, count, added }),
    );
  }
}
