import { isLoopback } from './dev-services.js';
import type { LocalCredentials } from './sigv4.js';

/**
 * The keys the local gateway signs and verifies `@connections` and Invoke requests with when
 * `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` are unset (documented in the README, so public).
 */
export const DEFAULT_LOCAL_KEYS: Readonly<LocalCredentials> = {
  accessKeyId: 'local',
  secretAccessKey: 'local',
};

/**
 * A URL as start-up prints it: the password of its user info and the value of every query
 * parameter (an API key in `?key=`, a signature) hidden, the fragment dropped. Parameter names
 * stay, so the line still says which URL it is.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Config validation checks the URLs it takes; anything else is not printed at all.
    return '<not a URL>';
  }
  if (parsed.password) parsed.password = '***';
  const names = [...parsed.searchParams.keys()];
  parsed.search = names.length ? `?${names.map((name) => `${encodeURIComponent(name)}=***`).join('&')}` : '';
  parsed.hash = '';
  return parsed.toString();
}

/**
 * The start-up warning for the local `@connections` and Lambda Invoke endpoints when they listen
 * beyond loopback (`HIPOCHAT_LISTEN_ADDRESS`) and accept the documented default keys: anyone who
 * reaches them could sign a post to any connection or run the delivery function. Undefined
 * otherwise.
 */
export function defaultKeysWarning(credentials: LocalCredentials, host: string): string | undefined {
  if (isLoopback(host) || credentials.secretAccessKey !== DEFAULT_LOCAL_KEYS.secretAccessKey)
    return undefined;
  return [
    `warning: the local @connections and Lambda Invoke endpoints listen on ${host}, beyond this machine,`,
    `  and accept requests signed with the documented default AWS_SECRET_ACCESS_KEY (${DEFAULT_LOCAL_KEYS.secretAccessKey}):`,
    '  anyone who reaches them can post frames to any connection, close it, or run the delivery function.',
    '  Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to keys of your own, or HIPOCHAT_LISTEN_ADDRESS=127.0.0.1.',
  ].join('\n');
}
