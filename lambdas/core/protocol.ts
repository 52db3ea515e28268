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
  MAX_PUBLIC_PROFILE_BYTES,
  type Profile,
  ROOM_NAME_RULE,
  utf8Length,
} from '../../protocol/index.js';
import { BadRequestError, NestingTooDeepError, PayloadTooLargeError } from './errors.js';

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

/**
 * Whether a parsed JSON value nests arrays and objects more than `limit` levels deep (a scalar is
 * 0 levels, `[]` 1, `{"a":[1]}` 2). Iterative and stops at the first container past the limit,
 * so a body thousands of levels deep costs no stack; `JSON.stringify` and `structuredClone`
 * recurse and would throw `RangeError` on such a value later.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: unknown[] = [value];
  const depths: number[] = [0];
  while (pending.length > 0) {
    const item = pending.pop();
    const depth = depths.pop()! + 1;
    if (item === null || typeof item !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (child !== null && typeof child === 'object') {
        pending.push(child);
        depths.push(depth);
      }
    }
  }
  return false;
}

/**
 * Parses JSON text that must be at most `limit` bytes and, when `maxDepth` is given, nest at most
 * `maxDepth` levels.
 *
 * @throws BadRequestError, PayloadTooLargeError or NestingTooDeepError
 */
export function parseJson(
  text: string | undefined,
  limit: number,
  what = 'body',
  maxDepth?: number,
): unknown {
  if (text === undefined || text.length === 0) throw new BadRequestError(`missing ${what}`);
  if (Buffer.byteLength(text, 'utf8') > limit) throw new PayloadTooLargeError(limit);
  let value: unknown;
  try {
    // V8 parses any nesting iteratively; only what comes after has to be protected from depth.
    value = JSON.parse(text);
  } catch (error) {
    throw new BadRequestError(`${what} is not valid JSON`, { cause: error });
  }
  if (maxDepth !== undefined && nestsDeeperThan(value, maxDepth)) throw new NestingTooDeepError(maxDepth);
  if (maxDepth !== undefined) assertEncodedWithin(value, limit);
  return value;
}

/**
 * The server sends a value re-encoded, which can be longer than the text it came as (`1e20` goes
 * out as 21 digits), so the limit holds for that too. Only for values whose depth was checked.
 */
function assertEncodedWithin(value: unknown, limit: number): void {
  if (utf8Length(JSON.stringify(value)) > limit) throw new PayloadTooLargeError(limit);
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
 * Parses and validates a websocket frame from a client. The body and every other client field may
 * nest at most `maxDepth` levels (the frame object itself is one more).
 *
 * @throws BadRequestError, PayloadTooLargeError or NestingTooDeepError with a message fit for an
 *   error frame
 */
export function parseClientFrame(
  text: string | undefined,
  limit: number,
  types: readonly string[],
  maxDepth = Number.POSITIVE_INFINITY,
): ReceivedFrame {
  const data = parseJson(text, limit, 'frame');
  if (nestsDeeperThan(data, maxDepth + 1)) throw new NestingTooDeepError(maxDepth);
  assertEncodedWithin(data, limit);
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

/** Profile fields that leave the server when `HIPOCHAT_PROFILE_PUBLIC_FIELDS` is unset, after the id field. */
export const DEFAULT_PUBLIC_PROFILE_FIELDS = [
  'username',
  'name',
  'first_name',
  'last_name',
  'surname',
  'avatar',
  'avatar_url',
  'picture',
] as const;

/** `HIPOCHAT_PROFILE_PUBLIC_FIELDS`' default: the id field, then {@link DEFAULT_PUBLIC_PROFILE_FIELDS}. */
export function defaultPublicFields(idField: string): string[] {
  return [...new Set([idField, ...DEFAULT_PUBLIC_PROFILE_FIELDS])];
}

/**
 * The part of a profile that leaves the server (`author` in frames, history, tickets, the identity
 * cache, the push webhook): the top-level `fields` only, and only when their value is a string, a
 * finite number, a boolean or null. An allowlist, so a credential the profile endpoint adds later
 * (`accessToken`, `session.token`, a token echoed as `login`) never leaks; nested objects and
 * arrays are dropped even under an allowed name, since a secret could sit inside them.
 */
export function publicProfile(profile: Profile, fields: readonly string[]): Profile {
  const copy: Profile = {};
  // `{}` plus each field's `"name":value,`: the JSON the author weighs in a frame.
  let bytes = 2;
  for (const field of fields) {
    if (field === '__proto__' || !Object.hasOwn(profile, field)) continue;
    const value = profile[field];
    if (
      value === null ||
      typeof value === 'string' ||
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value))
    ) {
      // Bounded, so every outbound frame fits API Gateway's 32 KB: a field past the budget is left out.
      const size = utf8Length(`${JSON.stringify(field)}:${JSON.stringify(value)},`);
      if (bytes + size > MAX_PUBLIC_PROFILE_BYTES) continue;
      bytes += size;
      copy[field] = value;
    }
  }
  return copy;
}
