import type { Context } from 'aws-lambda';
import { type HttpError, refusalReason, toHttpError } from '../../core/errors.js';
import { logFailure, noteSuccess } from '../../core/failure-log.js';
import { type LogKeys, withInvocationLog } from '../../core/logger.js';
import { metrics, withInvocationMetrics } from '../../core/metrics.js';

/**
 * A Lambda handler. Lambda always passes `context`; tests and tools may leave it out, and the
 * lines then lack only the Lambda fields (request id, function name).
 */
export type LambdaHandler<E, R> = (event: E, context?: Context) => Promise<R>;

/** What a handler kind decides: its log keys, its work, and its answer to a failure. */
export interface HandlerKind<E, R> {
  /** Keys of every line of the invocation, from the event (route, connection id, room...). */
  keys(event: E): LogKeys;
  /** The work; `context` is Lambda's (its remaining time), absent in tests and tools. */
  run(event: E, context?: Context): Promise<R>;
  /**
   * The answer to a failure (`error` as thrown, `failure` as its HTTP status); throw to fail the
   * invocation instead.
   */
  fail(failure: HttpError, event: E, error: unknown): R;
  /** The route takes chat messages: every failure counts in `MessagesRefused` with its reason. */
  readonly carriesMessage?: boolean;
}

/** What a route tells its wrapper besides its work. */
export interface RouteOptions {
  /** The route takes chat messages (`$default`, `POST /talk/item`); see {@link HandlerKind}. */
  readonly carriesMessage?: boolean;
}

/**
 * The core every wrapper shares: a request-scoped log (Lambda context plus `keys`), the work,
 * failures mapped to an answer and logged (`logFailure`: every 5xx, a dependency outage once per
 * change of its cause; a 4xx is the caller's mistake, answered and not logged), and the invocation's metrics
 * published once at its end (a 401 counts in `AuthRefused`).
 */
export function lambdaHandler<E, R>(kind: HandlerKind<E, R>): LambdaHandler<E, R> {
  return (event, context) =>
    withInvocationLog(context, kind.keys(event), () =>
      withInvocationMetrics(context?.awsRequestId, async () => {
        try {
          const answer = await kind.run(event, context);
          noteSuccess();
          return answer;
        } catch (error) {
          const failure = toHttpError(error);
          logFailure(failure);
          if (failure.statusCode === 401) metrics.count('AuthRefused');
          if (kind.carriesMessage) metrics.refused(refusalReason(failure));
          return kind.fail(failure, event, error);
        }
      }),
    );
}
