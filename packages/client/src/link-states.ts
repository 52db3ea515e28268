/**
 * The connection's states, the transitions between them, the numbered reasons it closes for, and
 * the socket surface it needs: the vocabulary of {@link Connection}, apart from its machinery.
 */
import type { RECONNECT_INITIAL_DELAY_MS, RECONNECT_MAX_DELAY_MS } from '../../../protocol/index.js';

/** States of a connection. `waiting` is the pause before the next attempt. */
export type LinkState = 'idle' | 'connecting' | 'open' | 'waiting' | 'closed';

/** Every allowed move; anything else is refused (and is a bug). */
export const TRANSITIONS: { readonly [S in LinkState]: readonly LinkState[] } = {
  idle: ['connecting', 'closed'],
  connecting: ['open', 'waiting', 'closed'],
  open: ['waiting', 'closed'],
  waiting: ['connecting', 'closed'],
  closed: [],
};

/**
 * Why a connection closed. Codes below 200 are transient (it reconnects), from 200 final.
 * The server's own WebSocket close code, when there was one, is in the reason text.
 */
export const CloseCode = {
  /** An open socket closed (network, server restart, a non-final server close). */
  ConnectionLost: 100,
  /** The socket never opened. */
  ConnectFailed: 101,
  /** The socket did not open in `connectTimeoutMs`. */
  ConnectTimeout: 102,
  /** {@link Connection.close} was called. */
  ClientClosed: 200,
  /** The server closed with a final code (1000 closed on purpose, 1008 policy). */
  ServerClosed: 201,
  /** The token or ticket was refused, or the user may not enter the room. */
  Refused: 202,
  /** No WebSocket implementation was found. */
  NoWebSocket: 203,
  /** `reconnect.maxAttempts` failed attempts in a row. */
  GaveUp: 204,
} as const;

/** One of {@link CloseCode}'s values. */
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

/** Whether a close code ends the connection for good. */
export function isFinalClose(code: number): boolean {
  return code >= 200;
}

// Method-derived function types are compared bivariantly, so the richer event types of the
// browser's and `ws`'s handlers still fit this minimal surface.
type Handler<E> = { bivariant(event: E): void }['bivariant'];

/** Minimal WebSocket surface the client needs (the browser's, undici's and `ws`'s all fit). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onerror: Handler<unknown> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
}

/** A WebSocket constructor. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Reconnection policy. */
export interface ReconnectOptions {
  /** First delay. @default {@link RECONNECT_INITIAL_DELAY_MS} (500) */
  initialDelayMs?: number;
  /** Cap of the exponential delay. @default {@link RECONNECT_MAX_DELAY_MS} (15000) */
  maxDelayMs?: number;
  /** Consecutive failed attempts before giving up (state `closed`). @default Infinity */
  maxAttempts?: number;
}

/** The server's answer to a send. */
export interface SendAck {
  /** The stored message's id (empty when the type is ephemeral on the server, which stores nothing). */
  id: string;
  clientId: string;
  /** The server took the frame as an ephemeral type (typing): delivered live, never stored. */
  ephemeral?: true;
}
