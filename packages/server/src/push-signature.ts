/**
 * Checks the `X-Hipochat-Signature` of a push webhook request:
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header the server signs push requests with. */
export const PUSH_SIGNATURE_HEADER = 'x-hipochat-signature';

/** Seconds a signature stays acceptable when the options do not say (replays after it are refused). */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

/** Options of {@link verifyPushSignature}. */
export interface VerifyPushOptions {
  /** Largest distance between the signed time and now. @default {@link DEFAULT_SIGNATURE_TOLERANCE_SECONDS} */
  toleranceSeconds?: number;
  /** Now, in unix seconds (tests pin it). @default the clock */
  now?: number;
}

/**
 * Whether `header` signs `rawBody` (the exact bytes received, before any JSON parsing) with
 * `secret`, at a time within `toleranceSeconds` of now. Compares in constant time; a malformed,
 * stale or wrong header is `false`, never an exception. Several `v1=` entries (a key rotation) pass
 * when one matches.
 *
 * @example
 * if (!verifyPushSignature(raw, req.headers['x-hipochat-signature'], secret)) return res.status(401).end();
 */
export function verifyPushSignature(
  rawBody: string | Uint8Array,
  header: string | null | undefined,
  secret: string,
  options: VerifyPushOptions = {},
): boolean {
  if (typeof header !== 'string' || !secret) return false;
  let t: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value && /^\d{1,12}$/.test(value)) t = Number(value);
    else if (key === 'v1' && value && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
  }
  if (t === undefined || signatures.length === 0) return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS)) return false;
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody) : Buffer.from(rawBody);
  const expected = createHmac('sha256', secret).update(`${t}.`).update(body).digest();
  return signatures.some((signature) => timingSafeEqual(Buffer.from(signature, 'hex'), expected));
}
