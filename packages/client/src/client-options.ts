/** What a {@link HipochatClient} is told: where, who, and how it connects. */
import type { DEFAULT_MAX_MESSAGE_BYTES } from '../../../protocol/index.js';
import type { HipochatClient } from './client.js';
import type { ReconnectOptions, WebSocketConstructor } from './link-states.js';
import type { RoomOptions } from './room.js';

/** Options of {@link HipochatClient}. */
export interface HipochatClientOptions extends Omit<RoomOptions, 'room'> {
  /**
   * WebSocket endpoint: `ws://host:8888` or a stage URL (API Gateway shape, `?room=&token=` is
   * appended), or `ws://host:8888/talk/chat/` (Hipochat shape, `<room>/?token=` is appended).
   */
  url: string;
  /** HTTP API base (prefix of `/talk/...`). @default the ws URL's origin with http(s) */
  httpUrl?: string;
  /** The one room of this client (`?room=`); or name `rooms`. */
  room?: string;
  /**
   * The rooms this client follows on one connection, each subscribed after every (re)connect;
   * `client.rooms.add`/`remove` change them. Instead of `room`.
   */
  rooms?: readonly string[];
  /** With `rooms`: keep the user's unread counts live (`?unread=1`). @default true */
  unread?: boolean;
  /** The user's token (`Authorization: Token <token>`). */
  token: string;
  /** URL shape. @default `legacy` when the URL path contains `/talk/chat`, else `apigateway` */
  shape?: 'apigateway' | 'legacy';
  /** Connect with a single-use ticket from `POST /talk/ticket/{room}/`, keeping the token out of the ws URL. */
  useTicket?: boolean;
  /** `false` never reconnects. */
  reconnect?: ReconnectOptions | false;
  /** Ask for batch frames (`?batch=1`); events are the same. @default true */
  batch?: boolean;
  /** Ask for live signals (`?signals=1`): presence, typing, read and change events. @default false */
  signals?: boolean;
  /** The server's `HIPOCHAT_MAX_MESSAGE_BYTES`. @default {@link DEFAULT_MAX_MESSAGE_BYTES} (16384) */
  maxMessageBytes?: number;
  /** Ping this often while connected (API Gateway closes idle sockets). `0` turns it off. @default 300000 */
  keepAliveMs?: number;
  /** Give up on an opening socket after this long. @default 10000 */
  connectTimeoutMs?: number;
  /** HTTP request timeout. @default 10000 */
  requestTimeoutMs?: number;
  /** Reject a send with no acknowledgement after this long. @default 10000 */
  sendTimeoutMs?: number;
  /** WebSocket constructor. @default globalThis.WebSocket (Node ≥ 22, browsers) */
  WebSocket?: WebSocketConstructor;
  /** fetch implementation. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Source of randomness for jitter (tests pin it). @default Math.random */
  random?: () => number;
}
