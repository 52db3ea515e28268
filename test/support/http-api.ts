// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field by the tests
export type JsonBody = Record<string, any>;

/** An answer of the chat's HTTP API, its body parsed as JSON. */
export interface JsonAnswer {
  status: number;
  headers: Headers;
  body: JsonBody;
}

/**
 * GET and POST against the chat's HTTP API (`/talk/...`). `httpUrl` is read at every call, so a
 * suite can make these before its `beforeAll` starts the gateway.
 */
export function httpApi(httpUrl: () => string) {
  const answer = async (response: Response): Promise<JsonAnswer> => ({
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as JsonBody,
  });
  return {
    /** GET `path` as the user of `token`. */
    get: async (path: string, token: string) =>
      answer(await fetch(`${httpUrl()}${path}`, { headers: { authorization: `Token ${token}` } })),
    /** POST `body` (a string as it is, anything else as JSON) to `path`. */
    post: async (path: string, body: unknown, headers: Record<string, string> = {}) =>
      answer(
        await fetch(`${httpUrl()}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        }),
      ),
  };
}
