/**
 * The server's side of the wire: the size and depth limits and configured types every client frame
 * is read under, room names from URLs, identities and public profiles. The frames themselves, and
 * their one parser, live in `protocol/`.
 */
import {
  type ChatMessage,
  type ClientFrame,
  type ClientFrameRules,
  clientIdOf,
  isValidRoom,
  MAX_PUBLIC_PROFILE_BYTES,
  type Profile,
  ROOM_NAME_RULE,
  readClientFrame,
  utf8Length,
} from '../../protocol/index.js';
import type { ChatConfig } from './config.js';
import { BadRequestError, type HttpError, NestingTooDeepError, PayloadTooLargeError } from './errors.js';

/** Who is talking: a stable id and the public profile. */
export interface Identity {
  userId: string;
  profile: Profile;
}

/** A message before the store gives it an id. */
export type NewMessage = Omit<ChatMessage, 'id'>;

/** The settings a client frame is read under. */
export type FrameRules = ClientFrameRules & Pick<ChatConfig, 'maxMessageBytes' | 'maxBodyDepth'>;

/**
 * A client frame as the server received it: the typed frame, or the error that refuses it; either
 * way the frame's `clientId` when it had a usable one, for the ack or the error frame.
 */
export type ReceivedFrame =
  | { frame: ClientFrame; clientId?: string }
  | { error: HttpError; clientId?: string };

// An over-size frame is still read this far for its clientId, so the error frame can name it.
const MAX_CLIENT_ID_SCAN = 262_144;

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
 * `maxDepth` levels below `envelope` levels of its own (a body inside `{"id":…,"body":…}` has one).
 * The depth error names `maxDepth`, the limit the caller's body is held to.
 *
 * @throws BadRequestError, PayloadTooLargeError or NestingTooDeepError
 */
export function parseJson(
  text: string | undefined,
  limit: number,
  what = 'body',
  maxDepth?: number,
  envelope = 0,
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
  if (maxDepth !== undefined && nestsDeeperThan(value, maxDepth + envelope)) {
    throw new NestingTooDeepError(maxDepth);
  }
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

/** The clientId of an over-size frame, read only when the frame is not huge. */
function oversizeClientId(text: string): string | undefined {
  if (text.length > MAX_CLIENT_ID_SCAN) return undefined;
  try {
    return clientIdOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/**
 * Reads a websocket frame from a client, once: at most `HIPOCHAT_MAX_MESSAGE_BYTES`, its body and
 * every other field nested at most `HIPOCHAT_MAX_BODY_DEPTH` levels (the frame object itself is
 * one more), then typed by the wire's parser under the configured message and ephemeral types.
 * Never throws: a refusal is answered with an error frame.
 */
export function receiveFrame(text: string | undefined, rules: FrameRules): ReceivedFrame {
  const { maxMessageBytes, maxBodyDepth } = rules;
  if (text === undefined || text.length === 0) return { error: new BadRequestError('missing frame') };
  if (Buffer.byteLength(text, 'utf8') > maxMessageBytes) {
    const clientId = oversizeClientId(text);
    const error = new PayloadTooLargeError(maxMessageBytes);
    return clientId === undefined ? { error } : { error, clientId };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    return { error: new BadRequestError('frame is not valid JSON', { cause }) };
  }
  const clientId = clientIdOf(value);
  const seen = clientId === undefined ? {} : { clientId };
  if (nestsDeeperThan(value, maxBodyDepth + 1))
    return { error: new NestingTooDeepError(maxBodyDepth), ...seen };
  if (utf8Length(JSON.stringify(value)) > maxMessageBytes)
    return { error: new PayloadTooLargeError(maxMessageBytes), ...seen };
  const frame = readClientFrame(value, rules);
  if (frame.kind === 'refused') return { error: new BadRequestError(frame.message), ...seen };
  return { frame, ...seen };
}

/**
 * {@link receiveFrame} for callers that want the frame or an exception.
 *
 * @throws BadRequestError, PayloadTooLargeError or NestingTooDeepError with a message fit for an
 *   error frame
 */
export function readFrame(text: string | undefined, rules: FrameRules): ClientFrame {
  const received = receiveFrame(text, rules);
  if ('error' in received) throw received.error;
  return received.frame;
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

/**
 * The profile fields a user id is read from, in order: `HIPOCHAT_PROFILE_ID_FIELD`, then `id` and
 * `user_id` (Hipochat's profiles used either).
 */
export function profileIdFields(idField: string): string[] {
  return [...new Set([idField, 'id', 'user_id'])];
}

/**
 * `HIPOCHAT_PROFILE_PUBLIC_FIELDS`' default: the id fields ({@link profileIdFields}), then
 * {@link DEFAULT_PUBLIC_PROFILE_FIELDS}.
 */
export function defaultPublicFields(idField: string): string[] {
  return [...new Set([...profileIdFields(idField), ...DEFAULT_PUBLIC_PROFILE_FIELDS])];
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
