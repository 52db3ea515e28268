/** URL checks and the reconnect delay: pure helpers of the connection and the HTTP part. */
import { HipochatError } from './errors.js';

/**
 * Capped exponential backoff with jitter: attempt 1 waits about `initial`, each next one twice
 * as long up to `max`; the delay is drawn from the upper half so clients spread out after an
 * outage but never retry immediately.
 */
export function backoffDelay(attempt: number, initial: number, max: number, random = Math.random): number {
  const base = Math.min(max, initial * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + random() * (base / 2));
}

/** Parses a ws URL, explaining what is wrong with a bad one. */
export function parseWsUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HipochatError(
      'connection',
      `invalid ws URL "${raw}": expected ws://host:port or wss://host/stage`,
    );
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new HipochatError(
      'connection',
      `invalid ws URL "${raw}": the scheme must be ws:// or wss://, not ${url.protocol}//`,
    );
  }
  return url;
}

/** Parses an HTTP base URL, explaining what is wrong with a bad one. */
export function parseHttpUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new HipochatError('http', `invalid HTTP URL "${raw}": expected http://host:port or https://host`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HipochatError(
      'http',
      `invalid HTTP URL "${raw}": the scheme must be http:// or https://, not ${url.protocol}//`,
    );
  }
  return url;
}

/** The HTTP base a ws URL implies: same host, http(s), no path (the local gateway serves both). */
export function httpUrlFromWs(wsUrl: string): string {
  const url = parseWsUrl(wsUrl);
  return `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`;
}

/** A random id for a frame's `clientId`. */
export function randomId(): string {
  const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}
