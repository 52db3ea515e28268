/**
 * Idempotency and change keys, scoped by who calls: a user's keys and the backend's (service key)
 * live apart, whatever the user's id, so no user can answer or block the backend's requests.
 */
import { BadRequestError } from './errors.js';

/** What an `Idempotency-Key` header may hold: 1 to 128 printable ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,128}$/;

/** The scope of the backend: no user scope equals it, since every user scope starts with `u:`. */
const BACKEND_SCOPE = 'backend';

/** What a key is for: a sent message (`c`), an injection (`i`) or a change (`x`: edit, delete, reaction). */
export type KeyPurpose = 'c' | 'i' | 'x';

/** Whether a decoded JSON value is an object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The caller's part of a key: `u:<user id>` for a user (`%` and `:` escaped, so no two users share
 * one), `backend` for the backend (`null`).
 */
export function scopeOf(userId: string | null): string {
  return userId === null ? BACKEND_SCOPE : `u:${userId.replaceAll('%', '%25').replaceAll(':', '%3A')}`;
}

/** The store key of a caller's own key (a `clientId` or an `Idempotency-Key`) for one purpose. */
export function callerKey(purpose: KeyPurpose, userId: string | null, key: string): string {
  return `${purpose}:${scopeOf(userId)}:${key}`;
}

/**
 * Checks an `Idempotency-Key` header.
 *
 * @throws BadRequestError unless it is 1-128 printable characters
 */
export function checkIdempotencyKey(key: string | undefined): string | undefined {
  if (key !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new BadRequestError('Idempotency-Key must be 1-128 printable characters');
  }
  return key;
}
