import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { LeanSigner, type LeanSignerOptions } from './sigv4.js';

/** A request got no answer within its timeout (it may still be running at the other end). */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** The answer to one signed POST. */
export interface SignedAnswer {
  status: number;
  /** `x-amzn-errortype` of an error answer. */
  type?: string;
  /** `x-amz-function-error` of a Lambda invocation whose function failed. */
  functionError?: string;
  /** The body: always for error answers, for 2xx only when the endpoint keeps it. */
  body?: string;
}

/** Options of {@link SignedEndpoint}. */
export interface SignedEndpointOptions
  extends Pick<LeanSignerOptions, 'service' | 'region' | 'credentials' | 'contentType' | 'headers' | 'now'> {
  /** Base URL: `https://{api}.execute-api.{region}.amazonaws.com/{stage}`, `https://lambda.{region}.amazonaws.com`. */
  url: URL;
  /** Sockets kept open: size it to the requests in flight. */
  maxSockets: number;
  /** Milliseconds before a request is abandoned (the caller treats it as a network error). */
  timeoutMs: number;
  /** Read the body of 2xx answers too (Lambda's result), not only of error answers. @default false */
  keepSuccessBody?: boolean;
  /** Error bodies are cut at this many characters. @default 4096 */
  maxErrorBody?: number;
}

/**
 * SigV4-signed keep-alive `POST`s to one AWS endpoint, the lean way: `node:http(s)` with a
 * keep-alive agent sized to the requests in flight, headers handed over as a ready list, signing
 * by {@link LeanSigner}. No SDK middleware, no per-call bookkeeping.
 */
export class SignedEndpoint {
  readonly signer: LeanSigner;
  private readonly agent: HttpAgent;
  private readonly request: typeof httpRequest;
  private readonly hostname: string;
  private readonly port: string | undefined;

  constructor(private readonly options: SignedEndpointOptions) {
    const { url } = options;
    const tls = url.protocol === 'https:';
    this.agent = tls
      ? new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets })
      : new HttpAgent({ keepAlive: true, maxSockets: options.maxSockets });
    this.request = tls ? httpsRequest : httpRequest;
    this.hostname = url.hostname;
    this.port = url.port || undefined;
    this.signer = new LeanSigner({ ...options, host: url.host });
  }

  /** Path prefix of the base URL, without a trailing slash (`/prod`, or empty). */
  get basePath(): string {
    return this.options.url.pathname.replace(/\/+$/, '');
  }

  /**
   * Signs and sends one POST of `body` to `path` (segments escaped); resolves with the answer.
   * `canonical` is the path as signed, when the caller has it at hand (see {@link LeanSigner.sign}).
   */
  post(path: string, body: Uint8Array, canonical?: string): Promise<SignedAnswer> {
    // Not async: a post is a hot path, and every promise it does not make is CPU saved.
    const ready = this.signer.ready();
    if (ready) return ready.then(() => this.send(path, body, canonical));
    return this.send(path, body, canonical);
  }

  private send(path: string, body: Uint8Array, canonical?: string): Promise<SignedAnswer> {
    const headers = this.signer.sign(path, body, canonical);
    const { keepSuccessBody = false, maxErrorBody = 4096 } = this.options;
    return new Promise<SignedAnswer>((resolve, reject) => {
      const request = this.request(
        {
          method: 'POST',
          hostname: this.hostname,
          port: this.port,
          path,
          headers,
          agent: this.agent,
          timeout: this.options.timeoutMs,
        },
        (response) => {
          const status = response.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          if (ok && !keepSuccessBody) {
            response.resume();
            response.once('end', () => resolve({ status }));
            response.once('error', reject);
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            if (ok || size < maxErrorBody) chunks.push(chunk);
            size += chunk.length;
          });
          response.once('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status,
              type: response.headers['x-amzn-errortype'] as string | undefined,
              functionError: response.headers['x-amz-function-error'] as string | undefined,
              body: ok ? text : text.slice(0, maxErrorBody),
            });
          });
          response.once('error', reject);
        },
      );
      request.once('timeout', () => request.destroy(new TimeoutError(`POST ${path} timed out`)));
      request.once('error', reject);
      request.end(body);
    });
  }
}
