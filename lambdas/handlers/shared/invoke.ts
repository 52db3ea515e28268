import { type Runtime, runtime } from '../../core/runtime.js';
import { type LambdaHandler, lambdaHandler } from './invocation.js';

/**
 * Wraps a function another function invokes synchronously (Lambda `Invoke`, `RequestResponse`):
 * `work` gets the event and the process runtime, and its result is the answer. A failure is
 * logged and thrown again, so the caller sees a function error (`X-Amz-Function-Error`).
 */
export function invokeRoute<E extends { room?: unknown }, R>(
  work: (event: E, rt: Runtime) => Promise<R>,
): LambdaHandler<E, R> {
  return lambdaHandler({
    keys: (event) => ({ route: 'invoke', room: typeof event?.room === 'string' ? event.room : undefined }),
    run: async (event) => work(event, await runtime()),
    fail: (_failure, _event, error) => {
      throw error;
    },
  });
}
