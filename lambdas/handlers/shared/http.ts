import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { credentialFromHeader } from '../../core/auth.js';
import { BadRequestError, UnauthorizedError, UnsupportedMediaTypeError } from '../../core/errors.js';
import { appendLogKeys } from '../../core/logger.js';
import { type Identity, parseRoom } from '../../core/protocol.js';
import { type Runtime, runtime } from '../../core/runtime.js';
import { type LambdaHandler, lambdaHandler, type RouteOptions } from './invocation.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A view of an HTTP API (payload 2.0) event with the parsing every route shares. */
export class HttpRequest {
  constructor(readonly event: APIGatewayProxyEventV2) {}

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
   * The user's token: `Authorization: Token <token>`, else `?token=`.
   *
   * @throws UnauthorizedError for `Authorization: Bearer`: a service key is never forwarded to
   *   the profile endpoint, and it names no user
   */
  credential(): string | undefined {
    const credential = credentialFromHeader(this.header('authorization'));
    if (credential?.scheme === 'bearer') {
      throw new UnauthorizedError('a Bearer service key is not a user credential: send "Token <token>"');
    }
    return credential?.value ?? this.query('token');
  }

  /** The caller's identity through the profile endpoint. */
  async identity(chat: Runtime['chat']): Promise<Identity> {
    const identity = await chat.auth.authenticate(this.credential());
    appendLogKeys({ userId: identity.userId });
    return identity;
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
 * Wraps an HTTP API route: `work` gets the parsed request and the process runtime; its result is
 * answered as JSON with `successStatus`, a failure with its status and `{"error": ...}` (a 429
 * also with `retryAfter` and a `Retry-After` header).
 * `options.carriesMessage` counts failures in `MessagesRefused`.
 */
export function httpRoute(
  work: (request: HttpRequest, rt: Runtime) => Promise<unknown>,
  successStatus = 200,
  options: RouteOptions = {},
): LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyResultV2> {
  return lambdaHandler({
    ...options,
    keys: (event) => ({ route: event.routeKey }),
    run: async (event) => json(successStatus, await work(new HttpRequest(event), await runtime())),
    fail: (failure) => json(failure.statusCode, failure.toJSON(), failure.headers()),
  });
}
