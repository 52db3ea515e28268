/** Values with deadlines for the in-memory store, like Redis keys with a TTL. */

/** A value with a deadline, like a Redis key with a TTL. */
export interface Expiring<T> {
  value: T;
  expiresAt: number;
}

/** The value under `key` unless it expired (an expired entry is removed). */
export function live<T>(map: Map<string, Expiring<T>>, key: string): T | undefined {
  const entry = map.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt <= Date.now()) {
    map.delete(key);
    return undefined;
  }
  return entry.value;
}

/** Like INCR + EXPIRE: the TTL starts with the first count, or again with every count when `slide`. */
export function count(
  map: Map<string, Expiring<number>>,
  key: string,
  ttlSeconds: number,
  slide: boolean,
): number {
  const value = (live(map, key) ?? 0) + 1;
  const restart = value === 1 || slide;
  const expiresAt = restart ? Date.now() + ttlSeconds * 1000 : map.get(key)!.expiresAt;
  map.set(key, { value, expiresAt });
  return value;
}

/** Whole seconds until the entry under `key` expires (at least 1), like Redis `TTL`. */
export function secondsLeft(map: Map<string, Expiring<number>>, key: string): number {
  const entry = map.get(key);
  return entry ? Math.max(1, Math.ceil((entry.expiresAt - Date.now()) / 1000)) : 1;
}
