/** One request a {@link recordingFetch} saw. */
export interface RecordedCall {
  url: string;
  method: string;
  authorization?: string;
  /** The `idempotency-key` header, only when the request carried one. */
  idempotencyKey?: string;
  /** The JSON body, only when the request had one. */
  body?: unknown;
}

/** What a {@link recordingFetch} answers: `status` (default 200) with `body` (default `{}`) as JSON. */
export interface ScriptedAnswer {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A `fetch` for the HTTP clients' tests: records each request in `calls` and answers from
 * `answers` in turn, the last one repeating (200 `{}` when none is given).
 */
export function recordingFetch(...answers: ScriptedAnswer[]) {
  const calls: RecordedCall[] = [];
  const doFetch = (async (url: string, init: RequestInit) => {
    const headers = init.headers as Record<string, string>;
    calls.push({
      url,
      method: String(init.method),
      authorization: headers.authorization,
      ...(headers['idempotency-key'] ? { idempotencyKey: headers['idempotency-key'] } : {}),
      ...(init.body ? { body: JSON.parse(String(init.body)) } : {}),
    });
    const answer = answers[Math.min(calls.length, answers.length) - 1] ?? {};
    return new Response(JSON.stringify(answer.body ?? {}), {
      status: answer.status ?? 200,
      headers: answer.headers,
    });
  }) as unknown as typeof fetch;
  return { calls, doFetch };
}
