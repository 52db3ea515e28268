import * as z from 'zod/mini';
import { BadRequestError, PayloadTooLargeError } from './errors.js';

/** Hipochat's room alphabet, at most 128 characters. */
export const ROOM_PATTERN = /^[a-zA-Z0-9\-.:,_]{1,128}$/;

/** A user's profile as the profile endpoint returned it, without secrets. */
export type Profile = Record<string, unknown>;

/** Who is talking: a stable id and the public profile. */
export interface Identity {
  userId: string;
  profile: Profile;
}

/** A stored and delivered message, in Hipochat's shape plus `id` and `type`. */
export interface ChatMessage {
  /** Unique, ordered id (the Redis stream id, `<ms>-<seq>`). */
  id: string;
  type: string;
  room: string;
  /** Hipochat's name for the room. */
  token: string;
  /** Seconds since the epoch, with fraction. */
  timestamp: number;
  body: unknown;
  /** The sender's profile, or `null` for a backend injection without one. */
  author: Profile | null;
  /** The sender's user id (never a token); absent for anonymous injections. */
  senderId?: string;
  /** Client-chosen id echoed back so a sender can match its own message. */
  clientId?: string;
}

/** A message before the store gives it an id. */
export type NewMessage = Omit<ChatMessage, 'id'>;

/** `{"type":"message","body":...}` plus optional client fields. */
export const clientFrameSchema = z.looseObject({
  type: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
  body: z.optional(z.unknown()),
  message: z.optional(z.unknown()),
  clientId: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
});

/** A parsed client frame. */
export type ClientFrame = z.infer<typeof clientFrameSchema>;

/**
 * Validates a room name taken from a URL (Hipochat accepts exactly one trailing slash).
 *
 * @throws BadRequestError when the name is empty, too long or has a character outside the alphabet
 */
export function parseRoom(raw: string | undefined): string {
  const room = (raw ?? '').replace(/\/$/, '');
  if (!ROOM_PATTERN.test(room)) {
    throw new BadRequestError('invalid room name: use 1-128 characters of [a-zA-Z0-9-.:,_]');
  }
  return room;
}

/** Parses JSON text that must be at most `limit` bytes. */
export function parseJson(text: string | undefined, limit: number, what = 'body'): unknown {
  if (text === undefined || text.length === 0) throw new BadRequestError(`missing ${what}`);
  if (Buffer.byteLength(text, 'utf8') > limit) throw new PayloadTooLargeError(limit);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError(`${what} is not valid JSON`, { cause: error });
  }
}

/** The keep-alive frame: API Gateway closes a socket idle for 10 minutes, and browsers cannot ping. */
export const KEEP_ALIVE_FRAME = '{"type":"ping"}';
/** The answer to a keep-alive frame. */
export const KEEP_ALIVE_REPLY = '{"type":"pong"}';

/** Whether a frame is `{"type":"ping"}` (answered with `{"type":"pong"}`, never stored). */
export function isKeepAlive(text: string | undefined): boolean {
  if (!text || text.length > 64 || !text.includes('ping')) return false;
  try {
    const frame = JSON.parse(text) as { type?: unknown } | null;
    return frame !== null && typeof frame === 'object' && frame.type === 'ping';
  } catch {
    return false;
  }
}

/**
 * Parses and validates a websocket frame from a client.
 *
 * @throws BadRequestError or PayloadTooLargeError with a message fit for an error frame
 */
export function parseClientFrame(
  text: string | undefined,
  limit: number,
  types: readonly string[],
): ClientFrame {
  const data = parseJson(text, limit, 'frame');
  const parsed = clientFrameSchema.safeParse(data);
  if (!parsed.success) throw new BadRequestError('frame must be a JSON object with a body');
  const frame = parsed.data;
  // Hipochat clients sent `{"message": ...}`; treat it as the body.
  if (frame.body === undefined && frame.message !== undefined) frame.body = frame.message;
  if (frame.body === undefined || frame.body === null || frame.body === '')
    throw new BadRequestError('missing body');
  const type = frame.type ?? 'message';
  if (!types.includes(type)) throw new BadRequestError(`unknown message type: ${type}`);
  return { ...frame, type };
}

// Profile fields that hold credentials and never leave the authenticator.
const SECRET_FIELDS = new Set([
  'token',
  'auth_token',
  'access_token',
  'refresh_token',
  'key',
  'api_key',
  'secret',
  'password',
]);
// Below this length a token is a name (dev identities), not a secret worth hunting for in values.
const SECRET_MIN_LENGTH = 16;

/** The profile without credential fields, and without any value equal to a secret-length token. */
export function publicProfile(profile: Profile, token: string): Profile {
  const copy: Profile = {};
  for (const [key, value] of Object.entries(profile)) {
    if (SECRET_FIELDS.has(key.toLowerCase())) continue;
    if (token.length >= SECRET_MIN_LENGTH && value === token) continue;
    copy[key] = value;
  }
  return copy;
}

/** A message id: `<milliseconds>-<sequence>`, as Redis streams number entries. */
export const MESSAGE_ID_PATTERN = /^\d{1,16}-\d{1,16}$/;

/** Orders message ids; negative when `a` comes first. */
export function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint];
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}
