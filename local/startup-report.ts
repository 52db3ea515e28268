import { isLoopback } from './dev-services.js';
import type { LocalCredentials } from './sigv4.js';

/**
 * The keys the local gateway signs and verifies `@connections` and Invoke requests with when
 * `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` are unset (documented in docs/local.md, so public).
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

/**
 * The local EMF switch. The gateway's stdout is read by people, so the metric records every
 * invocation writes are off unless `HIPOCHAT_LOCAL_METRICS` is on; the deployed functions always
 * write them (CloudWatch reads them there). Call before the first invocation: the metrics emitter
 * reads `POWERTOOLS_METRICS_DISABLED` when it is made.
 */
export function applyLocalMetrics(env: Record<string, string | undefined>, localMetrics: boolean): void {
  if (!localMetrics) env.POWERTOOLS_METRICS_DISABLED = 'true';
}

/**
 * Why the gateway could not start, in one line for a person: a port in use names the variable
 * that moves it; a configuration error is its own message; anything else keeps its stack.
 */
export function startupFailure(error: unknown, listen: { port: number; host: string } | undefined): string {
  const { code } = (error ?? {}) as { code?: unknown };
  if (code === 'EADDRINUSE' && listen) {
    return `port ${listen.port} on ${listen.host} is already in use: stop what holds it or set HIPOCHAT_LISTEN_PORT to another port (0 picks a free one)`;
  }
  if (code === 'EADDRNOTAVAIL' && listen) {
    return `address ${listen.host} is not one of this machine's: set HIPOCHAT_LISTEN_ADDRESS (default 127.0.0.1)`;
  }
  if (code === 'EACCES' && listen) {
    return `port ${listen.port} needs privileges: set HIPOCHAT_LISTEN_PORT to a port above 1023`;
  }
  return String(error instanceof Error ? error.stack : error);
}
