/**
 * The room-name rule, shared so a client refuses a bad name before the server would.
 */

/** Hipochat's room alphabet, at most 128 characters; URL-safe, so room names need no encoding. */
export const ROOM_PATTERN = /^[a-zA-Z0-9\-.:,_]{1,128}$/;

/** {@link ROOM_PATTERN} in words, for error messages on both sides. */
export const ROOM_NAME_RULE = '1-128 characters of [a-zA-Z0-9-.:,_]';

/** Whether `name` is a valid room name (no trailing slash: URL parsing strips it first). */
export function isValidRoom(name: string): boolean {
  return ROOM_PATTERN.test(name);
}
