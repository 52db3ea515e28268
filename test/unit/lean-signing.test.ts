import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { AdaptiveLimit } from '../../lambdas/core/adaptive-limit.js';
import { InvokeError, LambdaInvoker } from '../../lambdas/core/lambda-invoker.js';
import { escapeUri, LeanSigner, type SigningCredentials } from '../../lambdas/core/sigv4.js';
import { verifySignature } from '../../local/sigv4.js';
import { chatMessage } from '../support/messages.js';
import { listenOnLoopback } from '../support/net.js';

const KEYS: SigningCredentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const WITH_TOKEN: SigningCredentials = { ...KEYS, sessionToken: 'session-token-example' };
const HOST = 'abc123.execute-api.eu-west-1.amazonaws.com';

/** The `authorization` header `@smithy/signature-v4` (the SDK's signer) gives the same request. */
async function smithyAuthorization(
  service: string,
  credentials: SigningCredentials,
  path: string,
  headers: Record<string, string>,
  body: Uint8Array,
  at: number,
): Promise<string> {
  const signer = new SignatureV4({
    service,
    region: 'eu-west-1',
    credentials,
    sha256: Sha256,
    uriEscapePath: true,
    applyChecksum: true,
  });
  const signed = await signer.sign(
    { method: 'POST', protocol: 'https:', hostname: HOST, path, query: {}, headers, body },
    { signingDate: new Date(at) },
  );
  return signed.headers.authorization as string;
}

const asObject = (list: string[]) =>
  Object.fromEntries(Array.from({ length: list.length / 2 }, (_, i) => [list[2 * i]!, list[2 * i + 1]!]));

describe('LeanSigner', () => {
  const body = Buffer.from(JSON.stringify({ id: '1700000000000-0', body: 'héllo' }));

  it.each([
    ['execute-api', KEYS, 'L0SM9cOFvHcCIhw=', {}, Date.UTC(2026, 0, 2, 3, 4, 5)],
    ['execute-api', WITH_TOKEN, "a+b/c!'()*=", {}, Date.UTC(2026, 0, 2, 23, 59, 59, 999)],
    ['execute-api', WITH_TOKEN, 'L0SM9cOFvHcCIhw=', {}, Date.UTC(2026, 0, 3, 0, 0, 0)],
    [
      'lambda',
      WITH_TOKEN,
      'hipochat-prod-deliver',
      { 'x-amz-invocation-type': 'RequestResponse' },
      Date.UTC(2026, 5, 1),
    ],
  ])(
    'signs a %s POST exactly as the SDK signer does (%#)',
    async (service, credentials, segment, extra, at) => {
      // Prepare
      const signer = new LeanSigner({
        service,
        region: async () => 'eu-west-1',
        credentials: async () => credentials,
        host: HOST,
        contentType: 'application/octet-stream',
        headers: extra,
        now: () => at,
      });
      const path = `/prod/@connections/${escapeUri(segment)}`;

      // Act
      await signer.ready();
      const headers = asObject(signer.sign(path, body));

      // Assess
      const { authorization, ...signedHeaders } = headers;
      expect(authorization).toBe(
        await smithyAuthorization(
          service,
          credentials,
          path,
          signedHeaders as Record<string, string>,
          body,
          at,
        ),
      );
    },
  );

  it('asks for credentials again before they expire, and signs with the new ones', async () => {
    // Prepare
    let now = Date.UTC(2026, 0, 2, 3, 0, 0);
    const issued: SigningCredentials[] = [
      { ...WITH_TOKEN, expiration: new Date(now + 10 * 60_000) },
      { ...WITH_TOKEN, sessionToken: 'renewed-token', expiration: new Date(now + 70 * 60_000) },
    ];
    let calls = 0;
    const provider = jest.fn(async (): Promise<SigningCredentials> => issued[Math.min(calls++, 1)]!);
    const signer = new LeanSigner({
      service: 'execute-api',
      region: 'eu-west-1',
      credentials: provider,
      host: HOST,
      contentType: 'application/octet-stream',
      now: () => now,
    });
    await signer.ready();
    const before = asObject(signer.sign('/prod/@connections/a', body));

    // Act: within the refresh window nothing is asked; past it, the provider is.
    now += 60_000;
    expect(signer.ready()).toBeUndefined();
    now += 5 * 60_000;
    await signer.ready();
    const after = asObject(signer.sign('/prod/@connections/a', body));

    // Assess
    expect(provider).toHaveBeenCalledTimes(2);
    expect(before['x-amz-security-token']).toBe('session-token-example');
    expect(after['x-amz-security-token']).toBe('renewed-token');
  });
});

