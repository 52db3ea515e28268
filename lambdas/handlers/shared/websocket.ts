import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { UnauthorizedError } from '../../core/errors.js';
import type { Identity } from '../../core/protocol.js';
import type { Runtime } from '../../core/runtime.js';

/** What the `$connect` authorizer hands to every later route of the connection. */
export interface ConnectionContext {
  room: string;
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
 * record written at `$connect`.
 */
export async function connectionOf(
  event: WebSocketEvent,
  rt: Runtime,
): Promise<{ room: string; identity: Identity }> {
  const fromContext = contextIdentity(event.requestContext.authorizer);
  if (fromContext) return fromContext;
  const home = await rt.chat.connectionHome(event.requestContext.connectionId);
  if (!home) throw new UnauthorizedError('unknown connection');
  return home;
}
