import type { Context } from 'aws-lambda';
import { type Runtime, runtime } from '../../core/runtime.js';
import { type LambdaHandler, lambdaHandler } from './invocation.js';

/**
 * Wraps a function another function invokes synchronously (Lambda `Invoke`, `RequestResponse`):
 * `work` gets the event, the process runtime and Lambda's context (absent in tests), and its
 * result is the answer. A failure is
 * logged and thrown again, so the caller sees a function error (`X-Amz-Function-Error`).
 */
export function invokeRoute<E extends { room?: unknown }, R>(
  work: (event: E, rt: Runtime, context?: Context) => Promise<R>,
): LambdaHandler<E, R> {
  return lambdaHandler({
    keys: (event) => ({ route: 'invoke', room: typeof event?.room === 'string' ? event.room : undefined }),
    run: async (event, context) => work(event, await runtime(), context),
    fail: (_failure, _event, error) => {
      throw error;
    },
  });
}
