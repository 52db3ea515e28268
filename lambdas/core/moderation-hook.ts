import type { ModerationDecision, ModerationRequest } from '../../protocol/index.js';
import { isRecord } from './caller-keys.js';
import { ModerationRejectedError } from './errors.js';
import { logger } from './logger.js';
import { metrics } from './metrics.js';
import { parseJson } from './protocol.js';
import { webhookHeaders } from './webhook-signing.js';

/** Options of the moderation hook client. */
export interface ModerationHookOptions {
  /** `HIPOCHAT_MODERATION_URL`; without it no hook runs and every message is allowed. */
  url?: string;
  /** HMAC key of `X-Hipochat-Signature` (the push webhook's); without it requests go unsigned. */
  secret?: string;
  /** Milliseconds the hook has to answer. @default 1500 */
  timeoutMs?: number;
  /** What a message becomes when the hook errs, times out or answers nonsense. @default 'reject' */
  failure?: 'allow' | 'reject';
  /** The largest body a replacement may have, in bytes of JSON (the message size limit). */
  maxBodyBytes: number;
  /** The deepest body a replacement may nest. */
  maxBodyDepth: number;
}

/** The body to store: the one sent, or the hook's replacement. */
export interface Screened {
  body: unknown;
}

/** Why the hook could not decide; `HIPOCHAT_MODERATION_FAILURE` decides instead. */
class HookFailure extends Error {}

/** The reason of a rejection because the hook could not be asked (`HIPOCHAT_MODERATION_FAILURE=reject`). */
export const HOOK_UNAVAILABLE = 'moderation unavailable';
/** The reason of a rejection whose hook named none. */
export const NO_REASON = 'rejected';
// Characters of a hook's reason kept in the error frame.
const MAX_REASON_CHARS = 500;
// Bytes of an answer besides a replacement body (`{"action":"replace","body":…}`).
const ANSWER_ENVELOPE_BYTES = 256;

/**
 * The moderation hook (`HIPOCHAT_MODERATION_URL`): asks it about a user's message before it is
 * stored, signed like the push webhook, and waits at most the timeout. Every decision is logged
 * (the invocation's lines carry the request id) and counted: `ModerationAllowed`,
 * `ModerationRejected`, `ModerationReplaced`, `ModerationHookFailed`, and `ModerationHookMs`.
 */
export class ModerationHook {
  constructor(private readonly options: ModerationHookOptions) {}

  /** Whether a hook is configured. */
  get enabled(): boolean {
    return Boolean(this.options.url);
  }

  /**
   * The body to store for `request`: its own when allowed (or no hook is configured), the hook's
   * replacement when replaced.
   *
   * @throws ModerationRejectedError when the hook rejects it, or cannot decide and
   *   `HIPOCHAT_MODERATION_FAILURE` is `reject`
   */
  async screen(request: ModerationRequest): Promise<Screened> {
    const url = this.options.url;
    if (!url) return { body: request.body };
    const about = { action: request.action, room: request.room, senderId: request.senderId };
    const started = Date.now();
    let decision: ModerationDecision;
    try {
      decision = await this.ask(url, request);
    } catch (error) {
      metrics.observe('ModerationHookMs', Date.now() - started);
      metrics.count('ModerationHookFailed');
      const failure = this.options.failure ?? 'reject';
      logger.warn('moderation hook failed', { ...about, decision: `failure-${failure}`, error });
      if (failure === 'allow') return { body: request.body };
      throw new ModerationRejectedError(HOOK_UNAVAILABLE, { cause: error });
    }
    metrics.observe('ModerationHookMs', Date.now() - started);
    switch (decision.action) {
      case 'allow':
        metrics.count('ModerationAllowed');
        logger.info('moderation decision', { ...about, decision: 'allow' });
        return { body: request.body };
      case 'replace':
        metrics.count('ModerationReplaced');
        logger.info('moderation decision', { ...about, decision: 'replace' });
        return { body: decision.body };
      case 'reject': {
        metrics.count('ModerationRejected');
        const reason = decision.reason ?? NO_REASON;
        logger.info('moderation decision', { ...about, decision: 'reject', reason });
        throw new ModerationRejectedError(reason);
      }
    }
  }

  /** POSTs the request and reads the decision. @throws HookFailure (or a fetch error) when it cannot */
  private async ask(url: string, request: ModerationRequest): Promise<ModerationDecision> {
    const body = JSON.stringify(request);
    // Node's fetch keeps sockets alive between calls, as the push webhook's does.
    const response = await fetch(url, {
      method: 'POST',
      headers: webhookHeaders(body, this.options.secret),
      body,
      // A signed body goes to the configured URL only: a 3xx is a failure, never followed.
      redirect: 'manual',
      // Covers the answer's body too: a hook that stalls mid-answer times out the same.
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 1500),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new HookFailure(`moderation hook answered ${response.status}`);
    }
    const { maxBodyBytes, maxBodyDepth } = this.options;
    const text = await response.text();
    let answer: unknown;
    try {
      answer = parseJson(text, maxBodyBytes + ANSWER_ENVELOPE_BYTES, 'answer', maxBodyDepth, 1);
    } catch (error) {
      throw new HookFailure('moderation hook answered malformed JSON or too large a body', { cause: error });
    }
    return this.decision(answer);
  }

  /** The decision an answer says. @throws HookFailure for anything else */
  private decision(answer: unknown): ModerationDecision {
    if (!isRecord(answer)) throw new HookFailure('moderation answer is not an object');
    switch (answer.action) {
      case 'allow':
        return { action: 'allow' };
      case 'reject': {
        const { reason } = answer;
        if (reason !== undefined && typeof reason !== 'string') {
          throw new HookFailure('moderation answer has a reason that is not a string');
        }
        const kept = reason?.trim().slice(0, MAX_REASON_CHARS);
        return kept ? { action: 'reject', reason: kept } : { action: 'reject' };
      }
      case 'replace': {
        const { body } = answer;
        // As for a message: a replacement must say something.
        if (body === undefined || body === null || body === '') {
          throw new HookFailure('moderation answer replaces with no body');
        }
        if (Buffer.byteLength(JSON.stringify(body), 'utf8') > this.options.maxBodyBytes) {
          throw new HookFailure('moderation answer replaces with a body over the message size limit');
        }
        return { action: 'replace', body };
      }
      default:
        throw new HookFailure('moderation answer has no action allow, reject or replace');
    }
  }
}
