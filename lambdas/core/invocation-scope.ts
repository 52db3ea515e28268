import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The one AsyncLocalStorage of the process: per-invocation state of every core module (the log,
 * the metrics), each in its own {@link InvocationSlot}. One, because on Node 20 each storage adds
 * to the cost of every promise made while it is active (about 40 ns), and the fan-out makes
 * several per delivery.
 */
const scope = new AsyncLocalStorage<ReadonlyMap<InvocationSlot<unknown>, unknown>>();

/**
 * A module's per-invocation state, with the API of an AsyncLocalStorage: `run` a function with a
 * value, `getStore` inside it. Overlapping invocations (the local gateway) each see their own.
 */
export class InvocationSlot<T> {
  /** Runs `work` with `value` in this slot; the other slots keep their current values. */
  run<R>(value: T, work: () => R): R {
    const slots = new Map(scope.getStore());
    slots.set(this, value);
    return scope.run(slots, work);
  }

  /** This slot's value in the current invocation; `undefined` outside one. */
  getStore(): T | undefined {
    return scope.getStore()?.get(this) as T | undefined;
  }
}
