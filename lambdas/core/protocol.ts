/**
 * The server's side of the wire: strict reading of what clients send (zod), room names from URLs,
 * identities and public profiles. The shared shapes and constants live in `protocol/`.
 */
import * as z from 'zod/mini';
import {
  CHAT_MESSAGE_TYPE,
  type ChatMessage,
  isValidRoom,
  MAX_CLIENT_ID_LENGTH,
  MAX_MESSAGE_TYPE_LENGTH,
  type Profile,
  ROOM_NAME_RULE,
} from '../../protocol/index.js';
import { BadRequestError, PayloadTooLargeError } from './errors.js';

/** Who is talking: a stable id and the public profile. */
export interface Identity {
  userId: string;
  profile: Profile;
}

/** A message before the store gives it an id. */
export type NewMessage = Omit<ChatMessage, 'id'>;

// `{"type":"message","body":...}` plus optional client fields; loose, so extra fields survive.
const receivedFrameSchema = z.looseObject({
  type: z.optional(z.string().check(z.minLength(1), z.maxLength(MAX_MESSAGE_TYPE_LENGTH))),
  body: z.optional(z.unknown()),
  message: z.optional(z.unknown()),
  clientId: z.optional(z.string().check(z.minLength(1), z.maxLength(MAX_CLIENT_ID_LENGTH))),
});

/** A client frame as the server received and checked it (the wire's `SendFrame`, leniently read). */
export type ReceivedFrame = z.infer<typeof receivedFrameSchema>;

/**
 * Validates a room name taken from a URL (Hipochat accepts exactly one trailing slash).
 *
 * @throws BadRequestError when the name is empty, too long or has a character outside the alphabet
 */
export function parseRoom(raw: string | undefined): string {
  const room = (raw ?? '').replace(/\/$/, '');
  if (!isValidRoom(room)) {
    throw new BadRequestError(`invalid room name: use ${ROOM_NAME_RULE}`);
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
): ReceivedFrame {
  const data = parseJson(text, limit, 'frame');
  const parsed = receivedFrameSchema.safeParse(data);
  if (!parsed.success) throw new BadRequestError('frame must be a JSON object with a body');
  const frame = parsed.data;
  // Hipochat clients sent `{"message": ...}`; treat it as the body.
  if (frame.body === undefined && frame.message !== undefined) frame.body = frame.message;
  if (frame.body === undefined || frame.body === null || frame.body === '')
    throw new BadRequestError('missing body');
  const type = frame.type ?? CHAT_MESSAGE_TYPE;
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
