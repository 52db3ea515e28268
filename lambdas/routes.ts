import type { RouteAccess } from './core/credentials.js';

/**
 * The one routes table. The CDK stack creates a function and a route per entry; the local
 * gateway dispatches to the same handler modules with the same event shapes.
 */

/**
 * A secret a function reads at cold start. The stack lets each function read exactly the secrets
 * its route lists: `cache` the Redis AUTH token, `broker` the RabbitMQ runtime user (whoever
 * publishes), `serviceKey` the backends' key (every HTTP function: its credential check tells the
 * right key from a wrong one), `pushKey` the push webhook's HMAC key.
 */
export type RouteSecret = 'cache' | 'broker' | 'serviceKey' | 'pushKey';

/**
 * A function reached through the HTTP API (payload format 2.0). Its wrapper checks the caller
 * against `caller` before the handler runs (`lambdas/core/credentials.ts`).
 */
export interface HttpRoute extends RouteAccess {
  readonly kind: 'http';
  /** Logical name, used for the function's id and log group. */
  readonly name: string;
  readonly method: 'GET' | 'POST';
  /** HTTP API path; `{room+}` is greedy so Hipochat's trailing slash reaches the handler. */
  readonly path: string;
  /** Handler module, relative to the repository root. */
  readonly entry: string;
  /** Whether the function disconnects sockets (needs `execute-api:ManageConnections`). */
  readonly managesConnections: boolean;
  /** Secrets the function reads; it may read no other. */
  readonly secrets: readonly RouteSecret[];
}

/** A function reached through the WebSocket API. */
export interface WebSocketRoute {
  readonly kind: 'ws';
  readonly name: string;
  readonly routeKey: '$connect' | '$default' | '$disconnect';
  readonly entry: string;
  /** `$default` answers error frames through the integration response. */
  readonly returnResponse: boolean;
  readonly managesConnections: boolean;
  readonly secrets: readonly RouteSecret[];
}

/** The REQUEST authorizer of `$connect`. */
export interface AuthorizerRoute {
  readonly kind: 'authorizer';
  readonly name: string;
  readonly entry: string;
  /** Identity sources API Gateway requires before calling the authorizer. */
  readonly identitySource: readonly string[];
  readonly managesConnections: false;
  readonly secrets: readonly RouteSecret[];
}

/** The consumer of the fan-out queues (Amazon MQ event source mapping). */
export interface QueueRoute {
  readonly kind: 'queue';
  readonly name: string;
  readonly entry: string;
  readonly managesConnections: true;
  readonly secrets: readonly RouteSecret[];
}

/**
 * A function another function of the table invokes synchronously through Lambda's Invoke API:
 * the delivery function that runs one slice of a big room's fan-out.
 */
export interface InvokeRoute {
  readonly kind: 'invoke';
  readonly name: string;
  readonly entry: string;
  /** Name of the route whose function invokes this one; only it may (`lambda:InvokeFunction`). */
  readonly invokedBy: string;
  readonly managesConnections: true;
  readonly secrets: readonly RouteSecret[];
}

export type Route = HttpRoute | WebSocketRoute | AuthorizerRoute | QueueRoute | InvokeRoute;

/** Who calls an HTTP route and what for: a user, the backend with the service key, or either. */
const user = (purpose: string): RouteAccess => ({ caller: 'user', purpose });
const service = (purpose: string): RouteAccess => ({ caller: 'service', purpose });
const userOrService = (purpose: string): RouteAccess => ({ caller: 'user-or-service', purpose });

/**
 * An HTTP route; it reads the service key besides `secrets`, which its credential check compares
 * a `Bearer` with. A user route needs it too, to tell the right key (403) from a wrong one (401);
 * it gains little, since its Redis AUTH token already reaches every room's data.
 */
const http = (
  name: string,
  method: HttpRoute['method'],
  path: string,
  access: RouteAccess,
  secrets: readonly Exclude<RouteSecret, 'serviceKey'>[],
  managesConnections = false,
): HttpRoute => ({
  kind: 'http',
  name,
  method,
  path,
  entry: `lambdas/handlers/http/${name}.ts`,
  ...access,
  managesConnections,
  secrets: [...secrets, 'serviceKey'],
});