describe('AdaptiveLimit', () => {
  it('halves the posts in flight on a 429 once per burst, then grows back to the maximum', () => {
    let now = 0;
    const limit = new AdaptiveLimit({ max: 32, coolDownMs: 100, now: () => now });
    limit.throttled();
    limit.throttled(); // the same burst
    expect(limit.limit).toBe(16);
    now += 150;
    limit.throttled();
    expect(limit.limit).toBe(8);
    for (let i = 0; i < 1000; i += 1) limit.succeeded();
    expect(limit.limit).toBe(32);
  });

  it('never goes below one post in flight', () => {
    let now = 0;
    const limit = new AdaptiveLimit({ max: 4, coolDownMs: 1, now: () => now });
    for (let i = 0; i < 10; i += 1) {
      now += 10;
      limit.throttled();
    }
    expect(limit.limit).toBe(1);
  });

  it('makes posts over the limit wait for a slot', async () => {
    const limit = new AdaptiveLimit({ max: 2 });
    expect(limit.acquire()).toBeUndefined();
    expect(limit.acquire()).toBeUndefined();
    let third = false;
    const waiting = limit.acquire()!.then(() => {
      third = true;
    });
    await Promise.resolve();
    expect(third).toBe(false);
    limit.release();
    await waiting;
    expect(third).toBe(true);
    expect(limit.active).toBe(2);
  });
});

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

describe('LambdaInvoker', () => {
  let server: Server;
  let endpoint: string;
  let received: Received[];
  /** Answers to give, in order: status, headers, body; then 200 with a slice result. */
  let script: { status: number; headers?: Record<string, string>; body: string }[];
  const result = { sent: 2, gone: 0, failed: 0, misses: {}, goneConnections: [] };
  const request = { room: 'lobby', messages: [chatMessage(1)], connections: [{ connectionId: 'c1' }] };

  beforeEach(async () => {
    received = [];
    script = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        const answer = script.shift() ?? { status: 200, body: JSON.stringify(result) };
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body);
      });
    });
    endpoint = `http://127.0.0.1:${await listenOnLoopback(server)}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  });

  const invoker = () =>
    new LambdaInvoker({
      functionName: 'hipochat-prod-deliver',
      endpoint,
      region: 'eu-west-1',
      credentials: WITH_TOKEN,
      maxBackoffMs: 2,
    });

  it('invokes the function synchronously with a request Lambda accepts, and answers its result', async () => {
    await expect(invoker().deliver(request)).resolves.toEqual(result);
    const [call] = received;
    expect(call!.url).toBe('/2015-03-31/functions/hipochat-prod-deliver/invocations');
    expect(call!.headers['x-amz-invocation-type']).toBe('RequestResponse');
    expect(JSON.parse(call!.body.toString())).toEqual(request);
    const refused = await verifySignature(
      { method: 'POST', url: call!.url, headers: call!.headers, body: call!.body },
      WITH_TOKEN,
      new Date(),
      'lambda',
    );
    expect(refused).toBeUndefined();
  });

  it('retries an invocation Lambda throttled', async () => {
    script = [{ status: 429, headers: { 'x-amzn-errortype': 'TooManyRequestsException' }, body: '{}' }];
    await expect(invoker().deliver(request)).resolves.toEqual(result);
    expect(received).toHaveLength(2);
  });

  it('fails at once when the function itself failed', async () => {
    script = [
      {
        status: 200,
        headers: { 'x-amz-function-error': 'Unhandled' },
        body: JSON.stringify({ errorType: 'Error', errorMessage: 'redis down' }),
      },
    ];
    await expect(invoker().deliver(request)).rejects.toThrow(
      /delivery function failed \(Unhandled\).*redis down/,
    );
    expect(received).toHaveLength(1);
  });

  it('does not retry a request Lambda refused', async () => {
    script = [{ status: 403, headers: { 'x-amzn-errortype': 'AccessDeniedException' }, body: '{}' }];
    const failure = await invoker()
      .deliver(request)
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvokeError);
    expect((failure as InvokeError).status).toBe(403);
    expect(received).toHaveLength(1);
  });
});
