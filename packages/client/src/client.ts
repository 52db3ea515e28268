/**
 * The front: one object that joins a {@link Connection} and a {@link Room} and reports the
 * state an app shows (`live` once the room is caught up). Everything else lives in the modules it
 * composes: the connection's state machine, the room's catch-up, the pure timeline, the HTTP part.
 */

import {
  type ChatMessage,
  DEFAULT_MAX_MESSAGE_BYTES,
  EPHEMERAL_INTERVAL_MS,
  type MarkUnreadAnswer,
  SIGNALS_PARAMETER,
  type ThreadAnswer,
  type ThreadsAnswer,
  UNREAD_PARAMETER,
} from '../../../protocol/index.js';
import { ChatRoom, type SendOptions } from './chat-room.js';
import type { HipochatClientOptions } from './client-options.js';
import { Connection, type LinkChange } from './connection.js';
import { HipochatError } from './errors.js';
import { type ConnectionState, Emitter, type HipochatEvents, type StateChange } from './events.js';
import { HipochatHttp, type ThreadQuery } from './http.js';
import type { SendAck } from './link-states.js';
import type { Identity } from './room.js';
import { RoomSet } from './rooms.js';
import { httpUrlFromWs, parseWsUrl } from './urls.js';

/**
 * How often {@link HipochatClient.sendTyping} sends at most: a little over the server's
 * {@link EPHEMERAL_INTERVAL_MS}, so network jitter never brings two frames closer than the server
 * allows (it would drop the second silently and the notice would flicker).
 */
export const TYPING_SEND_INTERVAL_MS = EPHEMERAL_INTERVAL_MS + 200;

/**
 * A connection to one room (`room`), or to several on one socket (`rooms`, each a
 * `client.rooms.get(name)`), that survives network trouble.
 *
 * @example
 * const client = new HipochatClient({ url: 'ws://127.0.0.1:8888', room: 'lobby', token: 'alice' });
 * client.on('message', (m) => console.log(m.author?.username, m.body));
 * await client.connect();
 * await client.send('hello');
 */
export class HipochatClient {
  /** The HTTP API of this client's user. */
  readonly http: HipochatHttp;
  /** The room of a one-room client; empty for a client of several rooms. */
  readonly room: string;
  /** The rooms followed: `rooms.get(name)` is a room's events, history and sends. */
  readonly rooms: RoomSet;
  readonly maxMessageBytes: number;
  /** The socket and its state machine. */
  readonly connection: Connection;
  private readonly main: ChatRoom | undefined;
  private readonly events = new Emitter<HipochatEvents>();
  private readonly wsUrl: URL;
  private current: ConnectionState = 'idle';
  private selfId: string | undefined;
  private everLive = false;

  constructor(private readonly options: HipochatClientOptions) {
    this.wsUrl = parseWsUrl(options.url);
    const multi = options.rooms !== undefined;
    if (multi === (options.room !== undefined)) {
      throw new HipochatError('connection', 'name either one room (`room`) or several (`rooms`)');
    }
    if (multi && (options.useTicket || options.shape === 'legacy')) {
      throw new HipochatError('connection', 'a ticket or the Hipochat URL shape connects one room only');
    }
    if (!options.token) throw new HipochatError('auth', 'a token is required');
    this.room = options.room ?? '';
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.http = new HipochatHttp({
      httpUrl: options.httpUrl ?? httpUrlFromWs(options.url),
      token: options.token,
      timeoutMs: options.requestTimeoutMs,
      fetch: options.fetch,
    });
    this.connection = new Connection({
      socketUrl: () => this.socketUrl(),
      refusal: (problem) => this.refusal(problem),
      reconnect: options.reconnect,
      connectTimeoutMs: options.connectTimeoutMs,
      keepAliveMs: options.keepAliveMs,
      sendTimeoutMs: options.sendTimeoutMs,
      WebSocket: options.WebSocket,
      random: options.random,
    });
    const make = (room: string): ChatRoom => this.makeRoom(room, multi);
    const unread = multi && options.unread !== false;
    this.rooms = new RoomSet(
      {
        connection: this.connection,
        events: this.events,
        make,
        multi,
        unread,
        live: () => this.current === 'live',
      },
      options.rooms ?? [this.room],
    );
    this.main = multi ? undefined : this.rooms.get(this.room);
    this.connection.on('state', (change) => void this.onLink(change));
    this.connection.on('frame', (frame) => this.rooms.handle(frame));
    this.connection.on('error', (error) => this.events.emit('error', error));
  }

  /** The current state: `live` once connected and caught up. */
  get state(): ConnectionState {
    return this.current;
  }

  /** This client's user id, once a send was acknowledged (or set with {@link setSelfId}). */
  get userId(): string | undefined {
    return this.selfId;
  }

  /** The newest message id seen; catch-up asks for what came after it. */
  get lastMessageId(): string | undefined {
    return this.main?.lastMessageId;
  }

  /** The oldest message id seen; {@link loadEarlier} asks for what came before it. */
  get firstMessageId(): string | undefined {
    return this.main?.firstMessageId;
  }

