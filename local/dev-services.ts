import type { IncomingMessage, ServerResponse } from 'node:http';
import { logger } from '../lambdas/core/logger.js';
import type { PushPayload } from '../lambdas/core/push.js';

/** Which built-in stand-ins the gateway serves. */
export interface DevServices {
  /** Serve `GET /dev/profile`: any token of `[A-Za-z0-9_-]{1,64}` is a user of that name. */
  profile: boolean;
  /**
   * Serve `POST /dev/push` and log what arrives. `GET /dev/push`, which lists the pushes of every
   * room (closed ones included), is served only when `profile` is on too: a gateway with a real
   * profile endpoint has real users, whose rooms must not be readable without a token.
   */
  push: boolean;
  /** Push notifications received, newest last (bounded). */
  received: PushPayload[];
}

const DEV_TOKEN = /^Token ([A-Za-z0-9_-]{1,64})$/;
const KEEP_PUSHES = 100;

/** Serves the dev profile endpoint and push sink; returns false for other paths. */
export async function handleDevRequest(
  dev: DevServices,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): Promise<boolean> {
  if (dev.profile && url.pathname === '/dev/profile' && request.method === 'GET') {
    const name = DEV_TOKEN.exec(request.headers.authorization ?? '')?.[1];
    response.writeHead(name ? 200 : 401, { 'content-type': 'application/json' });
    response.end(JSON.stringify(name ? { id: name, username: name } : { detail: 'invalid token' }));
    return true;
  }
  if (dev.push && url.pathname === '/dev/push' && request.method === 'POST') {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    try {
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as PushPayload;
      dev.received.push(payload);
      if (dev.received.length > KEEP_PUSHES) dev.received.shift();
      logger.info('dev push sink received a notification', {
        room: payload.chat_token,
        receivers: payload.receivers,
        type: payload.type,
      });
      response.writeHead(204);
    } catch {
      response.writeHead(400);
    }
    response.end();
    return true;
  }
  if (dev.push && dev.profile && url.pathname === '/dev/push' && request.method === 'GET') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(dev.received));
    return true;
  }
  return false;
}

/** Whether `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(bare);
}

/**
 * The start-up warning for a dev identity reachable from other machines (`HIPOCHAT_LISTEN_ADDRESS`
 * not a loopback address), where any token signs in as a user of that name; undefined otherwise.
 */
export function devIdentityWarning(dev: DevServices, host: string): string | undefined {
  if (!dev.profile || isLoopback(host)) return undefined;
  return [
    `warning: the dev identity listens on ${host}, beyond this machine: anyone who reaches it signs in`,
    `  as any user by naming them${dev.push ? ', and GET /dev/push lists the pushes of every room' : ''}.`,
    '  Set HIPOCHAT_PROFILE_URL to your profile endpoint, or HIPOCHAT_LISTEN_ADDRESS=127.0.0.1.',
  ].join('\n');
}
