/**
 * The room object an app holds (`client.rooms.get(name)`): a {@link Room}'s events, history and
 * sends. On a connection that follows several rooms its frames carry `room`, and it is live once
 * the server answered its subscribe and its catch-up is done.
 */
import {
  type ChatMessage,
  encodeClientFrame,
  type MAX_MENTIONS,
  type MarkUnreadAnswer,
  type ServerFrame,
  type ThreadAnswer,
  type ThreadsAnswer,
  utf8Length,
} from '../../../protocol/index.js';
import type { Connection } from './connection.js';
import { HipochatError, type ModerationError } from './errors.js';
import { type ConnectionState, Emitter, type HipochatEvents } from './events.js';
import type { HipochatHttp, ThreadQuery } from './http.js';
import type { SendAck } from './link-states.js';
import { type Identity, Room, type RoomOptions } from './room.js';
import { randomId } from './urls.js';

/** Options of a send. */
export interface SendOptions {
  /** The message type. @default `message` */
  type?: string;
  /** Your id of the frame (echoed back). @default a random UUID */
  clientId?: string;
  /** The thread root this message replies to. */
  parentId?: string;
  /** User ids the message mentions (at most {@link MAX_MENTIONS}; the server drops the rest). */
  mentions?: string[];
}

// As long as `crypto.randomUUID()`, the longest clientId `send` generates.
const UUID_SIZED_ID = '00000000-0000-0000-0000-000000000000';

/** What a {@link ChatRoom} gets from its client. */
export interface ChatRoomContext {
  connection: Connection;
  http: HipochatHttp;
  self: Identity;
  maxMessageBytes: number;
  typingIntervalMs: number;
  /** The client's connection state. */
  state: () => ConnectionState;
  /** Why nothing can be sent now, or undefined when the room is live. */
  notLive: () => string | undefined;
  /** Whether frames name the room (the connection follows several rooms). */
  named: boolean;
}

/** An emitter that also hands every event to the client's (a room's events reach both). */
class TeeEmitter extends Emitter<HipochatEvents> {
  constructor(private readonly parent: Emitter<HipochatEvents>) {
    super();
  }

  override emit<K extends keyof HipochatEvents>(event: K, ...args: Parameters<HipochatEvents[K]>): void {
    super.emit(event, ...args);
    this.parent.emit(event, ...args);
  }

  /** Emits to the room's listeners only (an event the client emits itself, such as `state`). */
  local<K extends keyof HipochatEvents>(event: K, ...args: Parameters<HipochatEvents[K]>): void {
    super.emit(event, ...args);
  }
}

/** One room of a client: its events, timeline and sends. */
export class ChatRoom {
  /** The room's catch-up and live frames. @internal */
  readonly core: Room;
  /** The client's HTTP API. */
  readonly http: HipochatHttp;
  private readonly events: Emitter<HipochatEvents>;
  private lastTypingAt: number | undefined;

  /**
   * `own` false: the room emits on the client's emitter itself (a one-room client); true: on its
   * own emitter, each event also reaching the client's.
   */
  constructor(
    options: RoomOptions,
    private readonly context: ChatRoomContext,
    clientEvents: Emitter<HipochatEvents>,
    own: boolean,
  ) {
    this.events = own ? new TeeEmitter(clientEvents) : clientEvents;
    this.core = new Room(options, context.connection, context.http, this.events, context.self);
    this.http = context.http;
  }

  get name(): string {
    return this.core.name;
  }

  /** The room's name (as a one-room client's `room`). */
  get room(): string {
    return this.core.name;
  }

  /** The client's connection state. */
  get state(): ConnectionState {
    return this.context.state();
  }

  /** The server's `HIPOCHAT_MAX_MESSAGE_BYTES` the client was told. */
  get maxMessageBytes(): number {
    return this.context.maxMessageBytes;
  }

  /** This client's user id, once known. */
  get userId(): string | undefined {
    return this.context.self.id;
  }

