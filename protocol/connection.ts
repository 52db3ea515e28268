/**
 * Keeping a socket alive and getting it back: API Gateway closes a socket idle for 10 minutes,
 * and browsers cannot send protocol-level pings, so clients send a ping frame the server answers.
 */
import { encodeClientFrame } from './client-frame-encoder.js';
import { encodeServerFrame } from './frames.js';

/** The keep-alive frame a client sends: `{"type":"ping"}` (answered, never stored). */
export const KEEP_ALIVE_FRAME: string = encodeClientFrame({ kind: 'ping' });

/** The server's answer to {@link KEEP_ALIVE_FRAME}: `{"type":"pong"}`. */
export const KEEP_ALIVE_REPLY: string = encodeServerFrame({ kind: 'pong' });

/** How often a live client pings: well inside API Gateway's 10-minute idle timeout. */
export const KEEP_ALIVE_INTERVAL_MS = 300_000;

/** First reconnect delay of a client. */
export const RECONNECT_INITIAL_DELAY_MS = 500;

/** Cap of a client's exponential reconnect delay, so a long outage still retries every few seconds. */
export const RECONNECT_MAX_DELAY_MS = 15_000;

/**
 * Close codes after which reconnecting would only be refused again: 1000 (closed on purpose,
 * e.g. unsubscribed) and 1008 (policy: the token was refused).
 */
export const FINAL_CLOSE_CODES: readonly number[] = [1000, 1008];
