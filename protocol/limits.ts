/**
 * Size limits both ends must agree on: a client checks them before sending so an over-size
 * message fails locally with a clear message instead of as a server error frame.
 */

/** The default of the server's `HIPOCHAT_MAX_MESSAGE_BYTES`: the largest client frame, in UTF-8 bytes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16_384;

/**
 * The largest websocket frame API Gateway takes: it closes a socket (1009) on a bigger one, so the
 * server's `HIPOCHAT_MAX_MESSAGE_BYTES` may not exceed it.
 */
export const MAX_FRAME_BYTES = 32 * 1024;

/** API Gateway bills outbound websocket data in 32 KB units; a batch frame stays within one. */
export const BATCH_FRAME_BYTES = MAX_FRAME_BYTES;

/**
 * The most an HTTP answer may weigh, in bytes of its body as Lambda returns it (a JSON string
 * inside the response JSON): Lambda refuses a synchronous response over 6 MB, so history answers
 * hold the newest messages that fit and say `more`.
 */
export const MAX_ANSWER_BYTES = 5_000_000;

/** The longest `clientId` a client frame may carry (the server echoes it back in acks and error frames). */
export const MAX_CLIENT_ID_LENGTH = 128;

/** The longest message `type` a client frame may name. */
export const MAX_MESSAGE_TYPE_LENGTH = 64;

/**
 * UTF-8 byte length of a string: limits count bytes, not characters. TextEncoder, not Node's
 * Buffer, so it runs in browsers too.
 */
export function utf8Length(text: string): number {
  return new TextEncoder().encode(text).length;
}