  /** Hands the room an event the client emitted (`state`, `self`) when it has its own listeners. @internal */
  relay<K extends keyof HipochatEvents>(event: K, ...args: Parameters<HipochatEvents[K]>): void {
    if (this.events instanceof TeeEmitter) this.events.local(event, ...args);
  }

  /** Whether the room is caught up on an open connection. */
  get live(): boolean {
    return this.core.live;
  }

  /** The messages held, oldest first (edits, deletes and reactions applied). */
  get messages(): ChatMessage[] {
    return this.core.timeline.list();
  }

  /** The newest message id seen; catch-up asks for what came after it. */
  get lastMessageId(): string | undefined {
    return this.core.timeline.lastId;
  }

  /** The oldest message id seen; {@link loadEarlier} asks for what came before it. */
  get firstMessageId(): string | undefined {
    return this.core.timeline.firstId;
  }

  /** The server holds messages older than the oldest one loaded. */
  get hasEarlier(): boolean {
    return this.core.hasEarlier;
  }

  /** Subscribes to an event of this room; returns the unsubscribe function. */
  on<K extends keyof HipochatEvents>(event: K, listener: HipochatEvents[K]): () => void {
    return this.events.on(event, listener);
  }

  /** Unsubscribes a listener. */
  off<K extends keyof HipochatEvents>(event: K, listener: HipochatEvents[K]): void {
    this.events.off(event, listener);
  }

  /** Hands the room one frame of the connection. @internal */
  handle(frame: ServerFrame): void {
    this.core.handle(frame);
  }

  /** Marks the room read when messages of others arrived and the reader is looking (throttled). */
  markRead(): void {
    this.core.markRead();
  }

  /** Fetches what came after the newest message seen, emits it, and marks the room read. */
  catchUp(): Promise<ChatMessage[]> {
    return this.core.catchUp();
  }

  /** Fetches the page before the oldest message loaded and emits it as history. */
  loadEarlier(limit?: number): Promise<ChatMessage[]> {
    return this.core.loadEarlier(limit);
  }

  /** A message as this client has it now (edits, deletes and reactions applied), by id. */
  getMessage(id: string): ChatMessage | undefined {
    return this.core.timeline.get(id);
  }

  /** UTF-8 bytes of the frame {@link send} would send for `body` (a generated clientId counts as 36). */
  frameBytes(body: unknown, options: SendOptions = {}): number {
    return utf8Length(this.sendFrame(body, { ...options, clientId: options.clientId ?? UUID_SIZED_ID }));
  }

  /**
   * Sends a chat line, a reply (`parentId`: the thread root) or a message mentioning users
   * (`mentions`: their ids); resolves with the server's acknowledgement (the message id). A
   * refusal by moderation rejects with a {@link ModerationError}.
   */
  send(body: unknown, options: SendOptions = {}): Promise<SendAck> {
    if (body === undefined || body === null || body === '') return refuse('the message is empty');
    const clientId = options.clientId ?? randomId();
    return this.sendChecked(this.sendFrame(body, { ...options, clientId }), clientId);
  }

  /** Replies in the thread of `rootId` (a message of the room that is no reply itself). */
  reply(rootId: string, body: unknown, options: Omit<SendOptions, 'parentId'> = {}): Promise<SendAck> {
    return this.send(body, { ...options, parentId: rootId });
  }

  /** A thread: its root and a page of its replies, oldest first; the newest page marks it read. */
  async thread(rootId: string, query: ThreadQuery = {}): Promise<ThreadAnswer> {
    const answer = await this.http.thread(this.name, rootId, query);
    this.core.threads.seen(answer.root);
    return answer;
  }

  /** The room's threads, latest activity first, each with the user's unread replies. */
  async threads(query: { limit?: number } = {}): Promise<ThreadsAnswer> {
    const answer = await this.http.threads(this.name, query);
    for (const entry of answer.threads) this.core.threads.seen(entry.root);
    return answer;
  }

