import type { IncomingMessage, ServerResponse } from 'node:http';
import { logger } from '../lambdas/core/logger.js';
import type { PushPayload } from '../lambdas/core/push.js';

/** Which built-in stand-ins the gateway serves. */
export interface DevServices {
  /** Serve `GET /dev/profile`: any token of `[A-Za-z0-9_-]{1,64}` is a user of that name. */
  profile: boolean;
  /** Serve `POST /dev/push` and log what arrives. */
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
  if (dev.push && url.pathname === '/dev/push' && request.method === 'GET') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(dev.received));
    return true;
  }
  return false;
}
