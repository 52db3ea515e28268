import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** Reads a request body; rejects (and drops the request) past `limit` bytes, as API Gateway would. */
export function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolvePromise(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Answers with a JSON body, the shape of API Gateway's own errors. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

/** A handler's result as API Gateway reads it: a bare string or object means 200 with that body. */
export function structured(result: APIGatewayProxyResultV2): APIGatewayProxyStructuredResultV2 {
  if (typeof result === 'string') return { statusCode: 200, body: result };
  if (result && typeof result === 'object' && 'statusCode' in result) return result;
  return { statusCode: 200, body: JSON.stringify(result) };
}

/**
 * Refuses a raw socket (an upgrade or a request the parser rejected) with a JSON HTTP answer:
 * `{"message": reason}` as API Gateway's own errors, or `json` when given.
 */
export function refuse(
  socket: Duplex,
  status: number,
  reason: string,
  json: unknown = { message: reason },
): void {
  const body = JSON.stringify(json);
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