  /** The server holds messages older than the oldest one loaded. */
  get hasEarlier(): boolean {
    return this.main?.hasEarlier ?? false;
  }

  /** Sizes of everything the client remembers; each is bounded (see the README's memory notes). */
  get memory(): Record<string, number> {
    return {
      ...this.connection.memory,
      ...(this.main ? this.main.core.memory : { rooms: this.rooms.size }),
    };
  }

  /** Unread counts by room, live from the server (a client of several rooms). */
  get unread(): ReadonlyMap<string, number> {
    return this.rooms.unread;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof HipochatEvents>(event: K, listener: HipochatEvents[K]): () => void {
    return this.events.on(event, listener);
  }

  /** Unsubscribes a listener. */
  off<K extends keyof HipochatEvents>(event: K, listener: HipochatEvents[K]): void {
    this.events.off(event, listener);
  }

  /** Tells the client who its user is (for example remembered from an earlier session). */
  setSelfId(userId: string): void {
    if (this.selfId === userId) return;
    this.selfId = userId;
    this.events.emit('self', userId);
    this.rooms.relay('self', userId);
  }

  /**
   * Starts connecting (and keeps reconnecting). Resolves when the room is live the first time;
   * rejects when the client closes first, or after `timeoutMs`.
   */
  connect(timeoutMs = 30_000): Promise<void> {
    if (this.current === 'closed')
      return Promise.reject(new HipochatError('connection', 'the client is closed'));
    const live = new Promise<void>((resolve, reject) => {
      if (this.current === 'live') return resolve();
      let lastProblem = '';
      const timer = setTimeout(() => {
        done();
        const why = lastProblem ? `: ${lastProblem}` : '';
        reject(
          new HipochatError('timeout', `not connected to ${this.safeUrl()} after ${timeoutMs} ms${why}`),
        );
      }, timeoutMs);
      const offState = this.on('state', (change) => {
        if (change.reason) lastProblem = change.reason;
        if (change.state === 'live') {
          done();
          resolve();
        } else if (change.state === 'closed') {
          done();
          reject(new HipochatError('connection', `connection to ${this.safeUrl()} closed: ${change.reason}`));
        }
      });
      const done = () => {
        clearTimeout(timer);
        offState();
      };
    });
    this.connection.start();
    return live;
  }

  /** Marks the room read when messages of others arrived and the reader is looking (throttled). */
  markRead(): void {
    this.only().markRead();
  }

  /** Closes for good: no more reconnects. */
  close(): void {
    this.rooms.close();
    this.connection.close();
  }

  /** UTF-8 bytes of the frame {@link send} would send for `body` (a generated clientId counts as 36). */
  frameBytes(body: unknown, options: SendOptions = {}): number {
    return this.only().frameBytes(body, options);
  }

  /**
   * Sends a chat line, a reply (`parentId`) or a message mentioning users (`mentions`); resolves
   * with the server's acknowledgement (the message id), rejects with a `ModerationError` when
   * moderation refused it.
   */
  async send(body: unknown, options: SendOptions = {}): Promise<SendAck> {
    return this.only().send(body, options);
  }

  /** Replies in the thread of `rootId`. */
  async reply(rootId: string, body: unknown, options: Omit<SendOptions, 'parentId'> = {}): Promise<SendAck> {
    return this.only().reply(rootId, body, options);
  }

  /** A thread: its root and a page of its replies, oldest first. */
  async thread(rootId: string, query?: ThreadQuery): Promise<ThreadAnswer> {
    return this.only().thread(rootId, query);
  }

  /** The room's threads, latest activity first. */
  async threads(query?: { limit?: number }): Promise<ThreadsAnswer> {
    return this.only().threads(query);
  }

  /** Marks message `id` and what follows unread again; nothing is marked read until {@link markRead}. */
  async markUnread(id: string): Promise<MarkUnreadAnswer> {
    return this.only().markUnread(id);
  }

  /** Whether the room was marked unread and no {@link markRead} came since. */
  get readMarkHeld(): boolean {
    return this.main?.readMarkHeld ?? false;
  }

  /** Replaces the body of one of this user's messages. */
  async edit(id: string, body: unknown, options: { clientId?: string } = {}): Promise<SendAck> {
    return this.only().edit(id, body, options);
  }

  /** Deletes one of this user's messages: it stays in history as a tombstone without a body. */
  async delete(id: string, options: { clientId?: string } = {}): Promise<SendAck> {
    return this.only().delete(id, options);
  }

  /** Toggles this user's reaction `emoji` on a message. */
  async react(id: string, emoji: string, options: { clientId?: string } = {}): Promise<SendAck> {
    return this.only().react(id, emoji, options);
  }

  /** A message as this client has it now (edits, deletes and reactions applied), by id. */
  getMessage(id: string): ChatMessage | undefined {
    return this.main?.getMessage(id);
  }

  /**
   * Tells the room this user is typing, at most once per {@link TYPING_SEND_INTERVAL_MS}; cheap to
   * call on every keystroke. Returns whether a frame went out.
   */
  sendTyping(): boolean {
    return this.only().sendTyping();
  }

  /** Fetches what came after the newest message seen, emits it, and marks the room read. */
  async catchUp(): Promise<ChatMessage[]> {
    return this.only().catchUp();
  }

  /** Fetches the page before the oldest message loaded and emits it as history. */
  async loadEarlier(limit?: number): Promise<ChatMessage[]> {
    return this.only().loadEarlier(limit);
  }

  // The one room of a one-room client; a client of several rooms names the room (a rejection).
  private only(): ChatRoom {
    if (this.main) return this.main;
    throw new HipochatError('send', 'this client follows several rooms: use client.rooms.get(room)');
  }

  private makeRoom(room: string, multi: boolean): ChatRoom {
    const selfId = () => this.selfId;
    const identity: Identity = {
      get id() {
        return selfId();
      },
      learn: (id) => this.setSelfId(id),
    };
    const chatRoom: ChatRoom = new ChatRoom(
      { ...this.options, room },
      {
        connection: this.connection,
        http: this.http,
        self: identity,
        maxMessageBytes: this.maxMessageBytes,
        typingIntervalMs: TYPING_SEND_INTERVAL_MS,
        named: multi,
        state: () => this.current,
        notLive: () => (this.current !== 'live' ? this.current : chatRoom.live ? undefined : 'subscribing'),
      },
      this.events,
      multi,
    );
    return chatRoom;
  }

  private async onLink(change: LinkChange): Promise<void> {
    const extra = {
      ...(change.code === undefined ? {} : { code: change.code }),
      ...(change.reason ? { reason: change.reason } : {}),
    };
    switch (change.state) {
      case 'idle':
        return;
      case 'connecting':
        return this.report({
          state: change.attempt === 0 && !this.everLive ? 'connecting' : 'reconnecting',
          attempt: change.attempt,
        });
      case 'open':
        await this.rooms.opened();
        if (!this.connection.usable) return;
        this.everLive = true;
        this.rooms.markLive();
        this.connection.markHealthy();
        return this.report({ state: 'live' });
      case 'waiting':
        this.rooms.down();
        return this.report({
          state: 'reconnecting',
          attempt: change.attempt,
          delayMs: change.delayMs ?? 0,
          ...extra,
        });
      case 'closed':
        this.rooms.close();
        return this.report({ state: 'closed', ...extra });
    }
  }

  private report(change: StateChange): void {
    this.current = change.state;
    this.events.emit('state', change);
    this.rooms.relay('state', change);
  }

  private safeUrl(): string {
    return `${this.wsUrl.protocol}//${this.wsUrl.host}${this.wsUrl.pathname === '/' ? '' : this.wsUrl.pathname}`;
  }

  private async socketUrl(): Promise<string> {
    const url = new URL(this.wsUrl.toString());
    let credential: [string, string] = ['token', this.options.token];
    if (this.options.useTicket) credential = ['ticket', (await this.http.ticket(this.room)).ticket];
    const shape =
      this.options.shape ?? (this.wsUrl.pathname.includes('/talk/chat') ? 'legacy' : 'apigateway');
    // A client of several rooms names none: it subscribes each once open, with its own `since`.
    if (this.options.rooms !== undefined) {
      url.searchParams.delete('room');
    } else if (shape === 'legacy') {
      const prefix = url.pathname.replace(/\/talk\/chat.*$/, '').replace(/\/$/, '');
      url.pathname = `${prefix}/talk/chat/${encodeURIComponent(this.room)}/`;
    } else {
      url.searchParams.set('room', this.room);
    }
    url.searchParams.set(credential[0], credential[1]);
    if (this.options.batch !== false) url.searchParams.set('batch', '1');
    if (this.options.signals) url.searchParams.set(SIGNALS_PARAMETER, '1');
    if (this.options.rooms !== undefined && this.options.unread !== false) {
      url.searchParams.set(UNREAD_PARAMETER, '1');
    }
    return url.toString();
  }

  /** Whether the HTTP API refuses this user (a refused upgrade hides its status in browsers). */
  private async refusal(problem: string | undefined): Promise<string | undefined> {
    const status = problem ? /Unexpected server response: (\d{3})/.exec(problem)?.[1] : undefined;
    if (status === '401') return 'authentication error: the token was refused';
    try {
      const room = this.room || this.rooms.names()[0];
      if (room !== undefined) await this.http.notification(room);
    } catch (error) {
      const code = error instanceof HipochatError ? error.status : undefined;
      if (code === 401) return 'authentication error: the token was refused';
      if (code === 403) return `not allowed in this room: ${(error as Error).message}`;
      // A token the HTTP API cannot even parse (spaces, say) is as refused as a wrong one.
      if (code === 400) return `authentication error: the token was refused (${(error as Error).message})`;
    }
    if (status === '403') return 'not allowed in this room (403)';
    return undefined;
  }
}