  /**
   * Marks message `id` and what follows unread again (`POST /talk/unread/{room}/`), emits `unread`
   * with the count and `from: id`, and marks nothing read until {@link markRead} (the reader looks
   * at the room again): live messages arriving meanwhile leave it unread.
   */
  async markUnread(id: string): Promise<MarkUnreadAnswer> {
    const answer = await this.http.markUnread(this.name, id);
    this.core.holdReadMark();
    const { notification: count, mentions } = answer;
    this.events.emit('unread', { room: this.name, count, mentions, from: id });
    return answer;
  }

  /** Whether the room was marked unread and no {@link markRead} came since. */
  get readMarkHeld(): boolean {
    return this.core.readMarkHeld;
  }

  /** Replaces the body of one of this user's messages. */
  edit(id: string, body: unknown, options: { clientId?: string } = {}): Promise<SendAck> {
    if (body === undefined || body === null || body === '') return refuse('the message is empty');
    if (this.core.timeline.get(id)?.deleted) return refuse('the message was deleted; nothing was sent');
    const clientId = options.clientId ?? randomId();
    return this.sendChecked(
      encodeClientFrame({ kind: 'edit', id, body, clientId, ...this.roomField() }),
      clientId,
    );
  }

  /** Deletes one of this user's messages: it stays in history as a tombstone without a body. */
  delete(id: string, options: { clientId?: string } = {}): Promise<SendAck> {
    const clientId = options.clientId ?? randomId();
    return this.sendChecked(
      encodeClientFrame({ kind: 'delete', id, clientId, ...this.roomField() }),
      clientId,
    );
  }

  /** Toggles this user's reaction `emoji` on a message. */
  react(id: string, emoji: string, options: { clientId?: string } = {}): Promise<SendAck> {
    if (!emoji) return refuse('an emoji is required');
    this.core.probeReaction(id, emoji);
    const clientId = options.clientId ?? randomId();
    const frame = { kind: 'react', id, emoji, clientId, ...this.roomField() } as const;
    return this.sendChecked(encodeClientFrame(frame), clientId);
  }

  /**
   * Tells the room this user is typing, at most once per `typingIntervalMs`; cheap to call on
   * every keystroke. Returns whether a frame went out.
   */
  sendTyping(): boolean {
    if (this.context.notLive() !== undefined || this.core.typing === 'refused') return false;
    const now = Date.now();
    const every = this.context.typingIntervalMs;
    if (this.lastTypingAt !== undefined && now - this.lastTypingAt < every) return false;
    // Until the server has acked one, typing frames carry a clientId: an older server's error frame
    // then names the typing frame, and the echo tells this client its user id.
    const clientId = this.core.typing === 'unknown' ? randomId() : undefined;
    if (clientId !== undefined) this.core.typingProbe(clientId);
    const frame = encodeClientFrame({ kind: 'typing', clientId, ...this.roomField() });
    if (!this.context.connection.sendRaw(frame, clientId)) return false;
    this.lastTypingAt = now;
    return true;
  }

  private sendFrame(body: unknown, options: SendOptions & { clientId: string }): string {
    const { type, clientId, parentId, mentions } = options;
    const extra = { ...(parentId ? { parentId } : {}), ...(mentions?.length ? { mentions } : {}) };
    return encodeClientFrame({ kind: 'send', type, body, clientId, ...this.roomField(), ...extra });
  }

  private roomField(): { room?: string } {
    return this.context.named ? { room: this.name } : {};
  }

  private sendChecked(frame: string, clientId: string): Promise<SendAck> {
    const size = utf8Length(frame);
    const limit = this.context.maxMessageBytes;
    if (size > limit) {
      return refuse(`message too large: ${size} bytes, the limit is ${limit} bytes (nothing was sent)`);
    }
    const notLive = this.context.notLive();
    if (notLive !== undefined) return refuse(`not connected (${notLive}); nothing was sent`);
    return this.context.connection.send(frame, clientId);
  }
}

function refuse(message: string): Promise<never> {
  return Promise.reject(new HipochatError('send', message));
}
