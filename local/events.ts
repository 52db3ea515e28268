import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import type { ConnectionContext, WebSocketEvent } from '../lambdas/handlers/shared/websocket.js';

/** Account and API ids the local events carry. */
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_API_ID = 'local';
export const LOCAL_STAGE = '$default';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** API Gateway's request time format: `26/Nov/2026:04:28:11 +0000`. */
export function requestTime(epochMs: number): string {
  // Built by hand: Intl month names cost more than the rest of an event (seen in a CPU profile).
  const date = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** Headers as API Gateway passes them: lower-case names, repeated values joined by commas. */
export function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    flat[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return flat;
}

/** Query parameters as API Gateway passes them (repeated values joined by commas), or undefined. */
export function flatQuery(search: URLSearchParams): Record<string, string> | undefined {
  const query: Record<string, string> = {};
  for (const key of new Set(search.keys())) query[key] = search.getAll(key).join(',');
  return Object.keys(query).length > 0 ? query : undefined;
}

/** Inputs of an HTTP API event. */
export interface HttpEventInput {
  method: string;
  routePath: string;
  url: URL;
  headers: IncomingHttpHeaders;
  pathParameters: Record<string, string>;
  body: Buffer;
  sourceIp: string;
}

const TEXT_TYPES = /^(application\/(json|x-www-form-urlencoded|[\w.+-]*\+json)|text\/)/i;

/** An HTTP API payload format 2.0 event, as a Lambda behind the HTTP API receives it. */
export function httpEvent(input: HttpEventInput): APIGatewayProxyEventV2 {
  const now = Date.now();
  const headers = flatHeaders(input.headers);
  const textual = TEXT_TYPES.test(headers['content-type'] ?? '') && !input.body.includes(0xff);
  const routeKey = `${input.method} ${input.routePath}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: input.url.pathname,
    rawQueryString: input.url.search.slice(1),
    headers,
    queryStringParameters: flatQuery(input.url.searchParams),
    pathParameters: input.pathParameters,
    requestContext: {
      accountId: LOCAL_ACCOUNT,
      apiId: LOCAL_API_ID,
      domainName: headers.host ?? 'localhost',
      domainPrefix: LOCAL_API_ID,
      http: {
        method: input.method,
        path: input.url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: input.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: LOCAL_STAGE,
      time: requestTime(now),
      timeEpoch: now,
    },
    ...(input.body.length > 0
      ? textual
        ? { body: input.body.toString('utf8'), isBase64Encoded: false }
        : { body: input.body.toString('base64'), isBase64Encoded: true }
      : { isBase64Encoded: false }),
  };
}

/** What a websocket connection carries from `$connect` to its later events. */
export interface SocketInfo {
  connectionId: string;
  connectedAt: number;
  sourceIp: string;
  userAgent: string;
  domainName: string;
  authorizer?: ConnectionContext & { principalId: string };
}

function socketContext(
  socket: SocketInfo,
  routeKey: string,
  eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT',
) {
  const now = Date.now();
  return {
    routeKey,
    eventType,
    messageDirection: 'IN' as const,
    extendedRequestId: randomUUID(),
    requestTime: requestTime(now),
    requestTimeEpoch: now,
    stage: LOCAL_STAGE,
    connectedAt: socket.connectedAt,
    requestId: randomUUID(),
    domainName: socket.domainName,
    connectionId: socket.connectionId,
    apiId: LOCAL_API_ID,
    identity: { sourceIp: socket.sourceIp, userAgent: socket.userAgent },
    ...(socket.authorizer ? { authorizer: socket.authorizer } : {}),
  };
}

/** The `$connect` REQUEST authorizer event. */
export function authorizerEvent(
  socket: SocketInfo,
  headers: IncomingHttpHeaders,
  url: URL,
): APIGatewayRequestAuthorizerEvent {
  const multi: Record<string, string[]> = {};
  for (const key of new Set(url.searchParams.keys())) multi[key] = url.searchParams.getAll(key);
  const flat = flatHeaders(headers);
  return {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:local:${LOCAL_ACCOUNT}:${LOCAL_API_ID}/${LOCAL_STAGE}/$connect`,
    resource: '$connect',
    path: url.pathname,
    httpMethod: 'GET',
    headers: flat,
    multiValueHeaders: Object.fromEntries(Object.entries(flat).map(([k, v]) => [k, [v]])),
    pathParameters: {},
    queryStringParameters: flatQuery(url.searchParams) ?? {},
    multiValueQueryStringParameters: multi,
    stageVariables: {},
    requestContext: socketContext(
      socket,
      '$connect',
      'CONNECT',
    ) as unknown as APIGatewayRequestAuthorizerEvent['requestContext'],
  };
}

/** A `$connect`, `$default` or `$disconnect` event. */
export function socketEvent(
  socket: SocketInfo,
  routeKey: '$connect' | '$default' | '$disconnect',
  body?: string,
  extra: Record<string, unknown> = {},
): WebSocketEvent {
  const eventType = routeKey === '$connect' ? 'CONNECT' : routeKey === '$default' ? 'MESSAGE' : 'DISCONNECT';
  const requestContext = {
    ...socketContext(socket, routeKey, eventType),
    ...(eventType === 'MESSAGE' ? { messageId: randomUUID().slice(0, 16) } : {}),
    ...extra,
  };
  return {
    requestContext,
    isBase64Encoded: false,
    ...(body !== undefined ? { body } : {}),
  } as unknown as WebSocketEvent;
}

/** The `$connect` event: like API Gateway's, it carries the handshake's headers and query. */
export function connectEvent(socket: SocketInfo, headers: IncomingHttpHeaders, url: URL): WebSocketEvent {
  const flat = flatHeaders(headers);
  return {
    ...socketEvent(socket, '$connect'),
    headers: flat,
    multiValueHeaders: Object.fromEntries(Object.entries(flat).map(([k, v]) => [k, [v]])),
    queryStringParameters: flatQuery(url.searchParams),
  };
}
