/**
 * One HTTP call with the backend's manners: the credential, an `Idempotency-Key` kept across the
 * retries of a POST, retries on 429 and 5xx (and on no answer) with capped exponential backoff
 * that honours `Retry-After`, a timeout per attempt, and typed errors.
 */
import { randomUUID } from 'node:crypto';
import type { HttpErrorBody } from '../../../protocol/index.js';
import { apiError, NetworkError } from './errors.js';

/** How a call retries. */
export interface RetryOptions {
  /** Retries after the first attempt. @default 3 */
  maxRetries?: number;
  /** First backoff delay. @default 250 */
  initialDelayMs?: number;
  /** Longest wait before a retry; a `Retry-After` beyond it fails the call at once. @default 10000 */
  maxDelayMs?: number;
}

/** What every call needs. */
export interface RequestContext {
  base: string;
  timeoutMs: number;
  retry: Required<RetryOptions>;
  fetch: typeof fetch;
}

/** One call. */
export interface CallInit {
  method: 'GET' | 'POST';
  path: string;
  /** `Authorization` value. */
  authorization: string;
  body?: unknown;
  /** For POSTs: the key, or a fresh one when absent. */
  idempotencyKey?: string;
}

/** Performs a call; resolves with the parsed JSON answer. */
export async function call<T>(context: RequestContext, init: CallInit): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', authorization: init.authorization };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.method === 'POST') headers['idempotency-key'] = init.idempotencyKey ?? randomUUID();
  const url = `${context.base}${init.path}`;
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  for (let attempt = 0; ; attempt += 1) {
    const retriesLeft = attempt < context.retry.maxRetries;
    const backoff = Math.min(context.retry.maxDelayMs, context.retry.initialDelayMs * 2 ** attempt);
    let response: Response;
    let text: string;
    try {
      response = await context.fetch(url, {
        method: init.method,
        headers,
        body,
        signal: AbortSignal.timeout(context.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      if (retriesLeft) {
        await sleep(jitter(backoff));
        continue;
      }
      throw new NetworkError(`${init.method} ${init.path} failed: ${describe(error)}`, { cause: error });
    }
    const data = parseJson(text);
    if (response.ok) return data as T;
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
    const retryable = response.status === 429 || response.status >= 500;
    const wait = retryAfter === undefined ? jitter(backoff) : retryAfter * 1000;
    if (retryable && retriesLeft && wait <= context.retry.maxDelayMs) {
      await sleep(wait);
      continue;
    }
    throw apiError(
      response.status,
      `${init.method} ${init.path} → ${response.status}: ${errorDetail(data, text, response.statusText)}`,
      data,
      retryAfter,
    );
  }
}

/**
 * The server's words for a refusal: its `error` text, with the moderation `reason` and the seconds
 * left of a mute or ban when the body names them.
 */
export function errorDetail(data: unknown, text: string, statusText: string): string {
  const record = (data ?? {}) as Partial<Record<keyof HttpErrorBody | 'reason' | 'retryAfter', unknown>>;
  let detail = String(record.error ?? record.message ?? (text.slice(0, 200) || statusText));
  const notes: string[] = [];
  if (typeof record.reason === 'string' && record.reason && !detail.includes(record.reason)) {
    notes.push(`reason: ${record.reason}`);
  }
  // The server's text usually names the seconds already ("for 42 more seconds").
  if (typeof record.retryAfter === 'number' && !detail.includes(String(record.retryAfter))) {
    notes.push(`${record.retryAfter} s left`);
  }
  if (notes.length > 0) detail += ` (${notes.join(', ')})`;
  return detail;
}

/** `Retry-After` in seconds: a number of seconds or an HTTP date. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

// Drawn from the upper half, so backends retrying after an outage spread out.
function jitter(ms: number): number {
  return Math.round(ms / 2 + Math.random() * (ms / 2));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Node's fetch hides the useful part ("ECONNREFUSED") in `cause`.
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string } } | null)?.cause;
  if (cause?.code) return cause.code;
  return error instanceof Error ? error.message : String(error);
}
