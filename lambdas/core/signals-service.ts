import {
  type BroadcastAnswer,
  compareIds,
  DEFAULT_RECEIPTS_LIMIT,
  EPHEMERAL_INTERVAL_MS,
  MAX_BROADCAST_ROOMS,
  MAX_RECEIPTS_LIMIT,
  type PresenceAnswer,
  type ReceiptsAnswer,
  TYPING_TYPE,
  type TypingNoticeFrame,
  type UserDisconnected,
} from '../../protocol/index.js';
import { AnswerBudget, answerBytes } from './answer-budget.js';
import { isRecord } from './caller-keys.js';
import type { ChatService } from './chat-service.js';
import { closeConnections } from './close-connections.js';
import type { ChatConfig } from './config.js';
import type { ConnectionSender } from './connections.js';
import { BadRequestError } from './errors.js';
import { type Identity, parseJson, parseRoom } from './protocol.js';
import { forEachLimited } from './retry.js';
import { type ChatStore, type Departure, READ_MARKS_CURSOR } from './store/chat-store.js';

/** Which page of read receipts to answer. */
export interface ReceiptsQuery {
  /** Read marks in the page at most. @default DEFAULT_RECEIPTS_LIMIT */
  limit?: number;
  /** The `next` of the previous page; absent for the first. */
  after?: string;
}

/** What `ephemeral` did with a frame of an ephemeral type. */
export interface EphemeralOutcome {
  /** The frame's `clientId`, to be acked (without an id: nothing was stored). */
  clientId?: string;
}

// Rooms of one broadcast stored at once.
const BROADCAST_CONCURRENCY = 10;
// Bytes a broadcast body may take besides the message body: the room list.
const ROOM_LIST_BYTES = MAX_BROADCAST_ROOMS * 160;
// Bytes kept for an answer's keys.
const ANSWER_ENVELOPE_BYTES = 1024;

/** The first `items` whose JSON fits one HTTP answer (a room of 50,000 online users would not). */
function fitting<T>(items: readonly T[]): T[] {
  const budget = new AnswerBudget(ANSWER_ENVELOPE_BYTES);
  const kept: T[] = [];
  for (const item of items) {
    if (!budget.take(answerBytes(item) + 1)) break;
    kept.push(item);
  }
  return kept;
}

/**
 * Live signals and the backend calls that reach across rooms: ephemeral frames (typing), who is
 * online, read receipts, one injection into many rooms, and disconnecting a user everywhere.
 * Presence and read frames themselves are announced where they happen (`ChatService.announce`).
 */
export class SignalsService {
  constructor(
    private readonly config: ChatConfig,
    private readonly store: ChatStore,
    private readonly chat: ChatService,
    private readonly sender: ConnectionSender,
  ) {}

  /**
   * A frame of a type in `HIPOCHAT_EPHEMERAL_TYPES` (`{"type":"typing","body"?:…}`), as the wire's
   * parser typed it: delivered live to the room's signals connections with `author` and
   * `senderId`, at most one per user and room per {@link EPHEMERAL_INTERVAL_MS}. An extra one is
   * dropped silently but still acked, since the ack says the server took the frame, not that
   * anyone saw it. Never stored, counted unread, pushed or held against the message rate limit.
   */
  async ephemeral(room: string, identity: Identity, frame: TypingNoticeFrame): Promise<EphemeralOutcome> {
    const { clientId, body } = frame;
    const type = frame.type ?? TYPING_TYPE;
    await Promise.all([
      this.chat.assertAllowed(room, identity.userId),
      // A muted or banned user's typing would announce what they may not send.
      this.chat.moderation.assertMayPost(room, identity.userId, 'typing'),
    ]);
    const { claimed, listeners, members } = await this.store.claimEphemeral(
      room,
      identity.userId,
      EPHEMERAL_INTERVAL_MS,
    );
    // Past the member cap a room gets no live typing, like no read or presence frames.
    if (claimed && listeners > 0 && members <= this.config.signalsMaxMembers) {
      await this.chat.announce.ephemeral(room, { type, identity, clientId, body });
    }
    return clientId === undefined ? {} : { clientId };
  }

