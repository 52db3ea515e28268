import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type {
  APIGatewayAuthorizerResult,
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayRequestAuthorizerEvent,
  Context,
} from 'aws-lambda';
import type { RabbitMqEvent } from '../lambdas/handlers/mq/rabbitmq-event.js';
import type { WebSocketEvent } from '../lambdas/handlers/shared/websocket.js';
import { type HttpRoute, type Route, routes } from '../lambdas/routes.js';
import { lambdaContext, localFunctionConfig, localFunctionName } from './lambda-context.js';

/** The repository root (handler entries in the routes table are relative to it). */
export const ROOT = resolve(import.meta.dirname, '..');

/** A loaded function: called with an event, it invokes the handler with a fresh Lambda context. */
export type LocalFunction<E, R> = (event: E) => Promise<R>;

/** Every function of the routes table, ready to invoke. */
export interface LocalFunctions {
  http: { route: HttpRoute; invoke: LocalFunction<APIGatewayProxyEventV2, APIGatewayProxyResultV2> }[];
  authorizer: LocalFunction<APIGatewayRequestAuthorizerEvent, APIGatewayAuthorizerResult>;
  connect: LocalFunction<WebSocketEvent, APIGatewayProxyResultV2>;
  message: LocalFunction<WebSocketEvent, APIGatewayProxyResultV2>;
  disconnect: LocalFunction<WebSocketEvent, APIGatewayProxyResultV2>;
  fanout: LocalFunction<RabbitMqEvent, unknown>;
  /** Functions other functions invoke (Lambda `Invoke`), by local function name and route name. */
  invocable: Map<string, LocalFunction<unknown, unknown>>;
}

async function load<E, R>(route: Route): Promise<LocalFunction<E, R>> {
  const module = (await import(pathToFileURL(join(ROOT, route.entry)).href)) as {
    handler: (event: E, context: Context) => Promise<R>;
  };
  const config = localFunctionConfig(route);
  return (event) => module.handler(event, lambdaContext(config));
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the routes table has no ${what} function`);
  return value;
}

/** Imports the handler module of every route, as Lambda would load each function's bundle. */
export async function loadFunctions(): Promise<LocalFunctions> {
  const http: LocalFunctions['http'] = [];
  const socket = new Map<string, LocalFunction<WebSocketEvent, APIGatewayProxyResultV2>>();
  let authorizer: LocalFunctions['authorizer'] | undefined;
  let fanout: LocalFunctions['fanout'] | undefined;
  const invocable: LocalFunctions['invocable'] = new Map();
  for (const route of routes) {
    if (route.kind === 'http') http.push({ route, invoke: await load(route) });
    else if (route.kind === 'ws') socket.set(route.routeKey, await load(route));
    else if (route.kind === 'authorizer') authorizer = await load(route);
    else if (route.kind === 'queue') fanout = await load(route);
    else {
      const invoke = await load<unknown, unknown>(route);
      invocable.set(localFunctionName(route.name), invoke);
      invocable.set(route.name, invoke);
    }
  }
  return {
    http,
    authorizer: required(authorizer, 'authorizer'),
    connect: required(socket.get('$connect'), '$connect'),
    message: required(socket.get('$default'), '$default'),
    disconnect: required(socket.get('$disconnect'), '$disconnect'),
    fanout: required(fanout, 'fan-out'),
    invocable,
  };
}
