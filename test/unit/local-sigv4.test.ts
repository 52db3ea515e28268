import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { type ReceivedRequest, verifySignature } from '../../local/sigv4.js';

const KEYS = { accessKeyId: 'local-key', secretAccessKey: 'local-secret' };
const NOW = new Date('2026-03-01T12:00:00Z');
const HOST = '127.0.0.1:8888';
const FRAME = Buffer.from('{"body":"hello"}');

/** A POST signed the way `SignedPostSender` signs it. */
async function signedPost(
  options: { keys?: typeof KEYS; at?: Date; path?: string; body?: Buffer } = {},
): Promise<ReceivedRequest> {
  const body = options.body ?? FRAME;
  const path = options.path ?? '/@connections/abc%3D';
  const signer = new SignatureV4({
    service: 'execute-api',
    region: 'us-east-1',
    credentials: options.keys ?? KEYS,
    sha256: Sha256,
    uriEscapePath: true,
    applyChecksum: true,
  });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 8888,
      path,
      query: {},
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(body.length),
        host: HOST,
        'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
      },
      body,
    },
    { signingDate: options.at ?? NOW },
  );
  return { method: 'POST', url: path, headers: signed.headers, body };
}

/** The request the real SDK client sends for PostToConnection, captured instead of sent. */
async function sdkPost(connectionId: string): Promise<ReceivedRequest> {
  let captured: ReceivedRequest | undefined;
  const client = new ApiGatewayManagementApiClient({
    endpoint: `http://${HOST}`,
    region: 'eu-west-1',
    credentials: KEYS,
    systemClockOffset: NOW.getTime() - Date.now(),
    requestHandler: {
      handle: async (request: {
        method: string;
        path: string;
        headers: Record<string, string>;
        body: Uint8Array;
      }) => {
        const headers = Object.fromEntries(
          Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]),
        );
        captured = { method: request.method, url: request.path, headers, body: Buffer.from(request.body) };
        return { response: { statusCode: 200, headers: {}, body: Readable.from([]) } };
      },
    },
  });
  await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: FRAME }));
  client.destroy();
  return captured!;
}

describe('local @connections SigV4 verification', () => {
  it('accepts a post signed like SignedPostSender signs it', async () => {
    expect(await verifySignature(await signedPost(), KEYS, NOW)).toBeUndefined();
  });

  it("accepts the SDK client's PostToConnection, whatever region it signs for", async () => {
    const request = await sdkPost('Lx1xYcDuoAMCJrg=');
    expect(request.headers.authorization).toMatch(/\/eu-west-1\/execute-api\//);
    expect(await verifySignature(request, KEYS, NOW)).toBeUndefined();
  });

  it.each<[string, () => Promise<ReceivedRequest>, string]>([
    [
      'no signature',
      async () => ({ method: 'POST', url: '/@connections/abc%3D', headers: { host: HOST }, body: FRAME }),
      'MissingAuthenticationTokenException',
    ],
    [
      'a header that only starts like one',
      async () => ({
        method: 'POST',
        url: '/@connections/abc%3D',
        headers: { host: HOST, authorization: 'AWS4-HMAC-SHA256 admin' },
        body: FRAME,
      }),
      'IncompleteSignatureException',
    ],
    [
      'a forged signature',
      async () => {
        const request = await signedPost();
        request.headers.authorization = String(request.headers.authorization).replace(
          /Signature=[0-9a-f]+/,
          `Signature=${'0'.repeat(64)}`,
        );
        return request;
      },
      'InvalidSignatureException',
    ],
    [
      'another secret',
      () => signedPost({ keys: { ...KEYS, secretAccessKey: 'guessed' } }),
      'InvalidSignatureException',
    ],
    [
      'another access key',
      () => signedPost({ keys: { ...KEYS, accessKeyId: 'AKIAOTHER' } }),
      'UnrecognizedClientException',
    ],
    [
      'a body swapped under a captured signature',
      async () => ({ ...(await signedPost()), body: Buffer.from('{"author":{"id":"admin"}}') }),
      'InvalidSignatureException',
    ],
    [
      'a path changed to another connection',
      async () => ({ ...(await signedPost()), url: '/@connections/other%3D' }),
      'InvalidSignatureException',
    ],
    [
      'a signature 20 minutes old',
      () => signedPost({ at: new Date(NOW.getTime() - 20 * 60_000) }),
      'InvalidSignatureException',
    ],
  ])('refuses %s', async (_what, make, type) => {
    expect(await verifySignature(await make(), KEYS, NOW)).toMatchObject({ type });
  });

  it('refuses a body swapped when the signed request had no body hash header', async () => {
    // Prepare: the SDK's request without x-amz-content-sha256, re-signed so the body hash is implicit.
    const signer = new SignatureV4({
      service: 'execute-api',
      region: 'us-east-1',
      credentials: KEYS,
      sha256: Sha256,
      applyChecksum: false,
    });
    const signed = await signer.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: '/@connections/abc%3D',
        query: {},
        headers: { host: HOST },
        body: FRAME,
      },
      { signingDate: NOW },
    );
    const genuine = { method: 'POST', url: '/@connections/abc%3D', headers: signed.headers, body: FRAME };

    // Act
    const swapped = await verifySignature({ ...genuine, body: Buffer.from('forged') }, KEYS, NOW);

    // Assess
    expect(await verifySignature(genuine, KEYS, NOW)).toBeUndefined();
    expect(swapped).toMatchObject({ type: 'InvalidSignatureException' });
  });
});
