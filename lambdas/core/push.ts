import { createHmac } from 'node:crypto';
import type { Profile } from '../../protocol/index.js';
import { logger } from './logger.js';
import { backoffDelay, sleep } from './retry.js';

/** The webhook body, in Hipochat's shape. */
export interface PushPayload {
  chat_token: string;
  receivers: string[];
  body: unknown;
  type: string;
  author: Profile | null;
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`, sent as `X-Hipochat-Signature`. */
function signPayload(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Options of the push webhook client. */
export interface PushOptions {
  url?: string;
  /** HMAC key; without it requests go unsigned. */
  secret?: string;
  /** Attempts before giving up. @default 3 */
  attempts?: number;
  /** Milliseconds per attempt. @default 3000 */
  timeoutMs?: number;
}

/** Calls the push-notification webhook for members with no live connection. Never throws. */
export class PushNotifier {
  constructor(private readonly options: PushOptions) {}

  /** Whether a webhook is configured. */
  get enabled(): boolean {
    return Boolean(this.options.url);
  }

  /** Sends the payload, retrying 5xx and network errors; returns whether it was accepted. */
  async notify(payload: PushPayload): Promise<boolean> {
    const url = this.options.url;
    if (!url || payload.receivers.length === 0) return false;
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.secret) headers['x-hipochat-signature'] = signPayload(body, this.options.secret);
    const attempts = this.options.attempts ?? 3;
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 3000),
        });
        await response.body?.cancel();
        if (response.ok) return true;
        if (response.status < 500 && response.status !== 429) {
          logger.warn('push webhook refused the notification', {
            status: response.status,
            room: payload.chat_token,
          });
          return false;
        }
      } catch (error) {
        logger.warn('push webhook unreachable', { error, attempt });
      }
      if (attempt + 1 < attempts) await sleep(backoffDelay(attempt, 100, 1000));
    }
    logger.error('push notification dropped after retries', { room: payload.chat_token });
    return false;
  }
}
