import { createHmac } from 'node:crypto';

/** The header that carries a webhook body's signature (the push webhook and the moderation hook). */
export const SIGNATURE_HEADER = 'x-hipochat-signature';

/**
 * The `X-Hipochat-Signature` of a raw body sent at `t` (unix seconds):
 * `t=<t>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The signed time lets a receiver refuse a
 * replayed request.
 */
export function signWebhookBody(body: string, secret: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/**
 * The headers of a JSON webhook request: its content type and, with a `secret`, a signature made
 * now (so each attempt of a retried request carries a fresh time). Without one it goes unsigned.
 */
export function webhookHeaders(body: string, secret: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (secret) headers[SIGNATURE_HEADER] = signWebhookBody(body, secret);
  return headers;
}
