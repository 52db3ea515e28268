import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import type { HttpError } from '../../core/errors.js';
import { appendLogKeys } from '../../core/logger.js';
import type { Identity } from '../../core/protocol.js';
import { type Runtime, runtime } from '../../core/runtime.js';
import { type LambdaHandler, lambdaHandler, type RouteOptions } from './invocation.js';

/** What the `$connect` authorizer hands to every later route of the connection. */
export interface ConnectionContext {
  /** The one room of a single-room connection (`?room=`, `/talk/chat/<room>/`). */
  room?: string;
  /**
   * A connection that follows rooms by subscribing: the rooms of `?rooms=`, comma-separated (maybe
   * none). Its record in the store lists what it follows now.
   */
  rooms?: string;
  userId: string;
  /** The public profile as JSON (authorizer context values must be strings or numbers). */
  profile: string;
}

/** A websocket route event with the authorizer context API Gateway attaches. */
export type WebSocketEvent = APIGatewayProxyWebsocketEventV2 & {
  requestContext: APIGatewayProxyWebsocketEventV2['requestContext'] & {
    authorizer?: Partial<ConnectionContext>;
  };
  /** The handshake's query and headers, on `$connect` only. */
  queryStringParameters?: Record<string, string | undefined>;
  headers?: Record<string, string | undefined>;
  multiValueHeaders?: Record<string, string[] | undefined>;
};

/** The authorizer context of a connection as a room and identity. */
export function contextIdentity(
  context: Partial<ConnectionContext> | undefined,
): { room: string; identity: Identity } | undefined {
  if (!context?.room || !context.userId) return undefined;
  return {
    room: context.room,
    identity: { userId: context.userId, profile: JSON.parse(context.profile ?? '{}') },
  };
}

/**
 * The room and identity of a connection: from the authorizer context, else from the connection
 * record written at `$connect`; on a connection that follows rooms, the room the frame `named`.
 */
export async function connectionOf(
  event: WebSocketEvent,
  rt: Runtime,
  named?: string,
): Promise<{ room: string; identity: Identity }> {
  const context = event.requestContext.authorizer;
  const fromContext = contextIdentity(context);
  // A single-room connection ignores a frame's `room`, as it always did.
  if (fromContext) return fromContext;
  const { connectionId } = event.requestContext;
  // A follower (no room in its context): the frame's room among those it follows.
  if (context?.userId) return rt.rooms.roomOf(connectionId, named);
  const home = await rt.chat.connectionHome(connectionId);
  if (!home) return rt.rooms.roomOf(connectionId, named);
  appendLogKeys({ room: home.room, userId: home.identity.userId });
  return home;
}

/** A failure as `$connect` answers it: the status, and the message as the body. */
function statusAnswer(failure: HttpError): APIGatewayProxyResultV2 {
  return { statusCode: failure.statusCode, body: failure.message };
}

/**
 * Wraps a websocket route (`$connect`, `$default`, `$disconnect`): `work` gets the event and the
 * process runtime; a failure is answered by `answer` (by default its status, with its message as
 * the body). Lines carry the route key, the connection id, and the room and user id the
 * authorizer vouched for. `options.carriesMessage` counts failures in `MessagesRefused`.
 */
export function wsRoute(
  work: (event: WebSocketEvent, rt: Runtime) => Promise<APIGatewayProxyResultV2>,
  answer: (failure: HttpError, event: WebSocketEvent) => APIGatewayProxyResultV2 = statusAnswer,
  options: RouteOptions = {},
): LambdaHandler<WebSocketEvent, APIGatewayProxyResultV2> {
  return lambdaHandler({
    ...options,
    keys: ({ requestContext: { routeKey, connectionId, authorizer } }) => ({
      route: routeKey,
      connectionId,
      room: authorizer?.room,
      userId: authorizer?.userId,
    }),
    run: async (event) => work(event, await runtime()),
    fail: answer,
  });
}
