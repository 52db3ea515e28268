import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, sendJson } from './http-io.js';
import { type LocalCredentials, verifySignature } from './sigv4.js';
import type { SocketRegistry } from './socket-registry.js';

/** API Gateway's limit for one websocket message. */
export const MAX_WS_MESSAGE_BYTES = 128 * 1024;

/** Path prefix of the management API. */
export const CONNECTIONS_PATH = '/@connections/';

const PAYLOAD_TOO_LARGE = { 'x-amzn-errortype': 'PayloadTooLargeException' };

/**
 * `POST|GET|DELETE /@connections/{id}`, the API Gateway management API that both the SDK's
 * `ApiGatewayManagementApiClient` and the lean `SignedPostSender` call. Like API Gateway it
 * serves only requests SigV4-signed with `credentials` (the keys the local runtime signs with;
 * anything else is a 403, so no one on the network can post frames in a user's name), and
 * answers 410 Gone for a connection that is closed or unknown.
 */
export async function handleConnectionsRequest(
  registry: SocketRegistry,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  credentials: LocalCredentials,
): Promise<void> {
  let connectionId: string;
  try {
    connectionId = decodeURIComponent(url.pathname.slice(CONNECTIONS_PATH.length));
  } catch {
    connectionId = '';
  }
  const body = await readBody(request, MAX_WS_MESSAGE_BYTES + 1).catch(() => undefined);
  if (!body) {
    sendJson(response, 413, { message: 'Payload too large' }, PAYLOAD_TOO_LARGE);
    return;
  }
  const refused = await verifySignature(
    { method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body },
    credentials,
  );
  if (refused) {
    sendJson(response, 403, { message: refused.message }, { 'x-amzn-errortype': refused.type });
    return;
  }
  if (!registry.isOpen(connectionId)) {
    sendJson(response, 410, { message: 'Gone' }, { 'x-amzn-errortype': 'GoneException' });
    return;
  }
  switch (request.method) {
    case 'POST':
      if (body.length > MAX_WS_MESSAGE_BYTES) {
        sendJson(response, 413, { message: 'Payload too large' }, PAYLOAD_TOO_LARGE);
        return;
      }
      registry.send(connectionId, body.toString('utf8'));
      response.writeHead(200);
      response.end();
      return;
    case 'GET':
      sendJson(response, 200, registry.describe(connectionId));
      return;
    case 'DELETE':
      registry.close(connectionId);
      response.writeHead(204);
      response.end();
      return;
    default:
      sendJson(response, 405, { message: 'Method Not Allowed' });
  }
}
