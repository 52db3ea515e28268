import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import {
  ApiGatewayManagementApiServiceException,
  ForbiddenException,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { FinalizeRequestMiddleware } from '@smithy/types';
import {
  type ConnectionSender,
  ManagementApiSender,
  SignedPostSender,
} from '../../lambdas/core/connections.js';
import { listenOnLoopback } from '../support/net.js';

interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A stand-in for the @connections endpoint that records requests and answers from a script. */
class Endpoint {
  readonly requests: Captured[] = [];
  /** Statuses to answer, in order; 200 once the script is spent. */
  script: number[] = [];
  private readonly server: Server;

  constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.requests.push({
          method: request.method ?? '',
          url: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        const status = this.script.shift() ?? 200;
        const type: Record<number, string> = {
          403: 'ForbiddenException',
          410: 'GoneException',
          429: 'LimitExceededException',
          500: 'InternalServerErrorException',
        };
        response.writeHead(status, {
          'content-type': 'application/json',
          ...(type[status] ? { 'x-amzn-errortype': type[status] } : {}),
        });
        response.end(status === 200 ? '' : JSON.stringify({ message: `status ${status}` }));
      });
    });
  }

  async start(): Promise<string> {
    return `http://127.0.0.1:${await listenOnLoopback(this.server)}/prod`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((done) => this.server.close(() => done()));
  }
}

// The SDK adds per-call bookkeeping (a random invocation id, attempt counter, user agent) that the
// lean path leaves out; strip it before signing so both signatures cover the same request.
const BOOKKEEPING = ['amz-sdk-invocation-id', 'amz-sdk-request', 'x-amz-user-agent'];

function withoutBookkeeping(sender: ManagementApiSender): ManagementApiSender {
  const strip: FinalizeRequestMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => async (args) => {
    const headers = (args.request as { headers: Record<string, string> }).headers;
    for (const name of BOOKKEEPING) delete headers[name];
    return next(args);
  };
  sender.client.middlewareStack.addRelativeTo(strip, {
    relation: 'before',
    toMiddleware: 'httpSigningMiddleware',
    name: 'stripBookkeeping',
  });
  return sender;
}

/** What a signature covers; `user-agent` and `connection` are unsigned transport details. */
function signedPart({ headers, ...rest }: Captured) {
  const { 'user-agent': _agent, connection: _connection, ...signed } = headers;
  return { ...rest, headers: signed };
}

const FIXED_NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
const ENV = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  AWS_SESSION_TOKEN: 'session-token-example',
};

describe('connections', () => {
  const saved: Record<string, string | undefined> = {};
  let endpoint: Endpoint;
  let url: string;

  beforeAll(() => {
    for (const [name, value] of Object.entries(ENV)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
  });

  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  beforeEach(async () => {
    endpoint = new Endpoint();
    url = await endpoint.start();
  });

  afterEach(async () => {
    jest.useRealTimers();
    await endpoint.stop();
  });

  it('sends the same signed request on the lean path as the SDK client', async () => {
    // Prepare: only Date is pinned; sockets and timers run for real.
    jest.useFakeTimers({
      now: FIXED_NOW,
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
    const sdk = withoutBookkeeping(new ManagementApiSender({ endpoint: url }));
    const lean = new SignedPostSender({ endpoint: url });
    const data = Buffer.from(JSON.stringify({ id: '1700000000000-0', body: 'héllo' }));
    const connectionId = 'L0SM9cOFvHcCIhw=';

    // Act
    await expect(sdk.post(connectionId, data)).resolves.toBe('sent');
    await expect(lean.post(connectionId, data)).resolves.toBe('sent');

    // Assess
    const [fromSdk, fromLean] = endpoint.requests.map(signedPart);
    expect(fromLean).toEqual(fromSdk);
    expect(fromLean!.method).toBe('POST');
    expect(fromLean!.url).toBe('/prod/@connections/L0SM9cOFvHcCIhw%3D');
    expect(fromLean!.headers['x-amz-date']).toBe('20260102T030405Z');
    expect(fromLean!.headers['x-amz-security-token']).toBe(ENV.AWS_SESSION_TOKEN);
    expect(fromLean!.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20260102\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
    expect(endpoint.requests[1]!.headers.connection).toBe('keep-alive');
    sdk.client.destroy();
  });

  const senders: [string, (endpoint: string) => ConnectionSender][] = [
    ['SDK client', (endpoint) => new ManagementApiSender({ endpoint, attempts: 3, maxBackoffMs: 2 })],
    ['lean signed POST', (endpoint) => new SignedPostSender({ endpoint, attempts: 3, maxBackoffMs: 2 })],
  ];

  describe.each(senders)('%s', (_name, make) => {
    it('reports a 410 as gone without retrying', async () => {
      endpoint.script = [410];
      await expect(make(url).post('gone-id', Buffer.from('x'))).resolves.toBe('gone');
      expect(endpoint.requests).toHaveLength(1);
    });

    it('retries 429 with backoff until the post goes through', async () => {
      endpoint.script = [429, 429];
      await expect(make(url).post('busy-id', Buffer.from('x'))).resolves.toBe('sent');
      expect(endpoint.requests).toHaveLength(3);
    });

    it('tells the caller of each 429, so it can post less at once', async () => {
      endpoint.script = [429, 429];
      const feedback = { throttled: jest.fn() };
      await expect(make(url).post('busy-id', Buffer.from('x'), feedback)).resolves.toBe('sent');
      expect(feedback.throttled).toHaveBeenCalledTimes(2);
    });

    it('gives up on a persistent 500 after the configured attempts with a modelled SDK error', async () => {
      endpoint.script = [500, 500, 500, 500];
      const failure = await make(url)
        .post('broken-id', Buffer.from('x'))
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ApiGatewayManagementApiServiceException);
      expect((failure as ApiGatewayManagementApiServiceException).$metadata.httpStatusCode).toBe(500);
      expect(endpoint.requests).toHaveLength(3);
    });

    it('waits out a throttle longer than a failure: 429s have their own, larger budget', async () => {
      endpoint.script = [429, 429, 429, 429, 429];
      await expect(make(url).post('busy-id', Buffer.from('x'))).resolves.toBe('sent');
      expect(endpoint.requests).toHaveLength(6);
    });

    it('keeps the attempts of a failure for failures: a 500 after a throttle is still retried', async () => {
      endpoint.script = [429, 429, 429, 429, 429, 429, 500, 500];
      await expect(make(url).post('busy-id', Buffer.from('x'))).resolves.toBe('sent');
      expect(endpoint.requests).toHaveLength(9);
    });

    it('gives up on a 429 rather than retry past its deadline', async () => {
      endpoint.script = [429, 429, 429, 429, 429];
      const failure = await make(url)
        .post('busy-id', Buffer.from('x'), undefined, Date.now())
        .catch((error: unknown) => error);
      expect((failure as ApiGatewayManagementApiServiceException).$metadata.httpStatusCode).toBe(429);
      expect(endpoint.requests).toHaveLength(1);
    });

    it('does not retry a 403', async () => {
      endpoint.script = [403];
      await expect(make(url).post('forbidden-id', Buffer.from('x'))).rejects.toBeInstanceOf(
        ForbiddenException,
      );
      expect(endpoint.requests).toHaveLength(1);
    });

    it('closes connections through the SDK client and ignores one already gone', async () => {
      endpoint.script = [204, 410];
      const sender = make(url);
      await sender.disconnect('a=');
      await sender.disconnect('b=');
      expect(endpoint.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
        'DELETE /prod/@connections/a%3D',
        'DELETE /prod/@connections/b%3D',
      ]);
    });
  });
});
