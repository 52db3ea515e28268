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

/** The most bytes of JSON a message's `author` (the public part of a profile) may weigh. */
export const MAX_PUBLIC_PROFILE_BYTES = 2048;

/** The longest user id (the profile's id field, a message's `senderId`), in UTF-8 bytes. */
export const MAX_USER_ID_BYTES = 256;

/**
 * What the server adds to a client frame on its way out, at most: `id` (a stream id, 33
 * characters), `room` and `token` (128 each), `timestamp`, `author` (a bounded public profile),
 * `senderId`, `type` when the client sent none, and their keys and quotes; rounded up. The outbound
 * frame of the largest client frame must still fit {@link MAX_FRAME_BYTES}.
 */
export const OUTBOUND_ENVELOPE_BYTES = 3072;

/** The highest `HIPOCHAT_MAX_MESSAGE_BYTES`: its outbound frame, envelope included, fits 32 KB. */
export const MAX_MESSAGE_BYTES_LIMIT = MAX_FRAME_BYTES - OUTBOUND_ENVELOPE_BYTES;

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

/** Users a reactions summary lists per emoji at most (`count` counts them all, `clipped` says so). */
export const MAX_LISTED_REACTORS = 20;

/** Distinct reactions (emoji) one message may carry. */
export const MAX_REACTIONS_PER_MESSAGE = 20;

/** Bytes (UTF-8) of one reaction at most: the longest emoji sequence (a kiss with two skin tones) takes 35. */
export const MAX_EMOJI_BYTES = 64;

/** A reaction name a deployment may offer in `HIPOCHAT_REACTIONS` (`thumbsup`, `+1`, `party_popper`). */
export const EMOJI_NAME_PATTERN = /^[a-z0-9_+-]{1,32}$/;

// One RGI emoji sequence (Unicode's list of emoji every platform draws: `👍`, `👍🏽`, `🇫🇷`,
// `👩‍👩‍👧`), never a lone joiner, tag or surrogate. Engines without the `v` flag (browsers before
// 2023) get an approximation; the server, on Node 20+, always has it.
const RGI_EMOJI = (() => {
  try {
    // biome-ignore lint/complexity/useRegexLiterals: a `v` literal is a syntax error where unsupported; the constructor throws here instead
    return new RegExp('^\\p{RGI_Emoji}$', 'v');
  } catch {
    return /^(?:\p{Regional_Indicator}{2}|[#*0-9]\uFE0F\u20E3|\p{Extended_Pictographic}\uFE0F?[\u{1F3FB}-\u{1F3FF}]?(?:\u200D\p{Extended_Pictographic}\uFE0F?[\u{1F3FB}-\u{1F3FF}]?)*)$/u;
  }
})();

// Names that mean something on every JavaScript object: never a reaction, so a client that keeps
// reactions in a plain object cannot be confused.
const OBJECT_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

// Made on first use: `Intl.Segmenter` is newer than the browsers the client supports (Firefox 125),
// and only the server checks offered reactions.
let graphemes: Intl.Segmenter | undefined;

/**
 * Whether `entry` may be offered as a reaction in `HIPOCHAT_REACTIONS`: a name of
 * {@link EMOJI_NAME_PATTERN}, or one visible grapheme (no control, format, space or lone surrogate
 * code point) of at most {@link MAX_EMOJI_BYTES} bytes; never a property name of `Object.prototype`.
 */
export function isOfferableReaction(entry: string): boolean {
  if (OBJECT_NAMES.has(entry)) return false;
  if (EMOJI_NAME_PATTERN.test(entry)) return true;
  if (entry.length === 0 || utf8Length(entry) > MAX_EMOJI_BYTES) return false;
  if (/[\p{Cc}\p{Cf}\p{Cs}\p{Z}]/u.test(entry)) return false;
  let clusters = 0;
  graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  for (const _ of graphemes.segment(entry)) clusters += 1;
  return clusters === 1;
}

/**
 * Whether `emoji` may be a reaction: one RGI emoji sequence, or one of the server's `offered`
 * reactions (`HIPOCHAT_REACTIONS`). A lone ZWJ, U+202E, tag characters, a lone surrogate,
 * `__proto__` or `constructor` never are.
 */
export function isValidEmoji(emoji: unknown, offered: readonly string[] = []): emoji is string {
  if (typeof emoji !== 'string' || emoji.length === 0 || utf8Length(emoji) > MAX_EMOJI_BYTES) return false;
  if (OBJECT_NAMES.has(emoji)) return false;
  return RGI_EMOJI.test(emoji) || offered.includes(emoji);
}
