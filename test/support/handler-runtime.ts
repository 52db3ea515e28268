import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { loadConfig } from '../../lambdas/core/config.js';
import { createRuntime, type RuntimeParts, setRuntime } from '../../lambdas/core/runtime.js';

/** An event of test/events/ (`ws-default`, `http-item`, `lambda-context`, ...), parsed afresh. */
export const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(join(__dirname, '../events', `${name}.json`), 'utf8')) as T;

/** The context Lambda passes (test/events/lambda-context.json), with a request id of its own. */
export const lambdaContext = (awsRequestId: string = randomUUID()): Context => ({
  ...fixture<Omit<Context, 'getRemainingTimeInMillis' | 'done' | 'fail' | 'succeed'>>('lambda-context'),
  awsRequestId,
  getRemainingTimeInMillis: () => 10_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
});

/** The profile endpoint every unit runtime points at. */
export const PROFILE_URL = 'https://profiles.example.com/me';

/** Sets the handlers' runtime: `deps` under a config of a profile endpoint, closed `vip-*` and `env`. */
export function installRuntime(env: Record<string, string>, deps: RuntimeParts): void {
  const config = loadConfig({ HIPOCHAT_PROFILE_URL: PROFILE_URL, HIPOCHAT_CLOSED_ROOMS: 'vip-*', ...env });
  setRuntime(createRuntime(config, deps));
}

/**
 * Stubs `fetch` with the customer's profile endpoint: `Token <name>` is the user <name> (profile
 * `{id, username}`); anything else is refused with 401. `first` may answer a request before it
 * (a push webhook, say) by returning a response.
 */
export function stubProfileEndpoint(first?: (url: string) => Response | undefined): void {
  jest.spyOn(globalThis, 'fetch').mockImplementation(async (url, init) => {
    const answer = first?.(String(url));
    if (answer) return answer;
    const name = /^Token ([a-z]+)$/.exec(new Headers(init?.headers).get('authorization') ?? '')?.[1];
    return name
      ? new Response(JSON.stringify({ id: name, username: name }), { status: 200 })
      : new Response('{"detail":"invalid token"}', { status: 401 });
  });
}

/** Undoes {@link stubProfileEndpoint} and {@link installRuntime} (an `afterEach`). */
export function resetRuntime(): void {
  jest.restoreAllMocks();
  setRuntime(undefined);
}

export const asResult = (value: unknown) => value as APIGatewayProxyStructuredResultV2;
export const bodyOf = (value: unknown) =>
  JSON.parse(asResult(value).body ?? 'null') as Record<string, unknown>;

/** The lines written to `stream` while `act` runs, kept off the terminal; rejects when `act` does. */
export async function linesWritten(
  stream: NodeJS.WriteStream,
  act: () => Promise<unknown>,
): Promise<string[]> {
  const written: string[] = [];
  const spy = jest.spyOn(stream, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  try {
    await act();
  } finally {
    spy.mockRestore();
  }
  return written.join('').split('\n');
}
