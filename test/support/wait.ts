/** Resolves after `ms` milliseconds. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

type Falsy = false | 0 | '' | null | undefined;

/**
 * Polls `probe` until it returns something truthy and resolves with that; rejects naming `what`
 * after `timeoutMs`. A boolean check resolves with `true`; a lookup resolves with what it found.
 */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 20_000,
): Promise<Exclude<T, Falsy>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as Exclude<T, Falsy>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(25);
  }
}

/**
 * Resolves with what `promise` resolves to, or rejects naming `what` if it is still pending after
 * `timeoutMs`: for code that must give up by itself rather than hang.
 */
export async function settlesWithin<T>(promise: Promise<T>, what: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still pending after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
