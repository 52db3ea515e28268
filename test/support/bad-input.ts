import { connect } from 'node:net';
import fc from 'fast-check';

/** Inputs the bad-input fault suite throws at a gateway: raw HTTP and fast-check arbitraries. */

export const SERVICE_KEY = 'bad-input-service-key-0123456789';
export const MAX_MESSAGE_BYTES = 4096;

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends raw bytes as one HTTP/1.1 request and reads the whole answer (the server closes). */
export function rawHttp(port: number, request: Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer within 10 s'));
    }, 10_000);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = split >= 0 ? text.slice(split + 4) : '';
      if (headers['transfer-encoding'] === 'chunked') {
        let decoded = '';
        for (let rest = body; ; ) {
          const end = rest.indexOf('\r\n');
          const size = Number.parseInt(rest.slice(0, end), 16);
          if (!size) break;
          decoded += rest.slice(end + 2, end + 2 + size);
          rest = rest.slice(end + 2 + size + 2);
        }
        body = decoded;
      }
      resolve({ status, headers, body: Buffer.from(body, 'latin1').toString('utf8') });
    });
    // No half-close: Node's HTTP server drops a request whose client already ended its side.
    socket.write(request);
  });
}

/** Bytes, including invalid UTF-8 and control characters, but never CR or LF (they end a header). */
const headerBytes = fc
  .uint8Array({ minLength: 0, maxLength: 80 })
  .map((bytes) => Buffer.from(bytes.filter((b) => b !== 13 && b !== 10)));

export const junkText = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.constantFrom('../../etc/passwd', '%00', '%ff%fe', '%2F..%2F', '<script>', "' OR 1=1 --", '{room}', '*'),
);

export const roomSegment = fc.oneof(
  fc.constantFrom('fuzz-room', 'fuzz-room/', 'a'.repeat(129), 'a,b,c', '', '/', 'x//', 'r%20r', 'r%ZZ'),
  junkText.map((text) => encodeURIComponent(text)),
  junkText,
  fc.array(fc.constantFrom('r1', 'r2', 'bad room', ''), { maxLength: 60 }).map((rooms) => rooms.join(',')),
);

export const query = fc
  .dictionary(fc.constantFrom('type', 'limit', 'since', 'token', 'ticket', 'x', ''), junkText, { maxKeys: 4 })
  .map((entries) =>
    Object.entries(entries)
      .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
      .join('&'),
  );

export const deepJson = fc
  .integer({ min: 1, max: 3000 })
  .chain((depth) =>
    fc.constantFrom(
      `${'['.repeat(depth)}${']'.repeat(depth)}`,
      `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
      '['.repeat(depth),
    ),
  );

/** The default of `HIPOCHAT_MAX_BODY_DEPTH`, which the gateway under test keeps. */
export const MAX_BODY_DEPTH = 32;

/** `depth` levels of arrays, objects or both alternating, around `1`. */
export function nestedJson(depth: number, shape: 'array' | 'object' | 'mixed'): string {
  let text = '1';
  for (let level = 0; level < depth; level += 1) {
    const asObject = shape === 'object' || (shape === 'mixed' && level % 2 === 1);
    text = asObject ? `{"a":${text}}` : `[${text}]`;
  }
  return text;
}

/** Nesting around the limit and far past it, as long as the text stays under the size limit. */
export const nesting = fc.record({
  depth: fc.oneof(
    fc.constantFrom(MAX_BODY_DEPTH, MAX_BODY_DEPTH + 1),
    fc.integer({ min: 1, max: 2 * MAX_BODY_DEPTH }),
    fc.integer({ min: 1, max: 600 }),
  ),
  shape: fc.constantFrom('array' as const, 'object' as const, 'mixed' as const),
});

export const body = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  fc.json().map((text) => Buffer.from(text)),
  fc.jsonValue().map((value) => Buffer.from(JSON.stringify({ members: value, tokens: value, body: value }))),
  deepJson.map((text) => Buffer.from(text)),
  fc
    .integer({ min: 5000, max: 300_000 })
    .map((size) => Buffer.from(JSON.stringify({ big: 'x'.repeat(size) }))),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.constantFrom(
    Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    Buffer.from('tokens=a&tokens=%ff&members='),
    Buffer.from('{"members":["a"],"__proto__":{"admin":true}}'),
    Buffer.from('{"constructor":{"prototype":{"polluted":1}}}'),
  ),
);

export const headers = fc.record({
  authorization: fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(
      'Token fuzzer',
      `Bearer ${SERVICE_KEY}`,
      'Token ',
      'Bearer',
      'Basic Zm9vOmJhcg==',
      'Token a b',
    ),
    headerBytes.map((bytes) => Buffer.concat([Buffer.from('Token '), bytes])),
    headerBytes,
  ),
  contentType: fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(
      'application/json',
      'application/json; charset=latin1',
      'application/x-www-form-urlencoded',
      'text/plain',
      'multipart/form-data; boundary=x',
      'application/vnd.api+json',
      '',
    ),
    headerBytes,
  ),
  idempotencyKey: fc.oneof(fc.constant(undefined), headerBytes),
});