export const routes: readonly Route[] = [
  {
    kind: 'authorizer',
    name: 'authorizer',
    entry: 'lambdas/handlers/ws/authorizer.ts',
    // None: a connection names `?room=`, `?rooms=` or neither (it subscribes later). API Gateway then
    // calls the authorizer on every connect; WebSocket authorizers cache nothing anyway.
    identitySource: [],
    managesConnections: false,
    // Tickets and the profile cache live in Redis; it never publishes nor pushes.
    secrets: ['cache'],
  },
  {
    kind: 'ws',
    name: 'connect',
    routeKey: '$connect',
    entry: 'lambdas/handlers/ws/connect.ts',
    returnResponse: false,
    managesConnections: false,
    // Publishes a user's presence `join` to the room's signals connections.
    secrets: ['cache', 'broker'],
  },
  {
    kind: 'ws',
    name: 'message',
    routeKey: '$default',
    entry: 'lambdas/handlers/ws/message.ts',
    returnResponse: true,
    managesConnections: false,
    // Signs what it asks the moderation hook (`HIPOCHAT_MODERATION_URL`) with the push key.
    secrets: ['cache', 'broker', 'pushKey'],
  },
  {
    kind: 'ws',
    name: 'disconnect',
    routeKey: '$disconnect',
    entry: 'lambdas/handlers/ws/disconnect.ts',
    returnResponse: false,
    managesConnections: false,
    // Publishes the `read` and presence `leave` frames of a socket that went.
    secrets: ['cache', 'broker'],
  },
  // Publishes the `read` frame of a read mark it moves.
  http('old', 'GET', '/talk/old/{room+}', user('reading messages'), ['cache', 'broker']),
  // A user's injection goes past the moderation hook, signed with the push key.
  http('item', 'POST', '/talk/item/{room+}', userOrService('message injection'), [
    'cache',
    'broker',
    'pushKey',
  ]),
  http('notification', 'GET', '/talk/notification/{room+}', user('the unread count'), ['cache']),
  http('history', 'GET', '/talk/history/{rooms+}', user('reading history'), ['cache']),
  // Publishes the `read` frame of the read mark it moves back.
  http('unread', 'POST', '/talk/unread/{room+}', user('marking unread'), ['cache', 'broker']),
  http('new-chat-room', 'POST', '/talk/new-chat-room/{room+}', service('membership management'), ['cache']),
  http(
    'unsubscribe',
    'POST',
    '/talk/unsubscribe/{room+}',
    service('membership management'),
    ['cache', 'broker'],
    true,
  ),
  http('ticket', 'POST', '/talk/ticket/{room+}', user('connect tickets'), ['cache']),
  // Live signals: presence prunes expired connections and announces their leave (publishes).
  http('presence', 'GET', '/talk/presence/{room+}', user('presence'), ['cache', 'broker']),
  http('receipts', 'GET', '/talk/receipts/{room+}', user('read receipts'), ['cache']),
  // Threads: reading the newest page of a thread moves the caller's thread read mark (no publish).
  http('thread', 'GET', '/talk/thread/{path+}', user('reading threads'), ['cache']),
  http('threads', 'GET', '/talk/threads/{room+}', user('reading threads'), ['cache']),
  // Moderation: the backend edits or deletes any message; signals connections hear of it (publishes).
  http('edit', 'POST', '/talk/edit/{room+}', service('moderation'), ['cache', 'broker']),
  http('delete', 'POST', '/talk/delete/{room+}', service('moderation'), ['cache', 'broker']),
  // API Gateway routes `/talk/broadcast/` here too (a trailing slash matches, but no route may end with one).
  http('broadcast', 'POST', '/talk/broadcast', service('broadcast'), ['cache', 'broker']),
  http(
    'disconnect-user',
    'POST',
    '/talk/disconnect/{user+}',
    service('disconnecting users'),
    ['cache', 'broker'],
    true,
  ),
  // Moderation of users: `{path+}` is `<room>/<user id>/`. A ban closes the user's sockets in the
  // room and announces their leave (publishes).
  http('mute', 'POST', '/talk/mute/{path+}', service('moderation'), ['cache']),
  http('ban', 'POST', '/talk/ban/{path+}', service('moderation'), ['cache', 'broker'], true),
  http('moderation', 'GET', '/talk/moderation/{room+}', service('moderation'), ['cache']),
  {
    kind: 'queue',
    name: 'fanout',
    entry: 'lambdas/handlers/mq/fanout.ts',
    managesConnections: true,
    // Requeues and dead-letters through the broker; pushes to offline members.
    secrets: ['cache', 'broker', 'pushKey'],
  },
  {
    kind: 'invoke',
    name: 'deliver',
    entry: 'lambdas/handlers/invoke/deliver.ts',
    invokedBy: 'fanout',
    managesConnections: true,
    // Drops the connections that answer 410; never publishes nor pushes (the fan-out does).
    secrets: ['cache'],
  },
];

/** How a route's function is sized: what the stack deploys and the local Lambda context reports. */
export interface FunctionSize {
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
}

/**
 * The fan-out posts to every connection of its rooms and the delivery function to a slice of a big
 * room: more memory buys CPU (1,769 MB is one full vCPU). Every API function gets 512 MB and 10 s.
 */
export function functionSize(route: Route): FunctionSize {
  if (route.kind === 'queue') return { memoryMb: 1024, timeoutSeconds: 60 };
  // A slice finishes well within the fan-out's own 60 s, which waits for it.
  if (route.kind === 'invoke') return { memoryMb: 1769, timeoutSeconds: 30 };
  return { memoryMb: 512, timeoutSeconds: 10 };
}

/**
 * The HTTP route `name` of the table.
 *
 * @throws Error when the table has none (a handler module naming a route that is not there)
 */
export function httpRouteNamed(name: string): HttpRoute {
  const route = httpRoutes.find((candidate) => candidate.name === name);
  if (!route) throw new Error(`no HTTP route named ${name} in the routes table`);
  return route;
}

/** The HTTP routes only. */
export const httpRoutes = routes.filter((route): route is HttpRoute => route.kind === 'http');
/** The WebSocket routes only. */
export const webSocketRoutes = routes.filter((route): route is WebSocketRoute => route.kind === 'ws');
