/**
 * Answers of the HTTP API that clients read, so the server's handlers and the client library
 * cannot drift apart.
 */
import type { ChatMessage, Profile } from './messages.js';

/** Where a history answer stops: whether older messages exist and where to ask for them. */
export interface HistoryPage {
  /** Older messages exist that this answer does not hold (beyond `limit` or the 5 MB budget). */
  more: boolean;
  /** The oldest id in this answer, for the next `?before=`; null when it holds no message. */
  before: string | null;
}

/**
 * `GET /talk/old/{room}/[?limit=N][&before=<id>][&since=<id>]`: both shapes Hipochat documented,
 * oldest first, plus where the page stops (servers before paging leave `page` out).
 */
export interface OldMessages {
  oldy: ChatMessage[];
  results: { read_messages: ChatMessage[]; unread_messages: ChatMessage[] };
  page?: HistoryPage;
}

/** One room of `GET /talk/history/{rooms}/`. */
export interface RoomHistory {
  room_name: string;
  unread_count: number;
  /** Messages mentioning the caller among the unread ones (servers before mentions leave it out). */
  mention_count?: number;
  /** The latest messages, oldest first. */
  messages: ChatMessage[];
  /** Where the room's messages stop (servers before paging leave it out). */
  page?: HistoryPage;
}

/** `GET /talk/history/{rooms}/`: one entry per requested room. */
export interface HistoryAnswer {
  results: RoomHistory[];
}

/** `GET /talk/notification/{room}/`: the user's unread count. */
export interface NotificationAnswer {
  notification: number;
  /** Messages mentioning the caller since they last read (servers before mentions leave it out). */
  mentions?: number;
}

/** `POST /talk/ticket/{room}/`: a single-use connect credential, so the token stays out of the ws URL. */
export interface ConnectTicket {
  ticket: string;
  /** Seconds the ticket stays valid. */
  expiresIn: number;
}

/** `POST /talk/new-chat-room/{room}/`: the user ids made members. */
export interface MembersAdded {
  room: string;
  added: string[];
}

/** `POST /talk/unsubscribe/{room}/`: the user ids removed and how many of their sockets were closed. */
export interface MembersRemoved {
  room: string;
  removed: string[];
  disconnected: number;
}

/** `GET /talk/presence/{room}/`: who is online in the room (each user once, by public profile). */
export interface PresenceAnswer {
  room: string;
  online: Profile[];
  /** Open live connections in the room (a user with two tabs counts twice); servers before occupancy leave it out. */
  connections?: number;
  /** Members of the room (0 for an open room without members); servers before occupancy leave it out. */
  members?: number;
}

/** One member's read mark: the newest message id they have read. */
export interface ReadReceipt {
  user: Profile;
  lastRead: string;
}

/**
 * `GET /talk/receipts/{room}/[?limit=N][&after=<next>]`: one page of the members' read marks, the
 * most recent reader first within the page; pages come in no particular order.
 */
export interface ReceiptsAnswer {
  room: string;
  receipts: ReadReceipt[];
  /** Pass as `?after=` for the next page; null on the last page (servers before paging leave it out). */
  next?: string | null;
}

/** Read marks per `GET /talk/receipts/` page when `limit` is not given. */
export const DEFAULT_RECEIPTS_LIMIT = 100;

/** The most read marks one `GET /talk/receipts/` page may ask for. */
export const MAX_RECEIPTS_LIMIT = 1000;

/** Where a broadcast stored its message in one room. */
export interface BroadcastPlacement {
  room: string;
  /** The stored message's id in that room. */
  id: string;
}

/**
 * `POST /talk/broadcast/?type=T` (service key): the id of the message stored in each room, in the
 * rooms' order (never the bodies, so the answer stays small whatever the message size).
 */
export interface BroadcastAnswer {
  messages: BroadcastPlacement[];
}

/** The body of `POST /talk/broadcast/`: the rooms travel in the body, since `,` is legal in a room name. */
export interface BroadcastRequest {
  rooms: string[];
  body: unknown;
}

/** The most rooms one `POST /talk/broadcast/` may name. */
export const MAX_BROADCAST_ROOMS = 100;

/** `POST /talk/disconnect/{user}/` (service key): how many of the user's sockets were closed, in every room. */
export interface UserDisconnected {
  user: string;
  disconnected: number;
}

/** The body of a refused HTTP request (`error`; some proxies answer `message`). */
export interface HttpErrorBody {
  error?: string;
  message?: string;
}
