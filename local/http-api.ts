import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpRoute } from '../lambdas/routes.js';
import { httpEvent } from './events.js';
import type { LocalFunctions } from './handler-loader.js';
import { readBody, sendJson, structured } from './http-io.js';

/** API Gateway HTTP APIs take request bodies up to 10 MB. */
const MAX_HTTP_BODY_BYTES = 10 * 1024 * 1024;

interface CompiledRoute {
  route: HttpRoute;
  pattern: RegExp;
  params: string[];
  invoke: LocalFunctions['http'][number]['invoke'];
}

/** `/talk/old/{room+}` → a regex with one group per parameter. */
function compile({ route, invoke }: LocalFunctions['http'][number]): CompiledRoute {
  const params: string[] = [];
  const source = route.path.replace(/\{(\w+)(\+?)\}/g, (_, name: string, greedy: string) => {
    params.push(name);
    return greedy ? '(.+)' : '([^/]+)';
  });
  // Like API Gateway, a path with one trailing slash reaches the route without it (`/talk/broadcast/`).
  return { route, pattern: new RegExp(`^${source}/?$`), params, invoke };
}

/**
 * The HTTP API: matches a request against the routes table (which holds Hipochat's `/talk/...`
 * paths), answers CORS preflights, and runs the route's handler with a payload 2.0 event.
 */
export class HttpApi {
  private readonly routes: CompiledRoute[];

  constructor(functions: LocalFunctions['http']) {
    this.routes = functions.map(compile);
  }

  /** Answers the request if it is a preflight or a route matches; false otherwise. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<boolean> {
    const method = request.method ?? 'GET';
    if (method === 'OPTIONS') {
      response.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-headers': 'authorization,content-type,idempotency-key',
        'access-control-allow-methods': 'GET,POST,OPTIONS',
      });
      response.end();
      return true;
    }
    for (const compiled of this.routes) {
      const match = compiled.pattern.exec(url.pathname);
      if (!match) continue;
      await this.invoke(compiled, match, request, response, url);
      return true;
    }
    return false;
  }

  private async invoke(
    { route, params, invoke }: CompiledRoute,
    match: RegExpExecArray,
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
  ): Promise<void> {
    const method = request.method ?? 'GET';
    if (route.method !== method) {
      sendJson(response, 405, { message: 'Method Not Allowed' });
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(request, MAX_HTTP_BODY_BYTES);
    } catch {
      sendJson(response, 413, { message: 'Request Entity Too Large' });
      return;
    }
    const pathParameters: Record<string, string> = {};
    try {
      params.forEach((name, index) => {
        pathParameters[name] = decodeURIComponent(match[index + 1]!);
      });
    } catch {
      sendJson(response, 400, { error: 'invalid percent-encoding in path' });
      return;
    }
    const event = httpEvent({
      method,
      routePath: route.path,
      url,
      headers: request.headers,
      pathParameters,
      body,
      sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
    });
    const result = structured(await invoke(event));
    response.writeHead(result.statusCode ?? 200, {
      'access-control-allow-origin': '*',
      ...(result.headers as Record<string, string> | undefined),
    });
    response.end(
      result.isBase64Encoded && result.body ? Buffer.from(result.body, 'base64') : (result.body ?? ''),
    );
  }
}
