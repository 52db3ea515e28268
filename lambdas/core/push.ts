import type { ChatMessage, Profile } from '../../protocol/index.js';
import { logger } from './logger.js';
import { metrics } from './metrics.js';
import { backoffDelay, sleep } from './retry.js';
import { signWebhookBody, webhookHeaders } from './webhook-signing.js';

/**
 * The webhook body, in Hipochat's shape, plus the message's `id` and `timestamp`: a receiver drops
 * an id it already handled (a redelivered fan-out batch pushes again).
 */
export interface PushPayload {
  chat_token: string;
  receivers: string[];
  body: unknown;
  type: string;
  author: Profile | null;
  /** The message id (`<ms>-<seq>`), unique per room. */
  id: string;
  /** When the message was accepted, in float seconds. */
  timestamp: number;
}

/**
 * The `X-Hipochat-Signature` of a push body sent at `t` (unix seconds), as every webhook of the
 * server signs it ({@link signWebhookBody}); the body's `id` lets a receiver drop a repeated push.
 */
export const signPush = signWebhookBody;

/** Whom the webhook names: every offline member, or only the offline members a message mentions. */
export type PushMode = 'all' | 'mentions';

/**
 * The receivers of a message's push: the room's members with no live connection, but its sender;
 * in `mentions` mode only those of them the message mentions (none: no push).
 */
export function pushReceivers(
  members: readonly string[],
  online: ReadonlySet<string>,
  message: Pick<ChatMessage, 'senderId' | 'mentions'>,
  mode: PushMode = 'all',
): string[] {
  const offline = members.filter((member) => !online.has(member) && member !== message.senderId);
  if (mode === 'all') return offline;
  const mentioned = new Set(message.mentions ?? []);
  return offline.filter((member) => mentioned.has(member));
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
    const attempts = this.options.attempts ?? 3;
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      // Signed per attempt, so a retry carries a fresh time.
      const headers = webhookHeaders(body, this.options.secret);
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body,
          // A signed body goes to the configured URL only: a 3xx is a refusal, never followed.
          redirect: 'manual',
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 3000),
        });
        await response.body?.cancel();
        if (response.ok) {
          metrics.count('PushSent');
          return true;
        }
        if (response.status < 500 && response.status !== 429) {
          logger.warn('push webhook refused the notification', {
            status: response.status,
            room: payload.chat_token,
          });
          metrics.count('PushFailed');
          return false;
        }
      } catch (error) {
        logger.warn('push webhook unreachable', { error, attempt });
      }
      if (attempt + 1 < attempts) await sleep(backoffDelay(attempt, 100, 1000));
    }
    logger.error('push notification dropped after retries', { room: payload.chat_token });
    metrics.count('PushFailed');
    return false;
  }
}