  /**
   * `GET /talk/presence/{room}/`: the users online in the room, each once, by public profile, and
   * the room's occupancy: live `connections` (a user with two tabs counts twice) and `members`.
   * Connections past their TTL are pruned on the way, and their users' `leave` announced.
   */
  async presence(room: string, identity: Identity): Promise<PresenceAnswer> {
    await this.chat.assertAllowed(room, identity.userId);
    const departed: Departure[] = [];
    const online = await this.store.presence(room, departed);
    await this.chat.announce.departed(room, departed);
    online.sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    const { connections, members } = await this.store.changes.occupancy(room);
    return {
      room,
      online: fitting(online.map((user) => this.chat.announce.profileOf(user.userId, user.profile))),
      connections,
      members,
    };
  }

  /**
   * `GET /talk/receipts/{room}/[?limit=N][&after=<next>]`: one page of the members' read marks
   * (at most `limit`, {@link DEFAULT_RECEIPTS_LIMIT} by default), the most recent reader first
   * within the page, and `next`, the `after` of the next page (null on the last). Each page costs
   * the store the same whatever the room size.
   *
   * @throws BadRequestError for a `limit` outside 1 to {@link MAX_RECEIPTS_LIMIT} or an `after` no page gave
   */
  async receipts(room: string, identity: Identity, page: ReceiptsQuery = {}): Promise<ReceiptsAnswer> {
    const { limit = DEFAULT_RECEIPTS_LIMIT, after } = page;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_RECEIPTS_LIMIT) {
      throw new BadRequestError(`limit must be an integer from 1 to ${MAX_RECEIPTS_LIMIT}`);
    }
    if (after !== undefined && !READ_MARKS_CURSOR.test(after)) {
      throw new BadRequestError('after must be the "next" of a previous receipts answer');
    }
    await this.chat.assertAllowed(room, identity.userId);
    const { marks, next } = await this.store.readMarks(room, { limit, after });
    marks.sort((a, b) => compareIds(b.lastRead, a.lastRead));
    const receipts = marks.map((mark) => ({
      user: this.chat.announce.profileOf(mark.userId, mark.profile),
      lastRead: mark.lastRead,
    }));
    const kept = fitting(receipts);
    // Profiles too large for one answer: the rest of this page is dropped, never the next pages.
    return { room, receipts: kept, next };
  }

  /**
   * `POST /talk/broadcast/?type=T` (service key) with `{"rooms":[…],"body":…}`: one message per
   * room (each named once), as the backend; answers where each went (room and id, no body). An `idempotencyKey` counts in each room, so a retried
   * call stores nothing twice. When a room fails the call fails after every room was tried, and
   * a retry with the same key completes it.
   */
  async broadcast(
    type: string | undefined,
    bodyText: string | undefined,
    idempotencyKey?: string,
  ): Promise<BroadcastAnswer> {
    const { maxMessageBytes, maxBodyDepth } = this.config;
    const data = parseJson(bodyText, maxMessageBytes + ROOM_LIST_BYTES, 'body', maxBodyDepth, 1);
    if (!isRecord(data) || !Array.isArray(data.rooms) || !('body' in data)) {
      throw new BadRequestError('body must be {"rooms":["room",…],"body":<JSON>}');
    }
    if (data.rooms.length < 1 || data.rooms.length > MAX_BROADCAST_ROOMS) {
      throw new BadRequestError(`rooms must name 1 to ${MAX_BROADCAST_ROOMS} rooms`);
    }
    const rooms = [...new Set(data.rooms.map((room) => parseRoom(typeof room === 'string' ? room : '')))];
    const body = JSON.stringify(data.body);
    const stored = new Map<string, string>();
    const failures: unknown[] = [];
    await forEachLimited(rooms, BROADCAST_CONCURRENCY, async (room) => {
      try {
        stored.set(room, (await this.chat.inject(room, null, type, body, idempotencyKey)).id);
      } catch (error) {
        failures.push(error);
      }
    });
    if (failures.length > 0) throw failures[0];
    // Ids only: a hundred copies of a large body would not fit one answer.
    return { messages: rooms.map((room) => ({ room, id: stored.get(room)! })) };
  }

  /**
   * `POST /talk/disconnect/{user}/` (service key): closes every connection of the user in every
   * room and forgets it at once (its `$disconnect`, should it come, finds nothing left to do).
   */
  async disconnectUser(userId: string): Promise<UserDisconnected> {
    if (userId.length < 1 || userId.length > 256)
      throw new BadRequestError('user id must be 1-256 characters');
    const connections = await this.store.userConnections(userId);
    const disconnected = await closeConnections(connections, this.sender, this.chat);
    return { user: userId, disconnected };
  }
}
