import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { credentialFromHeader, type HeaderCredential } from '../../core/auth.js';
import { admit, type Caller } from '../../core/credentials.js';
import { BadRequestError, UnsupportedMediaTypeError } from '../../core/errors.js';
import { appendLogKeys } from '../../core/logger.js';
import { type Identity, parseRoom } from '../../core/protocol.js';
import { type Runtime, runtime } from '../../core/runtime.js';
import { httpRouteNamed } from '../../routes.js';
import { type LambdaHandler, lambdaHandler, type RouteOptions } from './invocation.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A view of an HTTP API (payload 2.0) event with the parsing every route shares. */
export class HttpRequest {
  private admitted?: Caller;

  constructor(readonly event: APIGatewayProxyEventV2) {}

  /**
   * Who called, as the wrapper admitted them under the route's rule before the handler ran.
   *
   * @throws Error before the wrapper admitted anyone
   */
  get caller(): Caller {
    if (!this.admitted) throw new Error('the caller is not admitted yet');
    return this.admitted;
  }

  /** Records the caller the route's rule admitted (the wrapper's, before the handler runs). */
  admit(caller: Caller): void {
    this.admitted = caller;
  }

  header(name: string): string | undefined {
    const headers = this.event.headers ?? {};
    return headers[name.toLowerCase()] ?? headers[name];
  }

  query(name: string): string | undefined {
    return this.event.queryStringParameters?.[name];
  }

  /** The room of a `{room+}` path, with Hipochat's optional trailing slash. */
  room(param = 'room'): string {
    const room = parseRoom(this.event.pathParameters?.[param]);
    appendLogKeys({ room });
    return room;
  }

  /** The raw body as UTF-8 text. @throws BadRequestError on invalid UTF-8 */
  body(): string | undefined {
    const { body, isBase64Encoded } = this.event;
    if (body === undefined || body === null) return undefined;
    if (!isBase64Encoded) return body;
    try {
      return utf8.decode(Buffer.from(body, 'base64'));
    } catch (error) {
      throw new BadRequestError('body is not valid UTF-8', { cause: error });
    }
  }

  /** `json` or `form`, refusing anything else. */
  contentKind(accepted: readonly ('json' | 'form')[]): 'json' | 'form' {
    const type = (this.header('content-type') ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    if (accepted.includes('json') && (type === 'application/json' || type.endsWith('+json'))) return 'json';
    if (accepted.includes('form') && type === 'application/x-www-form-urlencoded') return 'form';
    throw new UnsupportedMediaTypeError(
      `content type must be ${accepted.map((a) => (a === 'json' ? 'application/json' : 'application/x-www-form-urlencoded')).join(' or ')}`,
    );
  }

  /**
   * The caller's credential: `Authorization: Token <token>` or `Bearer <service key>`, else
   * Hipochat's `?token=`.
   *
   * @throws BadRequestError when the Authorization header has another form
   */
  credential(): HeaderCredential | undefined {
    const token = this.query('token');
    return (
      credentialFromHeader(this.header('authorization')) ??
      (token ? { scheme: 'token', value: token } : undefined)
    );
  }

  /**
   * The user who called a route that only users call (or a user on one both call).
   *
   * @throws Error when the backend called: the route's rule admits no backend here
   */
  identity(): Identity {
    if (this.caller.kind !== 'user') throw new Error('the backend has no user identity');
    return this.caller.identity;
  }
}

/** The JSON response of an HTTP route, with `headers` besides the content type (`Retry-After`). */
function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResultV2 {
  return {
    statusCode,
    headers: { ...headers, 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

/**
 * Wraps the HTTP API route `name` of the routes table: before `work` runs, the caller is admitted
 * under the route's rule (`caller`), so no handler can skip the credential check; a refusal names
 * the route's purpose. `work` gets the parsed request (`request.caller`) and the process runtime;
 * its result is answered as JSON with `successStatus`, a failure with its status and
 * `{"error": ...}` (a 429 also with `retryAfter` and a `Retry-After` header).
 * `options.carriesMessage` counts failures in `MessagesRefused`.
 *
 * @throws Error at load when the table has no HTTP route `name`
 */
export function httpRoute(
  name: string,
  work: (request: HttpRequest, rt: Runtime) => Promise<unknown>,
  successStatus = 200,
  options: RouteOptions = {},
): LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyResultV2> {
  const route = httpRouteNamed(name);
  return lambdaHandler({
    ...options,
    keys: (event) => ({ route: event.routeKey }),
    run: async (event) => {
      const request = new HttpRequest(event);
      const rt = await runtime();
      const caller = await admit(route, request.credential(), {
        serviceKey: rt.config.serviceKey,
        auth: rt.chat.auth,
      });
      request.admit(caller);
      if (caller.kind === 'user') appendLogKeys({ userId: caller.identity.userId });
      return json(successStatus, await work(request, rt));
    },
    fail: (failure) => json(failure.statusCode, failure.toJSON(), failure.headers()),
  });
}
